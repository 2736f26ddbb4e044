#pragma once
// Which days a backfill may cover: whole UTC days, not too many, and none in the last 3 hours.

#include <chrono>
#include <stdexcept>

#include "model/period.h"

namespace scalr_usage {

// A backfill that cannot be done (a range refused, a fetch failed); what() is one line for the
// user.
class BackfillError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr int kDefaultBackfillMaxDays = 400;
// Prometheus's head block covers about the last 3 hours (1.5 times its 2-hour block range) and is
// still being written; blocks made for that time overlap it, and promtool's documentation says not
// to backfill there.
inline constexpr std::chrono::hours kBackfillRecentLimit{3};

// The day D's sample time: its last second, D 23:59:59Z, where its month-to-date value is final.
Seconds end_of_day_sample_time(std::chrono::year_month_day day);

// Throws BackfillError unless from <= to, the range has at most max_days days, and it ends (the
// end of `to`) at least kBackfillRecentLimit before now. The message names the flag at fault and
// what would be accepted.
void check_backfill_range(std::chrono::year_month_day from, std::chrono::year_month_day to,
                          int max_days, Seconds now);

}  // namespace scalr_usage
