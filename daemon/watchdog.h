#pragma once
// Pings systemd's watchdog (WATCHDOG=1) at half of WATCHDOG_USEC, but only while the daemon is
// really alive: the liveness check runs before every ping, so a hung poll loop or a dead HTTP
// server stops the pings and systemd restarts the service.

#include <chrono>
#include <functional>
#include <thread>

namespace scalr_usage {

class Watchdog {
 public:
  using LivenessCheck = std::function<bool()>;
  using Ping = std::function<void()>;

  // Starts the pinging thread; does nothing when interval is zero (no watchdog requested).
  Watchdog(std::chrono::microseconds interval, LivenessCheck alive, Ping ping);
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() = default;  // the jthread asks the loop to stop and joins

 private:
  std::jthread thread_;
};

}  // namespace scalr_usage
