#include "config/address.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>

#include "util/text.h"

namespace scalr_usage {

HostPort split_host_port(std::string_view address, bool port_required) {
  HostPort result;
  std::string_view port_text;
  bool has_port = false;
  if (!address.empty() && address.front() == '[') {
    const std::size_t close = address.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("unclosed [ in IPv6 address");
    result.host = address.substr(1, close - 1);
    const std::string_view rest = address.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') throw std::invalid_argument("want :PORT after ]");
    has_port = !rest.empty();
    if (has_port) port_text = rest.substr(1);
    const bool ipv6_chars = std::all_of(result.host.begin(), result.host.end(), [](char c) {
      return is_alnum(c) || c == ':' || c == '.' || c == '%';
    });
    if (result.host.find(':') == std::string_view::npos || !ipv6_chars) {
      throw std::invalid_argument("invalid IPv6 address in []");
    }
  } else {
    const std::size_t colon = address.rfind(':');
    if (colon != std::string_view::npos && address.find(':') != colon) {
      throw std::invalid_argument("IPv6 addresses need brackets, like [::1]:9871");
    }
    has_port = colon != std::string_view::npos;
    result.host = address.substr(0, has_port ? colon : address.size());
    if (has_port) port_text = address.substr(colon + 1);
    const bool host_chars = std::all_of(result.host.begin(), result.host.end(), [](char c) {
      return is_alnum(c) || c == '.' || c == '-' || c == '_';
    });
    if (!host_chars) throw std::invalid_argument("invalid host " + quote_for_message(result.host));
  }
  if (!has_port) {
    if (port_required) throw std::invalid_argument("missing :PORT");
    return result;
  }
  int port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
      port < 1 || port > 65535) {
    throw std::invalid_argument("port must be a number from 1 to 65535, got " +
                                quote_for_message(port_text));
  }
  result.port = port;
  return result;
}

void validate_listen_address(std::string_view address) {
  try {
    split_host_port(address, /*port_required=*/true);
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(std::string(error.what()) +
                                " (want HOST:PORT, [IPv6]:PORT or :PORT, got " +
                                quote_for_message(address) + ")");
  }
}

}  // namespace scalr_usage
