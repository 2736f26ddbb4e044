#pragma once
// Billing periods and the UTC time arithmetic around them. All times are UTC; a Period is the
// half-open interval [start, end).

#include <chrono>
#include <string>

namespace scalr_usage {

using Clock = std::chrono::system_clock;
using Seconds = std::chrono::sys_seconds;

struct Period {
  Seconds start;
  Seconds end;  // exclusive

  friend bool operator==(const Period&, const Period&) = default;
};

// The calendar month (UTC) that contains t.
Period month_containing(Seconds t);
// The calendar month before the one that contains t.
Period month_before(Seconds t);
// The whole UTC days [first, last] inclusive.
Period days(std::chrono::year_month_day first, std::chrono::year_month_day last);

// "2026-10-31T23:59:59Z"
std::string format_rfc3339(Seconds t);
// "2026-10-31"
std::string format_date(std::chrono::year_month_day d);
// Parses "YYYY-MM-DD"; throws std::invalid_argument when it is not a valid calendar date.
std::chrono::year_month_day parse_date(const std::string& text);

// Scalr's filter[date]=between:A,B is inclusive at both ends, like SQL BETWEEN, so the request for
// [start, end) must end one second before end.
std::string scalr_between_filter(const Period& period);

}  // namespace scalr_usage
