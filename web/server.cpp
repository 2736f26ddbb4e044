#include "web/server.h"

#include <civetweb.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "util/log.h"

namespace scalr_usage {

namespace {

struct Header {
  const char* name;
  std::string value;
};

bool is_head(const mg_request_info* request) {
  return std::strcmp(request->request_method, "HEAD") == 0;
}

int send_response(mg_connection* conn, int status, std::string_view content_type,
                  std::string_view body, std::initializer_list<Header> extra = {}) {
  const mg_request_info* request = mg_get_request_info(conn);
  mg_response_header_start(conn, status);
  mg_response_header_add(conn, "Content-Type", content_type.data(),
                         static_cast<int>(content_type.size()));
  const std::string length = std::to_string(body.size());
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  for (const Header& header : extra) {
    mg_response_header_add(conn, header.name, header.value.c_str(), -1);
  }
  mg_response_header_send(conn);
  if (!is_head(request)) mg_write(conn, body.data(), body.size());
  return status;
}

// Only GET and HEAD make sense on every path served here.
bool reject_other_methods(mg_connection* conn) {
  const mg_request_info* request = mg_get_request_info(conn);
  if (std::strcmp(request->request_method, "GET") == 0 || is_head(request)) return false;
  send_response(conn, 405, "text/plain; charset=utf-8", "Method Not Allowed\n",
                {{"Allow", "GET, HEAD"}});
  return true;
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

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
    const std::string_view coding = trim(item.substr(0, semicolon));
    if (coding != "gzip" && coding != "*") continue;
    if (semicolon == std::string_view::npos) return true;
    const std::string_view param = trim(item.substr(semicolon + 1));
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
    : options_(std::move(options)), exposition_(std::move(exposition)), ready_(std::move(ready)) {
  static const unsigned library_features = mg_init_library(0);  // once per process, never undone
  (void)library_features;

  const std::string ports = civetweb_listening_port(options_.listen_address);
  const std::string threads = std::to_string(options_.threads);
  const std::array<const char*, 13> config{"listening_ports",
                                           ports.c_str(),
                                           "num_threads",
                                           threads.c_str(),
                                           "enable_keep_alive",
                                           "yes",
                                           "keep_alive_timeout_ms",
                                           "60000",
                                           "request_timeout_ms",
                                           "10000",
                                           "tcp_nodelay",
                                           "1",
                                           nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = &log_civetweb_message;
  mg_init_data init{&callbacks, this, const_cast<const char**>(config.data())};
  char error_text[256] = "";
  unsigned error_code = 0;
  mg_error_data error{&error_code, error_text, sizeof error_text};
  context_.reset(mg_start2(&init, &error));
  if (!context_) {
    throw std::runtime_error("cannot listen on " + options_.listen_address + ": " +
                             (error_text[0] != '\0' ? error_text : "unknown error"));
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
  for (int i = 0; i < count; ++i) result.push_back(bound[static_cast<std::size_t>(i)].port);
  return result;
}

int WebServer::handle_metrics(mg_connection* conn, void* self) {
  if (reject_other_methods(conn)) return 405;
  const std::shared_ptr<const Exposition> exposition = self_of(self).exposition_();
  if (accepts_gzip(conn)) {
    return send_response(conn, 200, kExpositionContentType, exposition->gzip,
                         {{"Content-Encoding", "gzip"}, {"Vary", "Accept-Encoding"}});
  }
  return send_response(conn, 200, kExpositionContentType, exposition->text,
                       {{"Vary", "Accept-Encoding"}});
}

int WebServer::handle_landing(mg_connection* conn, void* self) {
  if (reject_other_methods(conn)) return 405;
  const Options& options = self_of(self).options_;
  const std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>Scalr Usage Exporter</title></head><body>\n<h1>Scalr Usage Exporter</h1>\n"
      "<p>Version " +
      options.version + "</p>\n<ul>\n<li><a href=\"" + options.telemetry_path +
      "\">Metrics</a></li>\n<li><a href=\"/-/healthy\">Health</a></li>\n"
      "<li><a href=\"/-/ready\">Readiness</a></li>\n</ul>\n</body></html>\n";
  return send_response(conn, 200, "text/html; charset=utf-8", page);
}

int WebServer::handle_healthy(mg_connection* conn, void*) {
  if (reject_other_methods(conn)) return 405;
  return send_response(conn, 200, "text/plain; charset=utf-8", "Healthy\n");
}

int WebServer::handle_ready(mg_connection* conn, void* self) {
  if (reject_other_methods(conn)) return 405;
  if (self_of(self).ready_())
    return send_response(conn, 200, "text/plain; charset=utf-8", "Ready\n");
  return send_response(conn, 503, "text/plain; charset=utf-8",
                       "Not ready: the first poll has not finished\n");
}

}  // namespace scalr_usage
