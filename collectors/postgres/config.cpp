#include "collectors/postgres/config.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string_view>

#include "collectors/postgres/sql_statement.h"
#include "collectors/source.h"  // check_configured_label_lengths
#include "config/duration.h"
#include "config/error.h"
#include "config/files.h"
#include "util/text.h"

namespace scalr_usage {

namespace {

using std::chrono::milliseconds;

constexpr std::string_view kDsnEnv = "SCALR_USAGE_PG_DSN";

void parse_query(const ConfigNode& value, PostgresConfig& config) {
  const std::string text = value.multiline_text("an SQL query");
  try {
    config.query = single_statement(text);
  } catch (const std::invalid_argument& error) {
    value.fail(error.what());
  }
}

void parse_statement_timeout(const ConfigNode& value, PostgresConfig& config) {
  config.statement_timeout = value.duration(milliseconds{1});
  // PostgreSQL keeps statement_timeout as an int of milliseconds.
  if (config.statement_timeout.count() > std::numeric_limits<int>::max()) {
    value.fail("must be at most " + format_duration(milliseconds{std::numeric_limits<int>::max()}));
  }
}

}  // namespace

void parse_postgres_section(const ConfigNode& section, PostgresSection& parsed) {
  parsed.given = true;
  PostgresConfig& config = parsed.config;
  section.walk({
      {"dsn", [&](const ConfigNode& v) { parsed.dsn_keys.dsn = v.text("a connection string"); }},
      {"dsn_file",
       [&](const ConfigNode& v) {
         parsed.dsn_keys.dsn_file = v.parsed("a file path", non_empty_path);
       }},
      {"dsn_credential",
       [&](const ConfigNode& v) { parsed.dsn_keys.dsn_credential = v.text("a credential name"); }},
      {"accounts",
       [&](const ConfigNode& v) {
         config.accounts = v.unique_words("a list of account IDs", EmptyList::allowed);
       }},
      {"query", [&](const ConfigNode& v) { parse_query(v, config); }},
      {"max_label_length",
       [&](const ConfigNode& v) {
         config.max_label_length = static_cast<std::size_t>(v.integer(1, kMaxLabelLengthLimit));
       }},
      {"statement_timeout", [&](const ConfigNode& v) { parse_statement_timeout(v, config); }},
  });
}

PostgresConfig finish_postgres(PostgresSection section, const Environment& env) {
  if (!section.given) {
    fail_config("postgres", "required with source: postgres (at least postgres.dsn)");
  }
  check_configured_label_lengths("postgres", section.config.accounts,
                                 section.config.max_label_length);
  ConfiguredDsn dsn = read_configured_dsn(section.dsn_keys, "postgres", kDsnEnv, env);
  section.config.dsn = std::move(dsn.dsn);
  section.config.dsn_origin = std::move(dsn.origin);
  return std::move(section.config);
}

}  // namespace scalr_usage
