#pragma once
// The HTTP side: /metrics (or web.telemetry_path), a landing page, /-/healthy and /-/ready, served
// by CivetWeb directly because prometheus-cpp's Exposer cannot serve extra paths. With a web
// configuration file (web/web_config.h): TLS on the listener, and basic authentication for the
// metrics and the landing page; /-/healthy and /-/ready stay open, as probes need them and they
// tell nothing about the usage.

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/exposition.h"
#include "web/basic_auth.h"
#include "web/web_config.h"

struct mg_context;
struct mg_connection;

namespace scalr_usage {

class WebServer {
 public:
  struct Options {
    std::string listen_address;  // HOST:PORT, [IPv6]:PORT or :PORT
    std::string telemetry_path = "/metrics";
    std::string version;
    // Worker threads, one per open connection (CivetWeb's model): web.max_connections.
    int threads = 64;
    // TLS, users and headers; null: plain HTTP, no authentication.
    std::shared_ptr<const WebConfigFile> web_config;
    // With TLS, also listen on a random loopback port in plain HTTP that serves /-/healthy and
    // nothing else, for the daemon's own watchdog probe (health_check_url()), which then needs
    // neither the certificate's name nor a client certificate. Without TLS it changes nothing.
    bool loopback_health_port = false;
  };
  using ExpositionProvider = std::function<std::shared_ptr<const Exposition>()>;
  using ReadinessProbe = std::function<bool()>;

  // Starts listening; throws std::runtime_error with CivetWeb's reason when it cannot.
  WebServer(Options options, ExpositionProvider exposition, ReadinessProbe ready);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // The ports actually bound for listen_address (useful with port 0); not the loopback health
  // port.
  std::vector<int> ports() const;

  // Where the daemon asks itself for /-/healthy: plain HTTP on loopback (or the listen address's
  // host when it is one the daemon can reach itself on).
  std::string health_check_url() const;

 private:
  static int handle_metrics(mg_connection* conn, void* self);
  static int handle_landing(mg_connection* conn, void* self);
  static int handle_healthy(mg_connection* conn, void* self);
  static int handle_ready(mg_connection* conn, void* self);
  static int init_tls(void* ssl_ctx, void* self);

  // Answers with the configured headers added; returns status.
  int respond(mg_connection* conn, int status, std::string_view content_type, std::string_view body,
              std::initializer_list<std::pair<const char*, std::string>> extra = {}) const;
  // The same with a body written in parts, so cached bytes are sent without being copied.
  int respond(mg_connection* conn, int status, std::string_view content_type,
              std::initializer_list<std::string_view> body_parts,
              std::initializer_list<std::pair<const char*, std::string>> extra = {}) const;
  // For the protected paths: 0 when the request may go on, else the status it was answered with
  // (404 on the loopback health port, 401 without valid credentials, 405 for other methods).
  int refuse(mg_connection* conn) const;
  // A request that came in on the loopback health port.
  bool on_health_port(mg_connection* conn) const;

  struct ContextDeleter {
    void operator()(mg_context* ctx) const;
  };

  const Options options_;
  const ExpositionProvider exposition_;
  const ReadinessProbe ready_;
  const bool tls_;
  std::unique_ptr<const BasicAuthenticator> authenticator_;  // null: no users configured
  std::string tls_error_;  // why init_tls failed, for the constructor's exception
  std::unique_ptr<mg_context, ContextDeleter> context_;
};

// CivetWeb's listening_ports syntax for a Prometheus-style listen address (":9871" -> "9871").
std::string civetweb_listening_port(const std::string& listen_address);

}  // namespace scalr_usage
