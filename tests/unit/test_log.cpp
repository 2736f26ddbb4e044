#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "util/log.h"

namespace scalr_usage::log {
namespace {

using std::chrono::sys_days;
using namespace std::chrono_literals;
const auto kWhen = sys_days{std::chrono::year{2026} / 11 / 27} + 14h + 5min + 7s + 89ms;

TEST(Log, LogfmtQuotesAndEscapesOnlyWhenNeeded) {
  EXPECT_EQ(render(Format::logfmt, Level::warn, kWhen, "poll failed",
                   {{"account", "acc-1"}, {"detail", "say \"hi\"\\\nbye"}, {"empty", ""}}),
            "ts=2026-11-27T14:05:07.089Z level=warn msg=\"poll failed\" account=acc-1 "
            "detail=\"say \\\"hi\\\"\\\\\\nbye\" empty=\"\"");
}

TEST(Log, JsonIsOneParseableObjectPerLine) {
  const std::string line =
      render(Format::json, Level::error, kWhen, "x\ny", {{"k", "v\"w"}, {"u", "ü"}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["ts"], "2026-11-27T14:05:07.089Z");
  EXPECT_EQ(parsed["level"], "error");
  EXPECT_EQ(parsed["msg"], "x\ny");
  EXPECT_EQ(parsed["k"], "v\"w");
  EXPECT_EQ(parsed["u"], "ü");
}

TEST(Log, ParsesLevelAndFormatNamesAndRejectsOthers) {
  EXPECT_EQ(parse_level("debug"), Level::debug);
  EXPECT_EQ(parse_level("error"), Level::error);
  EXPECT_EQ(parse_format("json"), Format::json);
  EXPECT_THROW(parse_level("verbose"), std::invalid_argument);
  EXPECT_THROW(parse_format("text"), std::invalid_argument);
}

TEST(Log, LevelFilterApplies) {
  init(Level::warn, Format::logfmt);
  EXPECT_FALSE(enabled(Level::info));
  EXPECT_TRUE(enabled(Level::error));
  init(Level::debug, Format::logfmt);
  EXPECT_TRUE(enabled(Level::debug));
}

}  // namespace
}  // namespace scalr_usage::log
