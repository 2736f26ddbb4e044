#pragma once
// The HTTP side: /metrics (or web.telemetry_path), a landing page, /-/healthy and /-/ready, served
// by CivetWeb directly because prometheus-cpp's Exposer cannot serve extra paths.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "metrics/exposition.h"

struct mg_context;
struct mg_connection;

namespace scalr_usage {

class WebServer {
 public:
  struct Options {
    std::string listen_address;  // HOST:PORT, [IPv6]:PORT or :PORT
    std::string telemetry_path = "/metrics";
    std::string version;
    int threads = 8;  // enough that one slow scraper cannot hold up the others
  };
  using ExpositionProvider = std::function<std::shared_ptr<const Exposition>()>;
  using ReadinessProbe = std::function<bool()>;

  // Starts listening; throws std::runtime_error with CivetWeb's reason when it cannot.
  WebServer(Options options, ExpositionProvider exposition, ReadinessProbe ready);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // The ports actually bound (useful with port 0).
  std::vector<int> ports() const;

 private:
  static int handle_metrics(mg_connection* conn, void* self);
  static int handle_landing(mg_connection* conn, void* self);
  static int handle_healthy(mg_connection* conn, void* self);
  static int handle_ready(mg_connection* conn, void* self);

  struct ContextDeleter {
    void operator()(mg_context* ctx) const;
  };

  const Options options_;
  const ExpositionProvider exposition_;
  const ReadinessProbe ready_;
  std::unique_ptr<mg_context, ContextDeleter> context_;
};

// CivetWeb's listening_ports syntax for a Prometheus-style listen address (":9871" -> "9871").
std::string civetweb_listening_port(const std::string& listen_address);

}  // namespace scalr_usage
