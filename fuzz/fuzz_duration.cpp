// libFuzzer target: parse_duration() on any text, with the round trip against format_duration()
// both ways: what parses formats to a spelling that parses back to the same value, and every
// non-negative millisecond count formats to text that parses back to it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "config/duration.h"
#include "fuzz/fuzz_check.h"

namespace {

using std::chrono::milliseconds;

// Error messages quote the input cut to 64 characters, so they stay short and on one line.
constexpr std::size_t kMessageLimit = 400;

void check_message(const std::invalid_argument& error) {
  const std::string_view message = error.what();
  FUZZ_CHECK(!message.empty(), "empty message");
  FUZZ_CHECK(message.size() <= kMessageLimit, message);
  for (const char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    FUZZ_CHECK(byte >= 0x20 && byte != 0x7f, message);
  }
}

void check_round_trip(milliseconds value) {
  const std::string text = scalr_usage::format_duration(value);
  milliseconds again{};
  try {
    again = scalr_usage::parse_duration(text);
  } catch (const std::invalid_argument& error) {
    FUZZ_CHECK(false, text + " does not parse: " + error.what());
  }
  FUZZ_CHECK(again == value, text + " parses to " + std::to_string(again.count()) + "ms, not " +
                                 std::to_string(value.count()) + "ms");
  FUZZ_CHECK(scalr_usage::format_duration(again) == text, text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const milliseconds value = scalr_usage::parse_duration(text);
    FUZZ_CHECK(value.count() >= 0, text);
    check_round_trip(value);
  } catch (const std::invalid_argument& error) {
    check_message(error);
  }

  // The first 8 bytes as a raw count exercise format_duration() over the whole int64 range.
  if (size >= sizeof(std::int64_t)) {
    std::int64_t raw = 0;
    std::memcpy(&raw, data, sizeof raw);
    const milliseconds value{raw};
    if (raw >= 0) {
      check_round_trip(value);
    } else {
      // A negative duration prints with a sign, which the parser must refuse.
      const std::string formatted = scalr_usage::format_duration(value);
      FUZZ_CHECK(!formatted.empty() && formatted.front() == '-', formatted);
      bool rejected = false;
      try {
        scalr_usage::parse_duration(formatted);
      } catch (const std::invalid_argument& error) {
        rejected = true;
        check_message(error);
      }
      FUZZ_CHECK(rejected, formatted);
    }
  }
  return 0;
}
