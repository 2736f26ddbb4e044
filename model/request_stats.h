#pragma once
// What the exporter saw of one target's HTTP responses: counts by status code and a histogram of
// their durations, for scalr_exporter_api_requests_total{target, code} and
// scalr_exporter_api_request_duration_seconds{target}. Plain values that add up, so the poller's
// and the report scheduler's counts can be exported as one.

#include <array>
#include <cstdint>
#include <map>
#include <string>

namespace scalr_usage {

// Upper bounds of the duration histogram, in seconds: from a fast answer on a LAN to a page that
// takes the whole default timeout (30 s).
inline constexpr std::array<double, 12> kRequestDurationBuckets = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

struct RequestStats {
  std::map<int, std::uint64_t> by_code;  // HTTP status -> responses
  // Responses per bucket, NOT cumulative: bucket i counts durations in (bound[i-1], bound[i]];
  // those above the last bound are count minus the sum of these.
  std::array<std::uint64_t, kRequestDurationBuckets.size()> buckets{};
  std::uint64_t count = 0;
  double sum_seconds = 0;

  void observe(int http_status, double seconds);
  RequestStats& operator+=(const RequestStats& other);
  friend bool operator==(const RequestStats&, const RequestStats&) = default;
};

// By target name.
using RequestStatsByTarget = std::map<std::string, RequestStats>;

RequestStatsByTarget& operator+=(RequestStatsByTarget& into, const RequestStatsByTarget& other);

}  // namespace scalr_usage
