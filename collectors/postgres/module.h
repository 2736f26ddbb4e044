#pragma once
// The PostgreSQL source as a row of the source table (collectors/registry/registry.h): its name,
// its config section, and how it is built, logged and budgeted.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collectors/postgres/config.h"
#include "collectors/source.h"

namespace scalr_usage {

struct PostgresModule {
  using Config = PostgresConfig;
  using Section = PostgresSection;
  static constexpr std::string_view kName = "postgres";     // the value of `source:`
  static constexpr std::string_view kSection = "postgres";  // its top-level config key
  // What UsageSource::check_setup verifies: the query runs and has the required columns.
  static constexpr std::string_view kSetupCheckKey = "postgres.query";

  static void parse_section(const ConfigNode& node, Section& section) {
    parse_postgres_section(node, section);
  }
  static Config finish(Section section, const Environment& env) {
    return finish_postgres(std::move(section), env);
  }
  static std::unique_ptr<UsageSource> make(const Config& config, RequestObserver& observer);
  // Safe to log: the DSN without its password, where it came from, the accounts and the query's
  // kind.
  static std::vector<std::pair<std::string, std::string>> log_fields(const Config& config);
  // The longest a poll cycle may legitimately take (daemon/workers.cpp, the watchdog).
  static std::chrono::milliseconds poll_budget(const Config& config);
};

}  // namespace scalr_usage
