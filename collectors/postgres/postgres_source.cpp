#include "collectors/postgres/postgres_source.h"

#include <pqxx/pqxx>

#include <chrono>
#include <utility>

#include "collectors/postgres/queries.h"
#include "collectors/postgres/rows.h"
#include "config/duration.h"
#include "model/aggregate.h"
#include "model/period.h"
#include "pq/connection.h"
#include "pq/messages.h"
#include "util/log.h"
#include "util/text.h"

namespace scalr_usage {

namespace {

constexpr std::string_view kQueryCanceled = "57014";  // statement_timeout, or a cancel request

// SQLSTATE class 42: the statement itself is wrong (syntax, unknown relation, column or function,
// missing privilege). libpqxx 6 drops the code for some of these, so its exception types count too.
bool is_statement_error(const pqxx::sql_error& error) {
  return error.sqlstate().rfind("42", 0) == 0 ||
         dynamic_cast<const pqxx::syntax_error*>(&error) != nullptr ||
         dynamic_cast<const pqxx::undefined_table*>(&error) != nullptr ||
         dynamic_cast<const pqxx::undefined_column*>(&error) != nullptr ||
         dynamic_cast<const pqxx::undefined_function*>(&error) != nullptr ||
         dynamic_cast<const pqxx::insufficient_privilege*>(&error) != nullptr;
}

}  // namespace

PostgresSource::PostgresSource(PostgresConfig config)
    : config_(std::move(config)),
      conninfo_(effective_conninfo(config_.dsn.reveal())),
      scrub_(config_.dsn.reveal()),
      cursor_sql_(postgres_sql::declare_cursor(config_.query.empty() ? postgres_sql::kDefaultQuery
                                                                     : config_.query)),
      check_sql_(postgres_sql::column_check(config_.query.empty() ? postgres_sql::kDefaultQuery
                                                                  : config_.query)) {}

PostgresSource::~PostgresSource() { drop_connection(); }

std::vector<std::string> PostgresSource::configured_accounts() const { return config_.accounts; }

std::string PostgresSource::scrubbed(std::string_view message) const {
  return scrub_(one_line(message));
}

void PostgresSource::connect() {
  std::unique_ptr<PqConnection> fresh;
  try {
    fresh = std::make_unique<PqConnection>(conninfo_.reveal(), scrub_);
  } catch (const std::exception& error) {
    throw SourceError(ErrorReason::database,
                      "cannot connect to PostgreSQL: " + scrubbed(error.what()));
  }
  log::debug("connected to PostgreSQL",
             {{"server_version", std::to_string(fresh->db.server_version())},
              {"backend_pid", std::to_string(fresh->db.backendpid())}});
  const std::lock_guard lock(connection_mutex_);
  connection_ = std::move(fresh);
}

void PostgresSource::drop_connection() noexcept {
  std::unique_ptr<PqConnection> old;
  {
    const std::lock_guard lock(connection_mutex_);
    old = std::move(connection_);
  }
  // Closed outside the lock, so a stop request never waits for a goodbye to a dead server.
}

void PostgresSource::cancel_running_query() noexcept {
  try {
    const std::lock_guard lock(connection_mutex_);
    if (!connection_) return;
    // A cancel request on its own connection to the server; the running statement then fails with
    // SQLSTATE 57014 at once, and transact() sees that stop was requested.
    connection_->db.cancel_query();
    log::debug("cancelled the running PostgreSQL query");
  } catch (const std::exception& error) {
    try {
      log::debug("could not cancel the running PostgreSQL query",
                 {{"error", scrubbed(error.what())}});
    } catch (...) {  // nothing more to do from a stop callback
    }
  } catch (...) {
  }
}

template <typename Work>
auto PostgresSource::transact(std::stop_token stop, Work work) {
  const auto cancelled = [] {
    return SourceError(ErrorReason::cancelled, "PostgreSQL query cancelled on shutdown");
  };
  for (int attempt = 1;; ++attempt) {
    if (stop.stop_requested()) throw cancelled();
    const bool reused = connection_ != nullptr;
    if (!reused) connect();
    // Connecting can take up to connect_timeout, and a cancel request only stops a statement
    // that is already running: look again before starting one.
    if (stop.stop_requested()) throw cancelled();
    try {
      const std::stop_callback cancel_on_stop(stop, [this] { cancel_running_query(); });
      pqxx::read_transaction transaction(connection_->db, "usage");
      // Bound, like every value sent: the timeout too is never spliced into SQL text.
      transaction.exec_params(std::string(postgres_sql::kSessionSettings),
                              std::to_string(config_.statement_timeout.count()));
      if (stop.stop_requested()) throw cancelled();
      auto result = work(transaction);
      transaction.commit();
      return result;
    } catch (const SourceError&) {
      throw;
    } catch (const SourceSetupError&) {
      throw;
    } catch (const pqxx::broken_connection& error) {
      drop_connection();
      if (stop.stop_requested()) throw cancelled();
      if (reused && attempt == 1) {
        log::debug("PostgreSQL connection lost, reconnecting", {{"error", scrubbed(error.what())}});
        continue;
      }
      throw SourceError(ErrorReason::database,
                        "PostgreSQL connection lost: " + scrubbed(error.what()));
    } catch (const pqxx::sql_error& error) {
      if (stop.stop_requested()) throw cancelled();
      if (error.sqlstate() == kQueryCanceled) {
        throw timeout_error(scrub_(first_line(error.what())));
      }
      std::string message = "PostgreSQL error: " + scrub_(first_line(error.what()));
      if (!error.sqlstate().empty()) message += " (SQLSTATE " + error.sqlstate() + ")";
      throw SourceError(ErrorReason::database, message);
    } catch (const std::exception& error) {
      // Anything else from libpqxx (in_doubt_error, a failed commit, a protocol error) leaves the
      // connection in an unknown state: start afresh next time.
      drop_connection();
      if (stop.stop_requested()) throw cancelled();
      throw SourceError(ErrorReason::database, "PostgreSQL error: " + scrubbed(error.what()));
    }
  }
}

bool PostgresSource::without_optional_columns(pqxx::transaction_base& transaction) {
  if (!config_.query.empty()) return false;
  const pqxx::result present = transaction.exec(std::string(postgres_sql::kOptionalColumnsPresent));
  const bool without = present.at(0).at(0).as<long>() < 2;
  if (without && !warned_without_optional_columns_) {
    log::warn(
        "scalr_runs has no account_name and workspace_tags columns; load etc/postgres/schema.sql "
        "again to add them (until then account names and workspace tags are unknown)");
  }
  warned_without_optional_columns_ = without;
  return without;
}

void PostgresSource::check_query(std::stop_token stop) {
  const Period period = month_containing(std::chrono::floor<std::chrono::seconds>(Clock::now()));
  const bool custom = !config_.query.empty();
  transact(stop, [&](pqxx::transaction_base& transaction) {
    const std::string sql =
        without_optional_columns(transaction)
            ? postgres_sql::column_check(postgres_sql::kDefaultQueryWithoutOptionalColumns)
            : check_sql_;
    pqxx::result result;
    try {
      result =
          transaction.exec_params(sql, format_rfc3339(period.start), format_rfc3339(period.end));
    } catch (const pqxx::sql_error& error) {
      if (!is_statement_error(error)) throw;
      std::string message = std::string(kQueryKey) + ": " +
                            (custom ? "" : "the default query failed: ") +
                            scrub_(first_line(error.what()));
      if (!error.sqlstate().empty()) message += " (SQLSTATE " + error.sqlstate() + ")";
      if (!custom) {
        message +=
            "; load etc/postgres/schema.sql and grant SELECT on scalr_runs, or set "
            "postgres.query";
      }
      throw SourceSetupError(message);
    }
    check_columns(result, [](std::string message) { return SourceSetupError(std::move(message)); });
    return true;
  });
}

SourceError PostgresSource::timeout_error(std::string_view detail) const {
  return SourceError(ErrorReason::timeout,
                     "PostgreSQL query cancelled after postgres.statement_timeout (" +
                         format_duration(config_.statement_timeout) + "): " + std::string(detail));
}

void PostgresSource::load(const Period& period, std::stop_token stop) {
  // Forget the previous read first: if this one fails, fetch() must not answer from stale rows.
  loaded_period_.reset();
  usage_by_account_.clear();
  handed_over_.clear();
  const auto started = std::chrono::steady_clock::now();
  Aggregators sums;
  std::size_t row_count = 0;
  transact(stop, [&](pqxx::transaction_base& transaction) {
    sums.clear();  // a retry after a lost connection starts over
    row_count = 0;
    const auto deadline = std::chrono::steady_clock::now() + config_.statement_timeout;
    const std::string sql =
        without_optional_columns(transaction)
            ? postgres_sql::declare_cursor(postgres_sql::kDefaultQueryWithoutOptionalColumns)
            : cursor_sql_;
    transaction.exec_params(sql, format_rfc3339(period.start), format_rfc3339(period.end));
    for (bool first = true;; first = false) {
      if (!first) {
        if (stop.stop_requested()) {
          throw SourceError(ErrorReason::cancelled, "PostgreSQL query cancelled on shutdown");
        }
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left <= std::chrono::milliseconds::zero()) {
          throw timeout_error("the rows were still being read");
        }
        transaction.exec_params(std::string(postgres_sql::kStatementTimeout),
                                std::to_string(left.count()));
      }
      const pqxx::result batch = transaction.exec(postgres_sql::kFetch);
      if (first) {
        check_columns(batch, [](std::string message) {
          return SourceError(ErrorReason::bad_response, std::move(message));
        });
      }
      read_rows(batch, row_count, config_, period, sums);
      row_count += batch.size();
      if (batch.size() < postgres_sql::kFetchRows) break;
    }
    return true;
  });
  const std::size_t account_count = sums.size();
  while (!sums.empty()) {
    auto node = sums.extract(sums.begin());
    seen_accounts_.insert(node.key());
    usage_by_account_.emplace(std::move(node.key()), std::move(node.mapped()).finish());
  }
  loaded_period_ = period;
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  log::debug("read usage rows from PostgreSQL",
             {{"rows", std::to_string(row_count)},
              {"accounts", std::to_string(account_count)},
              {"period_start", format_rfc3339(period.start)},
              {"duration_seconds", std::to_string(took.count())}});
}

std::vector<std::string> PostgresSource::accounts(const Period& period, std::stop_token stop) {
  load(period, stop);
  if (!config_.accounts.empty()) return config_.accounts;
  return {seen_accounts_.begin(), seen_accounts_.end()};
}

AccountUsage PostgresSource::fetch(const std::string& account_id, const Period& period,
                                   std::stop_token stop) {
  if (stop.stop_requested()) throw SourceError(ErrorReason::cancelled, "cancelled");
  if (loaded_period_ != period || handed_over_.contains(account_id)) load(period, stop);
  handed_over_.insert(account_id);
  auto usage = usage_by_account_.extract(account_id);
  if (usage.empty()) return aggregate_account(account_id, period, {});
  return std::move(usage.mapped());
}

}  // namespace scalr_usage
