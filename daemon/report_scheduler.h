#pragma once
// The scheduled reports: a loop on its own thread that writes each schedule's report when its
// cron fires, once per period (reports/schedule_state.h has the catch-up rules), and publishes
// scalr_exporter_report_* through SnapshotStore::publish_report_status.
//
// Layout under reports.output_dir: the state file (ScheduleState::kFileName) and one subdirectory
// per schedule holding its reports, scalr-usage_<account>_<period_key>.<ext>, so that the
// retention of one schedule (`keep` periods per account and format) never touches another's.
//
// A report is marked written, and the state saved, only when every account's files are in place.
// A failed attempt is counted, logged once per change of its error, and retried after a bounded
// backoff (5 minutes, doubling to 1 hour; a schedule firing meanwhile does not hurry it, a new
// period is not held back by it); the accounts it did write are not written again for that period
// while the daemon runs.
//
// Where the state lives, and whether this daemon writes at all, is the ScheduleStore's
// (reports/schedule_store.h): the state file by default; with reports.leader_election a
// PostgreSQL table, and only while this replica is the leader. Under an election the loop looks at
// its leadership at least every Options::leadership_check, publishes scalr_exporter_report_leader,
// and asks the store again right before each report (ScheduleStore::begin_write); a run is
// abandoned if leadership is lost while it writes.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "collectors/source.h"
#include "delivery/dispatcher.h"
#include "delivery/registry/registry.h"
#include "metrics/snapshot_store.h"
#include "reports/config.h"
#include "reports/report_runner.h"
#include "reports/schedule_state.h"
#include "reports/schedule_store.h"

namespace scalr_usage {

// The report status every configured schedule starts with: no errors, the last success from the
// state file's entry when there is one; included_runs when the plan has one. `carried` (nullable)
// is a previous status whose error counts continue (a scheduler replacing another).
ReportStatus initial_report_status(const ReportsConfig& reports, const BillingPlan& plan,
                                   const ScheduleState* state, const ReportStatus* carried);

class ReportScheduler final : private RequestObserver {
 public:
  using SourceFactory = std::function<std::unique_ptr<UsageSource>(RequestObserver&)>;
  using WallClock = std::function<Clock::time_point()>;

  struct Options {
    ReportsConfig reports;
    BillingPlan plan;
    // config `chargeback:`: the reports allocate by it (off by default). A reload makes a new
    // scheduler with the new rules.
    ChargebackRules chargeback{};
    WallClock now = [] { return Clock::now(); };
    std::chrono::seconds retry_initial{std::chrono::minutes{5}};
    std::chrono::seconds retry_max{std::chrono::hours{1}};
    // Reports are written for this shard's accounts only (ReportJob::shard).
    ShardSpec shard{};
    // Null: the state file in reports.output_dir (ScheduleState::kFileName).
    std::shared_ptr<ScheduleStore> store = nullptr;
    // Under an election, the longest the loop sleeps: how late a new leader catches up at most,
    // and how stale scalr_exporter_report_leader can be.
    std::chrono::seconds leadership_check{2};
    // The schedules' channels (config `webhook:`, `email:`); reports.delivery_retry_for sets
    // delivery_retry.retry_for when the scheduler is made from a configuration.
    DeliveryConfig delivery{};
    DeliveryRetryPolicy delivery_retry{};
  };

  // Without Options::store, loads the state file (a corrupt or unreadable one is logged, and the
  // scheduler starts from an empty state, which due_reports() turns into at most one report per
  // schedule). Publishes the initial report status. With no schedules it touches no file.
  // make_source is called once per check that has reports to write, for a source of the scheduler's
  // own.
  ReportScheduler(Options options, SourceFactory make_source, SnapshotStore& store);

  // One check at now(): writes every due report not backing off, publishes the status when it
  // changed, and returns when the next check is due (nullopt: nothing will ever be due).
  std::optional<Seconds> check(std::stop_token stop);

  // check() at start (the catch-up), then at every wake-up until stop. Returns at once without
  // schedules.
  void run(std::stop_token stop);

  const ScheduleState& state() const { return state_; }
  const ReportStatus& status() const { return status_; }

 private:
  // A schedule's report that is failing: what is done of it, when to try again, what was logged.
  struct Failure {
    std::string period_key;
    std::set<std::string> written_accounts;
    int attempts = 0;
    Seconds retry_at;
    std::string logged_error;
  };

  void on_response(std::string_view target, int http_status, double seconds) override;
  void on_enrichment_error(std::string_view target, ErrorReason reason) override;
  // The store's state for this check, or nullopt when this replica does not write now (a
  // follower, or a state that cannot be read, which is logged once per change).
  std::optional<ScheduleState> load_state();
  // After a check's writes: forgets failures no longer due, logs the check, and returns when the
  // next one is due.
  std::optional<Seconds> next_check(Seconds now, const std::vector<DueReport>& due);
  // scalr_exporter_report_leader and its errors, from the store, into status_.
  void update_leadership();
  // The last successes of state_ into status_ when newer (a shared state another replica wrote).
  void adopt_last_successes();
  // Runs one due report and records the outcome in the state, the status and failures_. stop
  // ends the run on shutdown; lost, when leadership is lost.
  void write(const DueReport& due, UsageSource& source, Seconds now, std::stop_token stop,
             std::stop_token lost);
  // The run of a due report; the accounts an earlier failed attempt at it wrote are not written
  // again.
  ReportJob job_for(const DueReport& due, const ReportSchedule& spec, Seconds now) const;
  // A complete run: marks the report written and saves the state (a failing save is recorded as
  // a failure), applies retention, and records the success in the status.
  void record_written(const DueReport& due, const ReportSchedule& spec,
                      const std::filesystem::path& directory, const ReportRunResult& result,
                      const std::set<std::string>& written, Seconds now);
  void record_failure(const DueReport& due, Seconds now, const std::string& error,
                      const std::set<std::string>& written, std::size_t failed_accounts);
  const ReportSchedule& schedule(const std::string& name) const;
  // daemon/report_scheduler_delivery.cpp: the channels made, their counters at 0.
  void set_up_delivery();
  // Queues the deliveries of the accounts whose files result wrote completely.
  void queue_deliveries(const ReportSchedule& spec, const ReportRunResult& result);
  // Attempts the due deliveries, counts the finished ones, keeps the state bounded.
  void deliver_due(std::stop_token stop);
  // When the next pending delivery is due, never before now + 1s.
  std::optional<Seconds> next_delivery(Seconds now) const;

  const Options options_;
  const SourceFactory make_source_;
  SnapshotStore& store_;
  std::vector<ScheduleSpec> specs_;
  std::shared_ptr<ScheduleStore> state_store_;  // null without schedules
  ScheduleState state_;                         // as last loaded from state_store_
  std::string load_error_;                      // the last one logged
  // Leader errors counted before this scheduler (a reload): its store counts from zero.
  std::map<std::string, std::uint64_t> carried_leader_errors_;
  ReportStatus status_;
  bool status_changed_ = false;
  std::optional<Seconds> last_check_;
  std::map<std::string, Failure> failures_;  // by schedule name
  // By schedule and channel name: made once, reused for every attempt.
  std::map<std::pair<std::string, std::string>, std::unique_ptr<DeliveryChannel>> channels_;
  std::optional<DeliveryDispatcher> dispatcher_;  // set when a schedule names a channel
};

}  // namespace scalr_usage
