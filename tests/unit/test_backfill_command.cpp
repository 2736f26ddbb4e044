// The backfill run (backfill/backfill.h) and command (daemon/backfill_command.h) over a scripted
// source: the document's shape, the month-to-date values, and what a failure leaves behind.
#include "daemon/backfill_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "backfill/backfill.h"
#include "test_files.h"

namespace scalr_usage {
namespace {

using std::chrono::floor;
using std::chrono::hours;
using std::chrono::sys_days;
using std::chrono::year;
using std::chrono::year_month_day;
using Days = std::chrono::days;  // scalr_usage::days is the Period of whole days
using test_files::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

// Day d of any month: d runs of 60 s in ws-1 (env-1), and on even days 1 run of 5 s in ws-2
// (env-2); a period of several days is their sum. acc-b's listing names it; acc-a has no name but
// its usage brings one.
class DaySource final : public UsageSource {
 public:
  std::vector<std::string> accounts(const Period&, std::stop_token) override {
    return {"acc-a", "acc-b"};
  }
  std::vector<AccountListing> list(const Period&, std::stop_token) override {
    AccountListing listing{"t1", {"acc-a", "acc-b"}, {{"acc-b", "Bee \"B\""}}, 1, true, {}};
    return {listing};
  }
  AccountUsage fetch(const std::string& account, const Period& period, std::stop_token) override {
    const sys_days first = floor<Days>(period.start);
    const sys_days last = floor<Days>(period.end) - Days{1};
    fetched.push_back(account + " " + format_date(first) +
                      (first == last ? "" : ".." + format_date(last)));
    std::uint64_t runs = 0;
    std::uint64_t even_days = 0;
    for (sys_days day = first; day <= last; day += Days{1}) {
      if (account == failing_account && year_month_day{day} == failing_day) {
        throw SourceError(ErrorReason::server_error, "HTTP 503 from the source");
      }
      const unsigned d = static_cast<unsigned>(year_month_day{day}.day());
      runs += d;
      even_days += d % 2 == 0 ? 1 : 0;
    }
    AccountUsage usage;
    usage.account_id = account;
    usage.account_name = account == "acc-a" ? "Ay" : "";
    usage.period = period;
    usage.total = {runs + even_days, runs * 60 + even_days * 5};
    usage.environments = {{"env-1", "prod", {runs, runs * 60}}};
    usage.workspaces = {
        {"ws-1", "app", std::string("env-1"), std::string("prod"), {runs, runs * 60}}};
    if (even_days > 0) {
      usage.environments.push_back({"env-2", "dev", {even_days, even_days * 5}});
      usage.workspaces.push_back({"ws-2",
                                  "tool",
                                  std::string("env-2"),
                                  std::string("dev"),
                                  {even_days, even_days * 5},
                                  {"team:x"}});
    }
    return usage;
  }

  std::string failing_account;
  year_month_day failing_day{};
  std::vector<std::string> fetched;
};

constexpr year_month_day kFrom{year{2026} / 10 / 30};
constexpr year_month_day kTo{year{2026} / 11 / 2};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string backfill_text(DaySource& source, BackfillJob job, const ExtraLabels& labels = {}) {
  TempDir spool_dir;
  OpenMetricsSpool spool(spool_dir.path(), labels);
  run_backfill(source, job, spool, {});
  std::string text;
  spool.finish([&](std::string_view chunk) { text += chunk; });
  EXPECT_TRUE(test_files::names_in(spool_dir.path()).empty()) << "spool files are unlinked";
  return text;
}

ChargebackRules team_rules() {
  ChargebackRule rule;
  rule.match.emplace_back(ChargebackKey::workspace_tag, ChargebackPattern::parse("team:*"));
  rule.set.push_back(ChargebackTemplate::parse("{tag:team}"));
  return ChargebackRules({"team"}, {rule}, {ChargebackTemplate::parse("none")});
}

TEST(Backfill, EachFamilyOnceWithAllItsSamplesThenEof) {
  DaySource source;
  const auto lines = lines_of(backfill_text(source, {kFrom, kTo, {}}));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "# EOF");
  // Families in the live exposition's order, each declared once, its samples right after.
  std::vector<std::string> declared;
  std::string current;
  std::set<std::string> closed;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.rfind("# TYPE ", 0) == 0) {
      current = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(closed.insert(current).second) << "declared twice: " << current;
      declared.push_back(line.substr(7));
    } else if (line.rfind("# HELP ", 0) != 0) {
      EXPECT_EQ(line.rfind(current, 0), 0u) << line << " outside its family " << current;
    }
  }
  EXPECT_EQ(declared, (std::vector<std::string>{
                          "scalr_account_runs counter", "scalr_account_run_seconds counter",
                          "scalr_environment_runs counter", "scalr_environment_run_seconds counter",
                          "scalr_workspace_runs counter", "scalr_workspace_run_seconds counter",
                          "scalr_account_info gauge"}));
  // Per account: October before the range in one fetch, then one fetch per day.
  EXPECT_EQ(source.fetched,
            (std::vector<std::string>{"acc-a 2026-10-01..2026-10-29", "acc-a 2026-10-30",
                                      "acc-a 2026-10-31", "acc-a 2026-11-01", "acc-a 2026-11-02",
                                      "acc-b 2026-10-01..2026-10-29", "acc-b 2026-10-30",
                                      "acc-b 2026-10-31", "acc-b 2026-11-01", "acc-b 2026-11-02"}));
}

TEST(Backfill, MonthToDateAtTheEndOfEachDayResettingOnTheFirst) {
  DaySource source;
  const std::string text = backfill_text(source, {kFrom, kTo, {}});
  // Oct 30: 1+2+...+30 = 465 and 15 even days, from October 1 although the range starts on the
  // 30th; Oct 31: +31; Nov 1: 1 alone; Nov 2: +2+1.
  for (const char* line : {
           "scalr_account_runs_total{account_id=\"acc-a\"} 480 1793404799",
           "scalr_account_runs_total{account_id=\"acc-a\"} 511 1793491199",
           "scalr_account_runs_total{account_id=\"acc-a\"} 1 1793577599",
           "scalr_account_runs_total{account_id=\"acc-a\"} 4 1793663999",
           "scalr_account_run_seconds_total{account_id=\"acc-b\"} 29835 1793491199",
           "scalr_environment_runs_total{account_id=\"acc-a\",environment_id=\"env-2\","
           "environment_name=\"dev\"} 15 1793491199",
           "scalr_workspace_runs_total{account_id=\"acc-a\",environment_id=\"env-1\","
           "environment_name=\"prod\",workspace_id=\"ws-1\",workspace_name=\"app\"} 1 1793577599",
           "scalr_account_info{account_id=\"acc-a\",account_name=\"Ay\",target=\"t1\"} 1 "
           "1793404799",
           "scalr_account_info{account_id=\"acc-b\",account_name=\"Bee \\\"B\\\"\",target=\"t1\"}"
           " 1 1793663999",
       }) {
    EXPECT_THAT(text, HasSubstr(std::string(line) + "\n"));
  }
  // ws-2 ran on Oct 30 but not on Nov 1: its series ends with October, as a live one would.
  EXPECT_THAT(text, HasSubstr("workspace_id=\"ws-2\",workspace_name=\"tool\"} 15 1793491199\n"));
  EXPECT_THAT(text, Not(HasSubstr("workspace_id=\"ws-2\",workspace_name=\"tool\"} 1 1793577599")));
  EXPECT_THAT(text, Not(HasSubstr("chargeback")));
}

TEST(Backfill, ChargebackInfoEveryDayAndExtraLabelsOnEverySample) {
  DaySource source;
  BackfillJob job{kTo, kTo, {"acc-b"}};
  job.chargeback = team_rules();
  const std::string text = backfill_text(source, job, {{"job", "scalr"}});
  EXPECT_THAT(text, HasSubstr("# TYPE scalr_workspace_chargeback_info gauge\n"));
  EXPECT_THAT(text, HasSubstr("scalr_workspace_chargeback_info{account_id=\"acc-b\",workspace_id="
                              "\"ws-2\",team=\"x\",job=\"scalr\"} 1 1793663999\n"));
  EXPECT_THAT(text, HasSubstr("scalr_workspace_chargeback_info{account_id=\"acc-b\",workspace_id="
                              "\"ws-1\",team=\"none\",job=\"scalr\"} 1 1793663999\n"));
  for (const std::string& line : lines_of(text)) {
    if (line[0] != '#') {
      EXPECT_THAT(line, HasSubstr(",job=\"scalr\"}")) << line;
    }
  }
  EXPECT_EQ(source.fetched, (std::vector<std::string>{"acc-b 2026-11-01", "acc-b 2026-11-02"}));
}

TEST(Backfill, AFailingDayNamesTheAccountAndTheDay) {
  DaySource source;
  source.failing_account = "acc-b";
  source.failing_day = year{2026} / 10 / 31;
  TempDir dir;
  OpenMetricsSpool spool(dir.path(), {});
  try {
    run_backfill(source, {kFrom, kTo, {}}, spool, {});
    FAIL() << "no error";
  } catch (const BackfillError& error) {
    EXPECT_STREQ(error.what(), "account acc-b, day 2026-10-31: HTTP 503 from the source");
  }
  source.failing_day = year{2026} / 10 / 5;  // in the month before the range
  try {
    run_backfill(source, {kFrom, kTo, {}}, spool, {});
    FAIL() << "no error";
  } catch (const BackfillError& error) {
    EXPECT_STREQ(error.what(),
                 "account acc-b, days 2026-10-01..2026-10-29: HTTP 503 from the source");
  }
}

TEST(Backfill, ExtraLabelsMustBeNewValidNames) {
  const auto refusal = [](const ExtraLabels& labels) -> std::string {
    try {
      check_extra_labels(labels, team_rules());
    } catch (const BackfillError& error) {
      return error.what();
    }
    return "";
  };
  EXPECT_EQ(refusal({{"job", "x"}, {"instance", "h:1"}}), "");
  EXPECT_THAT(refusal({{"workspace_id", "x"}}), HasSubstr("have that label already"));
  EXPECT_THAT(refusal({{"team", "x"}}), HasSubstr("have that label already"));
  EXPECT_THAT(refusal({{"1job", "x"}}), HasSubstr("--label 1job: not a label name"));
  EXPECT_THAT(refusal({{"__name__", "x"}}), HasSubstr("not a label name"));
  EXPECT_THAT(refusal({{"job", "x"}, {"job", "y"}}), HasSubstr("given twice"));
}

// --- the command ----------------------------------------------------------------------------

struct CommandOutput {
  int status = 0;
  std::string out;
  std::string err;
};

CommandOutput backfill_command(const BackfillOptions& options, DaySource* script = nullptr) {
  std::ostringstream out;
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> err(std::tmpfile(), &std::fclose);
  const Seconds now{sys_days{year{2026} / 12 / 4} + hours{20}};
  const int status = run_backfill_command(options, Config{},
                                          [&] {
                                            auto source = std::make_unique<DaySource>();
                                            if (script != nullptr) *source = *script;
                                            return source;
                                          },
                                          BackfillCommandIo{out, err.get(), false, now}, {});
  std::rewind(err.get());
  std::string err_text;
  for (int c = std::fgetc(err.get()); c != EOF; c = std::fgetc(err.get())) {
    err_text.push_back(static_cast<char>(c));
  }
  return {status, out.str(), err_text};
}

BackfillOptions options_to(const std::string& output) {
  BackfillOptions options;
  options.from = kFrom;
  options.to = kTo;
  options.from_given = options.to_given = true;
  options.output = output;
  return options;
}

TEST(BackfillCommand, WritesTheFileAndSaysWhatItWrote) {
  TempDir dir;
  const fs::path file = dir.path() / "history.om";
  const CommandOutput result = backfill_command(options_to(file.string()));
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr("2 accounts, 4 days (2026-10-30 to 2026-11-02)"));
  const std::string text = test_files::read_text(file);
  EXPECT_EQ(text.rfind("# HELP scalr_account_runs ", 0), 0u);
  EXPECT_TRUE(text.ends_with("\n# EOF\n"));
  EXPECT_EQ(test_files::names_in(dir.path()), (std::set<std::string>{"history.om"}));
}

TEST(BackfillCommand, StandardOutputGetsTheWholeDocument) {
  const CommandOutput result = backfill_command(options_to("-"));
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_TRUE(result.out.ends_with("\n# EOF\n"));
  EXPECT_THAT(result.err, HasSubstr("to standard output"));
}

TEST(BackfillCommand, AFailureLeavesNoFileAndTheOldOneAlone) {
  TempDir dir;
  const fs::path file = dir.path() / "history.om";
  test_files::write_text(file, "old\n");
  DaySource script;
  script.failing_account = "acc-a";
  script.failing_day = year{2026} / 11 / 1;
  const CommandOutput result = backfill_command(options_to(file.string()), &script);
  EXPECT_EQ(result.status, kBackfillFailed);
  EXPECT_EQ(result.err,
            "scalr-usage-exporter: backfill: account acc-a, day 2026-11-01: HTTP 503 from the "
            "source\n");
  EXPECT_EQ(test_files::read_text(file), "old\n");
  EXPECT_EQ(test_files::names_in(dir.path()), (std::set<std::string>{"history.om"}));

  const CommandOutput to_stdout = backfill_command(options_to("-"), &script);
  EXPECT_EQ(to_stdout.status, kBackfillFailed);
  EXPECT_EQ(to_stdout.out, "");  // nothing half-written
}

TEST(BackfillCommand, RefusesRangesAndLabelsBeforeFetching) {
  BackfillOptions recent = options_to("-");
  recent.to = year{2026} / 12 / 4;
  CommandOutput result = backfill_command(recent);
  EXPECT_EQ(result.status, kBackfillRefused);
  EXPECT_THAT(result.err, HasSubstr("--to 2026-12-04 reaches into the last 3 hours"));
  EXPECT_EQ(result.out, "");

  BackfillOptions long_range = options_to("-");
  long_range.max_days = 3;
  result = backfill_command(long_range);
  EXPECT_EQ(result.status, kBackfillRefused);
  EXPECT_THAT(result.err, HasSubstr("is 4 days, more than --max-days (3)"));

  BackfillOptions label = options_to("-");
  label.labels = {{"account_id", "x"}};
  EXPECT_EQ(backfill_command(label).status, kBackfillRefused);
}

// --- the flags (daemon/cli.h) --------------------------------------------------------------------

std::string cli_error(const std::vector<std::string>& args) {
  try {
    parse_cli(args);
  } catch (const CliError& error) {
    return error.what();
  }
  return "";
}

TEST(BackfillFlags, ParseIntoBackfillOptions) {
  const CliOptions options =
      parse_cli({"--config.file=c.yml", "backfill", "--from=2026-10-01", "--to", "2026-11-02",
                 "--output=h.om", "--account=acc-a,acc-b", "--max-days=40", "--label=job=scalr",
                 "--label=instance=h:9871=x"});
  EXPECT_EQ(options.command, CliOptions::Command::backfill);
  EXPECT_EQ(options.config_file, "c.yml");
  EXPECT_EQ(options.backfill.from, (year{2026} / 10 / 1));
  EXPECT_EQ(options.backfill.to, (year{2026} / 11 / 2));
  EXPECT_EQ(options.backfill.output, "h.om");
  EXPECT_EQ(options.backfill.accounts, (std::vector<std::string>{"acc-a", "acc-b"}));
  EXPECT_EQ(options.backfill.max_days, 40);
  EXPECT_EQ(options.backfill.labels, (std::vector<std::pair<std::string, std::string>>{
                                         {"job", "scalr"}, {"instance", "h:9871=x"}}));
  EXPECT_EQ(parse_cli({"backfill", "--from=2026-10-01", "--to=2026-10-01", "--output=-"})
                .backfill.max_days,
            kDefaultBackfillMaxDays);
}

TEST(BackfillFlags, SayWhatIsMissingOrMisplaced) {
  EXPECT_EQ(cli_error({"backfill", "--to=2026-10-01", "--output=-"}),
            "--from: required by the backfill command, e.g. --from=2026-10-01");
  EXPECT_EQ(cli_error({"backfill", "--from=2026-10-01", "--output=-"}),
            "--to: required by the backfill command, e.g. --to=2026-10-31");
  EXPECT_THAT(cli_error({"backfill", "--from=2026-10-01", "--to=2026-10-01"}),
              HasSubstr("--output: required by the backfill command"));
  EXPECT_EQ(cli_error({"backfill", "--from=2026-10-32"}),
            "--from: want a day YYYY-MM-DD, got \"2026-10-32\"");
  EXPECT_THAT(cli_error({"backfill", "--max-days=0"}), HasSubstr("--max-days: want a whole"));
  EXPECT_THAT(cli_error({"backfill", "--max-days=4x"}), HasSubstr("--max-days: want a whole"));
  EXPECT_THAT(cli_error({"backfill", "--label=job"}), HasSubstr("--label: want NAME=VALUE"));
  EXPECT_THAT(cli_error({"--from=2026-10-01"}),
              HasSubstr("--from: only with the backfill command"));
  EXPECT_EQ(cli_error({"report", "--period=2026-10", "--from=2026-10-01"}),
            "--from: not with the report command");
  EXPECT_EQ(cli_error({"backfill", "--period=2026-10"}), "--period: not with the backfill command");
  EXPECT_EQ(cli_error({"backfill", "--shard=0/2"}), "--shard: not with the backfill command");
  EXPECT_EQ(cli_error({"backfill", "report"}), "report: one command at a time");
}

}  // namespace
}  // namespace scalr_usage
