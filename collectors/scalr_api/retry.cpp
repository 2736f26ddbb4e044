#include "collectors/scalr_api/retry.h"

#include <algorithm>
#include <cmath>

namespace scalr_usage {

using std::chrono::milliseconds;

RetryPolicy::RetryPolicy(RetryConfig config) : config_(config) {}

std::optional<milliseconds> RetryPolicy::delay_before_retry(int attempt_just_failed,
                                                            std::optional<milliseconds> retry_after,
                                                            double jitter01) const {
  const int max_attempts = std::max(1, config_.max_attempts);
  const int attempt = std::max(1, attempt_just_failed);
  if (attempt >= max_attempts) return std::nullopt;

  const milliseconds cap = std::max(config_.max_backoff, milliseconds{0});
  if (retry_after) return std::clamp(*retry_after, milliseconds{0}, cap);

  // Doubling stops once the cap is reached, so a large attempt number cannot overflow.
  milliseconds full = std::max(config_.initial_backoff, milliseconds{0});
  for (int i = 1; i < attempt && full < cap; ++i) full *= 2;
  full = std::min(full, cap);

  const double jitter = std::isnan(jitter01) ? 0.0 : std::clamp(jitter01, 0.0, 1.0);
  const milliseconds half = full / 2;
  const auto spread =
      static_cast<milliseconds::rep>(static_cast<double>((full - half).count()) * jitter);
  return half + milliseconds{spread};
}

bool is_retryable(int http_status) {
  return http_status == 429 || (http_status >= 500 && http_status <= 599);
}

ErrorReason reason_for_status(int http_status) {
  switch (http_status) {
    case 401:
      return ErrorReason::unauthorized;
    case 403:
      return ErrorReason::forbidden;
    case 404:
      return ErrorReason::not_found;
    case 429:
      return ErrorReason::rate_limited;
    default:
      break;
  }
  if (http_status >= 500 && http_status <= 599) return ErrorReason::server_error;
  if (http_status >= 400 && http_status <= 499) return ErrorReason::client_error;
  return ErrorReason::bad_response;
}

}  // namespace scalr_usage
