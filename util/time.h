#pragma once
// Wall-clock times as the seconds since the Unix epoch that metrics and logs carry.

#include <chrono>

namespace scalr_usage {

// t as seconds since 1970-01-01T00:00:00Z. Whole seconds (sys_seconds) convert exactly, as
// static_cast<double>(count); finer times (system_clock::time_point) as std::chrono's conversion
// to duration<double> gives them, count / 1e9 for nanoseconds.
template <typename Duration>
double unix_seconds(std::chrono::sys_time<Duration> t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace scalr_usage
