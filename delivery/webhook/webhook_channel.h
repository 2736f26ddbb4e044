#pragma once
// The webhook channel: one HTTP POST of the summary (delivery/webhook/body.h) per attempt.
// 2xx is sent; 429, 5xx and no response at all (refused, timeout, TLS) are worth a retry, with the
// receiver's Retry-After; any other status is a permanent failure. TLS peers are always verified
// (ca_file, when set, replaces the system's CAs); redirects are not followed, since a redirected
// POST would carry the summary somewhere the configuration never named.

#include <stop_token>
#include <string>
#include <string_view>

#include "delivery/channel.h"
#include "delivery/webhook/config.h"
#include "util/http_get.h"  // CurlEasy, CurlSlist

namespace scalr_usage {

// How an HTTP answer is classified: the status, the raw Retry-After header when there was one.
DeliveryResult webhook_result(int http_status, const std::string& retry_after);

class WebhookChannel final : public DeliveryChannel {
 public:
  // Throws std::runtime_error when libcurl cannot be initialised.
  explicit WebhookChannel(WebhookConfig config);

  std::string_view kind() const override { return "webhook"; }
  DeliveryResult deliver(const WrittenReport& report, std::stop_token stop) override;

 private:
  WebhookConfig config_;
  CurlEasy easy_;
};

}  // namespace scalr_usage
