#pragma once
// A CivetWeb server on loopback for the unit tests of HTTP clients (collectors/scalr_api's
// CurlTransport, util/http_get.h): canned replies, a stop that does not wait out CivetWeb's
// listener, and a port nothing listens on.

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>

namespace scalr_usage::loopback_server {

// A whole HTTP/1.1 response with Content-Length, closing the connection; returns status.
inline int send_reply(mg_connection* conn, int status, const char* reason,
                      const std::string& headers, const std::string& body) {
  mg_printf(conn, "HTTP/1.1 %d %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
            reason, headers.c_str(), body.size());
  mg_write(conn, body.data(), body.size());
  return status;
}

// Opens and closes one TCP connection to 127.0.0.1:port, ignoring failures.
inline void knock(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::close(fd);
}

// Deleter for a server from mg_start(); set port to the server's, so stopping it is quick.
struct ServerStopper {
  int port = 0;
  void operator()(mg_context* ctx) const noexcept {
    // CivetWeb's listener polls in 2 s slices and checks the stop flag only between them; a
    // connection attempt ends the slice at once, which keeps each test well under a second.
    std::jthread waker([port = port](std::stop_token stop) {
      while (port != 0 && !stop.stop_requested()) {
        knock(port);
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
      }
    });
    mg_stop(ctx);
  }
};

// A port that was just bound and released: nothing listens there.
inline int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// A server from mg_start(), stopped (quickly) when it goes.
using Server = std::unique_ptr<mg_context, ServerStopper>;

// A server on 127.0.0.1 and a port the kernel picks, without handlers yet; null when mg_start()
// failed, and its deleter's port 0 when the port could not be read.
inline Server start(int threads) {
  const std::string thread_count = std::to_string(threads);
  const char* options[] = {"listening_ports", "127.0.0.1:0", "num_threads", thread_count.c_str(),
                           nullptr};
  mg_callbacks callbacks{};
  Server server(mg_start(&callbacks, nullptr, options));
  mg_server_port ports[4]{};
  if (server && mg_get_server_ports(server.get(), 4, ports) >= 1) {
    server.get_deleter().port = ports[0].port;
  }
  return server;
}

// "http://127.0.0.1:PORT" for a server from start().
inline std::string base_url(const Server& server) {
  return "http://127.0.0.1:" + std::to_string(server.get_deleter().port);
}

}  // namespace scalr_usage::loopback_server
