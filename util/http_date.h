#pragma once
// HTTP's Retry-After header, shared by the Scalr API client and the webhook channel.

#include <chrono>
#include <optional>
#include <string_view>

namespace scalr_usage {

// Retry-After (RFC 9110 10.2.3): delta-seconds ("120") or an HTTP-date in the IMF-fixdate form
// ("Wed, 21 Oct 2015 07:28:00 GMT"), relative to now; a date in the past means 0. nullopt for
// anything else, so a garbled header falls back to the normal backoff.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

}  // namespace scalr_usage
