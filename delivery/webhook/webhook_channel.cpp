#include "delivery/webhook/webhook_channel.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include "delivery/webhook/body.h"
#include "delivery/webhook/module.h"
#include "util/http_date.h"
#include "util/text.h"
#include "version.h"

namespace scalr_usage {

namespace {

// A receiver's answer is not read, only bounded: a chatty one cannot grow the daemon.
constexpr std::size_t kMaxResponseBytes = 64 << 10;

struct Response {
  std::size_t body_bytes = 0;
  std::string retry_after;
};

size_t drop_body(char*, size_t size, size_t count, void* user) {
  auto& response = *static_cast<Response*>(user);
  const size_t bytes = size * count;
  if (bytes > kMaxResponseBytes - std::min(response.body_bytes, kMaxResponseBytes)) return 0;
  response.body_bytes += bytes;
  return bytes;
}

size_t keep_retry_after(char* data, size_t size, size_t count, void* user) {
  const size_t bytes = size * count;
  const std::string_view line(data, bytes);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string name(line.substr(0, kName.size()));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
    if (name == kName) {
      static_cast<Response*>(user)->retry_after = std::string(trim(line.substr(kName.size())));
    }
  }
  return bytes;
}

// Aborts the transfer once shutdown is asked for (the delivery stays pending).
int stop_requested(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::stop_token*>(user)->stop_requested() ? 1 : 0;
}

}  // namespace

DeliveryResult webhook_result(int http_status, const std::string& retry_after) {
  const std::string status = "HTTP " + std::to_string(http_status);
  if (http_status >= 200 && http_status <= 299) return {DeliveryOutcome::sent, status};
  if (http_status == 429 || (http_status >= 500 && http_status <= 599)) {
    DeliveryResult result{DeliveryOutcome::retry, status};
    if (const auto wait = parse_retry_after(retry_after, std::chrono::system_clock::now())) {
      result.retry_after = std::chrono::ceil<std::chrono::seconds>(*wait);
    }
    return result;
  }
  return {DeliveryOutcome::failed, status};
}

WebhookChannel::WebhookChannel(WebhookConfig config)
    : config_(std::move(config)), easy_(make_curl_easy()) {}

DeliveryResult WebhookChannel::deliver(const WrittenReport& report, std::stop_token stop) {
  if (stop.stop_requested()) return {DeliveryOutcome::retry, "shutting down"};
  CURL* easy = easy_.get();
  const std::unique_ptr<CURL, decltype(&curl_easy_reset)> reset_on_exit(easy, &curl_easy_reset);
  static const std::string user_agent = std::string("scalr-usage-exporter/") + build::kVersion;
  const std::string body = webhook_body(report, config_.format);
  CurlSlist headers(curl_slist_append(nullptr, "Content-Type: application/json"));
  Response response;

  CURLcode rc = CURLE_OK;
  const auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, option, value);
  };
  set(CURLOPT_URL, config_.url.reveal().c_str());
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_POST, 1L);
  set(CURLOPT_POSTFIELDS, body.c_str());
  set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  set(CURLOPT_HTTPHEADER, headers.get());
  set(CURLOPT_USERAGENT, user_agent.c_str());
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  if (!config_.ca_file.empty()) set(CURLOPT_CAINFO, config_.ca_file.c_str());
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout.count()));
  set(CURLOPT_WRITEFUNCTION, drop_body);
  set(CURLOPT_WRITEDATA, &response);
  set(CURLOPT_HEADERFUNCTION, keep_retry_after);
  set(CURLOPT_HEADERDATA, &response);
  set(CURLOPT_NOPROGRESS, 0L);
  set(CURLOPT_XFERINFOFUNCTION, stop_requested);
  set(CURLOPT_XFERINFODATA, &stop);
  if (rc == CURLE_OK) rc = curl_easy_perform(easy);
  if (rc != CURLE_OK) {
    // curl's generic text only: its error buffer may quote the URL, which is secret.
    return {DeliveryOutcome::retry, config_.shown_url + ": " + curl_easy_strerror(rc)};
  }
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  return webhook_result(static_cast<int>(status), response.retry_after);
}

std::unique_ptr<DeliveryChannel> WebhookModule::make(const Config& config,
                                                     const Shared& /*shared*/) {
  return std::make_unique<WebhookChannel>(config);
}

}  // namespace scalr_usage
