#include "model/error_reason.h"

namespace scalr_usage {

std::string_view to_string(ErrorReason reason) {
  switch (reason) {
    case ErrorReason::unauthorized:
      return "unauthorized";
    case ErrorReason::forbidden:
      return "forbidden";
    case ErrorReason::not_found:
      return "not_found";
    case ErrorReason::rate_limited:
      return "rate_limited";
    case ErrorReason::server_error:
      return "server_error";
    case ErrorReason::client_error:
      return "client_error";
    case ErrorReason::timeout:
      return "timeout";
    case ErrorReason::connection:
      return "connection";
    case ErrorReason::bad_response:
      return "bad_response";
    case ErrorReason::too_large:
      return "too_large";
    case ErrorReason::database:
      return "database";
    case ErrorReason::cancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace scalr_usage
