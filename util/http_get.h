#pragma once
// A tiny libcurl GET for the daemon's probes of itself (the watchdog asks its own listener for
// /-/healthy): the HTTP status, or why there is none. The body is read up to a bound and dropped.
// For the Scalr API client, with headers, bodies and cancellation, see
// collectors/scalr_api/http_transport.h.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

struct curl_slist;  // curl.h, kept out of this header

namespace scalr_usage {

// An owned libcurl easy handle. CURL is `void` in curl.h; spelling it as void here keeps curl.h out
// of this header.
struct CurlEasyDeleter {
  void operator()(void* easy) const noexcept;
};
using CurlEasy = std::unique_ptr<void, CurlEasyDeleter>;

// An owned curl_slist (request headers, SMTP recipients); curl_slist is only declared here.
struct CurlSlistDeleter {
  void operator()(curl_slist* list) const noexcept;
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

// The items as one curl_slist, in order. Throws std::bad_alloc when libcurl cannot allocate.
CurlSlist make_curl_slist(const std::vector<std::string>& items);

// A new easy handle, after curl_global_init() once per process: every libcurl user in the process
// (this client, collectors/scalr_api's CurlTransport) gets its handles here. Throws
// std::runtime_error when libcurl cannot be initialised.
CurlEasy make_curl_easy();

struct HttpGetResult {
  int status = 0;     // the response's HTTP status, whatever it is; 0 when error is set
  std::string error;  // why there is no response (refused, timeout, body over the bound, ...)
};

// One libcurl easy handle, reused by each get() so consecutive requests to the same host share a
// keep-alive connection. Not thread-safe: one client per thread.
//
// The request is a plain GET as the Scalr API client sends it (same User-Agent and
// Accept-Encoding, no redirects followed, http and https only).
class HttpGetClient {
 public:
  // Throws std::runtime_error when libcurl cannot be initialised.
  HttpGetClient();
  ~HttpGetClient();
  HttpGetClient(const HttpGetClient&) = delete;
  HttpGetClient& operator=(const HttpGetClient&) = delete;

  // timeout bounds the whole request, connect included; a body (decoded) over max_body_bytes is an
  // error. Any HTTP response is a status, 404 and 500 too.
  HttpGetResult get(const std::string& url, std::chrono::milliseconds timeout,
                    std::size_t max_body_bytes);

 private:
  CurlEasy easy_;
};

}  // namespace scalr_usage
