#pragma once
// TEMPORARY until the utilhelpers branch merges.
#include <span>
#include <string>
#include <string_view>
#include <vector>
namespace scalr_usage {
bool is_space(char c);
bool is_control(char c);
bool has_control(std::string_view text);
std::string_view trim(std::string_view text);
std::string to_lower(std::string_view text);
std::string quote_for_message(std::string_view text);
template <typename Range>
std::string join(const Range& items, std::string_view separator = ",") {
  std::string out;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += separator;
    out += item;
    first = false;
  }
  return out;
}
std::string join_alternatives(std::span<const std::string_view> names);
}  // namespace scalr_usage
