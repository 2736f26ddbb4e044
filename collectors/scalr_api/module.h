#pragma once
// The Scalr API source as a row of the source table (collectors/registry/registry.h): its name,
// its config section, and how it is built, logged and budgeted.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collectors/scalr_api/config.h"
#include "collectors/source.h"

namespace scalr_usage {

struct ScalrApiModule {
  using Config = ScalrApiConfig;
  using Section = ScalrApiSection;
  static constexpr std::string_view kName = "scalr_api";  // the value of `source:`
  static constexpr std::string_view kSection = "scalr";   // its top-level config key
  // What UsageSource::check_setup verifies; empty: it has nothing to check.
  static constexpr std::string_view kSetupCheckKey = "";

  static void parse_section(const ConfigNode& node, Section& section) {
    parse_scalr_section(node, section);
  }
  static Config finish(Section section, const Environment& env) {
    return finish_scalr_api(std::move(section), env);
  }
  static std::unique_ptr<UsageSource> make(const Config& config, RequestObserver& observer);
  // Safe to log: the URL, the accounts and where the token came from, never the token.
  static std::vector<std::pair<std::string, std::string>> log_fields(const Config& config);
  // The longest a poll cycle may legitimately take (daemon/workers.cpp, the watchdog).
  static std::chrono::milliseconds poll_budget(const Config& config);
};

}  // namespace scalr_usage
