#pragma once
// What a configuration reload replaces: the poller and the report scheduler, each on its own
// thread, built from one Config. The snapshot store and the web server outlive them, so a reload
// keeps the listener and the values it serves (the new poller and scheduler continue from the
// store's counters and last good values).

#include <chrono>
#include <memory>
#include <thread>

#include "daemon/config_file.h"
#include "daemon/poller.h"
#include "daemon/report_scheduler.h"
#include "leader_election/postgres_leadership.h"
#include "metrics/snapshot_store.h"

namespace scalr_usage {

class Workers {
 public:
  // Throws SourceSetupError when the source's start-up check finds the configuration unusable (a
  // postgres.query that cannot work).
  Workers(const Config& config, SnapshotStore& store);
  ~Workers();  // stops the threads and joins them (sources cancel what they are doing)
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  // The poll loop is not stuck in one cycle for longer than a poll could legitimately take.
  bool responsive() const;

 private:
  std::chrono::steady_clock::duration max_poll_;
  std::unique_ptr<Poller> poller_;
  // reports.leader_election with schedules: the election, on a thread of its own, is the
  // scheduler's store. Null otherwise.
  std::shared_ptr<PostgresLeadership> leadership_;
  std::unique_ptr<ReportScheduler> scheduler_;
  std::jthread poll_thread_;
  std::jthread report_thread_;
  std::jthread election_thread_;
};

// The source's start-up check (UsageSource::check_setup), shared by the daemon's start and
// --check-config. A configuration that cannot work is an error (SourceSetupError propagates); a
// source that cannot be asked yet is not: returns why it could not be checked, empty when it was
// (or when the source has nothing to check).
std::string check_source_setup(UsageSource& source);

// The one way sources are made: the poller's, each report run's and the report command's are
// separate instances (sources are not thread-safe). check_at_start: the poller's source is
// checked once, when it is made.
Poller::SourceFactory make_source_factory(const Config& config, bool check_at_start);

}  // namespace scalr_usage
