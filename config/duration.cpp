#include "config/duration.h"

#include <array>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "util/text.h"  // quote_for_message

namespace scalr_usage {

namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t milliseconds;
  bool only_whole;  // format_duration uses it only when it divides the value exactly
};

// Largest first: parsing requires this order and formatting emits it.
constexpr std::array<Unit, 6> kUnits{{
    {"w", 7 * 24 * 3600 * 1000LL, true},
    {"d", 24 * 3600 * 1000LL, false},
    {"h", 3600 * 1000LL, false},
    {"m", 60 * 1000LL, false},
    {"s", 1000LL, false},
    {"ms", 1LL, false},
}};

constexpr std::string_view kWanted = " (want e.g. 30s, 5m, 1h)";

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }

[[noreturn]] void reject(std::string_view text, std::string_view reason) {
  throw std::invalid_argument("invalid duration " + quote_for_message(text) + std::string(reason) +
                              std::string(kWanted));
}

}  // namespace

std::chrono::milliseconds parse_duration(std::string_view text) {
  if (text.empty()) throw std::invalid_argument("empty duration" + std::string(kWanted));
  if (text.front() == '-') reject(text, ": must not be negative");

  std::int64_t total = 0;
  std::size_t next_unit = 0;  // index into kUnits: each later term must use a smaller unit
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::int64_t count = 0;
    const std::size_t digits_start = pos;
    for (; pos < text.size() && is_digit(text[pos]); ++pos) {
      if (__builtin_mul_overflow(count, 10, &count) ||
          __builtin_add_overflow(count, text[pos] - '0', &count)) {
        reject(text, ": too large");
      }
    }
    const std::size_t suffix_start = pos;
    while (pos < text.size() && is_lower(text[pos])) ++pos;
    const std::string_view suffix = text.substr(suffix_start, pos - suffix_start);
    if (digits_start == suffix_start || suffix.empty()) reject(text, "");

    std::size_t unit = 0;
    while (unit < kUnits.size() && kUnits[unit].suffix != suffix) ++unit;
    if (unit == kUnits.size()) reject(text, "");
    if (unit < next_unit) reject(text, ": units must go from largest to smallest, each once");
    next_unit = unit + 1;

    std::int64_t term = 0;
    if (__builtin_mul_overflow(count, kUnits[unit].milliseconds, &term) ||
        __builtin_add_overflow(total, term, &total)) {
      reject(text, ": too large");
    }
  }
  return std::chrono::milliseconds{total};
}

std::string format_duration(std::chrono::milliseconds duration) {
  const std::int64_t count = duration.count();
  if (count == 0) return "0s";
  // Unsigned so that the most negative value has a magnitude too.
  std::uint64_t remaining =
      count < 0 ? 0 - static_cast<std::uint64_t>(count) : static_cast<std::uint64_t>(count);
  std::string text = count < 0 ? "-" : "";
  for (const Unit& unit : kUnits) {
    const auto size = static_cast<std::uint64_t>(unit.milliseconds);
    if (unit.only_whole && remaining % size != 0) continue;
    if (const std::uint64_t units = remaining / size; units > 0) {
      text += std::to_string(units);
      text += unit.suffix;
      remaining -= units * size;
    }
  }
  return text;
}

}  // namespace scalr_usage
