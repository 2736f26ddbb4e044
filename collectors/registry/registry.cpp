#include "collectors/registry/registry.h"

#include <stdexcept>

#include "util/text.h"

namespace scalr_usage {

namespace {

// Calls f(row) for every row of the table, in order, with row an
// std::integral_constant<std::size_t, index>.
template <typename F>
void each_row(F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (f(std::integral_constant<std::size_t, I>{}), ...);
  }
  (std::make_index_sequence<Sources::kSize>{});
}

template <std::size_t I>
using Row = std::tuple_element_t<I, Sources::Rows>;

// Calls f(Module{}, config's alternative) with the module that config's alternative belongs to.
template <typename F>
decltype(auto) visit_module(const SourceConfig& config, F&& f) {
  return std::visit(
      [&](const auto& alternative) -> decltype(auto) {
        using Module = Sources::ModuleFor<std::decay_t<decltype(alternative)>>;
        return f(Module{}, alternative);
      },
      config);
}

std::vector<std::string_view> names() {
  std::vector<std::string_view> names;
  each_row([&](auto row) { names.push_back(Row<row>::kName); });
  return names;
}

}  // namespace

std::string_view default_source_name() { return Row<0>::kName; }

std::string parse_source_name(const std::string& name) {
  for (const std::string_view known : names()) {
    if (name == known) return name;
  }
  throw std::invalid_argument("unknown source " + quote_for_message(name) + " (want " +
                              join_alternatives(names()) + ")");
}

std::vector<ConfigField> source_section_fields(SourceSections& sections) {
  std::vector<ConfigField> fields;
  each_row([&](auto row) {
    constexpr std::size_t index = decltype(row)::value;
    fields.push_back({Row<index>::kSection, [&sections](const ConfigNode& node) {
                        Row<index>::parse_section(node, std::get<index>(sections));
                      }});
  });
  return fields;
}

SourceConfig finish_source(std::string_view name, SourceSections sections, const Environment& env) {
  std::optional<SourceConfig> config;
  each_row([&](auto row) {
    if (!config && name == Row<row>::kName) {
      config.emplace(std::in_place_index<row>,
                     Row<row>::finish(std::move(std::get<row>(sections)), env));
    }
  });
  if (!config) throw std::invalid_argument("unknown source " + quote_for_message(name));
  return std::move(*config);
}

std::string_view source_name(const SourceConfig& config) {
  return visit_module(config, [](auto module, const auto&) { return decltype(module)::kName; });
}

std::unique_ptr<UsageSource> make_source(const SourceConfig& config, RequestObserver& observer) {
  return visit_module(config, [&](auto module, const auto& alternative) {
    return decltype(module)::make(alternative, observer);
  });
}

std::string_view setup_check_key(const SourceConfig& config) {
  return visit_module(config,
                      [](auto module, const auto&) { return decltype(module)::kSetupCheckKey; });
}

std::vector<std::pair<std::string, std::string>> source_log_fields(const SourceConfig& config) {
  return visit_module(config, [](auto module, const auto& alternative) {
    return decltype(module)::log_fields(alternative);
  });
}

std::chrono::milliseconds source_poll_budget(const SourceConfig& config) {
  return visit_module(config, [](auto module, const auto& alternative) {
    return decltype(module)::poll_budget(alternative);
  });
}

}  // namespace scalr_usage
