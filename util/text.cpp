#include "util/text.h"

#include <algorithm>
#include <cstdio>

namespace scalr_usage {

namespace {

// Bytes of input quote_for_message() shows before it cuts the rest to "...".
constexpr std::size_t kMaxQuotedChars = 64;

bool is_ows(char c) { return c == ' ' || c == '\t'; }

template <typename Predicate>
std::string_view trim_if(std::string_view text, Predicate strip) {
  while (!text.empty() && strip(text.front())) text.remove_prefix(1);
  while (!text.empty() && strip(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), is_control);
}

std::string_view trim(std::string_view text) { return trim_if(text, is_space); }

std::string_view trim_ows(std::string_view text) { return trim_if(text, is_ows); }

std::string to_lower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return lower;
}

std::string quote_for_message(std::string_view text) {
  std::string quoted = "\"";
  std::size_t shown = 0;
  for (char c : text) {
    if (shown++ == kMaxQuotedChars) {
      quoted += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (is_control(c)) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned char>(c));
      quoted += escaped;
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

std::string quote_if_needed(std::string_view text) {
  const bool plain =
      std::none_of(text.begin(), text.end(), [](char c) { return is_control(c) || c == '"'; });
  return plain ? std::string(text) : quote_for_message(text);
}

std::string join_alternatives(std::span<const std::string_view> names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace scalr_usage
