#pragma once
// The daemon's configuration: what the YAML file says, validated, with defaults filled in.
// load_config() is the only place that reads YAML; everything else takes these plain values.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "reports/cron.h"
#include "reports/report.h"          // BillingPlan
#include "reports/schedule_state.h"  // PeriodKind

namespace scalr_usage {

// A value that must never be printed: it has no stream operator and no implicit conversion, so a
// secret can only reach a log line through an explicit reveal().
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  std::string value_;
};

// Thrown for any invalid configuration. what() is one line that starts with the key path, for
// example "scalr.timeout: invalid duration \"3x\" (want e.g. 30s, 5m, 1h)".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WebConfig {
  std::string listen_address = "0.0.0.0:9871";  // HOST:PORT, [IPv6]:PORT or :PORT
  std::string telemetry_path = "/metrics";
  // CivetWeb serves each connection on a thread of its own from accept to close, keep-alive idling
  // included: this many clients connected at once, and the next one waits. Prometheus replicas
  // keep one connection each; 64 leaves room for many more plus stalled or slow clients.
  int max_connections = 64;
};

struct RetryConfig {
  int max_attempts = 4;                             // per request, first try included
  std::chrono::milliseconds initial_backoff{1000};  // doubled each attempt, with jitter
  std::chrono::milliseconds max_backoff{30000};     // cap of one wait (Retry-After too)
};

// One Scalr account URL with its token and the accounts polled through it. Today the config has a
// single `scalr:` block; a later `targets:` list will produce several of these.
struct ScalrTarget {
  // scheme://host[:port][/prefix], no trailing slash; the API is under url + /api/iacp/v3.
  std::string url;
  Secret token;
  // Where the token came from, safe to log: "token_file /x" or "env SCALR_TOKEN".
  std::string token_origin;
  std::vector<std::string> accounts;
  std::string prefer_profile = "preview";  // empty: no Prefer header
  int page_size = 100;
  std::chrono::milliseconds timeout{30000};   // one HTTP request
  std::size_t max_response_bytes = 8u << 20;  // one page
  int max_pages = 1000;                       // per account and poll
  // Longest environment or workspace id or name accepted from the API; a longer one fails the
  // account's poll as too_large rather than becoming a label of unbounded size.
  std::size_t max_label_length = 1024;  // bytes
  std::string ca_file;                  // extra CA bundle; empty = system default
  RetryConfig retry;
};

// The PostgreSQL source: a database holding Scalr run history (etc/postgres/schema.sql, or any
// schema a custom query reads). Set only when `source: postgres`.
struct PostgresConfig {
  // libpq connection string, key=value or URI form; may hold a password, so print only
  // redact_dsn(dsn.reveal()) (config/dsn.h).
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

struct PollConfig {
  std::chrono::milliseconds interval{std::chrono::minutes{5}};
};

// One entry of reports.schedules. Not default-constructible (a CronExpression only comes from
// parsing), so a schedule always has a valid cron.
struct ReportSchedule {
  // Unique, [A-Za-z0-9_-]{1,64}: the key in the state file and the name of the schedule's
  // subdirectory of reports.output_dir, which keeps the schedules' files and retention apart.
  std::string name;
  CronExpression cron;  // 5 fields, UTC
  PeriodKind period;
  std::vector<std::string> formats;  // distinct names from kReportFormats, in the order written
};

// `reports:`. Without the section there are no schedules; the on-demand command still works.
struct ReportsConfig {
  std::filesystem::path output_dir = "/var/lib/scalr-usage-exporter/reports";  // absolute
  std::vector<ReportSchedule> schedules;
  // Reports kept per schedule, account and format: the newest `keep` periods stay.
  int keep = 24;
};

struct Config {
  WebConfig web;
  std::string source = "scalr_api";        // scalr_api | postgres
  std::vector<ScalrTarget> scalr_targets;  // filled when source is scalr_api
  std::optional<PostgresConfig> postgres;  // set when source is postgres
  PollConfig poll;
  BillingPlan billing;  // `billing:`; the default is no plan
  ReportsConfig reports;
};

// Lets tests and the daemon supply the environment without touching the process's globals.
using Environment = std::map<std::string, std::string>;
Environment process_environment();

// Reads and validates the YAML file. Throws ConfigError (one line, key path first).
// Reads the token file (or SCALR_TOKEN from env), and for the postgres source the DSN (dsn_file or
// SCALR_USAGE_PG_DSN), so a missing or unreadable secret fails here, before anything starts. The
// section of the source not selected is checked for unknown keys and value types only.
Config load_config(const std::string& path, const Environment& env);
Config parse_config(const std::string& yaml_text, const Environment& env);

// Checks HOST:PORT, [IPv6]:PORT or :PORT with a port from 1 to 65535. Throws std::invalid_argument
// saying what is wrong; shared by web.listen_address and the --web.listen-address flag.
void validate_listen_address(std::string_view address);

}  // namespace scalr_usage
