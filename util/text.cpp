#include "util/text.h"

#include <algorithm>
#include <cstdio>

namespace scalr_usage {

namespace {

// Bytes of input quote_for_message() shows before it cuts the rest to "...".
constexpr std::size_t kMaxQuotedChars = 64;

}  // namespace

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), is_control);
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

}  // namespace scalr_usage
