// Unit tests of report leader election's pure parts (the lock key, the state table's rows, the
// config section) and of the report scheduler under an election, with a scripted store in place
// of PostgreSQL. tests/integration/test_leader_election.py runs the real thing.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <stop_token>

#include "daemon/config_file.h"
#include "daemon/report_scheduler.h"
#include "fake_source.h"
#include "leader_election/state_table.h"
#include "test_files.h"
#include "util/fnv1a.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
namespace fs = std::filesystem;
using test_files::FakeSource;

// --- the lock key ------------------------------------------------------------------------------

// fnv1a_64 itself is checked against the published test vectors in test_shard.cpp.
TEST(LockKey, IsTheHashReadAsASignedBigint) {
  // Computed with Python: h = 14695981039346656037; for b in key: h = ((h ^ b) * 1099511628211)
  // % 2**64; then h - 2**64 if h >= 2**63.
  EXPECT_EQ(advisory_lock_key("scalr-usage-reports"), 8014759142701856904LL);
  EXPECT_EQ(advisory_lock_key("a"), -5808556873153909620LL);  // the top bit set: negative
  EXPECT_NE(advisory_lock_key("scalr-usage-reports"), advisory_lock_key("scalr-usage-report"));
}

// --- the state table's rows -------------------------------------------------------------------

TEST(StateRows, AWrittenReportRoundTripsThroughItsRow) {
  const DueReport due{"monthly", sys_seconds{seconds{1793520000}}, Period{}, "2026-10", false};
  const StateRow row = state_row(due, sys_seconds{seconds{1793520042}});
  EXPECT_EQ(row, (StateRow{"monthly", "2026-10", 1793520000, 1793520042}));
  const ScheduleState state = state_from_rows({row, {"daily", "2026-10-31", 5, 6}});
  const auto entry = state.last_entry("monthly");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->period_key, "2026-10");
  EXPECT_EQ(entry->fire_time, due.fire_time);
  EXPECT_EQ(entry->written_at, sys_seconds{seconds{1793520042}});
  EXPECT_EQ(state.last_written("daily"), "2026-10-31");
  EXPECT_EQ(state.entries().size(), 2u);
  EXPECT_TRUE(state_from_rows({}).entries().empty());
}

TEST(StateRows, RowsThatAreNoStateAreRefusedNamingTheTable) {
  const auto error_of = [](const std::vector<StateRow>& rows) -> std::string {
    try {
      state_from_rows(rows);
    } catch (const ScheduleStateError& error) {
      return error.what();
    }
    return "accepted";
  };
  EXPECT_THAT(error_of({{"m", "", 1, 2}}), HasSubstr("empty period_key"));
  EXPECT_THAT(error_of({{"", "2026-10", 1, 2}}), HasSubstr("empty schedule name"));
  EXPECT_THAT(error_of({{"m", "2026-10", 1, 2}, {"m", "2026-09", 1, 2}}),
              HasSubstr("more than one row"));
  EXPECT_THAT(error_of({{"m", "", 1, 2}}), StartsWith("table scalr_usage_exporter_report_state"));
}

// --- the config section -----------------------------------------------------------------------

Environment token_env() { return {{"SCALR_TOKEN", "tok-123456789"}}; }

std::string with_election(const std::string& election) {
  return "scalr:\n  url: https://example.scalr.io\n  accounts: [acc-1]\n"
         "reports:\n  leader_election:\n" +
         election;
}

std::string config_error(const std::string& yaml, const Environment& env = token_env()) {
  try {
    parse_config(yaml, env);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "accepted";
}

TEST(LeaderElectionConfig, AbsentMeansNoElection) {
  EXPECT_FALSE(
      parse_config("scalr:\n  url: https://example.scalr.io\n  accounts: [acc-1]\n", token_env())
          .reports.leader_election);
}

TEST(LeaderElectionConfig, ReadsTheDsnAndDefaultsTheLockKey) {
  const Config config =
      parse_config(with_election("    dsn: host=db password=s3cret\n"), token_env());
  ASSERT_TRUE(config.reports.leader_election);
  EXPECT_EQ(config.reports.leader_election->lock_key, "scalr-usage-reports");
  EXPECT_EQ(config.reports.leader_election->dsn.reveal(), "host=db password=s3cret");
  EXPECT_EQ(config.reports.leader_election->dsn_origin, "reports.leader_election.dsn");
}

TEST(LeaderElectionConfig, TakesTheDsnFromAFileOrTheEnvironment) {
  test_files::TempDir dir;
  const fs::path file = dir.path() / "leader.dsn";
  test_files::write_text(file, "host=from-file\n");
  Environment env = token_env();
  env.emplace("SCALR_USAGE_LEADER_DSN", "host=from-env");
  const Config from_file = parse_config(
      with_election("    dsn_file: " + file.string() + "\n    lock_key: fleet-a\n"), env);
  EXPECT_EQ(from_file.reports.leader_election->dsn.reveal(), "host=from-file");
  EXPECT_EQ(from_file.reports.leader_election->lock_key, "fleet-a");
  const Config from_env = parse_config(with_election("    lock_key: fleet-a\n"), env);
  EXPECT_EQ(from_env.reports.leader_election->dsn.reveal(), "host=from-env");
  EXPECT_EQ(from_env.reports.leader_election->dsn_origin, "env SCALR_USAGE_LEADER_DSN");
}

TEST(LeaderElectionConfig, ErrorsNameTheKeyAndNeverThePassword) {
  EXPECT_THAT(config_error(with_election("    dsn: host=db\n    lock_key: \"\"\n")),
              StartsWith("reports.leader_election.lock_key: want 1 to 256 characters"));
  EXPECT_THAT(config_error(
                  with_election("    dsn: host=db\n    lock_key: " + std::string(257, 'k') + "\n")),
              StartsWith("reports.leader_election.lock_key: "));
  EXPECT_THAT(config_error(with_election("    lock_key: k\n")),
              StartsWith("reports.leader_election.dsn: required: set reports.leader_election.dsn, "
                         "reports.leader_election.dsn_file or SCALR_USAGE_LEADER_DSN"));
  EXPECT_THAT(config_error(with_election("    dsn_credential: leader\n    dsn: host=db\n")),
              StartsWith("reports.leader_election.dsn_credential: set only one of"));
  EXPECT_THAT(config_error(with_election("    lockkey: k\n")),
              StartsWith("reports.leader_election.lockkey: unknown key"));
  const std::string broken =
      config_error(with_election("    dsn: \"host=db password=pw-S3CRET-9 port='x\"\n"));
  EXPECT_THAT(broken, StartsWith("reports.leader_election.dsn: invalid connection string"));
  EXPECT_THAT(broken, Not(HasSubstr("pw-S3CRET-9")));
}

// --- the scheduler under an election ----------------------------------------------------------

// A store whose leadership the test sets; it keeps the state in memory like the table would.
class ScriptedStore final : public ScheduleStore {
 public:
  std::optional<LeadershipStatus> leadership() const override {
    return LeadershipStatus{leader, {{"connect", errors}}};
  }
  std::optional<ScheduleState> load() override {
    if (!leader) return std::nullopt;
    return state;
  }
  std::optional<std::stop_token> begin_write() override {
    if (!leader || lose_before_write) {
      leader = false;
      return std::nullopt;
    }
    term = std::stop_source{};
    return term.get_token();
  }
  void mark_written(const DueReport& report, sys_seconds written_at) override {
    if (!leader) throw ScheduleStateError("not the leader");
    state.mark_written(report, written_at);
    ++marks;
  }
  void record_delivery(const DeliveryKey& key, const StoredDelivery& delivery) override {
    if (!leader) throw ScheduleStateError("not the leader");
    state.put_delivery(key, delivery);
  }
  void prune_deliveries(const std::string& schedule, const std::string& period_key) override {
    state.prune_deliveries(schedule, period_key);
  }

  bool leader = false;
  bool lose_before_write = false;
  std::uint64_t errors = 0;
  ScheduleState state{fs::path{}};
  std::stop_source term;
  int marks = 0;
};

class ElectedSchedulerTest : public ::testing::Test {
 protected:
  std::unique_ptr<ReportScheduler> make_scheduler() {
    std::vector<ReportSchedule> schedules{ReportSchedule{
        "monthly", CronExpression::parse("0 6 1 * *"), PeriodKind::previous_month, {"csv"}}};
    ReportScheduler::Options options{.reports = ReportsConfig{dir.path() / "reports", schedules},
                                     .plan = BillingPlan{},
                                     .store = scripted};
    options.now = [this] { return Clock::time_point{now}; };
    return std::make_unique<ReportScheduler>(
        std::move(options),
        [this](RequestObserver&) {
          auto source = std::make_unique<FakeSource>();
          source->listed = {"acc-a"};
          source->fetch_log = &fetches;
          return source;
        },
        store);
  }
  fs::path schedule_dir() const { return dir.path() / "reports" / "monthly"; }

  test_files::TempDir dir;
  SnapshotStore store{BuildInfo{"t", "t"}};
  std::shared_ptr<ScriptedStore> scripted = std::make_shared<ScriptedStore>();
  Seconds now = Seconds{sys_days{year{2026} / 11 / 27}.time_since_epoch()} + hours{14};
  std::vector<std::pair<std::string, Period>> fetches;
};

TEST_F(ElectedSchedulerTest, AFollowerWritesNothingAndSaysSo) {
  const auto scheduler = make_scheduler();
  const std::optional<Seconds> wake = scheduler->check({});
  EXPECT_TRUE(fetches.empty());
  EXPECT_FALSE(fs::exists(schedule_dir()));
  EXPECT_EQ(store.report_status()->leader, false);
  // It looks again soon: it may become the leader at any time.
  EXPECT_EQ(wake, now + seconds{2});
  EXPECT_THAT(store.exposition()->text, HasSubstr("scalr_exporter_report_leader 0"));
  EXPECT_THAT(store.exposition()->text,
              HasSubstr("scalr_exporter_report_leader_errors_total{reason=\"connect\"} 0"));
}

TEST_F(ElectedSchedulerTest, ANewLeaderCatchesUpOnceAndMarksInTheStore) {
  const auto scheduler = make_scheduler();
  scheduler->check({});
  scripted->leader = true;
  now += seconds{2};
  scheduler->check({});
  EXPECT_EQ(scripted->marks, 1);
  EXPECT_EQ(scripted->state.last_written("monthly"), "2026-10");
  EXPECT_TRUE(fs::exists(schedule_dir() / report_file_name("acc-a", "2026-10", "csv")));
  EXPECT_EQ(store.report_status()->leader, true);
  EXPECT_FALSE(fs::exists(dir.path() / "reports" / ScheduleState::kFileName));  // no state file
  now += seconds{2};
  scheduler->check({});
  EXPECT_EQ(scripted->marks, 1);
}

TEST_F(ElectedSchedulerTest, WhatAnotherLeaderWroteIsNotWrittenAgain) {
  scripted->leader = true;
  scripted->state.mark_written("monthly", "2026-10", sys_days{year{2026} / 11 / 1} + hours{6},
                               sys_days{year{2026} / 11 / 1} + hours{7});
  const auto scheduler = make_scheduler();
  scheduler->check({});
  EXPECT_TRUE(fetches.empty());
  EXPECT_EQ(scripted->marks, 0);
  // The last success comes from the shared state: 2026-11-01T07:00:00Z.
  EXPECT_EQ(store.report_status()->schedules.at("monthly").last_success_unix_seconds, 1793516400.0);
}

TEST_F(ElectedSchedulerTest, LeadershipLostBeforeWritingWritesNothing) {
  const auto scheduler = make_scheduler();
  scripted->leader = true;
  scripted->lose_before_write = true;
  scheduler->check({});
  EXPECT_TRUE(fetches.empty());
  EXPECT_FALSE(fs::exists(schedule_dir()));
  EXPECT_EQ(scripted->marks, 0);
  EXPECT_EQ(store.report_status()->leader, false);
  EXPECT_EQ(store.report_status()->schedules.at("monthly").errors, 0u);  // not a report failure
}

TEST_F(ElectedSchedulerTest, ErrorCountsContinueAcrossAReload) {
  scripted->errors = 3;
  auto scheduler = make_scheduler();
  scheduler->check({});
  scheduler.reset();
  scripted = std::make_shared<ScriptedStore>();
  scripted->errors = 2;
  scheduler = make_scheduler();
  EXPECT_EQ(store.report_status()->leader_errors.at("connect"), 5u);
}

TEST_F(ElectedSchedulerTest, WithoutAnElectionNeitherSeriesExists) {
  ReportScheduler::Options options{
      .reports = ReportsConfig{dir.path() / "reports",
                               {ReportSchedule{"monthly",
                                               CronExpression::parse("0 6 1 * *"),
                                               PeriodKind::previous_month,
                                               {"csv"}}}},
      .plan = BillingPlan{}};
  const ReportScheduler scheduler(
      std::move(options), [](RequestObserver&) { return std::make_unique<FakeSource>(); }, store);
  EXPECT_FALSE(store.report_status()->leader);
  EXPECT_THAT(store.exposition()->text, Not(HasSubstr("scalr_exporter_report_leader")));
}

}  // namespace
}  // namespace scalr_usage
