#include "web/listener_config.h"

#include <stdexcept>

#include "config/address.h"
#include "util/text.h"

namespace scalr_usage {

namespace {

std::string listen_address(const std::string& address) {
  validate_listen_address(address);
  return address;
}

std::string telemetry_path(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    throw std::invalid_argument("must start with \"/\", got " + quote_for_message(path));
  }
  if (path == "/") throw std::invalid_argument("\"/\" is the landing page; use e.g. /metrics");
  if (path.rfind("/-/", 0) == 0) {
    throw std::invalid_argument(quote_for_message(path) +
                                " is reserved: paths under /-/ are the exporter's own endpoints");
  }
  if (path.find_first_of("?# \t") != std::string::npos) {
    throw std::invalid_argument("must be a plain path without query, fragment or spaces");
  }
  return path;
}

}  // namespace

void parse_web_section(const ConfigNode& section, WebConfig& web) {
  section.walk({
      {"listen_address",
       [&](const ConfigNode& v) {
         web.listen_address = v.parsed("an address like :9871", listen_address);
       }},
      {"telemetry_path",
       [&](const ConfigNode& v) {
         web.telemetry_path = v.parsed("a path like /metrics", telemetry_path);
       }},
      {"max_connections",
       [&](const ConfigNode& v) { web.max_connections = static_cast<int>(v.integer(2, 1024)); }},
  });
}

}  // namespace scalr_usage
