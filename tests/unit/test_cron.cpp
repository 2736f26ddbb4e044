#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/period.h"
#include "reports/cron.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

Seconds at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  return Seconds{sys_days{year{y} / month{m} / day{d}}.time_since_epoch()} + hours{hh} +
         minutes{mm} + seconds{ss};
}

CronExpression cron(std::string_view text) { return CronExpression::parse(text); }

// The values one field selects, read back through matches() with every other field wide open.
std::vector<int> minutes_of(const std::string& field) {
  const CronExpression c = cron(field + " * * * *");
  std::vector<int> out;
  for (int m = 0; m < 60; ++m) {
    if (c.matches(at(2026, 1, 5, 0, m))) out.push_back(m);
  }
  return out;
}

std::vector<int> hours_of(const std::string& field) {
  const CronExpression c = cron("0 " + field + " * * *");
  std::vector<int> out;
  for (int h = 0; h < 24; ++h) {
    if (c.matches(at(2026, 1, 5, h))) out.push_back(h);
  }
  return out;
}

std::vector<int> days_of_month_of(const std::string& field) {
  const CronExpression c = cron("0 0 " + field + " * *");
  std::vector<int> out;
  for (unsigned d = 1; d <= 31; ++d) {  // January has all 31
    if (c.matches(at(2026, 1, d))) out.push_back(static_cast<int>(d));
  }
  return out;
}

std::vector<int> months_of(const std::string& field) {
  const CronExpression c = cron("0 0 1 " + field + " *");
  std::vector<int> out;
  for (unsigned m = 1; m <= 12; ++m) {
    if (c.matches(at(2026, m, 1))) out.push_back(static_cast<int>(m));
  }
  return out;
}

// As weekday c_encoding (0 = Sunday): 2026-01-04 is a Sunday.
std::vector<int> days_of_week_of(const std::string& field) {
  const CronExpression c = cron("0 0 * * " + field);
  std::vector<int> out;
  for (unsigned d = 4; d <= 10; ++d) {
    if (c.matches(at(2026, 1, d))) out.push_back(static_cast<int>(d - 4));
  }
  return out;
}

// The first n fire times after t.
std::vector<Seconds> fires_after(const CronExpression& c, Seconds t, int n) {
  std::vector<Seconds> out;
  for (int i = 0; i < n; ++i) {
    const auto next = c.next_after(t);
    if (!next) break;
    out.push_back(*next);
    t = *next;
  }
  return out;
}

std::string parse_error(std::string_view text) {
  try {
    CronExpression::parse(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(parsed)";
}

// --- parsing ----------------------------------------------------------------------------------

TEST(CronParse, SingleValuesAndStar) {
  EXPECT_THAT(minutes_of("7"), ElementsAre(7));
  EXPECT_EQ(minutes_of("*").size(), 60u);
  EXPECT_THAT(hours_of("0"), ElementsAre(0));
  EXPECT_THAT(hours_of("23"), ElementsAre(23));
  EXPECT_EQ(hours_of("*").size(), 24u);
  EXPECT_THAT(days_of_month_of("1"), ElementsAre(1));
  EXPECT_THAT(days_of_month_of("31"), ElementsAre(31));
  EXPECT_EQ(days_of_month_of("*").size(), 31u);
  EXPECT_THAT(months_of("12"), ElementsAre(12));
  EXPECT_EQ(months_of("*").size(), 12u);
  EXPECT_THAT(days_of_week_of("3"), ElementsAre(3));
  EXPECT_THAT(days_of_week_of("*"), ElementsAre(0, 1, 2, 3, 4, 5, 6));
}

TEST(CronParse, LeadingZerosAreNumbers) {
  EXPECT_THAT(minutes_of("05"), ElementsAre(5));
  EXPECT_THAT(hours_of("007"), ElementsAre(7));
}

TEST(CronParse, Ranges) {
  EXPECT_THAT(minutes_of("1-3"), ElementsAre(1, 2, 3));
  EXPECT_THAT(minutes_of("58-59"), ElementsAre(58, 59));
  EXPECT_THAT(hours_of("9-9"), ElementsAre(9));
  EXPECT_THAT(days_of_month_of("28-31"), ElementsAre(28, 29, 30, 31));
  EXPECT_THAT(months_of("11-12"), ElementsAre(11, 12));
  EXPECT_THAT(days_of_week_of("1-5"), ElementsAre(1, 2, 3, 4, 5));
}

TEST(CronParse, Steps) {
  EXPECT_THAT(minutes_of("*/15"), ElementsAre(0, 15, 30, 45));
  EXPECT_THAT(minutes_of("5-59/20"), ElementsAre(5, 25, 45));
  EXPECT_THAT(minutes_of("10/20"), ElementsAre(10, 30, 50));  // a/n = a-max/n
  EXPECT_THAT(minutes_of("0-10/3"), ElementsAre(0, 3, 6, 9));
  EXPECT_THAT(minutes_of("*/60"), ElementsAre(0));
  EXPECT_THAT(hours_of("*/6"), ElementsAre(0, 6, 12, 18));
  EXPECT_THAT(hours_of("1/12"), ElementsAre(1, 13));
  EXPECT_THAT(days_of_month_of("*/10"), ElementsAre(1, 11, 21, 31));
  EXPECT_THAT(days_of_month_of("2/15"), ElementsAre(2, 17));
  EXPECT_THAT(months_of("*/3"), ElementsAre(1, 4, 7, 10));
  EXPECT_THAT(months_of("2/6"), ElementsAre(2, 8));
  EXPECT_THAT(days_of_week_of("*/2"), ElementsAre(0, 2, 4, 6));
  EXPECT_THAT(days_of_week_of("*/7"), ElementsAre(0));
  // a/n in day-of-week stops at 6, so Sunday is not added through 7.
  EXPECT_THAT(days_of_week_of("1/2"), ElementsAre(1, 3, 5));
  EXPECT_THAT(days_of_week_of("6/2"), ElementsAre(6));
}

TEST(CronParse, Lists) {
  EXPECT_THAT(minutes_of("1,2,5-6,*/20"), ElementsAre(0, 1, 2, 5, 6, 20, 40));
  EXPECT_THAT(minutes_of("30,10,30"), ElementsAre(10, 30));  // order and repeats do not matter
  EXPECT_THAT(hours_of("0,12"), ElementsAre(0, 12));
  EXPECT_THAT(days_of_month_of("1,15,31"), ElementsAre(1, 15, 31));
  EXPECT_THAT(months_of("1,7-8"), ElementsAre(1, 7, 8));
  EXPECT_THAT(days_of_week_of("0,3,6"), ElementsAre(0, 3, 6));
}

TEST(CronParse, MonthNamesAnyCase) {
  EXPECT_THAT(months_of("JAN"), ElementsAre(1));
  EXPECT_THAT(months_of("dec"), ElementsAre(12));
  EXPECT_THAT(months_of("Jun-Aug"), ElementsAre(6, 7, 8));
  EXPECT_THAT(months_of("JAN/3"), ElementsAre(1, 4, 7, 10));
  EXPECT_THAT(months_of("FEB-12/5"), ElementsAre(2, 7, 12));
  EXPECT_THAT(months_of("mar,SEP"), ElementsAre(3, 9));
  const std::vector<std::string> names = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_THAT(months_of(names[i]), ElementsAre(static_cast<int>(i) + 1)) << names[i];
  }
}

TEST(CronParse, DayOfWeekNamesAndSevenIsSunday) {
  const std::vector<std::string> names = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_THAT(days_of_week_of(names[i]), ElementsAre(static_cast<int>(i))) << names[i];
  }
  EXPECT_THAT(days_of_week_of("mon-fri"), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(days_of_week_of("Sat,sun"), ElementsAre(0, 6));
  EXPECT_THAT(days_of_week_of("7"), ElementsAre(0));
  EXPECT_THAT(days_of_week_of("0,7"), ElementsAre(0));
  EXPECT_THAT(days_of_week_of("5-7"), ElementsAre(0, 5, 6));
  EXPECT_THAT(days_of_week_of("MON-7"), ElementsAre(0, 1, 2, 3, 4, 5, 6));
  EXPECT_THAT(days_of_week_of("0-7"), ElementsAre(0, 1, 2, 3, 4, 5, 6));
  EXPECT_THAT(days_of_week_of("SUN-SAT/3"), ElementsAre(0, 3, 6));
}

TEST(CronParse, WhitespaceAndText) {
  const CronExpression c = cron("  0\t6   1 *  *\n");
  EXPECT_EQ(c.text(), "0\t6   1 *  *");
  EXPECT_EQ(c.next_after(at(2026, 11, 27)), at(2026, 12, 1, 6));
  EXPECT_EQ(cron("@daily").text(), "@daily");
}

TEST(CronParse, Macros) {
  const Seconds t = at(2026, 3, 5, 10, 30);  // a Thursday
  EXPECT_EQ(cron("@yearly").next_after(t), at(2027, 1, 1));
  EXPECT_EQ(cron("@annually").next_after(t), at(2027, 1, 1));
  EXPECT_EQ(cron("@monthly").next_after(t), at(2026, 4, 1));
  EXPECT_EQ(cron("@weekly").next_after(t), at(2026, 3, 8));  // Sunday midnight
  EXPECT_EQ(cron("@daily").next_after(t), at(2026, 3, 6));
  EXPECT_EQ(cron("@midnight").next_after(t), at(2026, 3, 6));
  EXPECT_EQ(cron("@hourly").next_after(t), at(2026, 3, 5, 11));
  EXPECT_EQ(cron("@DAILY").next_after(t), at(2026, 3, 6));
  EXPECT_EQ(cron(" @monthly ").next_after(t), at(2026, 4, 1));
}

TEST(CronParse, EqualityComparesScheduleAndText) {
  EXPECT_EQ(cron("0 6 1 * *"), cron("0 6 1 * *"));
  EXPECT_NE(cron("0 6 1 * *"), cron("0 7 1 * *"));
}

struct Rejection {
  std::string expression;
  std::string message_part;
};

// Readable parameter names in test output.
void PrintTo(const Rejection& value, std::ostream* out) { *out << value.expression; }

class CronRejects : public ::testing::TestWithParam<Rejection> {};

TEST_P(CronRejects, WithAMessageNamingTheProblem) {
  EXPECT_THROW(CronExpression::parse(GetParam().expression), std::invalid_argument);
  EXPECT_THAT(parse_error(GetParam().expression), HasSubstr(GetParam().message_part));
}

INSTANTIATE_TEST_SUITE_P(
    Cron, CronRejects,
    ::testing::Values(
        // field count and emptiness
        Rejection{"", "empty cron expression"}, Rejection{"   ", "empty cron expression"},
        Rejection{"* * * *", "has 4 fields, want 5 (minute hour day-of-month month day-of-week)"},
        Rejection{"* * * * * *", "has 6 fields, want 5"},
        Rejection{"0 6 1 * * /usr/bin/true", "has 6 fields"},
        Rejection{"1,,2 * * * *", "cron field 'minute': empty list element in \"1,,2\""},
        Rejection{",1 * * * *", "cron field 'minute': empty list element"},
        Rejection{"* * * * 1,", "cron field 'day-of-week': empty list element"},
        // out of range, every field at both ends
        Rejection{"60 * * * *", "cron field 'minute': 60 is out of range 0-59"},
        Rejection{"* 24 * * *", "cron field 'hour': 24 is out of range 0-23"},
        Rejection{"* * 0 * *", "cron field 'day-of-month': 0 is out of range 1-31"},
        Rejection{"* * 32 * *", "cron field 'day-of-month': 32 is out of range 1-31"},
        Rejection{"* * * 0 *", "cron field 'month': 0 is out of range 1-12"},
        Rejection{"* * * 13 *", "cron field 'month': 13 is out of range 1-12"},
        Rejection{"* * * * 8", "cron field 'day-of-week': 8 is out of range 0-7"},
        Rejection{"99999999999 * * * *", "cron field 'minute': 99999999999 is out of range"},
        Rejection{"0-60 * * * *", "cron field 'minute': 60 is out of range 0-59"},
        Rejection{"* 20-24 * * *", "cron field 'hour': 24 is out of range"},
        // steps
        Rejection{"*/0 * * * *", "cron field 'minute': step 0 in \"*/0\" must be at least 1"},
        Rejection{"* 1-5/0 * * *", "cron field 'hour': step 0"},
        Rejection{"*/61 * * * *", "cron field 'minute': step 61 is out of range 1-60"},
        Rejection{"* */25 * * *", "cron field 'hour': step 25 is out of range 1-24"},
        Rejection{"*/ * * * *", "cron field 'minute': missing step after '/'"},
        Rejection{"*/x * * * *", "cron field 'minute': step \"x\" is not a number"},
        Rejection{"*/2/3 * * * *", "cron field 'minute': step \"2/3\" is not a number"},
        Rejection{"* * * */MAR *", "cron field 'month': step \"MAR\" is not a number"},
        Rejection{"/5 * * * *", "cron field 'minute': missing value in \"/5\""},
        // ranges
        Rejection{"* 5-3 * * *", "cron field 'hour': range \"5-3\" is reversed"},
        Rejection{"* * * DEC-JAN *", "cron field 'month': range \"DEC-JAN\" is reversed"},
        Rejection{"* * * * MON-SUN",
                  "cron field 'day-of-week': range \"MON-SUN\" is reversed (Sunday at the end of "
                  "a range is 7)"},
        Rejection{"1- * * * *", "cron field 'minute': missing value in \"1-\""},
        Rejection{"-1 * * * *", "cron field 'minute': missing value in \"-1\""},
        Rejection{"1-2-3 * * * *", "cron field 'minute': \"2-3\" is not a number"},
        Rejection{"*-5 * * * *", "cron field 'minute': \"*\" is not a number"},
        // names and junk
        Rejection{"* * * FOO *", "cron field 'month': unknown name \"FOO\" (want JAN-DEC)"},
        Rejection{"* * * JANUARY *", "cron field 'month': unknown name \"JANUARY\""},
        Rejection{"* * * * MONDAY",
                  "cron field 'day-of-week': unknown name \"MONDAY\" (want SUN-SAT)"},
        Rejection{"* * * JAN-FOO *", "cron field 'month': unknown name \"FOO\""},
        Rejection{"* * MON * *", "cron field 'day-of-month': \"MON\" is not a number"},
        Rejection{"* JAN * * *", "cron field 'hour': \"JAN\" is not a number"},
        Rejection{"* * * * JAN", "cron field 'day-of-week': unknown name \"JAN\""},
        Rejection{"a * * * *", "cron field 'minute': \"a\" is not a number"},
        Rejection{"1.5 * * * *", "cron field 'minute': \"1.5\" is not a number"},
        Rejection{"+5 * * * *", "cron field 'minute': \"+5\" is not a number"},
        Rejection{"0x10 * * * *", "cron field 'minute': \"0x10\" is not a number"},
        Rejection{"* * L * *", "cron field 'day-of-month': \"L\" is not a number"},
        Rejection{"* * ? * *", "cron field 'day-of-month': \"?\" is not a number"},
        Rejection{"* * * * 5#3", "cron field 'day-of-week': \"5#3\" is not a number"},
        Rejection{"** * * * *", "cron field 'minute': \"**\" is not a number"},
        // macros
        Rejection{"@reboot", "unknown cron macro \"@reboot\""},
        Rejection{"@every 5m", "unknown cron macro"}, Rejection{"@", "unknown cron macro"},
        Rejection{"@daily 0", "unknown cron macro"}));

// --- next_after -------------------------------------------------------------------------------

TEST(CronNextAfter, IsStrictlyAfter) {
  const CronExpression every_minute = cron("* * * * *");
  EXPECT_EQ(every_minute.next_after(at(2026, 1, 1)), at(2026, 1, 1, 0, 1));
  EXPECT_EQ(every_minute.next_after(at(2026, 1, 1, 0, 0, 30)), at(2026, 1, 1, 0, 1));
  EXPECT_EQ(every_minute.next_after(at(2026, 1, 1, 0, 0, 59)), at(2026, 1, 1, 0, 1));
  const CronExpression half_past = cron("30 * * * *");
  EXPECT_EQ(half_past.next_after(at(2026, 1, 1, 10, 29, 59)), at(2026, 1, 1, 10, 30));
  EXPECT_EQ(half_past.next_after(at(2026, 1, 1, 10, 30)), at(2026, 1, 1, 11, 30));
}

TEST(CronNextAfter, CrossesHourDayMonthAndYearBoundaries) {
  EXPECT_EQ(cron("59 * * * *").next_after(at(2026, 1, 1, 10, 59)), at(2026, 1, 1, 11, 59));
  EXPECT_EQ(cron("0 * * * *").next_after(at(2026, 1, 1, 23, 0)), at(2026, 1, 2));
  EXPECT_EQ(cron("59 23 * * *").next_after(at(2026, 1, 31, 23, 59)), at(2026, 2, 1, 23, 59));
  EXPECT_EQ(cron("0 0 * * *").next_after(at(2026, 12, 31, 12)), at(2027, 1, 1));
  EXPECT_EQ(cron("0 0 1 1 *").next_after(at(2026, 6, 15)), at(2027, 1, 1));
  EXPECT_EQ(cron("0 0 1 1 *").next_after(at(2026, 1, 1)), at(2027, 1, 1));
  EXPECT_EQ(cron("15 10 * * *").next_after(at(2026, 4, 30, 10, 16)), at(2026, 5, 1, 10, 15));
  EXPECT_EQ(cron("0 6 1 * *").next_after(at(2026, 11, 1, 6)), at(2026, 12, 1, 6));
  EXPECT_EQ(cron("0 6 1 * *").next_after(at(2026, 12, 1, 6)), at(2027, 1, 1, 6));
}

TEST(CronNextAfter, StepsWithinTheHour) {
  EXPECT_THAT(fires_after(cron("*/15 * * * *"), at(2026, 1, 1, 10, 7), 4),
              ElementsAre(at(2026, 1, 1, 10, 15), at(2026, 1, 1, 10, 30), at(2026, 1, 1, 10, 45),
                          at(2026, 1, 1, 11)));
  EXPECT_THAT(fires_after(cron("5-59/20 * * * *"), at(2026, 1, 1, 10, 45), 3),
              ElementsAre(at(2026, 1, 1, 11, 5), at(2026, 1, 1, 11, 25), at(2026, 1, 1, 11, 45)));
  EXPECT_THAT(fires_after(cron("0 */6 * * *"), at(2026, 1, 1, 19), 2),
              ElementsAre(at(2026, 1, 2), at(2026, 1, 2, 6)));
}

TEST(CronNextAfter, SkipsMonthsTooShortForTheDay) {
  EXPECT_EQ(cron("0 0 31 * *").next_after(at(2026, 4, 1)), at(2026, 5, 31));
  EXPECT_THAT(fires_after(cron("0 0 31 * *"), at(2026, 1, 31), 5),
              ElementsAre(at(2026, 3, 31), at(2026, 5, 31), at(2026, 7, 31), at(2026, 8, 31),
                          at(2026, 10, 31)));
  EXPECT_THAT(fires_after(cron("0 0 30 * *"), at(2027, 1, 30), 2),
              ElementsAre(at(2027, 3, 30), at(2027, 4, 30)));
  EXPECT_EQ(cron("0 0 29 * *").next_after(at(2027, 1, 29)), at(2027, 3, 29));  // common year
  EXPECT_EQ(cron("0 0 29 * *").next_after(at(2028, 1, 29)), at(2028, 2, 29));  // leap year
}

TEST(CronNextAfter, LeapDay) {
  const CronExpression leap_day = cron("0 0 29 2 *");
  EXPECT_EQ(leap_day.next_after(at(2025, 3, 1)), at(2028, 2, 29));
  EXPECT_EQ(leap_day.next_after(at(2028, 2, 29)), at(2032, 2, 29));
  EXPECT_EQ(leap_day.next_after(at(2024, 2, 28, 23, 59)), at(2024, 2, 29));
  // 2100 is not a leap year: eight years between leap days.
  EXPECT_EQ(leap_day.next_after(at(2096, 3, 1)), at(2104, 2, 29));
  EXPECT_EQ(cron("0 0 29 FEB *").previous_at_or_before(at(2103, 12, 31)), at(2096, 2, 29));
}

TEST(CronNextAfter, DayOfWeekNamesAndSunday) {
  const Seconds thursday = at(2026, 1, 1, 12);
  EXPECT_EQ(cron("0 0 * * 0").next_after(thursday), at(2026, 1, 4));
  EXPECT_EQ(cron("0 0 * * 7").next_after(thursday), at(2026, 1, 4));
  EXPECT_EQ(cron("0 0 * * SUN").next_after(thursday), at(2026, 1, 4));
  EXPECT_EQ(cron("0 0 * * sat").next_after(thursday), at(2026, 1, 3));
  EXPECT_EQ(cron("0 0 * * THU").next_after(thursday), at(2026, 1, 8));
  EXPECT_THAT(fires_after(cron("0 9 * * MON-FRI"), at(2026, 1, 2, 9), 3),  // from a Friday
              ElementsAre(at(2026, 1, 5, 9), at(2026, 1, 6, 9), at(2026, 1, 7, 9)));
}

TEST(CronNextAfter, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // Vixie semantics: the 13th of every month, and every Friday.
  EXPECT_THAT(fires_after(cron("0 0 13 * FRI"), at(2026, 1, 1), 12),
              ElementsAre(at(2026, 1, 2), at(2026, 1, 9), at(2026, 1, 13), at(2026, 1, 16),
                          at(2026, 1, 23), at(2026, 1, 30), at(2026, 2, 6), at(2026, 2, 13),
                          at(2026, 2, 20), at(2026, 2, 27), at(2026, 3, 6), at(2026, 3, 13)));
  // Days 1-7 and every Monday, not "the first Monday".
  EXPECT_THAT(fires_after(cron("0 0 1-7 * 1"), at(2026, 1, 6), 4),
              ElementsAre(at(2026, 1, 7), at(2026, 1, 12), at(2026, 1, 19), at(2026, 1, 26)));
}

TEST(CronNextAfter, BothMustMatchWhenEitherStartsWithStar) {
  // `*/2` counts as unrestricted, as in Vixie cron and cronie: odd days that are Fridays.
  EXPECT_THAT(fires_after(cron("0 0 */2 * FRI"), at(2026, 1, 1), 3),
              ElementsAre(at(2026, 1, 9), at(2026, 1, 23), at(2026, 2, 13)));
  // Day-of-week `*/1` is unrestricted, so this is every 13th, whatever the weekday.
  EXPECT_THAT(fires_after(cron("0 0 13 * */1"), at(2026, 1, 1), 2),
              ElementsAre(at(2026, 1, 13), at(2026, 2, 13)));
  EXPECT_THAT(fires_after(cron("0 0 * * FRI"), at(2026, 1, 1), 2),
              ElementsAre(at(2026, 1, 2), at(2026, 1, 9)));
}

TEST(CronNextAfter, RareButPossibleSchedulesAreFound) {
  // Feb 29 that is also a Sunday (day-of-week starts with `*`, so both must match).
  const CronExpression c = cron("0 0 29 2 */7");
  const auto next = c.next_after(at(2026, 1, 1));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, at(2032, 2, 29));
  EXPECT_EQ(weekday{floor<std::chrono::days>(*next)}, Sunday);
  EXPECT_EQ(c.next_after(*next), at(2060, 2, 29));
}

TEST(CronNextAfter, ImpossibleSchedulesEndQuickly) {
  for (const char* text :
       {"0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *", "* * 30,31 FEB *", "0 0 31 APR */7"}) {
    const CronExpression c = cron(text);
    const auto started = steady_clock::now();
    EXPECT_EQ(c.next_after(at(2026, 1, 1)), std::nullopt) << text;
    EXPECT_EQ(c.previous_at_or_before(at(2026, 1, 1)), std::nullopt) << text;
    EXPECT_LT(steady_clock::now() - started, milliseconds{200}) << text;
  }
}

TEST(CronNextAfter, OutsideTheSupportedYearsNothingFires) {
  const CronExpression c = cron("* * * * *");
  EXPECT_EQ(c.next_after(Seconds::max()), std::nullopt);
  EXPECT_EQ(c.previous_at_or_before(Seconds::min()), std::nullopt);
  EXPECT_FALSE(c.matches(Seconds::max()));
}

// --- matches ----------------------------------------------------------------------------------

TEST(CronMatches, OnlyWholeMinutes) {
  const CronExpression c = cron("30 6 * * *");
  EXPECT_TRUE(c.matches(at(2026, 5, 5, 6, 30)));
  EXPECT_FALSE(c.matches(at(2026, 5, 5, 6, 30, 1)));
  EXPECT_FALSE(c.matches(at(2026, 5, 5, 6, 31)));
  EXPECT_FALSE(c.matches(at(2026, 5, 5, 7, 30)));
}

// --- previous_at_or_before --------------------------------------------------------------------

TEST(CronPrevious, LatestFireAtOrBefore) {
  const CronExpression monthly = cron("0 6 1 * *");
  EXPECT_EQ(monthly.previous_at_or_before(at(2026, 11, 27, 14)), at(2026, 11, 1, 6));
  EXPECT_EQ(monthly.previous_at_or_before(at(2026, 11, 1, 6)), at(2026, 11, 1, 6));
  EXPECT_EQ(monthly.previous_at_or_before(at(2026, 11, 1, 6, 0, 59)), at(2026, 11, 1, 6));
  EXPECT_EQ(monthly.previous_at_or_before(at(2026, 11, 1, 5, 59, 59)), at(2026, 10, 1, 6));
  EXPECT_EQ(monthly.previous_at_or_before(at(2027, 1, 1, 5)), at(2026, 12, 1, 6));
  EXPECT_EQ(cron("0 0 31 * *").previous_at_or_before(at(2026, 5, 30)), at(2026, 3, 31));
  EXPECT_EQ(cron("0 0 29 2 *").previous_at_or_before(at(2028, 2, 28)), at(2024, 2, 29));
  EXPECT_EQ(cron("*/15 * * * *").previous_at_or_before(at(2026, 1, 1, 0, 14)), at(2026, 1, 1));
  EXPECT_EQ(cron("*/15 * * * *").previous_at_or_before(at(2025, 12, 31, 23, 59, 59)),
            at(2025, 12, 31, 23, 45));
  EXPECT_EQ(cron("0 0 13 * FRI").previous_at_or_before(at(2026, 1, 15)), at(2026, 1, 13));
}

// For many seeded random times: previous and next agree with each other and with matches().
TEST(CronPrevious, ConsistentWithNextAfterAndMatches) {
  const std::vector<std::string> expressions = {
      "* * * * *",  "0 6 1 * *",         "*/15 9-17 * * MON-FRI", "0 0 13 * FRI",
      "0 0 29 2 *", "5-59/20 */6 * * *", "30 23 28-31 * *",       "0 0 */2 * FRI",
      "7 7 7 7 7",  "@weekly",           "0 12 1,15 JAN,JUL *",   "59 23 31 12 *"};
  std::mt19937_64 random(20261127);
  const auto first = at(2020, 1, 1).time_since_epoch().count();
  const auto last = at(2035, 1, 1).time_since_epoch().count();
  std::uniform_int_distribution<std::int64_t> pick(first, last);
  for (const std::string& text : expressions) {
    const CronExpression c = cron(text);
    for (int i = 0; i < 300; ++i) {
      // Half the samples on whole minutes, so t itself is sometimes a fire time.
      Seconds t{seconds{pick(random)}};
      if (i % 2 == 0) t = floor<minutes>(t);
      const auto previous = c.previous_at_or_before(t);
      const auto next = c.next_after(t);
      ASSERT_TRUE(previous && next) << text << " at " << format_rfc3339(t);
      EXPECT_TRUE(c.matches(*previous)) << text;
      EXPECT_TRUE(c.matches(*next)) << text;
      EXPECT_LE(*previous, t) << text;
      EXPECT_GT(*next, t) << text;
      // Nothing fires in (previous, t] nor in (t, next).
      EXPECT_EQ(c.next_after(*previous), next) << text << " at " << format_rfc3339(t);
      EXPECT_EQ(c.previous_at_or_before(*next - seconds{1}), previous) << text;
      EXPECT_EQ(c.matches(t), *previous == t) << text;
    }
  }
}

// --- an independent reference -----------------------------------------------------------------

struct Reference {
  std::string expression;
  // Written by hand from the expression, not derived from the parser.
  std::function<bool(year_month_day, unsigned weekday, int hour, int minute)> fires;
};

// Minute by minute over the window, compared with next_after chains, previous_at_or_before and
// matches. Returns how many fire times the window holds.
std::size_t check_against_reference(const Reference& reference, Seconds from, Seconds to) {
  const CronExpression c = cron(reference.expression);
  std::vector<Seconds> expected;
  for (Seconds t = from; t < to; t += minutes{1}) {
    const sys_days day = floor<std::chrono::days>(t);
    const auto minute_of_day = duration_cast<minutes>(t - day).count();
    const bool fires =
        reference.fires(year_month_day{day}, weekday{day}.c_encoding(),
                        static_cast<int>(minute_of_day / 60), static_cast<int>(minute_of_day % 60));
    if (fires) expected.push_back(t);
    EXPECT_EQ(c.matches(t), fires) << reference.expression << " at " << format_rfc3339(t);
    if (c.matches(t) != fires) return expected.size();  // one message, not thousands
  }

  // Both walks are bounded and must move strictly, so a regression fails instead of hanging.
  std::vector<Seconds> actual;
  for (auto next = c.next_after(from - seconds{1}); next && *next < to;
       next = c.next_after(*next)) {
    if ((!actual.empty() && *next <= actual.back()) || actual.size() > expected.size()) {
      ADD_FAILURE() << reference.expression << ": next_after does not advance";
      break;
    }
    actual.push_back(*next);
  }
  EXPECT_THAT(actual, ElementsAreArray(expected)) << reference.expression;

  std::vector<Seconds> backwards;
  for (auto previous = c.previous_at_or_before(to - seconds{1}); previous && *previous >= from;
       previous = c.previous_at_or_before(*previous - seconds{1})) {
    if ((!backwards.empty() && *previous >= backwards.front()) ||
        backwards.size() > expected.size()) {
      ADD_FAILURE() << reference.expression << ": previous_at_or_before does not go back";
      break;
    }
    backwards.insert(backwards.begin(), *previous);
  }
  EXPECT_THAT(backwards, ElementsAreArray(expected)) << reference.expression;
  return expected.size();
}

TEST(CronReference, MatchesABruteForceMinuteByMinuteReference) {
  const auto d = [](year_month_day ymd) { return static_cast<unsigned>(ymd.day()); };
  const auto m = [](year_month_day ymd) { return static_cast<unsigned>(ymd.month()); };
  const std::vector<Reference> references = {
      {"*/15 9-17 * * MON-FRI",
       [](year_month_day, unsigned wd, int h, int mi) {
         return mi % 15 == 0 && h >= 9 && h <= 17 && wd >= 1 && wd <= 5;
       }},
      {"0 6 1 * *", [&](year_month_day ymd, unsigned, int h,
                        int mi) { return d(ymd) == 1 && h == 6 && mi == 0; }},
      {"0 0 13 * FRI", [&](year_month_day ymd, unsigned wd, int h,
                           int mi) { return (d(ymd) == 13 || wd == 5) && h == 0 && mi == 0; }},
      {"0 0 */2 * FRI", [&](year_month_day ymd, unsigned wd, int h,
                            int mi) { return d(ymd) % 2 == 1 && wd == 5 && h == 0 && mi == 0; }},
      {"5-59/20 */6 * * *", [](year_month_day, unsigned, int h,
                               int mi) { return (mi == 5 || mi == 25 || mi == 45) && h % 6 == 0; }},
      {"30 23 28-31 * *", [&](year_month_day ymd, unsigned, int h,
                              int mi) { return d(ymd) >= 28 && h == 23 && mi == 30; }},
      {"0 12 * JAN,FEB,MAR SUN",
       [&](year_month_day ymd, unsigned wd, int h, int mi) {
         return m(ymd) <= 3 && wd == 0 && h == 12 && mi == 0;
       }},
      {"0 0 29 2 *", [&](year_month_day ymd, unsigned, int h,
                         int mi) { return m(ymd) == 2 && d(ymd) == 29 && h == 0 && mi == 0; }},
      {"@hourly", [](year_month_day, unsigned, int, int mi) { return mi == 0; }},
      {"0 0 1-7 * 1", [&](year_month_day ymd, unsigned wd, int h,
                          int mi) { return (d(ymd) <= 7 || wd == 1) && h == 0 && mi == 0; }},
      {"7 7 7 * 7", [&](year_month_day ymd, unsigned wd, int h,
                        int mi) { return (d(ymd) == 7 || wd == 0) && h == 7 && mi == 7; }},
      {"0,30 8-10,20 * 1-2,12 5-7",
       [&](year_month_day ymd, unsigned wd, int h, int mi) {
         return (mi == 0 || mi == 30) && ((h >= 8 && h <= 10) || h == 20) &&
                (m(ymd) <= 2 || m(ymd) == 12) && (wd == 5 || wd == 6 || wd == 0);
       }},
  };
  for (const Reference& reference : references) {
    // A leap February and a year end (where Feb 29 rightly never fires).
    const std::size_t fires = check_against_reference(reference, at(2028, 1, 1), at(2028, 3, 15)) +
                              check_against_reference(reference, at(2026, 11, 20), at(2027, 2, 5));
    EXPECT_GT(fires, 0u) << reference.expression << ": the windows test nothing";
  }
}

}  // namespace
}  // namespace scalr_usage
