#pragma once
// UsageSource backed by a PostgreSQL database holding Scalr run history (etc/postgres/schema.sql,
// or any schema a custom postgres.query reads). One query per poll returns per-workspace, per-day
// rows for every account at once; accounts() runs it and fetch() answers from its rows, so the
// account, environment and workspace figures of one poll always come from one consistent read.
// The rows are read through a cursor a batch at a time and summed as they come, so memory grows
// with the number of workspaces, never with the number of rows (a month of runs of a large
// account is hundreds of thousands of workspace-day rows).
//
// The connection is opened lazily, kept between polls and replaced after any connection failure,
// so a database restart costs at most the polls made while it is down. Each poll is one read-only
// transaction with its own statement_timeout. Stopping cancels a running query server side.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "collectors/postgres/config.h"
#include "collectors/source.h"
#include "pq/dsn.h"

namespace scalr_usage {

struct PqConnection;  // pq/connection.h
}  // namespace scalr_usage

namespace pqxx {
class transaction_base;
}  // namespace pqxx

namespace scalr_usage {

// Not thread-safe, like every UsageSource: one thread polls. The only other thread that touches it
// is the one requesting stop, through the stop callback, which the connection mutex guards.
class PostgresSource final : public UsageSource {
 public:
  explicit PostgresSource(PostgresConfig config);
  ~PostgresSource() override;
  PostgresSource(const PostgresSource&) = delete;
  PostgresSource& operator=(const PostgresSource&) = delete;

  // Runs the query for the period (a fresh read on every call) and returns the filter's accounts,
  // or without a filter every account in the rows plus every account seen since start, so an
  // account does not vanish from the metrics when a new month begins without its runs yet.
  // Throws SourceError: database, timeout (statement_timeout), bad_response (rows of the wrong
  // shape), cancelled.
  std::vector<std::string> accounts(const Period& period, std::stop_token stop) override;

  std::vector<std::string> configured_accounts() const override;
  // The database is the one target; its accounts are fetched one at a time (listing read them all).
  std::string_view target_name() const override { return "postgres"; }

  // The account's usage from the rows the last accounts() call read for this period (zeros when it
  // has none); for another period, or an account already fetched from that read (its usage is
  // released once handed over, so it does not sit in memory until the next poll), it runs the
  // query first.
  AccountUsage fetch(const std::string& account_id, const Period& period,
                     std::stop_token stop) override;

  // The startup check: runs the query with LIMIT 0 and checks its columns. Throws SourceSetupError
  // ("postgres.query: ...") when the query itself is wrong: required columns missing, or an SQL
  // error of class 42 (syntax error, unknown table, column or function, missing privilege).
  // Throws SourceError when the database cannot be asked (down, refused login, timeout).
  void check_query(std::stop_token stop);
  void check_setup(std::stop_token stop) override { check_query(stop); }

 private:
  // Runs work(connection) in a read-only transaction with the poll's settings, connecting first if
  // needed. A connection found broken is replaced and the work tried once more, since a server
  // restart leaves the kept connection dead without anyone noticing until it is used.
  template <typename Work>
  auto transact(std::stop_token stop, Work work);
  void connect();
  void drop_connection() noexcept;
  void cancel_running_query() noexcept;

  // Whether the default query must do without the optional columns, as scalr_runs lacks them
  // (schema.sql not loaded again since they were added); warns once when that starts. Always
  // false for a custom query, which is taken as written.
  bool without_optional_columns(pqxx::transaction_base& transaction);

  // Reads the rows through the cursor (read_rows, collectors/postgres/rows.h).
  void load(const Period& period, std::stop_token stop);
  SourceError timeout_error(std::string_view detail) const;
  std::string scrubbed(std::string_view message) const;

  PostgresConfig config_;
  Secret conninfo_;  // the DSN plus the exporter's connection defaults (pq/dsn.h)
  DsnScrubber scrub_;
  std::string cursor_sql_;
  std::string check_sql_;
  bool warned_without_optional_columns_ = false;

  std::mutex connection_mutex_;  // guards connection_ against the stop callback's cancel
  std::unique_ptr<PqConnection> connection_;

  std::optional<Period> loaded_period_;
  std::map<std::string, AccountUsage> usage_by_account_;
  std::set<std::string> handed_over_;  // accounts fetch() answered from the current read
  std::set<std::string> seen_accounts_;
};

}  // namespace scalr_usage
