#pragma once
// The one HTTP operation the Scalr API client needs (GET), behind an interface so the client can be
// tested with a scripted fake, and its libcurl implementation.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "util/http_get.h"  // CurlEasy, CurlSlist

namespace scalr_usage {

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;          // "Name: value"; may carry the token, so never logged
  std::chrono::milliseconds timeout{30000};  // the whole request, connect included
  std::size_t max_body_bytes = 8u << 20;     // of the decoded body
  std::string ca_file;                       // extra CA bundle; empty = system default
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;  // as sent, e.g. "application/vnd.api+json; charset=utf-8"
  std::optional<std::string> retry_after;  // raw header value, when present
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Returns any HTTP response, whatever its status. Throws SourceError for everything that is not
  // an HTTP response: timeout, connection (DNS, refused, TLS, reset), too_large (body over
  // max_body_bytes) and cancelled (stop requested).
  virtual HttpResponse get(const HttpRequest& request, std::stop_token stop) = 0;
};

// libcurl implementation. It reuses one easy handle, so consecutive requests to the same host share
// a keep-alive connection. Not thread-safe: one CurlTransport per polling thread.
//
// Cancellation is checked before the request and from libcurl's progress callback, which runs at
// least about once per second even when nothing arrives, so a stop takes effect within ~1 s.
// Redirects are not followed: the API does not redirect, and not following them means the bearer
// token can never be sent to another host.
class CurlTransport final : public HttpTransport {
 public:
  // Throws std::runtime_error when libcurl cannot be initialised.
  CurlTransport();
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  HttpResponse get(const HttpRequest& request, std::stop_token stop) override;

 private:
  CurlEasy easy_;
};

}  // namespace scalr_usage
