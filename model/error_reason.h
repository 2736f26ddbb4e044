#pragma once
// Why a poll of an account failed: a small fixed set, the `reason` label of
// scalr_exporter_poll_errors_total. Sources raise them, the snapshot keeps them, the metrics
// print them.

#include <array>
#include <string_view>

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

}  // namespace scalr_usage
