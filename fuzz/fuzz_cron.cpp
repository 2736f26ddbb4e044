// libFuzzer target: CronExpression::parse() on any text, and for every expression it accepts, the
// fire-time searches from a few starting points checked against each other and against matches().
// The starting points stay well inside the years cron.cpp supports (1900-9000) so the 50-year
// horizon never reaches its edges, where "no fire time" is the intended answer.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "reports/cron.h"

namespace {

using namespace std::chrono;
using scalr_usage::CronExpression;

std::string describe(const CronExpression& cron, sys_seconds t) {
  return "\"" + cron.text() + "\" from " + std::to_string(t.time_since_epoch().count());
}

// next_after(t) is the first fire time strictly after t: it matches, and nothing fires between.
void check_next(const CronExpression& cron, sys_seconds t) {
  const std::optional<sys_seconds> next = cron.next_after(t);
  if (!next) {
    // Nothing within 50 years forward means nothing at t either, looking back from t's minute.
    FUZZ_CHECK(!cron.matches(floor<minutes>(t) + minutes{1}), describe(cron, t));
    return;
  }
  FUZZ_CHECK(*next > t, describe(cron, t));
  FUZZ_CHECK(floor<minutes>(*next) == *next, describe(cron, t));
  FUZZ_CHECK(cron.matches(*next), describe(cron, t));
  FUZZ_CHECK(cron.previous_at_or_before(*next) == next, describe(cron, t));
  // The latest fire time before next is at or before t: none was skipped.
  if (const auto before = cron.previous_at_or_before(*next - seconds{1})) {
    FUZZ_CHECK(*before <= t, describe(cron, t));
  }
}

// previous_at_or_before(t) is the last fire time at or before t: it matches, and nothing fires
// between it and t.
void check_previous(const CronExpression& cron, sys_seconds t) {
  const std::optional<sys_seconds> previous = cron.previous_at_or_before(t);
  if (!previous) {
    FUZZ_CHECK(!cron.matches(floor<minutes>(t)), describe(cron, t));
    return;
  }
  FUZZ_CHECK(*previous <= t, describe(cron, t));
  FUZZ_CHECK(cron.matches(*previous), describe(cron, t));
  FUZZ_CHECK(cron.next_after(*previous - seconds{1}) == previous, describe(cron, t));
  if (const auto after = cron.next_after(*previous)) {
    FUZZ_CHECK(*after > t, describe(cron, t));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<CronExpression> cron;
  try {
    cron = CronExpression::parse(text);
  } catch (const std::invalid_argument& error) {
    FUZZ_CHECK(*error.what() != '\0', "empty message");
    return 0;
  }
  // Any other exception escapes and libFuzzer reports it as a crash.

  FUZZ_CHECK(CronExpression::parse(cron->text()) == *cron, cron->text());

  // A leap day, a month end, a year end, a Sunday/Monday boundary and a time off the minute.
  constexpr std::array<sys_seconds, 4> kFixed = {
      sys_seconds{sys_days{2024y / February / 28} + 23h + 59min},
      sys_seconds{sys_days{2025y / December / 31} + 23h + 59min + 30s},
      sys_seconds{sys_days{2099y / March / 1}},
      sys_seconds{sys_days{2026y / June / 7} + 12h + 34min + 56s},
  };
  for (const sys_seconds t : kFixed) {
    check_next(*cron, t);
    check_previous(*cron, t);
  }
  // Walk a few fire times forward: each step must make progress.
  sys_seconds t = kFixed[0];
  for (int step = 0; step < 5; ++step) {
    const auto next = cron->next_after(t);
    if (!next) break;
    FUZZ_CHECK(*next > t, describe(*cron, t));
    t = *next;
  }
  return 0;
}
