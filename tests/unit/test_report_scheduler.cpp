#include "daemon/report_scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fake_source.h"
#include "metrics/names.h"
#include "reports/report.h"
#include "test_files.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;
using test_files::FakeSource;
using test_files::names_in;
using test_files::TempDir;
using test_files::write_text;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
namespace fs = std::filesystem;

Seconds at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0) {
  return Seconds{sys_days{year{y} / month{m} / day{d}}.time_since_epoch()} + hours{hh} +
         minutes{mm};
}

ReportSchedule schedule(std::string name, std::string_view cron, PeriodKind period,
                        std::vector<std::string> formats = {"csv", "json"}) {
  return ReportSchedule{std::move(name), CronExpression::parse(cron), period, std::move(formats)};
}

// A scheduler on a fake clock whose sources all answer from one script.
class SchedulerTest : public ::testing::Test {
 protected:
  std::unique_ptr<ReportScheduler> make_scheduler(std::vector<ReportSchedule> schedules,
                                                  int keep = 24, ShardSpec shard = {},
                                                  DeliveryConfig delivery = {}) {
    ReportScheduler::Options options{ReportsConfig{output_dir(), std::move(schedules), keep},
                                     BillingPlan{100, 0.99, "USD"}};
    options.now = [this] { return Clock::time_point{now}; };
    options.shard = shard;
    options.delivery = std::move(delivery);
    return std::make_unique<ReportScheduler>(
        std::move(options),
        [this](RequestObserver& observer) {
          ++sources_made;
          observer.on_response("", 200, 0.01);
          auto source = std::make_unique<FakeSource>();
          source->listed = listed;
          source->failing = failing;
          source->fetch_log = &fetches;
          return source;
        },
        store);
  }

  virtual fs::path output_dir() const { return dir.path() / "reports"; }
  fs::path file(const std::string& schedule, const std::string& account, const std::string& key,
                std::string_view format = "csv") const {
    return output_dir() / schedule / report_file_name(account, key, format);
  }
  const ReportScheduleStatus& status(const std::string& schedule) const {
    return store.report_status()->schedules.at(schedule);
  }

  TempDir dir;
  SnapshotStore store{BuildInfo{"t", "t"}};
  Seconds now = at(2026, 11, 27, 14, 30);
  std::vector<std::string> listed{"acc-a", "acc-b"};
  std::map<std::string, SourceError> failing;
  std::vector<std::pair<std::string, Period>> fetches;
  int sources_made = 0;
};

TEST_F(SchedulerTest, InitialStatusHasEverySchedule) {
  const auto scheduler =
      make_scheduler({schedule("monthly", "0 6 1 * *", PeriodKind::previous_month),
                      schedule("daily", "0 6 * * *", PeriodKind::previous_day)});
  const ReportStatus& published = *store.report_status();
  ASSERT_EQ(published.schedules.size(), 2u);
  EXPECT_EQ(status("monthly").errors, 0u);
  EXPECT_FALSE(status("monthly").last_success_unix_seconds);
  EXPECT_EQ(published.included_runs, 100u);
  const std::string text = store.exposition()->text;
  EXPECT_THAT(text, HasSubstr("scalr_exporter_report_errors_total{schedule=\"daily\"} 0"));
  EXPECT_THAT(text, Not(HasSubstr("scalr_exporter_report_last_success_timestamp_seconds{")));
  EXPECT_EQ(sources_made, 0);
  EXPECT_FALSE(fs::exists(output_dir()));  // nothing is written before the first check
}

TEST_F(SchedulerTest, CatchesUpAtStartWithTheLatestReportOnly) {
  const auto scheduler =
      make_scheduler({schedule("monthly", "0 6 1 * *", PeriodKind::previous_month)});
  const std::optional<Seconds> wake = scheduler->check({});
  EXPECT_EQ(wake, at(2026, 12, 1, 6));
  // The November 1st fire time's report: October, for both accounts, nothing older.
  EXPECT_EQ(
      names_in(output_dir() / "monthly"),
      (std::set<std::string>{"scalr-usage_acc-a_2026-10.csv", "scalr-usage_acc-a_2026-10.json",
                             "scalr-usage_acc-b_2026-10.csv", "scalr-usage_acc-b_2026-10.json"}));
  EXPECT_THAT(test_files::read_text(file("monthly", "acc-a", "2026-10", "json")),
              HasSubstr("\"schedule\": \"monthly: 0 6 1 * *\""));
  const auto entry =
      ScheduleState::load(output_dir() / ScheduleState::kFileName).last_entry("monthly");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->period_key, "2026-10");
  EXPECT_EQ(entry->fire_time, at(2026, 11, 1, 6));
  EXPECT_EQ(entry->written_at, now);
  EXPECT_EQ(status("monthly").last_success_unix_seconds,
            static_cast<double>(now.time_since_epoch().count()));
  EXPECT_EQ(status("monthly").errors, 0u);
  // The report run's source is its own, and its API responses are counted.
  EXPECT_EQ(sources_made, 1);
  EXPECT_EQ(store.report_status()->api_requests.at("").by_code.at(200), 1u);
}

// A sharded daemon's schedule writes its own accounts' reports only. FNV-1a 64, worked out apart
// from this code: acc-a ...4cfc is even, acc-b ...5215 odd.
TEST_F(SchedulerTest, AShardWritesOnlyItsOwnAccounts) {
  const auto scheduler = make_scheduler(
      {schedule("monthly", "0 6 1 * *", PeriodKind::previous_month, {"csv"})}, 24, {1, 2});
  scheduler->check({});
  EXPECT_EQ(names_in(output_dir() / "monthly"),
            (std::set<std::string>{"scalr-usage_acc-b_2026-10.csv"}));
  EXPECT_EQ(status("monthly").errors, 0u);
  ASSERT_TRUE(status("monthly").last_success_unix_seconds);
}

TEST_F(SchedulerTest, NeverWritesTheSamePeriodTwiceNorAfterARestart) {
  auto scheduler =
      make_scheduler({schedule("minutely", "* * * * *", PeriodKind::previous_month, {"csv"})});
  scheduler->check({});
  const std::size_t fetched = fetches.size();
  ASSERT_EQ(fetched, 4u);
  const auto written = fs::last_write_time(file("minutely", "acc-a", "2026-10"));
  for (int minute = 1; minute <= 3; ++minute) {
    now += minutes{1};
    EXPECT_EQ(scheduler->check({}), now + minutes{1});
  }
  scheduler = make_scheduler({schedule("minutely", "* * * * *", PeriodKind::previous_month)});
  now += minutes{1};
  scheduler->check({});
  EXPECT_EQ(fetches.size(), fetched);
  EXPECT_EQ(sources_made, 1);
  EXPECT_EQ(fs::last_write_time(file("minutely", "acc-a", "2026-10")), written);
  // The restarted scheduler shows the last success from the state file.
  EXPECT_TRUE(status("minutely").last_success_unix_seconds);
}

TEST_F(SchedulerTest, AfterADowntimeWritesOnlyTheLatestMissedReport) {
  {
    ScheduleState state(output_dir() / ScheduleState::kFileName);
    fs::create_directories(output_dir());
    state.mark_written("monthly", "2026-08", at(2026, 9, 1, 6), at(2026, 9, 1, 6));
    state.save();
  }
  now = at(2026, 12, 15, 9);  // down since September: October 1st and December 1st were missed
  const auto scheduler =
      make_scheduler({schedule("monthly", "0 6 1 * *", PeriodKind::previous_month, {"csv"})});
  EXPECT_EQ(status("monthly").last_success_unix_seconds,
            static_cast<double>(at(2026, 9, 1, 6).time_since_epoch().count()));
  scheduler->check({});
  EXPECT_EQ(
      names_in(output_dir() / "monthly"),
      (std::set<std::string>{"scalr-usage_acc-a_2026-11.csv", "scalr-usage_acc-b_2026-11.csv"}));
  EXPECT_EQ(scheduler->state().last_written("monthly"), "2026-11");
}

TEST_F(SchedulerTest, AFailedReportIsRetriedAfterABackoffForTheMissingAccountsOnly) {
  failing.emplace("acc-b", SourceError(ErrorReason::server_error, "HTTP 503"));
  const auto scheduler =
      make_scheduler({schedule("monthly", "0 6 1 * *", PeriodKind::previous_month, {"csv"})});
  const Seconds start = now;
  EXPECT_EQ(scheduler->check({}), start + minutes{5});
  EXPECT_EQ(status("monthly").errors, 1u);
  EXPECT_FALSE(status("monthly").last_success_unix_seconds);
  EXPECT_FALSE(scheduler->state().last_written("monthly"));
  EXPECT_FALSE(fs::exists(output_dir() / ScheduleState::kFileName));
  EXPECT_TRUE(fs::exists(file("monthly", "acc-a", "2026-10")));

  // Not before the backoff is over: no source is even made.
  now = start + minutes{1};
  EXPECT_EQ(scheduler->check({}), start + minutes{5});
  EXPECT_EQ(sources_made, 1);

  // Failing again: the backoff doubles.
  now = start + minutes{5};
  EXPECT_EQ(scheduler->check({}), now + minutes{10});
  EXPECT_EQ(status("monthly").errors, 2u);

  failing.clear();
  fetches.clear();
  now += minutes{10};
  EXPECT_EQ(scheduler->check({}), at(2026, 12, 1, 6));
  for (const auto& [account, period] : fetches) EXPECT_EQ(account, "acc-b");
  EXPECT_EQ(scheduler->state().last_written("monthly"), "2026-10");
  EXPECT_EQ(status("monthly").errors, 2u);
  EXPECT_EQ(status("monthly").last_success_unix_seconds,
            static_cast<double>(now.time_since_epoch().count()));
}

TEST_F(SchedulerTest, TheBackoffIsBounded) {
  failing.emplace("acc-a", SourceError(ErrorReason::timeout, "slow"));
  const auto scheduler =
      make_scheduler({schedule("monthly", "0 6 1 * *", PeriodKind::previous_month, {"csv"})});
  std::optional<Seconds> wake = scheduler->check({});
  for (int attempt = 0; attempt < 12; ++attempt) {
    ASSERT_TRUE(wake);
    ASSERT_GT(*wake, now);  // never a wake-up in the past: the loop cannot spin
    EXPECT_LE(*wake - now, hours{1});
    now = *wake;
    wake = scheduler->check({});
  }
  EXPECT_EQ(*wake - now, hours{1});
  EXPECT_EQ(status("monthly").errors, 13u);
}

// Tests run as root, for whom permission bits do not stop a write: a path through a regular file
// is impossible for anyone.
class ImpossibleDirectoryTest : public SchedulerTest {
 protected:
  fs::path output_dir() const override { return dir.path() / "file" / "reports"; }
};

TEST_F(ImpossibleDirectoryTest, WriteFailuresAreCountedAndRetried) {
  write_text(dir.path() / "file", "x");
  const auto scheduler =
      make_scheduler({schedule("monthly", "* * * * *", PeriodKind::previous_month)});
  const std::optional<Seconds> wake = scheduler->check({});
  EXPECT_EQ(wake, now + minutes{1});  // the next fire comes before the backoff ends
  EXPECT_EQ(status("monthly").errors, 1u);
  EXPECT_THAT(fetches, IsEmpty());  // the directory is checked before the source is asked
  EXPECT_THAT(store.exposition()->text,
              HasSubstr("scalr_exporter_report_errors_total{schedule=\"monthly\"} 1"));
  EXPECT_EQ(names_in(dir.path()), (std::set<std::string>{"file"}));
}

TEST_F(SchedulerTest, ACorruptStateFileMeansStartingEmpty) {
  fs::create_directories(output_dir());
  write_text(output_dir() / ScheduleState::kFileName, "{not json");
  const auto scheduler =
      make_scheduler({schedule("monthly", "0 6 1 * *", PeriodKind::previous_month, {"csv"})});
  scheduler->check({});
  EXPECT_EQ(
      names_in(output_dir() / "monthly"),
      (std::set<std::string>{"scalr-usage_acc-a_2026-10.csv", "scalr-usage_acc-b_2026-10.csv"}));
  EXPECT_EQ(ScheduleState::load(output_dir() / ScheduleState::kFileName).last_written("monthly"),
            "2026-10");
}

TEST_F(SchedulerTest, RetentionKeepsTheNewestPeriodsOfEachScheduleApart) {
  const auto scheduler =
      make_scheduler({schedule("daily", "0 6 * * *", PeriodKind::previous_day, {"csv"}),
                      schedule("monthly", "0 6 1 * *", PeriodKind::previous_month, {"csv"})},
                     /*keep=*/2);
  now = at(2026, 11, 24, 7);
  for (int day = 0; day < 4; ++day) {
    scheduler->check({});
    now += hours{24};
  }
  EXPECT_EQ(names_in(output_dir() / "daily"),
            (std::set<std::string>{
                "scalr-usage_acc-a_2026-11-25.csv", "scalr-usage_acc-a_2026-11-26.csv",
                "scalr-usage_acc-b_2026-11-25.csv", "scalr-usage_acc-b_2026-11-26.csv"}));
  EXPECT_EQ(
      names_in(output_dir() / "monthly"),
      (std::set<std::string>{"scalr-usage_acc-a_2026-10.csv", "scalr-usage_acc-b_2026-10.csv"}));
}

TEST_F(SchedulerTest, AReplacingSchedulerContinuesTheCounts) {
  failing.emplace("acc-a", SourceError(ErrorReason::timeout, "slow"));
  auto scheduler =
      make_scheduler({schedule("monthly", "0 6 1 * *", PeriodKind::previous_month, {"csv"})});
  scheduler->check({});
  scheduler = make_scheduler({schedule("monthly", "0 6 1 * *", PeriodKind::previous_month),
                              schedule("new", "0 6 * * *", PeriodKind::previous_day)});
  EXPECT_EQ(status("monthly").errors, 1u);
  EXPECT_EQ(status("new").errors, 0u);
  EXPECT_EQ(store.report_status()->api_requests.at("").by_code.at(200), 1u);
}

// A webhook nobody listens on: every attempt is "connection refused", a transient failure.
DeliveryConfig refused_webhook(const std::string& schedule) {
  WebhookConfig webhook;
  webhook.url = Secret("http://127.0.0.1:1/hooks/s3cret");
  webhook.shown_url = "http://127.0.0.1:1";
  webhook.timeout = seconds{2};
  DeliveryConfig delivery;
  delivery.schedules.push_back({schedule, {webhook}});
  return delivery;
}

TEST_F(SchedulerTest, DeliveriesAreCountedFromZeroQueuedPerAccountAndWakeTheLoop) {
  auto scheduler = make_scheduler({schedule("monthly", "0 6 1 * *", PeriodKind::previous_month)},
                                  24, {}, refused_webhook("monthly"));
  EXPECT_EQ(status("monthly").deliveries.at("webhook"), DeliveryCounts{});
  EXPECT_THAT(store.exposition()->text, HasSubstr("scalr_exporter_report_deliveries_total{"));
  const std::optional<Seconds> wake = scheduler->check({});
  // Both accounts queued and attempted once; the loop wakes for the retry, not for the cron.
  ASSERT_EQ(scheduler->state().deliveries().size(), 2u);
  for (const auto& [key, stored] : scheduler->state().deliveries()) {
    EXPECT_FALSE(stored.finished);
    EXPECT_THAT(stored.record, Not(HasSubstr("s3cret")));
    EXPECT_EQ(decode_delivery(stored).attempts, 1);
  }
  EXPECT_EQ(wake, now + seconds{30});
  const std::string saved = test_files::read_text(output_dir() / ScheduleState::kFileName);
  EXPECT_THAT(saved, HasSubstr("\"deliveries\""));
  EXPECT_THAT(saved, Not(HasSubstr("s3cret")));
  // A reload: the pending deliveries continue from the state, and the counts carry.
  scheduler = make_scheduler({schedule("monthly", "0 6 1 * *", PeriodKind::previous_month)}, 24, {},
                             refused_webhook("monthly"));
  now += seconds{30};
  scheduler->check({});
  for (const auto& [key, stored] : scheduler->state().deliveries()) {
    EXPECT_EQ(decode_delivery(stored).attempts, 2);
  }
  EXPECT_EQ(status("monthly").deliveries.at("webhook"), DeliveryCounts{});
}

TEST_F(SchedulerTest, WithoutSchedulesItOnlyPublishesThePlan) {
  const auto scheduler = make_scheduler({});
  EXPECT_TRUE(store.report_status()->schedules.empty());
  EXPECT_EQ(store.report_status()->included_runs, 100u);
  EXPECT_EQ(scheduler->check({}), std::nullopt);
  scheduler->run({});  // returns at once
  EXPECT_EQ(sources_made, 0);
  EXPECT_FALSE(fs::exists(output_dir()));
}

TEST(InitialReportStatus, NoPlanNoIncludedRuns) {
  const ReportStatus status =
      initial_report_status(ReportsConfig{}, BillingPlan{}, nullptr, nullptr);
  EXPECT_FALSE(status.included_runs);
  EXPECT_TRUE(status.schedules.empty());
}

}  // namespace
}  // namespace scalr_usage
