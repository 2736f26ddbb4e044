#pragma once
// The one small interface every usage source implements (the Scalr API, PostgreSQL).
// Error boundary: sources throw SourceError; the poller (daemon/poller.cpp) and the report runner
// catch it per account, count it under its reason and keep the last good values.

#include <array>
#include <cstddef>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "model/usage.h"

namespace scalr_usage {

// A small fixed set, used as the `reason` label of scalr_exporter_poll_errors_total.
enum class ErrorReason {
  unauthorized,  // 401
  forbidden,     // 403
  not_found,     // 404 (also a token without accounts:billing)
  rate_limited,  // 429 after retries
  server_error,  // 5xx after retries
  client_error,  // other 4xx
  timeout,       // request or poll deadline exceeded
  connection,    // DNS, refused, TLS, reset
  bad_response,  // not the expected JSON:API shape, truncated, wrong content type
  too_large,     // response or page count over the configured bounds
  database,      // PostgreSQL source errors
  cancelled,     // shutdown while polling; not counted as an error
};

std::string_view to_string(ErrorReason reason);

// The reasons exported (at 0 from the start, so rate() and increase() work on the first error).
inline constexpr std::array kCountedErrorReasons = {
    ErrorReason::unauthorized, ErrorReason::forbidden,    ErrorReason::not_found,
    ErrorReason::rate_limited, ErrorReason::server_error, ErrorReason::client_error,
    ErrorReason::timeout,      ErrorReason::connection,   ErrorReason::bad_response,
    ErrorReason::too_large,    ErrorReason::database};

class SourceError : public std::runtime_error {
 public:
  SourceError(ErrorReason reason, const std::string& message)
      : std::runtime_error(message), reason_(reason) {}
  ErrorReason reason() const noexcept { return reason_; }

 private:
  ErrorReason reason_;
};

// Ids and names become label values, which every scrape carries and Prometheus stores with every
// sample; a source rejects one longer than its max_label_length instead of passing it on. Throws
// SourceError(too_large) "<field>: <n> bytes, longer than <key> (<max>)", without the value.
void check_label_length(std::string_view value, std::size_t max_length, std::string_view field,
                        std::string_view key);

// Observes every HTTP response status a source gets, for scalr_exporter_api_requests_total{code}.
// Called from the polling thread only.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void on_response(int http_status) = 0;
};

class UsageSource {
 public:
  virtual ~UsageSource() = default;

  // The accounts this source reports on for the period. Throws SourceError.
  virtual std::vector<std::string> accounts(const Period& period, std::stop_token stop) = 0;

  // The accounts the configuration names, known without asking the source. The poller exposes
  // them from the start, so when accounts() fails (a database down since start) each still shows
  // scalr_up 0 and counts the error. Empty when the source discovers its accounts.
  virtual std::vector<std::string> configured_accounts() const { return {}; }

  // All usage of one account for the period, complete or not at all. Throws SourceError;
  // throws SourceError(cancelled) promptly once stop is requested.
  virtual AccountUsage fetch(const std::string& account_id, const Period& period,
                             std::stop_token stop) = 0;
};

}  // namespace scalr_usage
