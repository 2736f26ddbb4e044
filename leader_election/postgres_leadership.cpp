#include "leader_election/postgres_leadership.h"

#include <pqxx/pqxx>

#include <utility>
#include <vector>

#include "leader_election/state_table.h"
#include "pq/connection.h"
#include "pq/messages.h"
#include "util/log.h"
#include "util/stoppable_sleep.h"

namespace scalr_usage {

namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

// The election's connection settings where the DSN leaves them unset: a dead server is given up
// quickly (connect_timeout), and an unanswered connection within about 11 s, both by the
// keepalives of an idle connection (5 s + 3 x 2 s) and by the user timeout of an unanswered
// statement (9 s), which is less than the 25 s after which the server frees a silent session's
// lock (leader_sql::kSessionSettings). Its own application name tells its session apart in
// pg_stat_activity.
constexpr std::array<ConninfoDefault, 6> kConnectionSettings = {{
    {"connect_timeout", "5"},
    {"keepalives_idle", "5"},
    {"keepalives_interval", "2"},
    {"keepalives_count", "3"},
    {"tcp_user_timeout", "9000"},
    {"fallback_application_name", "scalr-usage-exporter-leader"},
}};

std::string sql(std::string_view text) { return std::string(text); }

}  // namespace

std::string_view to_string(LeaderError reason) {
  switch (reason) {
    case LeaderError::connect:
      return "connect";
    case LeaderError::connection_lost:
      return "connection_lost";
    case LeaderError::lock_lost:
      return "lock_lost";
    case LeaderError::query:
      return "query";
    case LeaderError::state_table:
      return "state_table";
  }
  return "unknown";
}

PostgresLeadership::PostgresLeadership(const LeaderElectionConfig& config, Options options)
    : lock_key_(config.lock_key),
      key_(advisory_lock_key(config.lock_key)),
      options_(options),
      conninfo_(effective_conninfo(config.dsn.reveal(), kConnectionSettings)),
      scrub_(config.dsn.reveal()) {
  log::info("report leader election", {{"lock_key", lock_key_},
                                       {"advisory_lock_key", std::to_string(key_)},
                                       {"dsn", redact_dsn(config.dsn.reveal())},
                                       {"dsn_origin", config.dsn_origin}});
}

PostgresLeadership::~PostgresLeadership() {
  const std::lock_guard lock(mutex_);
  close();
}

std::string PostgresLeadership::scrubbed(std::string_view message) const {
  return scrub_(first_line(message));
}

std::optional<LeadershipStatus> PostgresLeadership::leadership() const {
  LeadershipStatus status;
  status.leader = leader_.load();
  for (std::size_t i = 0; i < kLeaderErrors.size(); ++i) {
    status.errors.emplace(to_string(kLeaderErrors[i]), errors_[i].load());
  }
  return status;
}

void PostgresLeadership::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    if (leader_) {
      check_lock();
    } else {
      try_to_lead();
    }
    const auto wait = leader_ ? options_.check_interval : options_.retry_interval;
    if (!sleep_unless_stopped(wait, stop)) break;
  }
  const std::lock_guard lock(mutex_);
  if (leader_) {
    leader_ = false;
    term_.request_stop();
    log::info("report leadership released", {{"reason", "shutting down"}});
  }
  close();  // the session ends, and with it the lock: another replica takes over at its next try
}

void PostgresLeadership::close() noexcept { connection_.reset(); }

void PostgresLeadership::fail(LeaderError reason, std::string_view error) {
  ++errors_[static_cast<std::size_t>(reason)];
  close();
  const std::string reason_text(to_string(reason));
  if (leader_) {
    leader_ = false;
    term_.request_stop();
    log::warn("report leadership lost", {{"reason", reason_text}, {"error", error}});
    logged_error_ = std::string(error);
    follower_logged_ = false;
    return;
  }
  follower_logged_ = false;
  // Once per change of the error: a long database outage is not a log line per try.
  if (logged_error_ != error) {
    log::error("report leader election failed; trying again",
               {{"reason", reason_text}, {"error", error}});
    logged_error_ = std::string(error);
  } else {
    log::debug("report leader election failed again", {{"reason", reason_text}, {"error", error}});
  }
}

bool PostgresLeadership::connect() {
  std::unique_ptr<PqConnection> fresh;
  try {
    fresh = std::make_unique<PqConnection>(conninfo_, scrub_);
    pqxx::nontransaction settings(fresh->db, "leader_settings");
    settings.exec(sql(leader_sql::kSessionSettings));
  } catch (const std::exception& error) {
    fresh.reset();
    const std::lock_guard lock(mutex_);
    fail(LeaderError::connect, "cannot connect to PostgreSQL: " + scrubbed(error.what()));
    return false;
  }
  const std::lock_guard lock(mutex_);
  connection_ = std::move(fresh);
  if (!logged_error_.empty()) {
    log::info("report leader election connected to PostgreSQL again");
    logged_error_.clear();
  }
  return true;
}

bool PostgresLeadership::holds_lock(pqxx::transaction_base& transaction) const {
  return transaction.exec_params1(sql(leader_sql::kHoldsLock), key_)[0].as<long long>() > 0;
}

void PostgresLeadership::try_to_lead() {
  bool connected = false;
  {
    const std::lock_guard lock(mutex_);
    connected = connection_ != nullptr;
  }
  if (!connected && !connect()) return;
  {
    const std::lock_guard lock(mutex_);
    if (!connection_) return;
    try {
      pqxx::nontransaction transaction(connection_->db, "leader_try_lock");
      if (!transaction.exec_params1(sql(leader_sql::kTryLock), key_)[0].as<bool>()) {
        if (!follower_logged_) {
          log::info("report leadership is held by another replica; trying again",
                    {{"lock_key", lock_key_},
                     {"interval_seconds",
                      std::to_string(duration_cast<seconds>(options_.retry_interval).count())}});
          follower_logged_ = true;
        }
        return;
      }
    } catch (const pqxx::broken_connection& error) {
      fail(LeaderError::connection_lost, "PostgreSQL connection lost: " + scrubbed(error.what()));
      return;
    } catch (const std::exception& error) {
      fail(LeaderError::query, "cannot try the advisory lock: " + scrubbed(error.what()));
      return;
    }
    if (!ensure_state_table()) return;
    become_leader();
  }
}

// mutex_ held, the lock just taken. On failure the connection is closed, which frees the lock: a
// leader that cannot keep the state must not write.
bool PostgresLeadership::ensure_state_table() {
  try {
    pqxx::nontransaction transaction(connection_->db, "leader_state_table");
    if (!transaction.exec1(sql(leader_sql::kTableExists))[0].as<bool>()) {
      transaction.exec(sql(leader_sql::kCreateTable));
      log::info("created the report state table", {{"table", std::string(leader_sql::kTable)}});
    }
    ensure_delivery_table(transaction);
    return true;
  } catch (const pqxx::broken_connection& error) {
    fail(LeaderError::connection_lost, "PostgreSQL connection lost: " + scrubbed(error.what()));
  } catch (const std::exception& error) {
    fail(LeaderError::state_table,
         "cannot create the report state table " + std::string(leader_sql::kTable) +
             " (grant CREATE on the schema, or create it from etc/postgres/report_state.sql): " +
             scrubbed(error.what()));
  }
  return false;
}

void PostgresLeadership::become_leader() {
  term_ = std::stop_source{};
  leader_ = true;
  follower_logged_ = false;
  logged_error_.clear();
  log::info("report leadership acquired",
            {{"lock_key", lock_key_}, {"advisory_lock_key", std::to_string(key_)}});
}

void PostgresLeadership::check_lock() {
  const std::lock_guard lock(mutex_);
  if (!leader_ || !connection_) return;
  try {
    pqxx::nontransaction transaction(connection_->db, "leader_check");
    if (!holds_lock(transaction)) {
      fail(LeaderError::lock_lost, "the session no longer holds the advisory lock");
    }
  } catch (const pqxx::broken_connection& error) {
    fail(LeaderError::connection_lost, "PostgreSQL connection lost: " + scrubbed(error.what()));
  } catch (const std::exception& error) {
    fail(LeaderError::query, "cannot check the advisory lock: " + scrubbed(error.what()));
  }
}

ScheduleStateError PostgresLeadership::state_table_error(std::string_view what,
                                                         const std::exception& error) {
  ++errors_[static_cast<std::size_t>(LeaderError::state_table)];
  return ScheduleStateError(std::string(what) + " " + std::string(leader_sql::kTable) + ": " +
                            scrubbed(error.what()));
}

std::optional<ScheduleState> PostgresLeadership::load() {
  if (!leader_) return std::nullopt;
  const std::lock_guard lock(mutex_);
  if (!leader_ || !connection_) return std::nullopt;
  std::vector<StateRow> rows;
  ScheduleState deliveries{std::filesystem::path{}};
  try {
    pqxx::nontransaction transaction(connection_->db, "leader_load_state");
    for (const pqxx::row& row : transaction.exec_params(sql(leader_sql::kLoadState), lock_key_)) {
      if (row[0].is_null() || row[1].is_null() || row[2].is_null() || row[3].is_null()) {
        throw ScheduleStateError("table " + std::string(leader_sql::kTable) + " has a null value");
      }
      rows.push_back(StateRow{row[0].as<std::string>(), row[1].as<std::string>(),
                              row[2].as<std::int64_t>(), row[3].as<std::int64_t>()});
    }
    load_deliveries(transaction, deliveries);
  } catch (const pqxx::broken_connection& error) {
    fail(LeaderError::connection_lost, "PostgreSQL connection lost: " + scrubbed(error.what()));
    return std::nullopt;
  } catch (const ScheduleStateError&) {
    ++errors_[static_cast<std::size_t>(LeaderError::state_table)];
    throw;
  } catch (const std::exception& error) {
    throw state_table_error("cannot read", error);
  }
  try {
    ScheduleState state = state_from_rows(rows);
    for (const auto& [key, delivery] : deliveries.deliveries()) state.put_delivery(key, delivery);
    return state;
  } catch (const ScheduleStateError&) {
    ++errors_[static_cast<std::size_t>(LeaderError::state_table)];
    throw;
  }
}

std::optional<std::stop_token> PostgresLeadership::begin_write() {
  if (!leader_) return std::nullopt;
  const std::lock_guard lock(mutex_);
  if (!leader_ || !connection_) return std::nullopt;
  try {
    pqxx::nontransaction transaction(connection_->db, "leader_begin_write");
    if (!holds_lock(transaction)) {
      fail(LeaderError::lock_lost, "the session no longer holds the advisory lock");
      return std::nullopt;
    }
  } catch (const pqxx::broken_connection& error) {
    fail(LeaderError::connection_lost, "PostgreSQL connection lost: " + scrubbed(error.what()));
    return std::nullopt;
  } catch (const std::exception& error) {
    fail(LeaderError::query, "cannot check the advisory lock: " + scrubbed(error.what()));
    return std::nullopt;
  }
  return term_.get_token();
}

template <typename... Args>
void PostgresLeadership::write_as_leader(const char* transaction_name, std::string_view statement,
                                         const Args&... args) {
  if (!leader_ || !connection_) {
    throw ScheduleStateError("not recorded: no longer the report leader");
  }
  try {
    pqxx::work transaction(connection_->db, transaction_name);
    if (!holds_lock(transaction)) {
      fail(LeaderError::lock_lost, "the session no longer holds the advisory lock");
      throw ScheduleStateError("not recorded: no longer the report leader");
    }
    transaction.exec_params(std::string(statement), args...);
    transaction.commit();
  } catch (const ScheduleStateError&) {
    throw;
  } catch (const pqxx::broken_connection& error) {
    const std::string message = "PostgreSQL connection lost: " + scrubbed(error.what());
    fail(LeaderError::connection_lost, message);
    throw ScheduleStateError("not recorded: " + message);
  } catch (const pqxx::in_doubt_error& error) {
    // Whether the commit happened is unknown: start afresh, a new leader reads what it finds.
    const std::string message = "commit in doubt: " + scrubbed(error.what());
    fail(LeaderError::connection_lost, message);
    throw ScheduleStateError("not recorded: " + message);
  } catch (const std::exception& error) {
    throw state_table_error("cannot write", error);
  }
}

void PostgresLeadership::mark_written(const DueReport& report,
                                      std::chrono::sys_seconds written_at) {
  const std::lock_guard lock(mutex_);
  const StateRow row = state_row(report, written_at);
  write_as_leader("leader_mark_written", leader_sql::kMarkWritten, lock_key_, row.schedule,
                  row.period_key, row.fire_time, row.written_at);
}

void PostgresLeadership::record_delivery(const DeliveryKey& key, const StoredDelivery& delivery) {
  const std::lock_guard lock(mutex_);
  write_as_leader("leader_record_delivery", leader_sql::kRecordDelivery, lock_key_, key.schedule,
                  key.account, key.period_key, key.channel, delivery.finished, delivery.record);
}

}  // namespace scalr_usage
