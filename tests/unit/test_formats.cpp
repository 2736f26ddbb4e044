// The table of report formats (reports/formats.h) and everything derived from it: each test would
// fail if one of the derived things (names, help and error text, file names, dispatch, retention)
// missed a row of the table or disagreed with it.

#include "reports/formats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "daemon/cli.h"
#include "daemon/config_file.h"
#include "reports/render.h"
#include "reports/report.h"
#include "reports/report_runner.h"
#include "test_files.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;
using test_files::names_in;
using test_files::TempDir;
using test_files::write_text;
using ::testing::HasSubstr;

// The formats users know today, in the order they get them; removing or reordering a row is a
// visible change (help, default `formats:`, file names) and must show up here.
TEST(ReportFormats, TheTableHasTheFourFormatsInOrder) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const ReportFormat& format : kReportFormatTable) {
    rows.emplace_back(format.name, format.extension);
  }
  EXPECT_EQ(rows,
            (std::vector<std::pair<std::string, std::string>>{
                {"csv", ".csv"}, {"json", ".json"}, {"html", ".html"}, {"focus", ".focus.csv"}}));
}

TEST(ReportFormats, NamesAreTheTableNamesInOrder) {
  ASSERT_EQ(kReportFormats.size(), kReportFormatTable.size());
  for (std::size_t i = 0; i < kReportFormats.size(); ++i) {
    EXPECT_EQ(kReportFormats[i], kReportFormatTable[i].name);
  }
}

TEST(ReportFormats, LookupFindsEveryRowAndNothingElse) {
  for (const ReportFormat& format : kReportFormatTable) {
    EXPECT_EQ(find_report_format(format.name), &format);
  }
  for (const char* unknown : {"", "pdf", "CSV", ".csv", "focus.csv", "csv ", "htm"}) {
    EXPECT_EQ(find_report_format(unknown), nullptr) << unknown;
  }
}

TEST(ReportFormats, ChoicesNameEveryFormatOnceInTableOrder) {
  const std::string choices = report_format_choices();
  EXPECT_EQ(choices, "csv, json, html or focus");
  // Independently of the literal above: every name, in order, separated by ", " and one " or ".
  std::string::size_type from = 0;
  for (std::size_t i = 0; i < kReportFormats.size(); ++i) {
    const std::string name(kReportFormats[i]);
    const std::string separator = i == 0 ? "" : i + 1 == kReportFormats.size() ? " or " : ", ";
    ASSERT_EQ(choices.compare(from, separator.size() + name.size(), separator + name), 0)
        << choices << " at " << from;
    from += separator.size() + name.size();
  }
  EXPECT_EQ(from, choices.size());
  EXPECT_EQ(kReportFormatCount, "four");
}

TEST(ReportFormats, RetentionExtensionsAreTheTableExtensionsLongestFirst) {
  std::multiset<std::string_view> from_table;
  for (const ReportFormat& format : kReportFormatTable) from_table.insert(format.extension);
  EXPECT_EQ(std::multiset<std::string_view>(kReportExtensionsLongestFirst.begin(),
                                            kReportExtensionsLongestFirst.end()),
            from_table);
  // An extension that ends another one (".csv" ends ".focus.csv") must come after it, or the
  // longer one's files would be taken for the shorter one's and never cleaned up as their own.
  for (std::size_t i = 0; i < kReportExtensionsLongestFirst.size(); ++i) {
    for (std::size_t j = i + 1; j < kReportExtensionsLongestFirst.size(); ++j) {
      EXPECT_FALSE(kReportExtensionsLongestFirst[j].ends_with(kReportExtensionsLongestFirst[i]))
          << kReportExtensionsLongestFirst[i] << " before " << kReportExtensionsLongestFirst[j];
    }
  }
  const auto position = [](std::string_view extension) {
    return std::find(kReportExtensionsLongestFirst.begin(), kReportExtensionsLongestFirst.end(),
                     extension) -
           kReportExtensionsLongestFirst.begin();
  };
  EXPECT_LT(position(".focus.csv"), position(".csv"));
}

TEST(ReportFormats, EveryFileNameRoundTripsThroughRetentionMatching) {
  std::set<std::string> names;
  for (const ReportFormat& format : kReportFormatTable) {
    const std::string name = report_file_name("acc-1", "2026-10", format.name);
    EXPECT_EQ(name, "scalr-usage_acc-1_2026-10" + std::string(format.extension));
    EXPECT_EQ(report_extension_of(name), format.extension) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kReportFormatTable.size());
  EXPECT_EQ(report_extension_of("scalr-usage_acc-1_2026-10.pdf"), "");
  EXPECT_EQ(report_extension_of("scalr-usage_acc-1_2026-10.csv.bak"), "");
}

TEST(ReportFormats, RetentionRemovesTheOldFilesOfEveryFormat) {
  const TempDir dir;
  for (const char* key : {"2026-08", "2026-09", "2026-10"}) {
    for (const ReportFormat& format : kReportFormatTable) {
      write_text(dir.path() / report_file_name("acc-1", key, format.name), "r");
    }
  }
  EXPECT_EQ(remove_old_reports(dir.path(), 1).size(), 2 * kReportFormatTable.size());
  std::set<std::string> kept;
  for (const ReportFormat& format : kReportFormatTable) {
    kept.insert(report_file_name("acc-1", "2026-10", format.name));
  }
  EXPECT_EQ(names_in(dir.path()), kept);
}

Report small_report() {
  AccountUsage usage;
  usage.account_id = "acc-1";
  usage.period = month_containing(Seconds{sys_days{2026y / October / 1}.time_since_epoch()});
  usage.total = {3, 120};
  usage.workspaces = {{"ws-1", "one", "env-1", "Env", {3, 120}}};
  usage.environments = {{"env-1", "Env", {3, 120}}};
  Report report;
  report.generated_at = "2026-11-01T06:00:00Z";
  report.schedule = "test";
  report.period = usage.period;
  report.accounts.push_back(build_account_report(usage, nullptr, report.plan));
  return report;
}

TEST(ReportFormats, RenderReportDispatchesToEachRowsRenderer) {
  const Report report = small_report();
  std::set<std::string> outputs;
  for (const ReportFormat& format : kReportFormatTable) {
    const std::string rendered = render_report(report, format.name);
    EXPECT_EQ(rendered, format.render(report)) << format.name;
    outputs.insert(rendered);
  }
  EXPECT_EQ(outputs.size(), kReportFormatTable.size()) << "two formats render the same bytes";
  try {
    render_report(report, "pdf");
    ADD_FAILURE() << "rendered an unknown format";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "unknown report format: pdf");
  }
  try {
    report_file_name("acc-1", "2026-10", "pdf");
    ADD_FAILURE() << "named a file of an unknown format";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "unknown report format: pdf");
  }
}

// The command line: every format accepted by --format, all of them by default, the help and the
// error naming them all.
TEST(ReportFormats, CliTakesEveryFormatAndNamesThemAll) {
  for (const ReportFormat& format : kReportFormatTable) {
    EXPECT_EQ(parse_cli({"report", "--period=2026-10", "--format=" + std::string(format.name)})
                  .report.formats,
              std::vector<std::string>{std::string(format.name)});
  }
  EXPECT_EQ(parse_cli({"report", "--period=2026-10"}).report.formats,
            std::vector<std::string>(kReportFormats.begin(), kReportFormats.end()));
  try {
    parse_cli({"report", "--period=2026-10", "--format=pdf"});
    ADD_FAILURE() << "accepted --format=pdf";
  } catch (const CliError& error) {
    EXPECT_EQ(std::string(error.what()),
              "--format: unknown format \"pdf\" (want " + report_format_choices() + ")");
  }
  // The help wraps lines: compare with runs of spaces and newlines made one space.
  std::string help;
  for (const char c : usage_text()) {
    const bool space = c == ' ' || c == '\n';
    if (!(space && !help.empty() && help.back() == ' ')) help += space ? ' ' : c;
  }
  EXPECT_THAT(help, HasSubstr("Report format: " + report_format_choices() + "; repeat the flag"));
  EXPECT_THAT(help, HasSubstr("(default: all " + std::string(kReportFormatCount) + "; csv with"));
}

// A schedule's `formats:`: every format accepted, all of them by default, the error naming them.
TEST(ReportFormats, ConfigTakesEveryFormatAndNamesThemAll) {
  const auto config_with = [](const std::string& formats_line) {
    return parse_config(
        "scalr:\n"
        "  url: https://example.scalr.io\n"
        "  accounts: [acc-1]\n"
        "reports:\n"
        "  output_dir: /srv/reports\n"
        "  schedules:\n"
        "    - name: m\n"
        "      cron: \"0 6 1 * *\"\n"
        "      period: previous_month\n" +
            formats_line,
        {{"SCALR_TOKEN", "tok"}});
  };
  for (const ReportFormat& format : kReportFormatTable) {
    EXPECT_EQ(config_with("      formats: [" + std::string(format.name) + "]\n")
                  .reports.schedules.at(0)
                  .formats,
              std::vector<std::string>{std::string(format.name)});
  }
  EXPECT_EQ(config_with("").reports.schedules.at(0).formats,
            std::vector<std::string>(kReportFormats.begin(), kReportFormats.end()));
  try {
    config_with("      formats: [pdf]\n");
    ADD_FAILURE() << "accepted formats: [pdf]";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(),
                HasSubstr("unknown format \"pdf\" (want " + report_format_choices() + ")"));
  }
}

}  // namespace
}  // namespace scalr_usage
