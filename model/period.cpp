#include "model/period.h"

#include <cstdio>
#include <stdexcept>

namespace scalr_usage {

using namespace std::chrono;

namespace {
Seconds start_of(year_month ym) { return Seconds{sys_days{ym / 1}.time_since_epoch()}; }
}  // namespace

Period month_containing(Seconds t) {
  const year_month_day day{floor<std::chrono::days>(t)};
  const year_month ym{day.year(), day.month()};
  return Period{start_of(ym), start_of(ym + months{1})};
}

Period month_before(Seconds t) {
  const Period current = month_containing(t);
  return month_containing(current.start - seconds{1});
}

Period days(year_month_day first, year_month_day last) {
  if (!first.ok() || !last.ok() || sys_days{last} < sys_days{first}) {
    throw std::invalid_argument("invalid day range " + format_date(first) + ".." +
                                format_date(last));
  }
  return Period{Seconds{sys_days{first}.time_since_epoch()},
                Seconds{(sys_days{last} + std::chrono::days{1}).time_since_epoch()}};
}

std::string format_rfc3339(Seconds t) {
  const auto day = floor<std::chrono::days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02lldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                static_cast<long long>(hms.seconds().count()));
  return buf;
}

std::string format_date(year_month_day d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

year_month_day parse_date(const std::string& text) {
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  int consumed = 0;
  if (text.size() != 10 || std::sscanf(text.c_str(), "%4d-%2u-%2u%n", &y, &m, &d, &consumed) != 3 ||
      consumed != 10) {
    throw std::invalid_argument("not a date (want YYYY-MM-DD): " + text);
  }
  const year_month_day ymd{year{y}, month{m}, day{d}};
  if (!ymd.ok()) throw std::invalid_argument("not a calendar date: " + text);
  return ymd;
}

std::string scalr_between_filter(const Period& period) {
  return "between:" + format_rfc3339(period.start) + "," + format_rfc3339(period.end - seconds{1});
}

}  // namespace scalr_usage
