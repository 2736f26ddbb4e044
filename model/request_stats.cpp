#include "model/request_stats.h"

#include <algorithm>

namespace scalr_usage {

void RequestStats::observe(int http_status, double seconds) {
  ++by_code[http_status];
  ++count;
  sum_seconds += seconds;
  const auto bound =
      std::lower_bound(kRequestDurationBuckets.begin(), kRequestDurationBuckets.end(), seconds);
  if (bound != kRequestDurationBuckets.end()) {
    ++buckets[static_cast<std::size_t>(bound - kRequestDurationBuckets.begin())];
  }
}

RequestStats& RequestStats::operator+=(const RequestStats& other) {
  for (const auto& [code, responses] : other.by_code) by_code[code] += responses;
  for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
  count += other.count;
  sum_seconds += other.sum_seconds;
  return *this;
}

RequestStatsByTarget& operator+=(RequestStatsByTarget& into, const RequestStatsByTarget& other) {
  for (const auto& [target, stats] : other) into[target] += stats;
  return into;
}

}  // namespace scalr_usage
