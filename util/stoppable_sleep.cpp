#include "util/stoppable_sleep.h"

#include <condition_variable>
#include <mutex>

namespace scalr_usage {

bool sleep_until(std::chrono::steady_clock::time_point deadline, std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any wakeup;
  std::unique_lock lock(mutex);
  // Nothing ever notifies; the wait ends at the deadline or when the stop_token's callback wakes
  // it.
  wakeup.wait_until(lock, stop, deadline, [] { return false; });
  return !stop.stop_requested();
}

bool sleep_unless_stopped(std::chrono::milliseconds duration, std::stop_token stop) {
  return sleep_until(std::chrono::steady_clock::now() + duration, stop);
}

}  // namespace scalr_usage
