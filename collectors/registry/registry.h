#pragma once
// The table of usage sources. The daemon, the config loader and --check-config reach sources only
// through the functions below, which visit this table, so a source is one folder under
// collectors/ with a module type (see collectors/postgres/module.h) plus one row here; a module
// missing a piece fails the SourceModule check at compile time, and a source missing from a
// std::visit cannot exist.

#include <array>
#include <chrono>
#include <concepts>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "collectors/postgres/module.h"
#include "collectors/scalr_api/module.h"
#include "collectors/source.h"
#include "config/environment.h"
#include "config/node.h"

namespace scalr_usage {

// What every row of the table provides (collectors/scalr_api/module.h documents each piece).
template <typename M>
concept SourceModule = std::movable<typename M::Config> &&
    std::default_initializable<typename M::Section> &&
    requires(const ConfigNode& node, typename M::Section section, const Environment& env,
             const typename M::Config& config, RequestObserver& observer) {
  { M::kName } -> std::convertible_to<std::string_view>;
  { M::kSection } -> std::convertible_to<std::string_view>;
  { M::kSetupCheckKey } -> std::convertible_to<std::string_view>;
  M::parse_section(node, section);
  { M::finish(std::move(section), env) } -> std::same_as<typename M::Config>;
  { M::make(config, observer) } -> std::same_as<std::unique_ptr<UsageSource>>;
  { M::log_fields(config) } -> std::same_as<std::vector<std::pair<std::string, std::string>>>;
  { M::poll_budget(config) } -> std::same_as<std::chrono::milliseconds>;
};

template <SourceModule... Modules>
struct SourceTable {
  using Config = std::variant<typename Modules::Config...>;
  using Sections = std::tuple<typename Modules::Section...>;
  using Rows = std::tuple<Modules...>;
  static constexpr std::size_t kSize = sizeof...(Modules);
  // The row whose Config is C: a variant alternative and its module share the index.
  template <typename C>
  static constexpr std::size_t index_of() {
    constexpr std::array<bool, kSize> same = {std::is_same_v<C, typename Modules::Config>...};
    std::size_t index = 0;
    while (index < kSize && !same[index]) ++index;
    return index;
  }
  template <typename C>
  using ModuleFor = std::tuple_element_t<index_of<C>(), Rows>;

  // Each source has a Config type of its own, so a configuration names its module.
  static_assert(
      [] {
        std::size_t row = 0;
        return ((index_of<typename Modules::Config>() == row++) && ...);
      }(),
      "two sources share a Config type");
};

// The table: one row per source. The first row is the default of `source:`.
using Sources = SourceTable<ScalrApiModule, PostgresModule>;

// The configured source: exactly one of the modules' configurations.
using SourceConfig = Sources::Config;
// Every source's section as written: all sections are checked for keys and types, only the
// selected one is finished (required keys, secrets).
using SourceSections = Sources::Sections;

// The default value of `source:`.
std::string_view default_source_name();
// A valid value of `source:`; throws std::invalid_argument "unknown source "x" (want scalr_api or
// postgres)".
std::string parse_source_name(const std::string& name);
// One field of the top-level mapping per source section, in table order, parsing into sections.
std::vector<ConfigField> source_section_fields(SourceSections& sections);
// The selected source's configuration from its section. Throws ConfigError.
SourceConfig finish_source(std::string_view name, SourceSections sections, const Environment& env);

std::string_view source_name(const SourceConfig& config);
// A new source; sources are not thread-safe, so each thread makes its own. observer must outlive
// it.
std::unique_ptr<UsageSource> make_source(const SourceConfig& config, RequestObserver& observer);
// The key UsageSource::check_setup verifies ("postgres.query"); empty when there is nothing to
// check.
std::string_view setup_check_key(const SourceConfig& config);
// Safe to log: never a token or password.
std::vector<std::pair<std::string, std::string>> source_log_fields(const SourceConfig& config);
// The longest one poll cycle of this source may legitimately take.
std::chrono::milliseconds source_poll_budget(const SourceConfig& config);

}  // namespace scalr_usage
