#include "collectors/scalr_api/http_transport.h"

#include <curl/curl.h>

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collectors/source.h"
#include "version.h"

namespace scalr_usage {

namespace {

// Per-request state the callbacks see; lives on get()'s stack for one curl_easy_perform.
struct Transfer {
  std::string body;
  std::size_t max_body_bytes = 0;
  bool too_large = false;
  const std::stop_token* stop = nullptr;
  std::array<char, CURL_ERROR_SIZE> errbuf{};
};

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (bytes > transfer.max_body_bytes - transfer.body.size()) {
    transfer.too_large = true;
    return 0;  // anything but `bytes` makes libcurl abort with CURLE_WRITE_ERROR
  }
  transfer.body.append(data, bytes);
  return bytes;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto& transfer = *static_cast<const Transfer*>(user);
  return transfer.stop->stop_requested() ? 1 : 0;  // non-zero: CURLE_ABORTED_BY_CALLBACK
}

// curl_easy_reset clears every option (so no pointer into a finished Transfer stays in the
// handle) while keeping the live connection, DNS and TLS session caches that make reuse worthwhile.
class ResetOnExit {
 public:
  explicit ResetOnExit(CURL* easy) : easy_(easy) {}
  ~ResetOnExit() { curl_easy_reset(easy_); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  CURL* easy_;
};

// curl_easy_setopt is variadic; a failed setopt (e.g. an option this libcurl was built without)
// must not go unnoticed, because it could silently weaken TLS.
template <typename T>
void set(CURL* easy, CURLoption option, T value) {
  const CURLcode rc = curl_easy_setopt(easy, option, value);
  if (rc != CURLE_OK) {
    throw SourceError(ErrorReason::connection,
                      std::string("libcurl rejected an option: ") + curl_easy_strerror(rc));
  }
}

std::string error_text(const Transfer& transfer, CURLcode rc) {
  const std::string_view buffered(transfer.errbuf.data());
  if (!buffered.empty()) return std::string(buffered);
  return curl_easy_strerror(rc);
}

// Every option of one GET. headers and transfer must outlive the curl_easy_perform that follows.
void set_options(CURL* easy, const HttpRequest& request, curl_slist* headers, Transfer& transfer) {
  static const std::string user_agent = std::string("scalr-usage-exporter/") + build::kVersion;

  set(easy, CURLOPT_ERRORBUFFER, transfer.errbuf.data());
  set(easy, CURLOPT_URL, request.url.c_str());
  set(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  set(easy, CURLOPT_HTTPGET, 1L);
  set(easy, CURLOPT_HTTPHEADER, headers);
  set(easy, CURLOPT_USERAGENT, user_agent.c_str());
  // Signals are how libcurl would otherwise time out DNS lookups; they are unsafe in a
  // multi-threaded daemon.
  set(easy, CURLOPT_NOSIGNAL, 1L);
  set(easy, CURLOPT_FOLLOWLOCATION, 0L);
  set(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  set(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!request.ca_file.empty()) set(easy, CURLOPT_CAINFO, request.ca_file.c_str());
  set(easy, CURLOPT_ACCEPT_ENCODING, "");  // every encoding this libcurl decodes, gzip included
  // A Content-Length over the bound fails before the body is read, instead of after reading
  // max_body_bytes of it; on_write still enforces the bound on the decoded body as it streams in
  // (no Content-Length, or a compressed body that decodes to more).
  set(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_body_bytes));
  set(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  set(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  set(easy, CURLOPT_WRITEFUNCTION, &on_write);
  set(easy, CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
  set(easy, CURLOPT_NOPROGRESS, 0L);
  set(easy, CURLOPT_XFERINFOFUNCTION, &on_progress);
  set(easy, CURLOPT_XFERINFODATA, static_cast<void*>(&transfer));
}

// What a transfer that curl_easy_perform failed with rc is to the source.
SourceError transfer_error(const Transfer& transfer, CURLcode rc) {
  if (rc == CURLE_ABORTED_BY_CALLBACK && transfer.stop->stop_requested()) {
    return SourceError(ErrorReason::cancelled, "request cancelled");
  }
  if ((rc == CURLE_WRITE_ERROR && transfer.too_large) || rc == CURLE_FILESIZE_EXCEEDED) {
    return SourceError(
        ErrorReason::too_large,
        "response body exceeds " + std::to_string(transfer.max_body_bytes) + " bytes");
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return SourceError(ErrorReason::timeout, error_text(transfer, rc));
  }
  return SourceError(ErrorReason::connection, error_text(transfer, rc));
}

// The status and the headers the source reads of a finished transfer, with its body.
HttpResponse read_response(CURL* easy, std::string body) {
  HttpResponse response;
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  const char* content_type = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK &&
      content_type != nullptr) {
    response.content_type = content_type;
  }
  curl_header* retry_after = nullptr;
  if (curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &retry_after) == CURLHE_OK &&
      retry_after != nullptr && retry_after->value != nullptr) {
    response.retry_after = retry_after->value;
  }
  response.body = std::move(body);
  return response;
}

}  // namespace

CurlTransport::CurlTransport() : easy_(make_curl_easy()) {}

CurlTransport::~CurlTransport() = default;

HttpResponse CurlTransport::get(const HttpRequest& request, std::stop_token stop) {
  if (stop.stop_requested()) throw SourceError(ErrorReason::cancelled, "cancelled before request");

  CURL* easy = easy_.get();
  const ResetOnExit reset(easy);

  Transfer transfer;
  transfer.max_body_bytes = request.max_body_bytes;
  transfer.stop = &stop;
  const CurlSlist headers = make_curl_slist(request.headers);
  set_options(easy, request, headers.get(), transfer);

  const CURLcode rc = curl_easy_perform(easy);
  if (rc != CURLE_OK) throw transfer_error(transfer, rc);
  return read_response(easy, std::move(transfer.body));
}

}  // namespace scalr_usage
