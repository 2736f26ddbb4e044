#include "web/server.h"

#include <civetweb.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "metrics/process_metrics.h"
#include "util/log.h"
#include "util/text.h"  // trim_ows
#include "web/tls.h"

namespace scalr_usage {

namespace {

bool is_head(const mg_request_info* request) {
  return std::strcmp(request->request_method, "HEAD") == 0;
}

// Only GET and HEAD make sense on every path served here.
bool other_method(mg_connection* conn) {
  const mg_request_info* request = mg_get_request_info(conn);
  return std::strcmp(request->request_method, "GET") != 0 && !is_head(request);
}

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";

// RFC 9110 Accept-Encoding: "gzip" or "*" is acceptable unless its weight is q=0.
bool accepts_gzip(mg_connection* conn) {
  const char* header = mg_get_header(conn, "Accept-Encoding");
  if (header == nullptr) return false;
  std::string_view rest(header);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const auto semicolon = item.find(';');
    const std::string_view coding = trim_ows(item.substr(0, semicolon));
    if (coding != "gzip" && coding != "*") continue;
    if (semicolon == std::string_view::npos) return true;
    const std::string_view param = trim_ows(item.substr(semicolon + 1));
    if (param.substr(0, 2) != "q=") return true;
    return std::strtod(std::string(param.substr(2)).c_str(), nullptr) > 0.0;
  }
  return false;
}

int log_civetweb_message(const mg_connection*, const char* message) {
  log::debug("http server message", {{"detail", message}});
  return 1;  // handled: keep CivetWeb from writing to stderr itself
}

WebServer& self_of(void* self) { return *static_cast<WebServer*>(self); }

std::string_view outcome_text(BasicAuthenticator::Outcome outcome) {
  switch (outcome) {
    case BasicAuthenticator::Outcome::missing:
      return "no credentials";
    case BasicAuthenticator::Outcome::malformed:
      return "malformed Authorization header";
    default:
      return "wrong password or unknown user";
  }
}

}  // namespace

std::string civetweb_listening_port(const std::string& listen_address) {
  const auto colon = listen_address.rfind(':');
  if (colon == std::string::npos) return listen_address;
  std::string host = listen_address.substr(0, colon);
  const std::string port = listen_address.substr(colon + 1);
  if (host.empty()) return port;
  if (host == "localhost") host = "127.0.0.1";
  return host + ":" + port;
}

void WebServer::ContextDeleter::operator()(mg_context* ctx) const { mg_stop(ctx); }

WebServer::WebServer(Options options, ExpositionProvider exposition, ReadinessProbe ready)
    : options_(std::move(options)),
      exposition_(std::move(exposition)),
      ready_(std::move(ready)),
      tls_(options_.web_config != nullptr && options_.web_config->tls.has_value()) {
  // Once per process, never undone. OpenSSL is loaded whether or not this server needs it, so
  // the answer does not depend on which server of the process came first.
  static const unsigned library_features = mg_init_library(MG_FEATURES_SSL);
  if (tls_ && (library_features & MG_FEATURES_SSL) == 0) {
    throw std::runtime_error("cannot serve TLS on " + options_.listen_address +
                             ": CivetWeb could not load OpenSSL");
  }
  if (options_.web_config != nullptr && !options_.web_config->basic_auth_users.empty()) {
    authenticator_ =
        std::make_unique<const BasicAuthenticator>(options_.web_config->basic_auth_users);
  }

  std::string ports = civetweb_listening_port(options_.listen_address);
  if (tls_) {
    ports += "s";
    if (options_.loopback_health_port) ports += ",127.0.0.1:0";
  }
  const std::string threads = std::to_string(options_.threads);
  std::vector<const char*> config{
      "listening_ports", ports.c_str(), "num_threads", threads.c_str(),
      // An idle keep-alive connection holds its thread: let it go after 30 s. Prometheus
      // reconnects at its next scrape, and other clients get the thread back.
      "enable_keep_alive", "yes", "keep_alive_timeout_ms", "30000", "request_timeout_ms", "10000",
      "tcp_nodelay", "1"};
  mg_callbacks callbacks{};
  callbacks.log_message = &log_civetweb_message;
  if (tls_) {
    // CivetWeb's own minimum (4 = TLS 1.2+, 5 = TLS 1.3); init_tls sets the same and the rest.
    config.push_back("ssl_protocol_version");
    config.push_back(options_.web_config->tls->min_version == TlsVersion::tls13 ? "5" : "4");
    callbacks.init_ssl = &init_tls;
  }
  config.push_back(nullptr);
  mg_init_data init{&callbacks, this, config.data()};
  char error_text[256] = "";
  unsigned error_code = 0;
  mg_error_data error{&error_code, error_text, sizeof error_text};
  context_.reset(mg_start2(&init, &error));
  if (!context_) {
    const std::string reason = !tls_error_.empty()     ? tls_error_
                               : error_text[0] != '\0' ? error_text
                                                       : "unknown error";
    throw std::runtime_error("cannot listen on " + options_.listen_address + ": " + reason);
  }
  mg_set_request_handler(context_.get(), (options_.telemetry_path + "$").c_str(), &handle_metrics,
                         this);
  mg_set_request_handler(context_.get(), "/-/healthy$", &handle_healthy, this);
  mg_set_request_handler(context_.get(), "/-/ready$", &handle_ready, this);
  mg_set_request_handler(context_.get(), "/$", &handle_landing, this);
}

WebServer::~WebServer() = default;

std::vector<int> WebServer::ports() const {
  std::array<mg_server_port, 8> bound{};
  const int count =
      mg_get_server_ports(context_.get(), static_cast<int>(bound.size()), bound.data());
  std::vector<int> result;
  for (int i = 0; i < count; ++i) {
    const mg_server_port& port = bound[static_cast<std::size_t>(i)];
    if (tls_ && port.is_ssl == 0) continue;  // the loopback health port
    result.push_back(port.port);
  }
  return result;
}

std::string WebServer::health_check_url() const {
  if (tls_) {
    std::array<mg_server_port, 8> bound{};
    const int count =
        mg_get_server_ports(context_.get(), static_cast<int>(bound.size()), bound.data());
    for (int i = 0; i < count; ++i) {
      const mg_server_port& port = bound[static_cast<std::size_t>(i)];
      if (port.is_ssl == 0) return "http://127.0.0.1:" + std::to_string(port.port) + "/-/healthy";
    }
    return "";  // no loopback health port was asked for
  }
  const std::vector<int> bound = ports();
  const std::string& address = options_.listen_address;
  std::string host = address.substr(0, address.rfind(':'));
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "[::]") host = "[::1]";
  return "http://" + host + ":" + std::to_string(bound.empty() ? 0 : bound.front()) + "/-/healthy";
}

int WebServer::respond(mg_connection* conn, int status, std::string_view content_type,
                       std::string_view body,
                       std::initializer_list<std::pair<const char*, std::string>> extra) const {
  return respond(conn, status, content_type, {body}, extra);
}

int WebServer::respond(mg_connection* conn, int status, std::string_view content_type,
                       std::initializer_list<std::string_view> body_parts,
                       std::initializer_list<std::pair<const char*, std::string>> extra) const {
  std::size_t body_size = 0;
  for (const std::string_view part : body_parts) body_size += part.size();
  const mg_request_info* request = mg_get_request_info(conn);
  mg_response_header_start(conn, status);
  mg_response_header_add(conn, "Content-Type", content_type.data(),
                         static_cast<int>(content_type.size()));
  const std::string length = std::to_string(body_size);
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  for (const auto& [name, value] : extra) mg_response_header_add(conn, name, value.c_str(), -1);
  if (options_.web_config != nullptr) {
    for (const auto& [name, value] : options_.web_config->headers) {
      mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
    }
  }
  mg_response_header_send(conn);
  if (!is_head(request)) {
    for (const std::string_view part : body_parts) mg_write(conn, part.data(), part.size());
  }
  return status;
}

bool WebServer::on_health_port(mg_connection* conn) const {
  return tls_ && mg_get_request_info(conn)->is_ssl == 0;
}

int WebServer::refuse(mg_connection* conn) const {
  if (on_health_port(conn)) {
    return respond(conn, 404, kTextPlain, "Not Found\n");
  }
  if (authenticator_ != nullptr) {
    const BasicAuthenticator::Result result =
        authenticator_->authenticate(mg_get_header(conn, "Authorization"));
    if (result.outcome != BasicAuthenticator::Outcome::ok) {
      // Debug only, and never the password or the header: the user name is all a log needs.
      if (log::enabled(log::Level::debug)) {
        const mg_request_info* request = mg_get_request_info(conn);
        log::debug("basic authentication failed",
                   {{"reason", outcome_text(result.outcome)},
                    {"user", result.user},
                    {"remote", request->remote_addr},
                    {"path", request->local_uri != nullptr ? request->local_uri : ""}});
      }
      return respond(
          conn, 401, kTextPlain, "Unauthorized\n",
          {{"WWW-Authenticate", "Basic realm=\"scalr-usage-exporter\", charset=\"UTF-8\""}});
    }
  }
  if (other_method(conn)) {
    return respond(conn, 405, kTextPlain, "Method Not Allowed\n", {{"Allow", "GET, HEAD"}});
  }
  return 0;
}

int WebServer::init_tls(void* ssl_ctx, void* self) {
  WebServer& server = self_of(self);
  try {
    configure_tls_context(ssl_ctx, *server.options_.web_config->tls);
    return 1;  // set up completely: CivetWeb must not load a certificate of its own
  } catch (const std::exception& error) {
    server.tls_error_ = error.what();
    return -1;
  }
}

int WebServer::handle_metrics(mg_connection* conn, void* self) {
  const WebServer& server = self_of(self);
  if (const int refused = server.refuse(conn); refused != 0) return refused;
  const std::shared_ptr<const Exposition> exposition = server.exposition_();
  // The cached bytes of the snapshot plus the process_* lines, the only part made per request.
  const auto process = read_process_stats();
  const std::string tail = process ? render_process_metrics(*process) : std::string();
  if (accepts_gzip(conn)) {
    const std::string gzip_end = gzip_tail(exposition->gzip, tail);
    return server.respond(conn, 200, kExpositionContentType, {exposition->gzip.head, gzip_end},
                          {{"Content-Encoding", "gzip"}, {"Vary", "Accept-Encoding"}});
  }
  return server.respond(conn, 200, kExpositionContentType, {exposition->text, tail},
                        {{"Vary", "Accept-Encoding"}});
}

int WebServer::handle_landing(mg_connection* conn, void* self) {
  const WebServer& server = self_of(self);
  if (const int refused = server.refuse(conn); refused != 0) return refused;
  const Options& options = server.options_;
  const std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>Scalr Usage Exporter</title></head><body>\n<h1>Scalr Usage Exporter</h1>\n"
      "<p>Version " +
      options.version + "</p>\n<ul>\n<li><a href=\"" + options.telemetry_path +
      "\">Metrics</a></li>\n<li><a href=\"/-/healthy\">Health</a></li>\n"
      "<li><a href=\"/-/ready\">Readiness</a></li>\n</ul>\n</body></html>\n";
  return server.respond(conn, 200, "text/html; charset=utf-8", page);
}

int WebServer::handle_healthy(mg_connection* conn, void* self) {
  const WebServer& server = self_of(self);
  if (other_method(conn)) {
    return server.respond(conn, 405, kTextPlain, "Method Not Allowed\n", {{"Allow", "GET, HEAD"}});
  }
  return server.respond(conn, 200, kTextPlain, "Healthy\n");
}

int WebServer::handle_ready(mg_connection* conn, void* self) {
  const WebServer& server = self_of(self);
  if (server.on_health_port(conn)) return server.respond(conn, 404, kTextPlain, "Not Found\n");
  if (other_method(conn)) {
    return server.respond(conn, 405, kTextPlain, "Method Not Allowed\n", {{"Allow", "GET, HEAD"}});
  }
  if (server.ready_()) return server.respond(conn, 200, kTextPlain, "Ready\n");
  return server.respond(conn, 503, kTextPlain, "Not ready: the first poll has not finished\n");
}

}  // namespace scalr_usage
