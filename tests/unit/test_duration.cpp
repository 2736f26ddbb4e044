#include "config/duration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <stdexcept>
#include <string>

namespace scalr_usage {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::weeks;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string parse_error(std::string_view text) {
  try {
    parse_duration(text);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  ADD_FAILURE() << "parse_duration(\"" << text << "\") did not throw";
  return "";
}

TEST(DurationParse, SingleUnits) {
  EXPECT_EQ(parse_duration("0s"), milliseconds{0});
  EXPECT_EQ(parse_duration("0ms"), milliseconds{0});
  EXPECT_EQ(parse_duration("500ms"), milliseconds{500});
  EXPECT_EQ(parse_duration("30s"), seconds{30});
  EXPECT_EQ(parse_duration("5m"), minutes{5});
  EXPECT_EQ(parse_duration("1h"), hours{1});
  EXPECT_EQ(parse_duration("2d"), days{2});
  EXPECT_EQ(parse_duration("1w"), weeks{1});
}

TEST(DurationParse, CombinedUnitsFromLargestToSmallest) {
  EXPECT_EQ(parse_duration("1h30m"), minutes{90});
  EXPECT_EQ(parse_duration("1m30s"), seconds{90});
  EXPECT_EQ(parse_duration("1s500ms"), milliseconds{1500});
  EXPECT_EQ(parse_duration("1w2d3h4m5s6ms"),
            weeks{1} + days{2} + hours{3} + minutes{4} + seconds{5} + milliseconds{6});
  EXPECT_EQ(parse_duration("1d1ms"), days{1} + milliseconds{1});
}

TEST(DurationParse, ValuesNeedNotBeNormalised) {
  EXPECT_EQ(parse_duration("90m"), minutes{90});
  EXPECT_EQ(parse_duration("1500ms"), milliseconds{1500});
  EXPECT_EQ(parse_duration("007s"), seconds{7});
}

TEST(DurationParse, LargestRepresentableValue) {
  EXPECT_EQ(parse_duration("9223372036854775807ms"), milliseconds::max());
}

TEST(DurationParse, RejectsEmpty) {
  EXPECT_THAT(parse_error(""), HasSubstr("empty duration (want e.g. 30s, 5m, 1h)"));
}

TEST(DurationParse, RejectsUnknownUnitSayingWhatIsWanted) {
  EXPECT_EQ(parse_error("3x"), "invalid duration \"3x\" (want e.g. 30s, 5m, 1h)");
  for (const char* text : {"5y", "5sec", "5mss", "1H", "5M", "10us"}) {
    EXPECT_THAT(parse_error(text), StartsWith("invalid duration \"")) << text;
    EXPECT_THAT(parse_error(text), HasSubstr("(want e.g. 30s, 5m, 1h)")) << text;
  }
}

TEST(DurationParse, RejectsNumberWithoutUnit) {
  for (const char* text : {"5", "0", "1h30", "300"}) {
    EXPECT_THAT(parse_error(text), HasSubstr("want e.g. 30s, 5m, 1h")) << text;
  }
}

TEST(DurationParse, RejectsNegative) {
  EXPECT_THAT(parse_error("-5m"), HasSubstr("must not be negative"));
  EXPECT_THAT(parse_error("-0s"), HasSubstr("must not be negative"));
}

TEST(DurationParse, RejectsJunk) {
  for (const char* text : {"m", "ms", "5 m", " 5m", "5m ", "1.5h", "+5m", "5m!", "1h,30m", "abc",
                           "5\n", "0x10s", "1e3ms"}) {
    EXPECT_THAT(parse_error(text), StartsWith("invalid duration ")) << text;
  }
}

TEST(DurationParse, RejectsUnitsOutOfOrderOrRepeated) {
  EXPECT_THAT(parse_error("30m1h"), HasSubstr("largest to smallest"));
  EXPECT_THAT(parse_error("1m1m"), HasSubstr("largest to smallest"));
  EXPECT_THAT(parse_error("1ms1s"), HasSubstr("largest to smallest"));
}

TEST(DurationParse, RejectsOverflow) {
  for (const char* text : {"9223372036854775808ms", "99999999999999999999s", "106751991167w",
                           "9223372036854776s", "9223372036854775807ms1ms" /* order check */}) {
    EXPECT_THAT(parse_error(text), StartsWith("invalid duration ")) << text;
  }
  EXPECT_THAT(parse_error("9223372036854775808ms"), HasSubstr("too large"));
  EXPECT_THAT(parse_error("106751991167w"), HasSubstr("too large"));
  EXPECT_THAT(parse_error("15250284452w7d"), HasSubstr("too large"));  // the sum overflows
}

TEST(DurationParse, ErrorIsOneLineEvenForControlCharacters) {
  const std::string message = parse_error("5\nm");
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_THAT(message, HasSubstr("\\x0a"));
}

TEST(DurationFormat, ShortestSpelling) {
  EXPECT_EQ(format_duration(milliseconds{0}), "0s");
  EXPECT_EQ(format_duration(milliseconds{500}), "500ms");
  EXPECT_EQ(format_duration(seconds{30}), "30s");
  EXPECT_EQ(format_duration(minutes{5}), "5m");
  EXPECT_EQ(format_duration(minutes{90}), "1h30m");
  EXPECT_EQ(format_duration(milliseconds{1500}), "1s500ms");
  EXPECT_EQ(format_duration(hours{24}), "1d");
  EXPECT_EQ(format_duration(weeks{2}), "2w");
}

TEST(DurationFormat, WeeksOnlyForWholeWeeks) {
  EXPECT_EQ(format_duration(days{8}), "8d");
  EXPECT_EQ(format_duration(days{7} + hours{1}), "7d1h");
  EXPECT_EQ(format_duration(days{14}), "2w");
}

TEST(DurationFormat, NegativeValuesForLogsOnly) {
  EXPECT_EQ(format_duration(minutes{-5}), "-5m");
  EXPECT_EQ(format_duration(milliseconds::min()), "-106751991167d7h12m55s808ms");
}

TEST(DurationFormat, RoundTripsThroughParse) {
  for (const milliseconds value :
       {milliseconds{0}, milliseconds{1}, milliseconds{999}, milliseconds{1001},
        milliseconds{61'001}, milliseconds{3'600'000}, milliseconds{86'400'001},
        milliseconds{604'800'000}, milliseconds{691'200'000}, milliseconds{123'456'789'012},
        milliseconds::max()}) {
    EXPECT_EQ(parse_duration(format_duration(value)), value) << format_duration(value);
  }
}

}  // namespace
}  // namespace scalr_usage
