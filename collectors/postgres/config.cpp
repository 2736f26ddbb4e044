#include "collectors/postgres/config.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string_view>

#include "collectors/postgres/dsn.h"
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

// Takes the DSN from postgres.dsn, postgres.dsn_file or SCALR_USAGE_PG_DSN, first found wins, and
// checks that libpq can parse it. No message ever shows the DSN's password.
void load_dsn(PostgresSection& sources, const Environment& env) {
  PostgresConfig& postgres = sources.config;
  std::string raw;
  std::string key = "postgres.dsn";
  if (sources.dsn) {
    raw = *sources.dsn;
    postgres.dsn_origin = "postgres.dsn";
  } else if (sources.dsn_file) {
    key = "postgres.dsn_file";
    raw = read_configured_file(*sources.dsn_file, kMaxSecretBytes, key);
    postgres.dsn_origin = "dsn_file " + shown_path(*sources.dsn_file);
    if (raw.size() > kMaxSecretBytes) {
      fail_config(key,
                  shown_path(*sources.dsn_file) + " is larger than 64 KiB; is it the DSN file?");
    }
  } else if (const auto from_env = env.find(std::string(kDsnEnv)); from_env != env.end()) {
    raw = from_env->second;
    postgres.dsn_origin = "env " + std::string(kDsnEnv);
  } else {
    fail_config(key, "required: set postgres.dsn, postgres.dsn_file or " + std::string(kDsnEnv));
  }
  // Line breaks separate key=value pairs like spaces do, so a DSN file may use several lines.
  const std::string dsn(trim(raw));
  const std::string where = sources.dsn ? "" : " in " + postgres.dsn_origin;
  if (dsn.empty()) fail_config(key, "no DSN: " + postgres.dsn_origin + " is empty");
  if (std::any_of(dsn.begin(), dsn.end(), [](char c) { return is_control(c) && !is_space(c); })) {
    fail_config(key, "DSN" + where + " contains control characters");
  }
  try {
    parse_dsn(dsn);
  } catch (const std::invalid_argument& error) {
    // libpq's reason, already scrubbed of the password, on one line.
    std::string reason = error.what();
    std::replace_if(reason.begin(), reason.end(), is_control, ' ');
    fail_config(key, "invalid connection string" + where + ": " + reason);
  }
  postgres.dsn = Secret(dsn);
}

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
      {"dsn", [&](const ConfigNode& v) { parsed.dsn = v.text("a connection string"); }},
      {"dsn_file",
       [&](const ConfigNode& v) { parsed.dsn_file = v.parsed("a file path", non_empty_path); }},
      {"dsn_credential",
       [&](const ConfigNode& v) { parsed.dsn_credential = v.text("a credential name"); }},
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
  if (section.dsn_credential) {
    if (section.dsn || section.dsn_file) {
      fail_config("postgres.dsn_credential",
                  "set only one of postgres.dsn, dsn_file, dsn_credential");
    }
    section.dsn_file = credential_path("postgres.dsn_credential", *section.dsn_credential, env);
  }
  check_configured_label_lengths("postgres", section.config.accounts,
                                 section.config.max_label_length);
  load_dsn(section, env);
  return std::move(section.config);
}

}  // namespace scalr_usage
