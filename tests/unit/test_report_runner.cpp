#include "reports/report_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fake_source.h"
#include "reports/render.h"
#include "reports/schedule_state.h"
#include "test_files.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;
using test_files::FakeSource;
using test_files::names_in;
using test_files::read_text;
using test_files::TempDir;
using test_files::usage_for;
using test_files::write_text;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
namespace fs = std::filesystem;

Seconds at(int y, unsigned m, unsigned d) {
  return Seconds{sys_days{year{y} / month{m} / day{d}}.time_since_epoch()};
}
Period calendar_month(int y, unsigned m) { return month_containing(at(y, m, 1)); }
Period day_range(int y, unsigned m, unsigned first, unsigned last) {
  return days(year{y} / month{m} / day{first}, year{y} / month{m} / day{last});
}

const BillingPlan kPlan{10, 0.5, "EUR"};
const Seconds kGenerated = at(2026, 11, 1) + hours{6};

ReportJob job_for(const Period& period,
                  std::vector<std::string> formats = {"csv", "json", "html", "focus"}) {
  return ReportJob{period, {}, {}, kPlan, std::move(formats), "monthly: 0 6 1 * *", kGenerated};
}

// The report the runner must have rendered for one account.
Report expected_report(const std::string& account, const Period& period) {
  const AccountUsage current = usage_for(account, period);
  const AccountUsage previous = usage_for(account, previous_period(period));
  return Report{format_rfc3339(kGenerated),
                "monthly: 0 6 1 * *",
                period,
                {build_account_report(current, &previous, kPlan)},
                kPlan};
}

// --- previous_period and parse_report_period ---------------------------------------------------

TEST(PreviousPeriod, MonthIsTheCalendarMonthBefore) {
  EXPECT_EQ(previous_period(calendar_month(2026, 10)), calendar_month(2026, 9));
  EXPECT_EQ(previous_period(calendar_month(2026, 3)), calendar_month(2026, 2));  // 28 days, not 31
  EXPECT_EQ(previous_period(calendar_month(2026, 1)), calendar_month(2025, 12));
}

TEST(PreviousPeriod, DayRangeIsTheSameLengthImmediatelyBefore) {
  EXPECT_EQ(previous_period(day_range(2026, 11, 26, 26)), day_range(2026, 11, 25, 25));
  EXPECT_EQ(previous_period(day_range(2026, 3, 1, 7)),
            days(year{2026} / 2 / 22, year{2026} / 2 / 28));
  // month_to_date on the 27th: the 26 days before the 1st.
  EXPECT_EQ(previous_period(day_range(2026, 11, 1, 26)),
            days(year{2026} / 10 / 6, year{2026} / 10 / 31));
}

TEST(ParseReportPeriod, EverySpellingOfPeriodKey) {
  EXPECT_EQ(parse_report_period("2026-10"), calendar_month(2026, 10));
  EXPECT_EQ(parse_report_period("2026-11-26"), day_range(2026, 11, 26, 26));
  EXPECT_EQ(parse_report_period("2026-02-27..2026-03-01"),
            days(year{2026} / 2 / 27, year{2026} / 3 / 1));
  for (const char* key : {"2026-10", "2026-11-26", "2026-11-01..2026-11-26", "2024-02"}) {
    EXPECT_EQ(period_key(parse_report_period(key)), key);
  }
}

TEST(ParseReportPeriod, RejectsWhatPeriodKeyNeverWrites) {
  for (const char* bad :
       {"", "2026", "2026-1", "2026-13", "2026-00", "26-10", "2026/10", "2026-10-32", "2026-02-29",
        "2026-10..2026-11", "2026-11-05..2026-11-01", "2026-11-01..", "..2026-11-01",
        "2026-11-01...2026-11-02", " 2026-10", "2000-01-01..2030-01-01"}) {
    try {
      parse_report_period(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& error) {
      EXPECT_THAT(error.what(), HasSubstr("want YYYY-MM, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD"));
    }
  }
  EXPECT_THROW(parse_report_period("2026-11-05..2026-11-01"), std::invalid_argument);
}

// --- run_report to files ------------------------------------------------------------------------

TEST(RunReport, WritesEveryFormatOfEveryAccountNamedByPeriod) {
  const TempDir dir;
  FakeSource source;
  const fs::path out = dir.path() / "reports" / "monthly";
  const ReportRunResult result =
      run_report(source, job_for(calendar_month(2026, 10)), ReportOutput{out}, {});
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.period_key, "2026-10");
  ASSERT_EQ(result.accounts.size(), 2u);
  EXPECT_EQ(result.accounts[0].account_id, "acc-a");  // id order
  EXPECT_EQ(result.accounts[1].account_id, "acc-b");
  EXPECT_EQ(names_in(out),
            (std::set<std::string>{
                "scalr-usage_acc-a_2026-10.csv", "scalr-usage_acc-a_2026-10.json",
                "scalr-usage_acc-a_2026-10.html", "scalr-usage_acc-a_2026-10.focus.csv",
                "scalr-usage_acc-b_2026-10.csv", "scalr-usage_acc-b_2026-10.json",
                "scalr-usage_acc-b_2026-10.html", "scalr-usage_acc-b_2026-10.focus.csv"}));
  for (const std::string account : {"acc-a", "acc-b"}) {
    const Report expected = expected_report(account, calendar_month(2026, 10));
    for (const std::string_view format : kReportFormats) {
      EXPECT_EQ(read_text(out / report_file_name(account, "2026-10", format)),
                render_report(expected, format))
          << account << " " << format;
    }
  }
  EXPECT_EQ(result.accounts[0].files.size(), 4u);
  EXPECT_EQ(result.written_accounts(), (std::set<std::string>{"acc-a", "acc-b"}));
  // The directories were created without group write or any access for others.
  for (const fs::path& created : {out, out.parent_path()}) {
    struct stat info {};
    ASSERT_EQ(::stat(created.c_str(), &info), 0);
    EXPECT_TRUE(S_ISDIR(info.st_mode));
    EXPECT_EQ(info.st_mode & 027, 0u) << created;
  }
}

TEST(RunReport, ComparesWithThePeriodBeforeAndFetchesEachPeriodOnce) {
  const TempDir dir;
  FakeSource source;
  const Period period = day_range(2026, 11, 20, 26);
  const Period before = day_range(2026, 11, 13, 19);
  const ReportRunResult result =
      run_report(source, job_for(period, {"json"}), ReportOutput{dir.path()}, {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.period_key, "2026-11-20..2026-11-26");
  EXPECT_THAT(source.listed_periods, ElementsAre(period));
  // Every account's period first, then every account's period before: a source reading all
  // accounts in one query per period (PostgreSQL) then runs two queries.
  using Fetch = std::pair<std::string, Period>;
  EXPECT_THAT(source.fetches, ElementsAre(Fetch{"acc-a", period}, Fetch{"acc-b", period},
                                          Fetch{"acc-a", before}, Fetch{"acc-b", before}));
  const std::string json = read_text(dir.path() / "scalr-usage_acc-a_2026-11-20..2026-11-26.json");
  EXPECT_THAT(json, HasSubstr("\"start\": \"2026-11-13T00:00:00Z\""));
}

TEST(RunReport, GivenAccountsAreNotListed) {
  const TempDir dir;
  FakeSource source;
  ReportJob job = job_for(calendar_month(2026, 10), {"csv"});
  job.accounts = {"acc-z", "acc-a", "acc-z"};
  const ReportRunResult result = run_report(source, job, ReportOutput{dir.path()}, {});
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(source.listed_periods, IsEmpty());
  EXPECT_EQ(names_in(dir.path()), (std::set<std::string>{"scalr-usage_acc-a_2026-10.csv",
                                                         "scalr-usage_acc-z_2026-10.csv"}));
}

// FNV-1a 64 of the ids, worked out apart from this code: acc-a ...4cfc and acc-c ...5062 are
// even, acc-b ...5215 and acc-d ...47e3 odd, so shard 0 of 2 has acc-a and acc-c.
TEST(RunReport, AShardReportsOnlyItsOwnAccounts) {
  const TempDir dir;
  FakeSource source;
  source.listed = {"acc-d", "acc-c", "acc-b", "acc-a"};
  ReportJob job = job_for(calendar_month(2026, 10), {"csv"});
  job.shard = ShardSpec{0, 2};
  const ReportRunResult result = run_report(source, job, ReportOutput{dir.path()}, {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(names_in(dir.path()), (std::set<std::string>{"scalr-usage_acc-a_2026-10.csv",
                                                         "scalr-usage_acc-c_2026-10.csv"}));
  for (const auto& [account, period] : source.fetches) {
    EXPECT_TRUE(account == "acc-a" || account == "acc-c") << account << " was fetched";
  }
  // Given accounts too: another shard's account is not this one's to write.
  job.accounts = {"acc-b", "acc-c"};
  job.shard = ShardSpec{1, 2};
  const TempDir other;
  ASSERT_TRUE(run_report(source, job, ReportOutput{other.path()}, {}).ok());
  EXPECT_EQ(names_in(other.path()), (std::set<std::string>{"scalr-usage_acc-b_2026-10.csv"}));
}

TEST(RunReport, AFailingAccountDoesNotStopTheOthers) {
  const TempDir dir;
  FakeSource source;
  source.listed = {"acc-a", "acc-b", "acc-c"};
  source.failing.emplace("acc-b", SourceError(ErrorReason::server_error, "HTTP 503"));
  const ReportRunResult result =
      run_report(source, job_for(calendar_month(2026, 10), {"csv"}), ReportOutput{dir.path()}, {});
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(result.error.empty());
  ASSERT_EQ(result.accounts.size(), 3u);
  EXPECT_EQ(result.accounts[1].error, "period: server_error: HTTP 503");
  EXPECT_THAT(result.accounts[1].files, IsEmpty());
  EXPECT_EQ(result.written_accounts(), (std::set<std::string>{"acc-a", "acc-c"}));
  EXPECT_EQ(names_in(dir.path()), (std::set<std::string>{"scalr-usage_acc-a_2026-10.csv",
                                                         "scalr-usage_acc-c_2026-10.csv"}));
  // The failed account's previous period is not asked for.
  EXPECT_EQ(source.fetches.size(), 5u);
}

TEST(RunReport, APreviousPeriodThatFailsFailsTheAccount) {
  const TempDir dir;
  struct FailsBefore final : UsageSource {
    std::vector<std::string> accounts(const Period&, std::stop_token) override { return {"a"}; }
    AccountUsage fetch(const std::string& account, const Period& period, std::stop_token) override {
      if (period != calendar_month(2026, 10)) throw SourceError(ErrorReason::timeout, "slow");
      return usage_for(account, period);
    }
  } source;
  const ReportRunResult result =
      run_report(source, job_for(calendar_month(2026, 10), {"csv"}), ReportOutput{dir.path()}, {});
  ASSERT_EQ(result.accounts.size(), 1u);
  EXPECT_EQ(result.accounts[0].error, "previous period: timeout: slow");
  EXPECT_THAT(names_in(dir.path()), IsEmpty());
}

TEST(RunReport, ListingFailureFailsTheRun) {
  const TempDir dir;
  FakeSource source;
  source.listing_error = SourceError(ErrorReason::database, "connection refused");
  const ReportRunResult result =
      run_report(source, job_for(calendar_month(2026, 10)), ReportOutput{dir.path()}, {});
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.error, "cannot list the accounts: database: connection refused");
  EXPECT_THAT(result.accounts, IsEmpty());
  EXPECT_THAT(source.fetches, IsEmpty());
}

TEST(RunReport, AlreadyWrittenAccountsAreNeitherFetchedNorWritten) {
  const TempDir dir;
  FakeSource source;
  ReportJob job = job_for(calendar_month(2026, 10), {"csv"});
  job.already_written = {"acc-a"};
  const ReportRunResult result = run_report(source, job, ReportOutput{dir.path()}, {});
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.accounts[0].skipped);
  EXPECT_EQ(result.written_accounts(), (std::set<std::string>{"acc-a", "acc-b"}));
  for (const auto& [account, period] : source.fetches) EXPECT_EQ(account, "acc-b");
  EXPECT_EQ(names_in(dir.path()), (std::set<std::string>{"scalr-usage_acc-b_2026-10.csv"}));
}

// Tests run as root, for whom permission bits do not stop a write: a path through a regular file
// is impossible for anyone.
TEST(RunReport, AnImpossibleDirectoryFailsBeforeAskingTheSource) {
  const TempDir dir;
  write_text(dir.path() / "not-a-dir", "x");
  FakeSource source;
  const ReportRunResult result = run_report(source, job_for(calendar_month(2026, 10)),
                                            ReportOutput{dir.path() / "not-a-dir" / "r"}, {});
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.error, HasSubstr("cannot create report directory"));
  EXPECT_THAT(result.error, HasSubstr("not-a-dir"));
  EXPECT_THAT(source.listed_periods, IsEmpty());
  EXPECT_EQ(names_in(dir.path()), (std::set<std::string>{"not-a-dir"}));
}

TEST(RunReport, AFailedWriteLeavesNoPartialFileAndIsReported) {
  const TempDir dir;
  // A directory where acc-a's JSON file should go: the rename onto it fails; the CSV after it is
  // still written.
  fs::create_directory(dir.path() / "scalr-usage_acc-a_2026-10.json");
  FakeSource source;
  const ReportRunResult result = run_report(
      source, job_for(calendar_month(2026, 10), {"json", "csv"}), ReportOutput{dir.path()}, {});
  EXPECT_FALSE(result.ok());
  ASSERT_EQ(result.accounts.size(), 2u);
  EXPECT_THAT(result.accounts[0].error, HasSubstr("scalr-usage_acc-a_2026-10.json"));
  EXPECT_THAT(result.accounts[0].files, ElementsAre(dir.path() / "scalr-usage_acc-a_2026-10.csv"));
  EXPECT_TRUE(result.accounts[1].error.empty());
  // No temporary file is left, hidden or not.
  EXPECT_EQ(
      names_in(dir.path()),
      (std::set<std::string>{"scalr-usage_acc-a_2026-10.csv", "scalr-usage_acc-a_2026-10.json",
                             "scalr-usage_acc-b_2026-10.csv", "scalr-usage_acc-b_2026-10.json"}));
  EXPECT_TRUE(fs::is_empty(dir.path() / "scalr-usage_acc-a_2026-10.json"));
}

TEST(RunReport, StopEndsTheRunAsCancelled) {
  const TempDir dir;
  FakeSource source;
  std::stop_source stop;
  stop.request_stop();
  const ReportRunResult result = run_report(source, job_for(calendar_month(2026, 10)),
                                            ReportOutput{dir.path()}, stop.get_token());
  EXPECT_TRUE(result.cancelled);
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(names_in(dir.path()), IsEmpty());
}

TEST(RunReport, ReportsProgressOfEveryFetch) {
  const TempDir dir;
  FakeSource source;
  std::vector<std::string> steps;
  run_report(source, job_for(calendar_month(2026, 10), {"csv"}), ReportOutput{dir.path()}, {},
             [&](const ReportProgress& p) {
               steps.push_back(std::to_string(p.done) + "/" + std::to_string(p.total) + " " +
                               std::string(p.account));
             });
  EXPECT_THAT(steps, ElementsAre("0/4 acc-a", "1/4 acc-b", "2/4 acc-a", "3/4 acc-b"));
}

// --- run_report to a stream ----------------------------------------------------------------------

TEST(RunReport, StreamGetsEveryAccountInOneDocument) {
  FakeSource source;
  std::ostringstream out;
  const ReportRunResult result =
      run_report(source, job_for(calendar_month(2026, 10), {"csv"}), ReportOutput{{}, &out}, {});
  ASSERT_TRUE(result.ok());
  Report both = expected_report("acc-a", calendar_month(2026, 10));
  both.accounts.push_back(expected_report("acc-b", calendar_month(2026, 10)).accounts.front());
  EXPECT_EQ(out.str(), render_csv(both));
  EXPECT_THAT(result.accounts[0].files, IsEmpty());
}

TEST(RunReport, StreamGetsNothingWhenAnAccountFails) {
  FakeSource source;
  source.failing.emplace("acc-b", SourceError(ErrorReason::unauthorized, "401"));
  std::ostringstream out;
  const ReportRunResult result =
      run_report(source, job_for(calendar_month(2026, 10), {"json"}), ReportOutput{{}, &out}, {});
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(out.str(), "");
}

TEST(RunReport, StreamTakesExactlyOneFormat) {
  FakeSource source;
  std::ostringstream out;
  EXPECT_THROW(run_report(source, job_for(calendar_month(2026, 10)), ReportOutput{{}, &out}, {}),
               std::invalid_argument);
}

// --- directories and retention ------------------------------------------------------------------

TEST(EnsureReportDirectory, CreatesMissingParentsAndAcceptsAnExistingDirectory) {
  const TempDir dir;
  const fs::path nested = dir.path() / "a" / "b" / "c";
  ensure_report_directory(nested);
  EXPECT_TRUE(fs::is_directory(nested));
  ensure_report_directory(nested);
  ensure_report_directory(dir.path() / "a" / "b" / "c" / "");
  write_text(dir.path() / "file", "x");
  try {
    ensure_report_directory(dir.path() / "file" / "sub");
    ADD_FAILURE() << "created a directory under a file";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code(), std::errc::not_a_directory);
    EXPECT_THAT(error.what(), HasSubstr("cannot create report directory"));
  }
  EXPECT_THROW(ensure_report_directory(dir.path() / "file"), std::system_error);
}

TEST(RemoveOldReports, KeepsTheNewestPeriodsPerAccountAndFormat) {
  const TempDir dir;
  const fs::path d = dir.path();
  for (const char* key : {"2026-06", "2026-07", "2026-08", "2026-09", "2026-10"}) {
    for (const char* account : {"acc-a", "acc_x"}) {
      for (const std::string_view format : kReportFormats) {
        write_text(d / report_file_name(account, key, format), "r");
      }
    }
  }
  write_text(d / "scalr-usage_acc-b_2026-01.csv", "only one: kept");
  write_text(d / "notes.csv", "not a report");
  write_text(d / ".scalr-usage-exporter-state.json", "{}");
  write_text(d / "scalr-usage_acc-a_latest.csv", "not a period");
  fs::create_directory(d / "scalr-usage_acc-a_2026-01.csv");

  const std::vector<fs::path> removed = remove_old_reports(d, 2);
  EXPECT_EQ(removed.size(), 2u * 4u * 3u);
  std::set<std::string> expected{"scalr-usage_acc-b_2026-01.csv", "notes.csv",
                                 ".scalr-usage-exporter-state.json", "scalr-usage_acc-a_latest.csv",
                                 "scalr-usage_acc-a_2026-01.csv"};
  for (const char* key : {"2026-09", "2026-10"}) {
    for (const char* account : {"acc-a", "acc_x"}) {
      for (const std::string_view format : kReportFormats) {
        expected.insert(report_file_name(account, key, format));
      }
    }
  }
  EXPECT_EQ(names_in(d), expected);
  EXPECT_THAT(remove_old_reports(d / "missing", 2), IsEmpty());
}

}  // namespace
}  // namespace scalr_usage
