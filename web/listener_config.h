#pragma once
// The `web:` section: where the metrics are served. (TLS and authentication are in the web
// configuration file, web/web_config.h.)

#include "config/node.h"

#include <string>

namespace scalr_usage {

struct WebConfig {
  std::string listen_address = "0.0.0.0:9871";  // HOST:PORT, [IPv6]:PORT or :PORT
  std::string telemetry_path = "/metrics";
  // CivetWeb serves each connection on a thread of its own from accept to close, keep-alive idling
  // included: this many clients connected at once, and the next one waits. Prometheus replicas
  // keep one connection each; 64 leaves room for many more plus stalled or slow clients.
  int max_connections = 64;
};

// Throws ConfigError naming the key.
void parse_web_section(const ConfigNode& section, WebConfig& web);

}  // namespace scalr_usage
