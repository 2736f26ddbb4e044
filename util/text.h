#pragma once
// Small text helpers every folder uses: ASCII character classes, trimming, case folding, joining,
// and making user input safe for a one-line message. ASCII only and locale-independent, so a
// process that calls setlocale() still reads configuration and writes messages the same way.

#include <concepts>
#include <ranges>
#include <span>
#include <string>
#include <string_view>

namespace scalr_usage {

// Space, \t, \n, \v, \f and \r: what std::isspace() accepts in the "C" locale, and what libpq
// takes to separate the key=value pairs of a DSN.
constexpr bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// ASCII letters and digits.
constexpr bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// ASCII control characters (and DEL), which would break a one-line message.
constexpr bool is_control(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}
bool has_control(std::string_view text);

// text without leading and trailing is_space() characters.
std::string_view trim(std::string_view text);

// text without leading and trailing spaces and tabs only: HTTP's optional whitespace (OWS, RFC 9110
// section 5.6.3) around header values and list items. Other control characters stay, so a header
// with them does not match what it would match without.
std::string_view trim_ows(std::string_view text);

// text with ASCII A-Z lowered; every other byte (UTF-8 included) as is.
std::string to_lower(std::string_view text);

// The items with separator between each two: {} -> "", {"a"} -> "a", {"a", "b"} -> "a,b".
template <typename Range>
requires std::convertible_to<std::ranges::range_reference_t<const Range>, std::string_view>
    std::string join(const Range& items, std::string_view separator = ",") {
  std::string out;
  bool first = true;
  for (const std::string_view item : items) {
    if (!first) out += separator;
    first = false;
    out += item;
  }
  return out;
}

// Choices for people: {"a"} -> "a", {"a", "b"} -> "a or b", {"a", "b", "c"} -> "a, b or c".
std::string join_alternatives(std::span<const std::string_view> names);

// User input made safe for a one-line error message: in double quotes, with quotes, backslashes
// and control characters escaped, and cut to a bounded length.
std::string quote_for_message(std::string_view text);

// text as typed (whatever its length) when it can stand in a one-line message as is, with no
// control character and no double quote; else quote_for_message(text). For paths and flags.
std::string quote_if_needed(std::string_view text);

}  // namespace scalr_usage
