#pragma once
// Where a report scheduler keeps its ScheduleState, and whether it may write reports at all.
//
// A lone daemon keeps the state in a file in its output directory and always writes
// (FileScheduleStore). Replicas with reports.leader_election share the state in PostgreSQL, and
// only the replica holding the advisory lock writes (leader_election/postgres_leadership.h): a new
// leader reads the periods the old one wrote, so it never writes one again and catches up a
// missed one exactly once.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>

#include "reports/schedule_state.h"

namespace scalr_usage {

// What the exporter shows of an election: scalr_exporter_report_leader and
// scalr_exporter_report_leader_errors_total.
struct LeadershipStatus {
  bool leader = false;
  std::map<std::string, std::uint64_t> errors;  // by reason, every reason, since the store was made

  friend bool operator==(const LeadershipStatus&, const LeadershipStatus&) = default;
};

class ScheduleStore {
 public:
  virtual ~ScheduleStore() = default;

  // nullopt without an election (this daemon always writes).
  virtual std::optional<LeadershipStatus> leadership() const = 0;

  // The state that decides what is due, read afresh; nullopt when this replica must not write
  // reports now (not the leader). Throws ScheduleStateError when the state cannot be read: nothing
  // is written then.
  virtual std::optional<ScheduleState> load() = 0;

  // Called right before a due report is written. nullopt: it must not be (leadership lost since
  // load()). Else a token that is stopped if leadership is lost while the report is being written,
  // so the run is abandoned rather than finished by a replica that is no longer the leader.
  virtual std::optional<std::stop_token> begin_write() = 0;

  // Records that the report was written. Throws ScheduleStateError when it could not be recorded;
  // the report then counts as failed, and is retried while this replica may write.
  virtual void mark_written(const DueReport& report, std::chrono::sys_seconds written_at) = 0;

  // Records one delivery's state (delivery/dispatcher.h): when it is queued and right after each
  // attempt. Throws ScheduleStateError when it could not be recorded (not the leader any more).
  virtual void record_delivery(const DeliveryKey& key, const StoredDelivery& delivery) = 0;
  // Forgets the finished deliveries of schedule's periods before period_key
  // (ScheduleState::prune_deliveries). Best effort: a failure is retried at the next prune.
  virtual void prune_deliveries(const std::string& schedule, const std::string& period_key) = 0;
};

// The state file: read once when made, saved whole after every report.
class FileScheduleStore final : public ScheduleStore {
 public:
  explicit FileScheduleStore(ScheduleState state) : state_(std::move(state)) {}

  std::optional<LeadershipStatus> leadership() const override { return std::nullopt; }
  std::optional<ScheduleState> load() override { return state_; }
  std::optional<std::stop_token> begin_write() override { return std::stop_token{}; }
  // Marks in memory, then saves the file. A failed save leaves the mark in memory, so the report
  // is not written again while the daemon runs; the next save stores it.
  void mark_written(const DueReport& report, std::chrono::sys_seconds written_at) override;
  // Both in memory, then the file saved, like mark_written.
  void record_delivery(const DeliveryKey& key, const StoredDelivery& delivery) override;
  void prune_deliveries(const std::string& schedule, const std::string& period_key) override;

 private:
  void save();

  ScheduleState state_;
};

}  // namespace scalr_usage
