#pragma once
// Standard 5-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC,
// for the report schedules. Debian 12 packages no C/C++ cron library, so this is a small one with
// Vixie cron semantics:
//
//   field         values                        names
//   minute        0-59
//   hour          0-23
//   day-of-month  1-31
//   month         1-12                          JAN-DEC (case-insensitive)
//   day-of-week   0-7 (0 and 7 are Sunday)      SUN-SAT (case-insensitive)
//
// Each field is a comma-separated list of `*`, `a`, `a-b`, `*/n`, `a-b/n` or `a/n` (= a-max/n);
// names may appear wherever numbers may (MON-FRI, JAN/3). In day-of-week, `*` and `a/n` stop at 6
// so Sunday is counted once; 7 only appears when written.
//
// Day-of-month and day-of-week combine as in Vixie cron and cronie: when both are restricted, a
// day matches if EITHER matches ("0 0 13 * FRI" fires on every 13th and on every Friday);
// otherwise both must. A field counts as unrestricted when it starts with `*` (so `*/2` too),
// exactly the test those crons make.
//
// Macros: @yearly (= @annually), @monthly, @weekly, @daily (= @midnight), @hourly.
//
// Fire times are whole minutes. Searches give up after kSearchHorizonYears, so impossible
// schedules such as "0 0 30 2 *" end instead of looping; the horizon is wide enough for every
// Feb 29 schedule, including across 2100 which is not a leap year.

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace scalr_usage {

class CronExpression {
 public:
  // A schedule that does not fire within this many years of the starting point counts as never.
  static constexpr int kSearchHorizonYears = 50;

  // Throws std::invalid_argument with a message naming the field and the offending text, e.g.
  // "cron field 'hour': 24 is out of range 0-23".
  static CronExpression parse(std::string_view text);

  // The first fire time strictly after t; nullopt when there is none within the horizon.
  std::optional<std::chrono::sys_seconds> next_after(std::chrono::sys_seconds t) const;
  // The latest fire time at or before t (for catch-up); nullopt when there is none within the
  // horizon.
  std::optional<std::chrono::sys_seconds> previous_at_or_before(std::chrono::sys_seconds t) const;
  // Whether t is a fire time: a whole minute whose fields all match.
  bool matches(std::chrono::sys_seconds t) const;

  // The expression as written (surrounding whitespace removed), for logs and messages.
  std::string text() const { return text_; }

  friend bool operator==(const CronExpression&, const CronExpression&) = default;

 private:
  CronExpression() = default;

  bool day_matches(std::chrono::year_month_day day) const;

  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // bit 0 unused
  std::bitset<13> months_;         // bit 0 unused
  std::bitset<7> days_of_week_;    // 0 = Sunday; a written 7 sets bit 0
  bool day_of_month_unrestricted_ = true;
  bool day_of_week_unrestricted_ = true;
  std::string text_;
};

}  // namespace scalr_usage
