#pragma once
// The systemd notify protocol (sd_notify): READY, STATUS, WATCHDOG, RELOADING, STOPPING. Outside
// systemd (no NOTIFY_SOCKET) every call is a no-op, so the daemon runs the same anywhere.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace scalr_usage::systemd {

void ready(std::string_view status);
void status(std::string_view status);
void reloading();
void stopping();
void watchdog_ping();

// Half of WATCHDOG_USEC when systemd asked this process for watchdog pings, else nullopt.
std::optional<std::chrono::microseconds> watchdog_ping_interval();

// A STATUS= value is one line: newlines would start a new assignment in the datagram.
std::string one_line(std::string_view text);

}  // namespace scalr_usage::systemd
