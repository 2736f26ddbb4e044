// The report command (daemon/report_command.h) over the report runner, with a fake source.
#include "daemon/report_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "fake_source.h"
#include "test_files.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;
using test_files::FakeSource;
using test_files::TempDir;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

Period calendar_month(int y, unsigned m) {
  return month_containing(Seconds{sys_days{year{y} / month{m} / day{1}}.time_since_epoch()});
}

// --- the report command -------------------------------------------------------------------------

// What run_report_command printed: standard output, and standard error through a temporary FILE.
struct CommandOutput {
  int status = 0;
  std::string out;
  std::string err;
};

CommandOutput report_command(const ReportOptions& options, bool show_progress,
                             std::map<std::string, SourceError> failing = {}) {
  std::ostringstream out;
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> err(std::tmpfile(), &std::fclose);
  const int status = run_report_command(options, Config{},
                                        [&] {
                                          auto source = std::make_unique<FakeSource>();
                                          source->failing = failing;
                                          return source;
                                        },
                                        ReportCommandIo{out, err.get(), show_progress}, {});
  std::rewind(err.get());
  std::string err_text;
  for (int c = std::fgetc(err.get()); c != EOF; c = std::fgetc(err.get())) {
    err_text.push_back(static_cast<char>(c));
  }
  return {status, out.str(), err_text};
}

ReportOptions command_options(const fs::path& output) {
  ReportOptions options;
  options.period = calendar_month(2026, 10);
  options.period_text = "2026-10";
  options.formats = {"csv"};
  options.output = output.string();
  return options;
}

TEST(ReportCommand, PrintsTheFilesWrittenAndNoProgressWhenPiped) {
  const TempDir dir;
  const CommandOutput result = report_command(command_options(dir.path()), false);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.out, (dir.path() / "scalr-usage_acc-a_2026-10.csv").string() + "\n" +
                            (dir.path() / "scalr-usage_acc-b_2026-10.csv").string() + "\n");
  EXPECT_EQ(result.err, "");
}

TEST(ReportCommand, ProgressOnATerminalIsOneLineClearedAtTheEnd) {
  const TempDir dir;
  const CommandOutput result = report_command(command_options(dir.path()), true);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.err,
            "\r\x1b[Kreport 2026-10: 0/4 acc-a\r\x1b[Kreport 2026-10: 1/4 acc-b"
            "\r\x1b[Kreport 2026-10: 2/4 acc-a\r\x1b[Kreport 2026-10: 3/4 acc-b\r\x1b[K");
}

TEST(ReportCommand, FailuresExitOneWithALinePerAccount) {
  const TempDir dir;
  const CommandOutput result =
      report_command(command_options(dir.path()), false,
                     {{"acc-b", SourceError(ErrorReason::not_found, "HTTP 404 for acc-b")}});
  EXPECT_EQ(result.status, 1);
  EXPECT_EQ(result.err,
            "scalr-usage-exporter: report 2026-10: account acc-b: period: not_found: HTTP 404 "
            "for acc-b\n");
  EXPECT_EQ(result.out, (dir.path() / "scalr-usage_acc-a_2026-10.csv").string() + "\n");
}

TEST(ReportCommand, StandardOutputGetsTheDocument) {
  ReportOptions options = command_options("-");
  options.accounts = {"acc-a"};
  const CommandOutput result = report_command(options, false);
  EXPECT_EQ(result.status, 0);
  EXPECT_THAT(result.out, ::testing::StartsWith("period_start,period_end,account_id,level,"));
  EXPECT_THAT(result.out, HasSubstr(",acc-a,account,"));
}

}  // namespace
}  // namespace scalr_usage
