#pragma once
// Report leadership through a PostgreSQL session-level advisory lock, and the schedule state in a
// table of the same database: the ScheduleStore of replicas with reports.leader_election.
//
// Each replica keeps one connection of its own for this. A follower tries pg_try_advisory_lock
// every Options::retry_interval; the replica whose session gets the lock leads until that session
// ends. The leader checks every Options::check_interval that its session still holds the lock,
// again right before each report (begin_write), and in the very transaction that marks a report
// written (mark_written): the state is only ever changed by the session holding the lock.
//
// Any failure of the leader's connection or lock checks closes the connection, which frees the
// lock, and ends the leadership: the report being written is abandoned (begin_write's token) and
// nothing more is written until this or another replica leads again. A leader cut off from the
// database gives up within about 11 s (the connection's keepalive and user timeout), before the
// server frees a silent session's lock after about 25 s (leader_sql::kSessionSettings), so two
// replicas never both believe they lead for long.
//
// Threads: run() is the election's own thread; the ScheduleStore calls come from the report
// scheduler's. Every use of the connection holds mutex_; leadership() reads atomics only.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "pq/dsn.h"
#include "reports/config.h"
#include "reports/schedule_store.h"

namespace pqxx {
class transaction_base;
}  // namespace pqxx

namespace scalr_usage {

struct PqConnection;  // pq/connection.h

// The reasons of scalr_exporter_report_leader_errors_total.
enum class LeaderError {
  connect,          // the connection could not be opened
  connection_lost,  // an open connection broke
  lock_lost,        // the session no longer holds the lock it held
  query,            // an election statement failed otherwise (a timeout, a refused function)
  state_table,      // creating, reading or writing the state table failed
};
inline constexpr std::array<LeaderError, 5> kLeaderErrors = {
    LeaderError::connect, LeaderError::connection_lost, LeaderError::lock_lost, LeaderError::query,
    LeaderError::state_table};
std::string_view to_string(LeaderError reason);

class PostgresLeadership final : public ScheduleStore {
 public:
  struct Options {
    std::chrono::milliseconds retry_interval{std::chrono::seconds{5}};  // a follower's tries
    std::chrono::milliseconds check_interval{std::chrono::seconds{2}};  // a leader's lock checks
  };

  PostgresLeadership(const LeaderElectionConfig& config, Options options);
  ~PostgresLeadership() override;
  PostgresLeadership(const PostgresLeadership&) = delete;
  PostgresLeadership& operator=(const PostgresLeadership&) = delete;

  // The election until stop: connect, try the lock, check it. On return the connection is
  // closed, so another replica can take over at once.
  void run(std::stop_token stop);

  std::optional<LeadershipStatus> leadership() const override;
  // Follower: nullopt, without asking the database. Leader: the lock key's rows of the table.
  std::optional<ScheduleState> load() override;
  std::optional<std::stop_token> begin_write() override;
  void mark_written(const DueReport& report, std::chrono::sys_seconds written_at) override;
  // Recorded like mark_written (write_as_leader); the table itself: postgres_deliveries.cpp.
  void record_delivery(const DeliveryKey& key, const StoredDelivery& delivery) override;
  void prune_deliveries(const std::string& schedule, const std::string& period_key) override;

 private:
  // Creates the delivery table when missing and the role may. Without it reports are still
  // written (an upgrade whose DBA has not run report_state.sql again); deliveries wait, logged.
  void ensure_delivery_table(pqxx::transaction_base& transaction);
  // The lock key's delivery rows into state (none while the table is missing). mutex_ held;
  // throws like load().
  void load_deliveries(pqxx::transaction_base& transaction, ScheduleState& state);
  // Runs one write of the state (`statement`, a parameterised query and its arguments) in a
  // transaction of the session holding the lock, checked in the same transaction, so a replica
  // that has lost the lock never records. mutex_ held. Throws ScheduleStateError when it was not
  // recorded (not the leader, connection lost, commit in doubt, the table refused it).
  template <typename... Args>
  void write_as_leader(const char* transaction_name, std::string_view statement,
                       const Args&... args);
  // The election thread's steps.
  void try_to_lead();
  void check_lock();
  bool connect();
  bool holds_lock(pqxx::transaction_base& transaction) const;
  bool ensure_state_table();
  void become_leader();

  // Counts a failure, logs it once per change of its message, closes the connection (freeing the
  // lock) and, if leading, ends the leadership. mutex_ held.
  void fail(LeaderError reason, std::string_view error);
  // Counts a failure of the state table and returns the error to throw; the leadership stays.
  ScheduleStateError state_table_error(std::string_view what, const std::exception& error);
  void close() noexcept;  // mutex_ held
  std::string scrubbed(std::string_view message) const;

  const std::string lock_key_;
  const std::int64_t key_;
  const Options options_;
  const std::string conninfo_;  // a secret: the DSN plus the election's connection settings
  const DsnScrubber scrub_;

  mutable std::mutex mutex_;
  std::unique_ptr<PqConnection> connection_;  // guarded by mutex_
  std::stop_source term_;                     // guarded by mutex_; stopped when leadership ends
  std::atomic<bool> leader_{false};
  std::array<std::atomic<std::uint64_t>, kLeaderErrors.size()> errors_{};
  std::string logged_error_;  // guarded by mutex_: the last failure logged at error level
  bool follower_logged_ = false;
};

}  // namespace scalr_usage
