#pragma once
// A DSN named by a configuration section, read when the configuration is finished: the one reader
// of `dsn`, `dsn_file`, `dsn_credential` and an environment variable, shared by the postgres
// source (postgres.*, SCALR_USAGE_PG_DSN) and leader election (reports.leader_election.*,
// SCALR_USAGE_LEADER_DSN), so both check and report a DSN the same way.

#include <optional>
#include <string>
#include <string_view>

#include "config/environment.h"
#include "config/secret.h"

namespace scalr_usage {

// The section's DSN keys as written (each a value of its key, unread).
struct DsnKeys {
  std::optional<std::string> dsn;
  std::optional<std::string> dsn_file;
  std::optional<std::string> dsn_credential;
};

struct ConfiguredDsn {
  Secret dsn;
  // Where it came from, safe to log: "<section>.dsn", "dsn_file /x" or "env VAR".
  std::string origin;
};

// Takes the DSN from <section>.dsn, else <section>.dsn_file (or the systemd credential
// <section>.dsn_credential names, which excludes the other two), else the environment variable
// env_var; checks that libpq can parse it. Throws ConfigError naming the key; no message ever
// shows the DSN's password.
ConfiguredDsn read_configured_dsn(const DsnKeys& keys, std::string_view section,
                                  std::string_view env_var, const Environment& env);

}  // namespace scalr_usage
