#pragma once
// The `postgres:` section: a database holding Scalr run history.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "config/environment.h"
#include "config/node.h"
#include "config/secret.h"
#include "pq/dsn_config.h"

namespace scalr_usage {

// The PostgreSQL source: a database holding Scalr run history (etc/postgres/schema.sql, or any
// schema a custom query reads). `source: postgres`.
struct PostgresConfig {
  // libpq connection string, key=value or URI form; may hold a password, so print only
  // redact_dsn(dsn.reveal()) (pq/dsn.h).
  Secret dsn;
  // Where the DSN came from, safe to log: "postgres.dsn", "dsn_file /x" or "env
  // SCALR_USAGE_PG_DSN".
  std::string dsn_origin;
  // Only these accounts; empty: every account the query returns.
  std::vector<std::string> accounts;
  // Custom query ($1 period start, $2 period end, both timestamptz); empty: the default query of
  // collectors/postgres/queries.h. Trailing semicolons are removed.
  std::string query;
  std::chrono::milliseconds statement_timeout{30000};  // per poll, server side
  // Longest id or name (account, environment, workspace) accepted from the query; a longer one
  // fails the poll as too_large.
  std::size_t max_label_length = 1024;  // bytes
};

// The `postgres:` section as written, before the DSN is read: what parse_postgres_section checks
// even when another source is selected (keys and value types only).
struct PostgresSection {
  bool given = false;
  PostgresConfig config;
  DsnKeys dsn_keys;
};

void parse_postgres_section(const ConfigNode& section, PostgresSection& parsed);

// The selected source's checks: the DSN (postgres.dsn, dsn_file, dsn_credential or
// SCALR_USAGE_PG_DSN), read now and parsed by libpq, so that a missing or broken DSN fails before
// anything starts. No message ever shows the DSN's password. Throws ConfigError.
PostgresConfig finish_postgres(PostgresSection section, const Environment& env);

}  // namespace scalr_usage
