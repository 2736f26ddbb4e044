// Inputs the fuzz targets of fuzz/ found crashing or breaking a property, kept as unit tests so
// the normal and the sanitizer builds check them on every run. Each input is also in the target's
// seed corpus, fuzz/corpus/<target>/.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "collectors/scalr_api/jsonapi.h"
#include "collectors/source.h"
#include "daemon/config_file.h"
#include "web/web_config.h"

namespace scalr_usage {
namespace {

// Nesting that overflowed an 8 MiB stack in an optimised build without sanitizers, where frames are
// smallest (it crashed from about 100,000 levels): 500 KB, far below max_response_bytes (8 MiB).
constexpr std::size_t kDeep = 250'000;

std::string deeply_nested_array(std::size_t depth) {
  std::string body(depth, '[');
  body.append(depth, ']');
  return body;
}

// error_summary() used to print a JSON body without "errors" through nlohmann's dump(), which
// recurses once per level and overflowed the stack (SIGSEGV). Such a body is shown by its first
// line instead.
TEST(FuzzRegressions, ErrorSummaryOfDeeplyNestedBodyIsItsFirstLine) {
  const std::string body = deeply_nested_array(kDeep);
  EXPECT_EQ(error_summary(body), std::string(300, '[') + "...");
  const std::string in_errors = R"({"errors":)" + body + "}";
  EXPECT_EQ(error_summary(in_errors), R"({"errors":)" + std::string(290, '[') + "...");
}

// Shallow documents without JSON:API errors are still shown compactly, as before.
TEST(FuzzRegressions, ErrorSummaryOfShallowNestingIsCompactJson) {
  EXPECT_EQ(error_summary("[ [ [ 1 ] ] ]"), "[[[1]]]");
}

// parse_usage_page() never printed the whole document, so it already coped; keep it that way.
TEST(FuzzRegressions, UsagePageOfDeeplyNestedBodyIsRejected) {
  const std::string body = deeply_nested_array(kDeep);
  EXPECT_THROW(parse_usage_page(body), SourceError);
  try {
    parse_usage_page(R"({"data":)" + body + "}");
    FAIL() << "accepted a nested array as a usage row";
  } catch (const SourceError& error) {
    EXPECT_EQ(error.reason(), ErrorReason::bad_response);
    EXPECT_EQ(std::string(error.what()), "data[0]: expected an object, got an array");
  }
}

// A number beyond double made nlohmann throw out_of_range, which parse_usage_page() let through
// instead of SourceError; the poller catches only SourceError, so the poll thread, and with it the
// daemon, terminated. fuzz/corpus/jsonapi/regress_number_out_of_range.json is the fuzzer's input.
TEST(FuzzRegressions, UsagePageWithNumberOutOfRangeIsBadResponse) {
  for (const std::string body : {R"({"data":[],"meta":{"pagination":{"total-count":1e400}}})",
                                 R"([[[1e400]]])", R"({"data":[{"runs-count":-1e400}]})"}) {
    try {
      parse_usage_page(body);
      FAIL() << "accepted " << body;
    } catch (const SourceError& error) {
      EXPECT_EQ(error.reason(), ErrorReason::bad_response) << body;
      EXPECT_THAT(std::string(error.what()), testing::StartsWith("response is not valid JSON"));
    }
  }
  EXPECT_EQ(error_summary(R"({"total":1e400})"), R"({"total":1e400})");
}

// yaml-cpp names the offending character of some syntax errors as is, here a line break, and the
// ConfigError message (one line, by its contract) broke in two. The input is the fuzzer's,
// fuzz/corpus/config/regress_yaml_error_line_break.yml.
TEST(FuzzRegressions, YamlSyntaxErrorMessageStaysOnOneLine) {
  const std::string yaml("scal\x05\x00\n  url: !!*\xbcinary aGVsbG8=\n  accounts: [!!int 1]\n", 55);
  try {
    parse_config(yaml, Environment{});
    FAIL() << "accepted the input";
  } catch (const ConfigError& error) {
    EXPECT_STREQ(
        error.what(),
        R"(config.file: YAML syntax error at line 2, column 1: "unknown escape character: \x0a")");
  }
}

// yaml-cpp 0.7's LoadAll() never returns on some malformed input: its parser stops consuming and
// it appends empty documents until memory runs out, so the daemon hung at start-up (and
// --check-config with it). parse_config() now counts documents itself and calls such input a
// syntax error. The first input is the fuzzer's (fuzz/corpus/config/regress_yaml_stuck.yml).
// Each parse runs in a child process with an alarm: a regression fails in seconds instead of
// eating the machine's memory until the test times out.
TEST(FuzzRegressionsDeathTest, YamlThatStallsTheParserIsASyntaxError) {
  const auto parse_in_time = [](const std::string& yaml, const std::string& expected) {
    alarm(20);
    try {
      parse_config(yaml, Environment{});
    } catch (const ConfigError& error) {
      std::fprintf(stderr, "%s\n", error.what());
      std::_Exit(std::string(error.what()) == expected ? 0 : 1);
    }
    std::_Exit(2);
  };
  EXPECT_EXIT(
      parse_in_time(R"("scrc____u",rc)",
                    R"(config.file: YAML syntax error at line 1, column 12: unexpected ",")"),
      testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      parse_in_time(",\n", R"(config.file: YAML syntax error at line 1, column 1: unexpected ",")"),
      testing::ExitedWithCode(0), "");
}

// The web configuration file reads YAML through the same guard.
TEST(FuzzRegressionsDeathTest, WebConfigYamlThatStallsTheParserIsASyntaxError) {
  const auto parse_in_time = [](const std::string& yaml) {
    alarm(20);
    try {
      parse_web_config(yaml);
    } catch (const ConfigError& error) {
      std::fprintf(stderr, "%s\n", error.what());
      std::_Exit(std::string(error.what()).find("YAML syntax error at line 1") != std::string::npos
                     ? 0
                     : 1);
    }
    std::_Exit(2);
  };
  EXPECT_EXIT(parse_in_time(",\n"), testing::ExitedWithCode(0), "");
  EXPECT_EXIT(parse_in_time(R"("scrc____u",rc)"), testing::ExitedWithCode(0), "");
}

// The check above must not cost the documents count of a genuine multi-document stream.
TEST(FuzzRegressions, SeveralYamlDocumentsAreStillCounted) {
  try {
    parse_config("a: 1\n---\nb: 2\n---\n", Environment{});
    FAIL() << "accepted three documents";
  } catch (const ConfigError& error) {
    EXPECT_STREQ(error.what(), "config.file: has 3 YAML documents, want one");
  }
}

}  // namespace
}  // namespace scalr_usage
