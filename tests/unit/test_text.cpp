#include "util/text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace scalr_usage {
namespace {

using ::testing::HasSubstr;
using namespace std::string_literals;
using namespace std::string_view_literals;

constexpr std::string_view kWhitespace = " \t\n\v\f\r";

// Every byte value, as the char it arrives in.
std::vector<char> every_byte() {
  std::vector<char> bytes;
  for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  return bytes;
}

// The unit tests never call setlocale(), so <cctype> answers for the "C" locale here, which is the
// locale the daemon runs in too: reports/cron.cpp's is_space and lower used std::isspace and
// std::tolower before they became these.
TEST(Text, IsSpaceIsTheCLocaleIsspace) {
  for (const char c : every_byte()) {
    EXPECT_EQ(is_space(c), std::isspace(static_cast<unsigned char>(c)) != 0) << int(c);
    EXPECT_EQ(is_space(c), kWhitespace.find(c) != std::string_view::npos) << int(c);
  }
}

TEST(Text, IsAlnumIsAsciiLettersAndDigits) {
  for (const char c : every_byte()) {
    EXPECT_EQ(is_alnum(c), std::isalnum(static_cast<unsigned char>(c)) != 0) << int(c);
  }
  EXPECT_TRUE(is_alnum('a') && is_alnum('Z') && is_alnum('0') && is_alnum('9'));
  EXPECT_FALSE(is_alnum('_') || is_alnum('-') || is_alnum('\xc3'));
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

TEST(Text, TrimStripsEveryWhitespaceCharacterAtBothEnds) {
  for (const char c : kWhitespace) {
    const std::string padded = std::string(1, c) + "a b" + std::string(2, c);
    EXPECT_EQ(trim(padded), "a b") << int(c);
    EXPECT_EQ(trim(std::string(3, c)), "") << int(c);
    const std::string inside = "a"s + c + "b";
    EXPECT_EQ(trim(inside), inside) << int(c);  // only the ends
  }
  EXPECT_EQ(trim(" \t\n\v\f\r x \r\f\v\n\t "), "x");
  EXPECT_EQ(trim(""), "");
  // Other control characters and non-ASCII bytes are content.
  EXPECT_EQ(trim("\x1b[0m "), "\x1b[0m");
  EXPECT_EQ(trim("\0x\0"sv), "\0x\0"sv);
  EXPECT_EQ(trim("\xc2\xa0x\xc2\xa0"), "\xc2\xa0x\xc2\xa0");  // UTF-8 no-break space
}

TEST(Text, TrimOwsStripsOnlySpacesAndTabs) {
  EXPECT_EQ(trim_ows(" \t gzip \t "), "gzip");
  EXPECT_EQ(trim_ows(" \t "), "");
  EXPECT_EQ(trim_ows(""), "");
  EXPECT_EQ(trim_ows("q=0.5"), "q=0.5");
  EXPECT_EQ(trim_ows("a \t b"), "a \t b");
  for (const char c : "\n\v\f\r"sv) {
    const std::string kept = std::string(1, c) + "gzip" + c;
    EXPECT_EQ(trim_ows(" " + kept + "\t"), kept) << int(c);
  }
}

TEST(Text, ToLowerFoldsAsciiOnly) {
  EXPECT_EQ(to_lower("HTTPS://Example.COM/Path-1_X"), "https://example.com/path-1_x");
  EXPECT_EQ(to_lower(""), "");
  EXPECT_EQ(to_lower("\xc3\x84pfel"), "\xc3\x84pfel");  // UTF-8 stays as it is
  for (const char c : every_byte()) {
    const auto expected = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(to_lower(std::string(1, c)), std::string(1, expected)) << int(c);
  }
}

TEST(Text, JoinPutsTheSeparatorBetweenItems) {
  EXPECT_EQ(join(std::vector<std::string>{}), "");
  EXPECT_EQ(join(std::vector<std::string>{"acc-1"}), "acc-1");
  EXPECT_EQ(join(std::vector<std::string>{"acc-1", "acc-2", "acc-3"}), "acc-1,acc-2,acc-3");
  EXPECT_EQ(join(std::set<std::string>{"b", "a"}), "a,b");  // in the range's order
  constexpr std::array<std::string_view, 3> kColumns = {"account_id", "date", "runs"};
  EXPECT_EQ(join(kColumns, ", "), "account_id, date, runs");
  EXPECT_EQ(join(std::vector<std::string>{"x"}, ", "), "x");
  EXPECT_EQ(join(std::vector<std::string>{"a", "b"}, ""), "ab");
  // Empty items keep their place.
  EXPECT_EQ(join(std::vector<std::string>{"", "a", "", "b", ""}), ",a,,b,");
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

TEST(QuoteIfNeeded, QuotesOnlyWhatWouldBreakTheMessage) {
  // As typed, however long: a path is not cut short.
  const std::string long_path = "/etc/scalr-usage-exporter/" + std::string(200, 'p') + ".yml";
  EXPECT_EQ(quote_if_needed(long_path), long_path);
  EXPECT_EQ(quote_if_needed("--web.listen-address"), "--web.listen-address");
  EXPECT_EQ(quote_if_needed("with space and \\ and caf\xc3\xa9"),
            "with space and \\ and caf\xc3\xa9");
  EXPECT_EQ(quote_if_needed(""), "");
  // A double quote or a control character: quoted, escaped and bounded.
  EXPECT_EQ(quote_if_needed("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(quote_if_needed("a\nb"), "\"a\\x0ab\"");
  EXPECT_EQ(quote_if_needed("tab\there"), quote_for_message("tab\there"));
  EXPECT_EQ(quote_if_needed("del\x7f"), quote_for_message("del\x7f"));
  EXPECT_EQ(quote_if_needed(long_path + "\n"), quote_for_message(long_path + "\n"));
}

}  // namespace
}  // namespace scalr_usage
