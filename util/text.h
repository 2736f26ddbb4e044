#pragma once
// Small text helpers every folder uses: making user input safe for a one-line message. ASCII only
// and locale-independent, so a process that calls setlocale() still writes messages the same way.

#include <string>
#include <string_view>

namespace scalr_usage {

// ASCII control characters (and DEL), which would break a one-line message.
constexpr bool is_control(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}
bool has_control(std::string_view text);

// User input made safe for a one-line error message: in double quotes, with quotes, backslashes
// and control characters escaped, and cut to a bounded length.
std::string quote_for_message(std::string_view text);

}  // namespace scalr_usage
