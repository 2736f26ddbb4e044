#include <gtest/gtest.h>

#include "model/period.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;

Seconds at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  return Seconds{sys_days{year{y} / month{m} / day{d}}.time_since_epoch()} + hours{hh} +
         minutes{mm} + seconds{ss};
}

TEST(Period, MonthContainingIsHalfOpenCalendarMonth) {
  const Period p = month_containing(at(2026, 11, 27, 14, 5, 7));
  EXPECT_EQ(p.start, at(2026, 11, 1));
  EXPECT_EQ(p.end, at(2026, 12, 1));
}

TEST(Period, MonthBoundariesBelongToTheNewMonth) {
  EXPECT_EQ(month_containing(at(2026, 11, 1)).start, at(2026, 11, 1));
  EXPECT_EQ(month_containing(at(2026, 10, 31, 23, 59, 59)).start, at(2026, 10, 1));
}

TEST(Period, DecemberRollsIntoNextYear) {
  const Period p = month_containing(at(2026, 12, 31, 23, 59, 59));
  EXPECT_EQ(p.end, at(2027, 1, 1));
  EXPECT_EQ(month_before(at(2027, 1, 15)).start, at(2026, 12, 1));
}

TEST(Period, FebruaryInLeapAndCommonYears) {
  EXPECT_EQ(month_containing(at(2028, 2, 29, 12)).end, at(2028, 3, 1));
  EXPECT_EQ(month_containing(at(2028, 2, 29)).end - month_containing(at(2028, 2, 29)).start,
            hours{24 * 29});
  EXPECT_EQ(month_containing(at(2027, 2, 28)).end - month_containing(at(2027, 2, 28)).start,
            hours{24 * 28});
  EXPECT_EQ(month_containing(at(2100, 2, 10)).end, at(2100, 3, 1));  // 2100 is not a leap year
  EXPECT_EQ(month_before(at(2028, 3, 1)).start, at(2028, 2, 1));
}

TEST(Period, BetweenFilterEndsOneSecondBeforeTheExclusiveEnd) {
  EXPECT_EQ(scalr_between_filter(month_containing(at(2026, 10, 5))),
            "between:2026-10-01T00:00:00Z,2026-10-31T23:59:59Z");
  EXPECT_EQ(scalr_between_filter(month_containing(at(2024, 2, 5))),
            "between:2024-02-01T00:00:00Z,2024-02-29T23:59:59Z");
}

TEST(Period, DaysIsInclusiveOfBothDays) {
  const Period p = days(year{2026} / 10 / 30, year{2026} / 11 / 2);
  EXPECT_EQ(p.start, at(2026, 10, 30));
  EXPECT_EQ(p.end, at(2026, 11, 3));
  EXPECT_THROW(days(year{2026} / 11 / 2, year{2026} / 11 / 1), std::invalid_argument);
}

TEST(Period, ParseAndFormatDates) {
  EXPECT_EQ(parse_date("2024-02-29"), year{2024} / 2 / 29);
  EXPECT_EQ(format_date(year{2026} / 1 / 5), "2026-01-05");
  EXPECT_EQ(format_rfc3339(at(2026, 1, 5, 3, 4, 5)), "2026-01-05T03:04:05Z");
  EXPECT_THROW(parse_date("2023-02-29"), std::invalid_argument);
  EXPECT_THROW(parse_date("2023-2-28"), std::invalid_argument);
  EXPECT_THROW(parse_date("2023-02-28x"), std::invalid_argument);
  EXPECT_THROW(parse_date(""), std::invalid_argument);
}

}  // namespace
}  // namespace scalr_usage
