#pragma once
// Sleeps that a std::stop_token ends at once, so SIGTERM never waits out a poll interval, a
// backoff or a report schedule.

#include <chrono>
#include <stop_token>

namespace scalr_usage {

// Both return false when stop was requested (before or during the wait), true when time ran out.
bool sleep_until(std::chrono::steady_clock::time_point deadline, std::stop_token stop);
bool sleep_unless_stopped(std::chrono::milliseconds duration, std::stop_token stop);

}  // namespace scalr_usage
