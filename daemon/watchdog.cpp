#include "daemon/watchdog.h"

#include "util/log.h"
#include "util/stoppable_sleep.h"

namespace scalr_usage {

Watchdog::Watchdog(std::chrono::microseconds interval, LivenessCheck alive, Ping ping) {
  if (interval <= std::chrono::microseconds::zero()) return;
  thread_ = std::jthread(
      [interval, alive = std::move(alive), ping = std::move(ping)](std::stop_token stop) {
        bool was_alive = true;
        do {
          const bool is_alive = alive();
          if (is_alive) ping();
          if (is_alive != was_alive) {
            // Once per change: a missed ping is what makes systemd restart us, so say why.
            if (is_alive) {
              log::info("watchdog: the daemon is responsive again; pinging resumed");
            } else {
              log::error(
                  "watchdog: the poll loop or the HTTP server is not responding; "
                  "withholding pings so systemd restarts the service");
            }
            was_alive = is_alive;
          }
        } while (sleep_unless_stopped(
            std::chrono::duration_cast<std::chrono::milliseconds>(interval), stop));
      });
}

}  // namespace scalr_usage
