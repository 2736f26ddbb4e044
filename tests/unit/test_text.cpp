#include "util/text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace scalr_usage {
namespace {

using ::testing::HasSubstr;
using namespace std::string_view_literals;

// Every byte value, as the char it arrives in.
std::vector<char> every_byte() {
  std::vector<char> bytes;
  for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  return bytes;
}

TEST(Text, IsControlIsC0AndDel) {
  for (const char c : every_byte()) {
    const auto byte = static_cast<unsigned char>(c);
    EXPECT_EQ(is_control(c), byte < 0x20 || byte == 0x7f) << int(c);
  }
  EXPECT_FALSE(is_control(' '));
  EXPECT_FALSE(is_control('\x80'));  // C1 controls are UTF-8 continuation bytes here
  EXPECT_FALSE(has_control(""));
  EXPECT_FALSE(has_control("plain text, UTF-8 \xc3\xa9 too"));
  EXPECT_TRUE(has_control("line\nbreak"));
  EXPECT_TRUE(has_control("nul\0inside"sv));
  EXPECT_TRUE(has_control("del\x7f"));
}

// Moved here from test_duration.cpp with quote_for_message itself.
TEST(QuoteForMessage, EscapesAndBoundsUserInput) {
  EXPECT_EQ(quote_for_message("abc"), "\"abc\"");
  EXPECT_EQ(quote_for_message("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quote_for_message("a\nb\tc"), "\"a\\x0ab\\x09c\"");
  const std::string quoted = quote_for_message(std::string(1000, 'x'));
  EXPECT_LT(quoted.size(), 80u);
  EXPECT_THAT(quoted, HasSubstr("...\""));
}

TEST(QuoteForMessage, EscapesEveryControlCharacter) {
  EXPECT_EQ(quote_for_message(""), "\"\"");
  EXPECT_EQ(quote_for_message("\0\x1f\x7f"sv), "\"\\x00\\x1f\\x7f\"");
  EXPECT_EQ(quote_for_message("\r\v\f"), "\"\\x0d\\x0b\\x0c\"");
  for (const char c : every_byte()) {
    const std::string quoted = quote_for_message(std::string_view(&c, 1));
    EXPECT_FALSE(has_control(quoted)) << int(c);
  }
  // Non-ASCII bytes pass through: UTF-8 stays readable.
  EXPECT_EQ(quote_for_message("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
}

TEST(QuoteForMessage, ShowsSixtyFourBytesOfInput) {
  const std::string exactly(64, 'y');
  EXPECT_EQ(quote_for_message(exactly), "\"" + exactly + "\"");
  EXPECT_EQ(quote_for_message(exactly + "z"), "\"" + exactly + "...\"");
  // An escape counts as the one byte it shows.
  std::string escaped;
  for (int i = 0; i < 64; ++i) escaped += "\\x0a";
  EXPECT_EQ(quote_for_message(std::string(65, '\n')), "\"" + escaped + "...\"");
}

}  // namespace
}  // namespace scalr_usage
