#include "daemon/cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace scalr_usage {
namespace {

using Command = CliOptions::Command;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string cli_error(const std::vector<std::string>& args) {
  try {
    parse_cli(args);
  } catch (const CliError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << "accepted the arguments";
  return "";
}

TEST(CliParse, Defaults) {
  const CliOptions options = parse_cli({});
  EXPECT_EQ(options.command, Command::run);
  EXPECT_EQ(options.config_file, "/etc/scalr-usage-exporter/scalr-usage-exporter.yml");
  EXPECT_FALSE(options.listen_address.has_value());
  EXPECT_EQ(options.log_level, log::Level::info);
  EXPECT_EQ(options.log_format, log::Format::logfmt);
}

TEST(CliParse, ValueWithEqualsOrAsNextArgument) {
  EXPECT_EQ(parse_cli({"--config.file=/tmp/a.yml"}).config_file, "/tmp/a.yml");
  EXPECT_EQ(parse_cli({"--config.file", "/tmp/b.yml"}).config_file, "/tmp/b.yml");
  EXPECT_EQ(parse_cli({"--config.file=a=b.yml"}).config_file, "a=b.yml");
  EXPECT_EQ(parse_cli({"--web.listen-address=:9100"}).listen_address, ":9100");
  EXPECT_EQ(parse_cli({"--web.listen-address", "[::1]:9100"}).listen_address, "[::1]:9100");
}

TEST(CliParse, LastValueWins) {
  EXPECT_EQ(parse_cli({"--config.file=a", "--config.file=b"}).config_file, "b");
}

TEST(CliParse, LogLevelAndFormat) {
  EXPECT_EQ(parse_cli({"--log.level=debug"}).log_level, log::Level::debug);
  EXPECT_EQ(parse_cli({"--log.level", "info"}).log_level, log::Level::info);
  EXPECT_EQ(parse_cli({"--log.level=warn"}).log_level, log::Level::warn);
  EXPECT_EQ(parse_cli({"--log.level=error"}).log_level, log::Level::error);
  EXPECT_EQ(parse_cli({"--log.format=json"}).log_format, log::Format::json);
  EXPECT_EQ(parse_cli({"--log.format", "logfmt"}).log_format, log::Format::logfmt);
}

TEST(CliParse, Commands) {
  EXPECT_EQ(parse_cli({"--check-config"}).command, Command::check_config);
  EXPECT_EQ(parse_cli({"--version"}).command, Command::version);
  EXPECT_EQ(parse_cli({"--help"}).command, Command::help);
  EXPECT_EQ(parse_cli({"-h"}).command, Command::help);
  const CliOptions check = parse_cli({"--check-config", "--config.file", "/x.yml"});
  EXPECT_EQ(check.command, Command::check_config);
  EXPECT_EQ(check.config_file, "/x.yml");
}

TEST(CliParse, HelpWinsOverOtherCommandsInAnyOrder) {
  EXPECT_EQ(parse_cli({"--help", "--check-config"}).command, Command::help);
  EXPECT_EQ(parse_cli({"--check-config", "-h"}).command, Command::help);
  EXPECT_EQ(parse_cli({"--version", "--check-config"}).command, Command::version);
}

TEST(CliErrors, BadValuesNameTheFlag) {
  EXPECT_THAT(cli_error({"--log.level=verbose"}), StartsWith("--log.level: "));
  EXPECT_THAT(cli_error({"--log.level=verbose"}), HasSubstr("verbose"));
  EXPECT_THAT(cli_error({"--log.format", "text"}), StartsWith("--log.format: "));
  EXPECT_THAT(cli_error({"--web.listen-address=9100"}), StartsWith("--web.listen-address: "));
  EXPECT_THAT(cli_error({"--web.listen-address=:0"}), HasSubstr("1 to 65535"));
}

TEST(CliErrors, MissingValue) {
  EXPECT_EQ(cli_error({"--config.file"}), "--config.file: missing value, want --config.file=PATH");
  EXPECT_THAT(cli_error({"--config.file", "--check-config"}), StartsWith("--config.file: missing"));
  EXPECT_THAT(cli_error({"--log.level"}), StartsWith("--log.level: missing value"));
  EXPECT_EQ(cli_error({"--config.file="}), "--config.file: empty value");
  EXPECT_EQ(cli_error({"--config.file", ""}), "--config.file: empty value");
}

TEST(CliErrors, SwitchesTakeNoValue) {
  EXPECT_EQ(cli_error({"--check-config=true"}), "--check-config: takes no value");
  EXPECT_EQ(cli_error({"--version=1"}), "--version: takes no value");
  EXPECT_EQ(cli_error({"-h=1"}), "--help: takes no value");
}

TEST(CliErrors, UnknownFlagsAndArguments) {
  EXPECT_EQ(cli_error({"--bogus"}), "--bogus: unknown flag");
  EXPECT_EQ(cli_error({"--bogus=1"}), "--bogus: unknown flag");
  EXPECT_THAT(cli_error({"--web.listen_address=:1"}), StartsWith("--web.listen_address: unknown"));
  EXPECT_THAT(cli_error({"-config.file=x"}), StartsWith("-config.file: unknown flag (long flags"));
  EXPECT_THAT(cli_error({"-v"}), StartsWith("-v: unknown flag"));
  EXPECT_THAT(cli_error({"run"}), StartsWith("run: unexpected argument"));
  EXPECT_THAT(cli_error({"--"}), StartsWith("--: unknown flag"));
  EXPECT_THAT(cli_error({""}), StartsWith(": unexpected argument"));
  EXPECT_THAT(cli_error({"-"}), StartsWith("-: unexpected argument"));
  EXPECT_THAT(cli_error({"--a\nb"}), StartsWith("\"--a\\x0ab\": unknown flag"));
}

TEST(CliErrors, CliErrorIsAnInvalidArgument) {
  EXPECT_THROW(parse_cli({"--bogus"}), std::invalid_argument);
}

TEST(CliUsage, DocumentsEveryFlagWithItsDefault) {
  const std::string usage = usage_text();
  for (const char* text :
       {"usage: scalr-usage-exporter", "--config.file=PATH",
        "/etc/scalr-usage-exporter/scalr-usage-exporter.yml", "--web.listen-address=ADDRESS",
        "0.0.0.0:9871", "web.listen_address", "--log.level=LEVEL", "(default: info)",
        "--log.format=FORMAT", "(default: logfmt)", "--check-config", "--version", "--help",
        "-h, --help", "SCALR_TOKEN"}) {
    EXPECT_THAT(usage, HasSubstr(text));
  }
}

TEST(CliUsage, FitsAnEightyColumnTerminal) {
  std::istringstream lines(usage_text());
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 80u) << line;
    EXPECT_TRUE(line.empty() || line.back() != ' ') << "trailing space: " << line;
  }
}

}  // namespace
}  // namespace scalr_usage
