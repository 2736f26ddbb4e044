#pragma once
// Durations as Prometheus writes them: "30s", "5m", "1h30m", "500ms". Config values and log lines
// use this one spelling so what an operator types is what the daemon prints back.

#include <chrono>
#include <string>
#include <string_view>

namespace scalr_usage {

// Units ms, s, m, h, d, w; several may be combined from largest to smallest, each once ("1h30m").
// Throws std::invalid_argument for empty text, a number without unit, an unknown unit, a negative
// or fractional value, junk, or a total too large for milliseconds; the message says what is
// wanted, e.g. `invalid duration "3x" (want e.g. 30s, 5m, 1h)`.
std::chrono::milliseconds parse_duration(std::string_view text);

// The shortest spelling parse_duration() reads back to the same value: "5m", "1h30m", "500ms",
// "0s". Weeks are used only for whole weeks, so 8 days prints as "8d", not "1w1d".
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace scalr_usage
