#include "chargeback/config.h"

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace scalr_usage {

namespace {

// Enough for any real allocation scheme; each label multiplies nothing (one info series per
// workspace either way) but every one is a column and a legend entry.
constexpr std::size_t kMaxLabels = 16;

void check_label_name(const std::string& name) {
  const bool valid = !name.empty() && name.size() <= 64 &&
                     (std::islower(name[0]) || name[0] == '_') &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                     });
  if (!valid) {
    throw std::invalid_argument("\"" + name +
                                "\" is not a label name ([a-z_][a-z0-9_]*, at most 64)");
  }
  if (name.starts_with("__")) {
    throw std::invalid_argument("\"" + name + "\": names starting with __ are Prometheus' own");
  }
  const auto& reserved = reserved_chargeback_labels();
  if (std::binary_search(reserved.begin(), reserved.end(), name)) {
    throw std::invalid_argument("\"" + name +
                                "\" is already a label of the usage series or a report column");
  }
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

// `set:` or `default:`: label -> template, one slot per label.
std::vector<std::optional<ChargebackTemplate>> parse_set(const ConfigNode& node,
                                                         const std::vector<std::string>& labels) {
  std::vector<std::optional<ChargebackTemplate>> set(labels.size());
  if (node.is_null()) return set;
  node.entries("a mapping of label: value", [&](const std::string& label, const ConfigNode& value) {
    const auto at = std::find(labels.begin(), labels.end(), label);
    if (at == labels.end()) {
      value.fail("not one of chargeback.labels (" + joined(labels) + ")");
    }
    set[static_cast<std::size_t>(at - labels.begin())] =
        value.parsed("a label value", ChargebackTemplate::parse);
  });
  return set;
}

ChargebackRule parse_rule(const ConfigNode& node, const std::vector<std::string>& labels) {
  ChargebackRule rule;
  rule.set.resize(labels.size());
  node.walk({
      {"match",
       [&](const ConfigNode& match) {
         match.entries(
             "a mapping of key: pattern", [&](const std::string& key, const ConfigNode& pattern) {
               const auto parsed_key = parse_chargeback_key(key);
               if (!parsed_key) {
                 pattern.fail("unknown match key (want " + chargeback_key_list() + ")");
               }
               rule.match.emplace_back(
                   *parsed_key, pattern.parsed("a glob or ~regex", ChargebackPattern::parse));
             });
       }},
      {"set", [&](const ConfigNode& set) { rule.set = parse_set(set, labels); }},
  });
  return rule;
}

}  // namespace

const std::vector<std::string_view>& reserved_chargeback_labels() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v = {
        // the usage and info series' labels, and Prometheus' target labels
        "account_id", "account_name", "code", "environment_id", "environment_name", "index",
        "instance", "job", "le", "quantile", "reason", "schedule", "target", "workspace_id",
        "workspace_name",
        // the CSV report's columns (reports/render_csv.cpp)
        "currency", "included_runs", "level", "overage_cost", "period_end", "period_start",
        "previous_run_seconds", "previous_runs", "run_hours", "run_seconds", "run_seconds_change",
        "run_seconds_change_ratio", "run_seconds_share", "runs", "runs_change", "runs_change_ratio",
        "runs_over_plan", "runs_share"};
    std::sort(v.begin(), v.end());
    return v;
  }();
  return names;
}

ChargebackRules parse_chargeback_section(const ConfigNode& section) {
  std::vector<std::string> labels;
  std::optional<ConfigNode> rules_node, default_node;
  section.walk({
      {"labels",
       [&](const ConfigNode& v) {
         labels = v.unique_words("a list of label names", EmptyList::refused, check_label_name);
         if (labels.size() > kMaxLabels) {
           v.fail("at most " + std::to_string(kMaxLabels) + " labels");
         }
       }},
      {"rules", [&](const ConfigNode& v) { rules_node = v; }},
      {"default", [&](const ConfigNode& v) { default_node = v; }},
  });
  if (labels.empty()) {
    if (rules_node || default_node)
      section.fail_at(section.path() + ".labels", "required with rules or default");
    return {};
  }
  std::vector<ChargebackRule> rules;
  if (rules_node) {
    for (const ConfigNode& item : rules_node->items("a list of rules", EmptyList::or_null)) {
      rules.push_back(parse_rule(item, labels));
    }
  }
  std::vector<std::optional<ChargebackTemplate>> fallback(labels.size());
  if (default_node) fallback = parse_set(*default_node, labels);
  return ChargebackRules(std::move(labels), std::move(rules), std::move(fallback));
}

}  // namespace scalr_usage
