#include "backfill/range.h"

#include <string>

namespace scalr_usage {

namespace {

using std::chrono::sys_days;
using Days = std::chrono::days;  // scalr_usage::days is the Period of whole days

}  // namespace

Seconds end_of_day_sample_time(std::chrono::year_month_day day) {
  return Seconds{sys_days{day} + Days{1}} - std::chrono::seconds{1};
}

void check_backfill_range(std::chrono::year_month_day from, std::chrono::year_month_day to,
                          int max_days, Seconds now) {
  if (from > to) {
    throw BackfillError("--from " + format_date(from) + " is after --to " + format_date(to));
  }
  const long long count = (sys_days{to} - sys_days{from}).count() + 1;
  if (count > max_days) {
    throw BackfillError("--from " + format_date(from) + " to --to " + format_date(to) + " is " +
                        std::to_string(count) + " days, more than --max-days (" +
                        std::to_string(max_days) + "); split the range or raise --max-days");
  }
  const Seconds end{sys_days{to} + Days{1}};
  const Seconds limit = now - kBackfillRecentLimit;
  if (end > limit) {
    // The latest day that ends at least 3 hours ago.
    const std::chrono::year_month_day latest{std::chrono::floor<Days>(limit) - Days{1}};
    throw BackfillError("--to " + format_date(to) + " reaches into the last 3 hours (it ends " +
                        format_rfc3339(end) + ", now is " + format_rfc3339(now) +
                        "): Prometheus does not take backfilled blocks over its head block, the "
                        "last 3 hours it is still writing; the latest --to now is " +
                        format_date(latest));
  }
}

}  // namespace scalr_usage
