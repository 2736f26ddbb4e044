#include "pq/messages.h"

#include "util/text.h"

namespace scalr_usage {

std::string one_line(std::string_view text) {
  std::string out;
  bool pending_space = false;
  for (const char c : text) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += is_control(c) ? ' ' : c;
  }
  return out;
}

std::string first_line(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  return one_line(text.substr(0, text.find('\n')));
}

}  // namespace scalr_usage
