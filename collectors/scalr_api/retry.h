#pragma once
// When to retry a failed Scalr API request and how long to wait first. Pure functions of their
// inputs (the randomness and the clock are parameters), so every rule is unit-testable.

#include <chrono>
#include <optional>
#include <string_view>

#include "collectors/source.h"
#include "util/http_date.h"  // parse_retry_after

namespace scalr_usage {

struct RetryConfig {
  int max_attempts = 4;                             // per request, first try included
  std::chrono::milliseconds initial_backoff{1000};  // doubled each attempt, with jitter
  std::chrono::milliseconds max_backoff{30000};     // cap of one wait (Retry-After too)
};

class RetryPolicy {
 public:
  explicit RetryPolicy(RetryConfig config);

  // The wait before the next attempt, or nullopt when attempt_just_failed (1-based) was the last
  // one allowed. A server-sent Retry-After is used as is, only capped at max_backoff: the server
  // knows its rate-limit window better than any backoff formula. Otherwise the wait is
  // d = min(initial_backoff * 2^(attempt-1), max_backoff), spread over [d/2, d) by jitter01
  // (expected in [0, 1), clamped) so that several exporters hitting the same outage do not retry
  // in lockstep, while still backing off at least d/2.
  std::optional<std::chrono::milliseconds> delay_before_retry(
      int attempt_just_failed, std::optional<std::chrono::milliseconds> retry_after,
      double jitter01) const;

  int max_attempts() const { return config_.max_attempts; }

 private:
  RetryConfig config_;
};

// 429 and 5xx: the request may succeed later unchanged.
bool is_retryable(int http_status);

// 401 unauthorized, 403 forbidden, 404 not_found, 429 rate_limited, 5xx server_error, any other
// 4xx client_error. Statuses that are not errors in those ranges (1xx, 2xx, 3xx; redirects are
// not followed) map to bad_response: the exporter cannot use such an answer.
ErrorReason reason_for_status(int http_status);

}  // namespace scalr_usage
