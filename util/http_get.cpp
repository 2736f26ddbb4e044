#include "util/http_get.h"

#include <curl/curl.h>

#include <array>
#include <new>
#include <stdexcept>
#include <string_view>

#include "version.h"

namespace scalr_usage {

namespace {

// What the write callback keeps of a body: how much arrived, against the bound.
struct BodyBound {
  std::size_t max_bytes = 0;
  std::size_t seen = 0;
  bool exceeded = false;
};

size_t count_body(char*, size_t size, size_t count, void* user) {
  auto& body = *static_cast<BodyBound*>(user);
  const size_t bytes = size * count;
  body.exceeded = bytes > body.max_bytes - body.seen;
  if (body.exceeded) return 0;  // anything but `bytes` makes libcurl abort with CURLE_WRITE_ERROR
  body.seen += bytes;
  return bytes;
}

// curl_global_init must run once before the first easy handle and is not meant to be undone while
// any thread may still use libcurl. A function-local static gives "exactly once, thread-safe"
// without a mutable global; curl_global_cleanup is deliberately never called (the process exit
// releases everything, and calling it at static destruction could race a still-running thread).
void ensure_curl_global_init() {
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (result != CURLE_OK) {
    throw std::runtime_error(std::string("curl_global_init failed: ") + curl_easy_strerror(result));
  }
}

}  // namespace

void CurlEasyDeleter::operator()(void* easy) const noexcept { curl_easy_cleanup(easy); }

void CurlSlistDeleter::operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }

CurlSlist make_curl_slist(const std::vector<std::string>& items) {
  CurlSlist list;
  for (const std::string& item : items) {
    curl_slist* head = curl_slist_append(list.get(), item.c_str());
    if (head == nullptr) throw std::bad_alloc();
    (void)list.release();  // curl_slist_append returns the same head once the list exists
    list.reset(head);
  }
  return list;
}

CurlEasy make_curl_easy() {
  ensure_curl_global_init();
  CurlEasy easy(curl_easy_init());
  if (!easy) throw std::runtime_error("curl_easy_init failed");
  return easy;
}

HttpGetClient::HttpGetClient() : easy_(make_curl_easy()) {}

HttpGetClient::~HttpGetClient() = default;

HttpGetResult HttpGetClient::get(const std::string& url, std::chrono::milliseconds timeout,
                                 std::size_t max_body_bytes) {
  CURL* easy = easy_.get();
  // On the way out, curl_easy_reset clears every option (so no pointer into this frame stays in
  // the handle) and keeps the live connection for the next get().
  const std::unique_ptr<CURL, decltype(&curl_easy_reset)> reset_on_exit(easy, &curl_easy_reset);

  static const std::string user_agent = std::string("scalr-usage-exporter/") + build::kVersion;
  std::array<char, CURL_ERROR_SIZE> errbuf{};
  BodyBound body{max_body_bytes};

  // A failed setopt must not go unnoticed: the first one ends the request before it is sent.
  CURLcode rc = CURLE_OK;
  const auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, option, value);
  };
  set(CURLOPT_ERRORBUFFER, errbuf.data());
  set(CURLOPT_URL, url.c_str());
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_HTTPGET, 1L);
  set(CURLOPT_USERAGENT, user_agent.c_str());
  set(CURLOPT_NOSIGNAL, 1L);  // signals are unsafe in a multi-threaded daemon
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_ACCEPT_ENCODING, "");  // every encoding this libcurl decodes, gzip included
  set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_body_bytes));
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_WRITEFUNCTION, &count_body);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&body));
  if (rc != CURLE_OK) {
    return {0, std::string("libcurl rejected an option: ") + curl_easy_strerror(rc)};
  }

  rc = curl_easy_perform(easy);
  if ((rc == CURLE_WRITE_ERROR && body.exceeded) || rc == CURLE_FILESIZE_EXCEEDED) {
    return {0, "response body exceeds " + std::to_string(max_body_bytes) + " bytes"};
  }
  if (rc != CURLE_OK) {
    const std::string_view buffered(errbuf.data());
    return {0, buffered.empty() ? std::string(curl_easy_strerror(rc)) : std::string(buffered)};
  }
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  return {static_cast<int>(status), ""};
}

}  // namespace scalr_usage
