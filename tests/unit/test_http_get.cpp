#include "util/http_get.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <string_view>

#include "loopback_server.h"

namespace scalr_usage {
namespace {

using loopback_server::send_reply;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

int healthy_handler(mg_connection* conn, void*) {
  return send_reply(conn, 200, "OK", "Content-Type: text/plain\r\n", "Healthy\n");
}

int unavailable_handler(mg_connection* conn, void*) {
  return send_reply(conn, 503, "Service Unavailable", "", "down\n");
}

int redirect_handler(mg_connection* conn, void*) {
  return send_reply(conn, 302, "Found", "Location: /healthy\r\n", "");
}

// 64 KiB with Content-Length, or as many blocks without one as the client takes.
int big_handler(mg_connection* conn, void*) {
  return send_reply(conn, 200, "OK", "", std::string(64 << 10, 'x'));
}

int unbounded_handler(mg_connection* conn, void*) {
  mg_printf(conn, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
  const std::string block(16 << 10, 'y');
  int written = 0;
  while (written < (64 << 20) && mg_write(conn, block.data(), block.size()) > 0) {
    written += static_cast<int>(block.size());
  }
  return 200;
}

// 204 when the request carries what the Scalr API client's requests carry (the daemon's probe of
// itself looked the same before it had a client of its own), 400 otherwise.
int request_check_handler(mg_connection* conn, void*) {
  const char* agent = mg_get_header(conn, "User-Agent");
  const char* encoding = mg_get_header(conn, "Accept-Encoding");
  const bool as_before = agent != nullptr &&
                         std::string_view(agent).starts_with("scalr-usage-exporter/") &&
                         encoding != nullptr && std::strstr(encoding, "gzip") != nullptr &&
                         std::strcmp(mg_get_request_info(conn)->request_method, "GET") == 0;
  return as_before ? send_reply(conn, 204, "No Content", "", "")
                   : send_reply(conn, 400, "Bad Request", "", "");
}

// A socket that listens and never accepts: the kernel completes the connection, nothing answers.
class SilentListener {
 public:
  SilentListener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::listen(fd_, 4) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~SilentListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

class HttpGet : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = loopback_server::start(4);
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(server_.get_deleter().port, 0);
    mg_set_request_handler(server_.get(), "/healthy$", healthy_handler, nullptr);
    mg_set_request_handler(server_.get(), "/unavailable$", unavailable_handler, nullptr);
    mg_set_request_handler(server_.get(), "/redirect$", redirect_handler, nullptr);
    mg_set_request_handler(server_.get(), "/big$", big_handler, nullptr);
    mg_set_request_handler(server_.get(), "/unbounded$", unbounded_handler, nullptr);
    mg_set_request_handler(server_.get(), "/request-check$", request_check_handler, nullptr);
    base_ = loopback_server::base_url(server_);
  }

  HttpGetResult get(const std::string& path, std::size_t max_body_bytes = 1024) {
    return client_.get(base_ + path, 2000ms, max_body_bytes);
  }

  loopback_server::Server server_;
  std::string base_;
  HttpGetClient client_;
};

TEST_F(HttpGet, ReturnsTheStatus) {
  const HttpGetResult ok = get("/healthy");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.error, "");

  // Any HTTP response is a status, not an error; the handle is reused for each.
  EXPECT_EQ(get("/unavailable").status, 503);
  EXPECT_EQ(get("/no-such-path").status, 404);
  EXPECT_EQ(get("/healthy").status, 200);
}

TEST_F(HttpGet, SendsTheRequestTheApiClientSends) { EXPECT_EQ(get("/request-check").status, 204); }

TEST_F(HttpGet, DoesNotFollowRedirects) { EXPECT_EQ(get("/redirect").status, 302); }

TEST_F(HttpGet, BodyOverTheBoundIsAnError) {
  const HttpGetResult over = get("/big", 1000);
  EXPECT_EQ(over.status, 0);
  EXPECT_THAT(over.error, HasSubstr("1000 bytes"));

  EXPECT_EQ(get("/big", 64 << 10).status, 200);  // exactly the body's size is fine

  // Without Content-Length the bound holds as the body streams in.
  const HttpGetResult unbounded = get("/unbounded", 256 << 10);
  EXPECT_EQ(unbounded.status, 0);
  EXPECT_THAT(unbounded.error, HasSubstr(std::to_string(256 << 10) + " bytes"));
}

TEST_F(HttpGet, ServerThatDoesNotAnswerTimesOut) {
  const SilentListener silent;
  ASSERT_NE(silent.port(), 0);
  const auto started = std::chrono::steady_clock::now();
  const HttpGetResult result =
      client_.get("http://127.0.0.1:" + std::to_string(silent.port()) + "/healthy", 100ms, 1024);
  EXPECT_EQ(result.status, 0);
  EXPECT_THAT(result.error, HasSubstr("timed out"));  // curl's "Operation timed out after ..."
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1000ms);

  EXPECT_EQ(get("/healthy").status, 200);  // the handle works after a failure
}

TEST_F(HttpGet, NothingListeningIsAnError) {
  const int port = loopback_server::closed_port();
  ASSERT_NE(port, 0);
  const HttpGetResult result =
      client_.get("http://127.0.0.1:" + std::to_string(port) + "/healthy", 2000ms, 1024);
  EXPECT_EQ(result.status, 0);
  EXPECT_THAT(result.error, HasSubstr(std::to_string(port)));  // curl's own error text
}

TEST_F(HttpGet, OnlyHttpAndHttps) {
  const HttpGetResult result = client_.get("file:///etc/hostname", 2000ms, 1024);
  EXPECT_EQ(result.status, 0);
  EXPECT_NE(result.error, "");
}

}  // namespace
}  // namespace scalr_usage
