#include "daemon/notify.h"

#include <systemd/sd-daemon.h>

#include <cstdint>

namespace scalr_usage::systemd {

namespace {
void send(const std::string& message) {
  // unset_environment = 0: the watchdog thread keeps needing NOTIFY_SOCKET after READY.
  sd_notify(0, message.c_str());
}
}  // namespace

std::string one_line(std::string_view text) {
  std::string line(text.substr(0, 200));
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return line;
}

void ready(std::string_view status) { send("READY=1\nSTATUS=" + one_line(status)); }
void status(std::string_view status) { send("STATUS=" + one_line(status)); }

void reloading() {
  // systemd 253+ also wants MONOTONIC_USEC with RELOADING=1; 252 ignores it, so send it anyway.
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now().time_since_epoch());
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(now.count()));
}

void stopping() { send("STOPPING=1"); }
void watchdog_ping() { send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_ping_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds{usec / 2};
}

}  // namespace scalr_usage::systemd
