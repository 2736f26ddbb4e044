#pragma once
// Network addresses as configuration values: the listener's HOST:PORT and a URL's authority.

#include <optional>
#include <string_view>

namespace scalr_usage {

// Splits HOST:PORT or [HOST]:PORT; the port part may be absent only when !port_required.
struct HostPort {
  std::string_view host;
  std::optional<int> port;
};

// Throws std::invalid_argument saying what is wrong.
HostPort split_host_port(std::string_view address, bool port_required);

// Checks HOST:PORT, [IPv6]:PORT or :PORT with a port from 1 to 65535. Throws std::invalid_argument
// saying what is wrong; shared by web.listen_address and the --web.listen-address flag.
void validate_listen_address(std::string_view address);

}  // namespace scalr_usage
