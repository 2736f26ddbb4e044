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

TEST(CliParse, WebConfigFile) {
  EXPECT_EQ(parse_cli({}).web_config_file, "");
  EXPECT_EQ(parse_cli({"--web.config.file=/etc/web.yml"}).web_config_file, "/etc/web.yml");
  EXPECT_EQ(parse_cli({"--web.config.file", "web.yml"}).web_config_file, "web.yml");
  // Empty means none, as in the exporter-toolkit, e.g. to switch off a default from a unit file.
  EXPECT_EQ(parse_cli({"--web.config.file=/etc/web.yml", "--web.config.file="}).web_config_file,
            "");
  EXPECT_EQ(parse_cli({"--web.config.file", ""}).web_config_file, "");
  const CliOptions check = parse_cli({"--check-config", "--web.config.file=/w.yml"});
  EXPECT_EQ(check.command, Command::check_config);
  EXPECT_EQ(check.web_config_file, "/w.yml");
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

TEST(CliErrors, WebConfigFileNeedsAValueAndNoReport) {
  EXPECT_EQ(cli_error({"--web.config.file"}),
            "--web.config.file: missing value, want --web.config.file=PATH");
  EXPECT_THAT(cli_error({"--web.config.file", "--check-config"}),
              StartsWith("--web.config.file: missing value"));
  EXPECT_EQ(cli_error({"report", "--period=2026-10", "--web.config.file=/w.yml"}),
            "--web.config.file: not with the report command");
  EXPECT_THAT(cli_error({"--web.configfile=/w.yml"}), StartsWith("--web.configfile: unknown flag"));
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
  EXPECT_THAT(cli_error({"run"}),
              StartsWith("run: unexpected argument (the commands are report and backfill"));
  EXPECT_THAT(cli_error({"--"}), StartsWith("--: unknown flag"));
  EXPECT_THAT(cli_error({""}), StartsWith(": unexpected argument"));
  EXPECT_THAT(cli_error({"-"}), StartsWith("-: unexpected argument"));
  EXPECT_THAT(cli_error({"--a\nb"}), StartsWith("\"--a\\x0ab\": unknown flag"));
}

TEST(CliErrors, UnknownFlagsAndArgumentsWithReport) {
  EXPECT_THAT(cli_error({"report", "extra"}), StartsWith("extra: unexpected argument"));
  EXPECT_EQ(cli_error({"report", "--period=2026-10", "report"}), "report: given twice");
}

// --- the report command ----------------------------------------------------------------------

Period month_of(int y, unsigned m) {
  using namespace std::chrono;
  return month_containing(Seconds{sys_days{year{y} / month{m} / 1}.time_since_epoch()});
}

TEST(CliReport, PeriodAndDefaults) {
  const CliOptions options = parse_cli({"report", "--config.file=/c.yml", "--period=2026-10"});
  EXPECT_EQ(options.command, Command::report);
  EXPECT_EQ(options.config_file, "/c.yml");
  EXPECT_EQ(options.report.period, month_of(2026, 10));
  EXPECT_EQ(options.report.period_text, "2026-10");
  EXPECT_TRUE(options.report.accounts.empty());
  EXPECT_EQ(options.report.formats, (std::vector<std::string>{"csv", "json", "html", "focus"}));
  EXPECT_EQ(options.report.output, ".");
  // The command word may come anywhere.
  EXPECT_EQ(parse_cli({"--period", "2026-10", "report"}).command, Command::report);
}

TEST(CliReport, DayRangesAccountsFormatsAndOutput) {
  using namespace std::chrono;
  const CliOptions options = parse_cli(
      {"report", "--period=2026-11-01..2026-11-07", "--account=acc-1", "--account", "acc-2,acc-3",
       "--format=json,html", "--format", "csv", "--output=/srv/out", "--log.level=debug"});
  EXPECT_EQ(options.report.period, days(year{2026} / 11 / 1, year{2026} / 11 / 7));
  EXPECT_EQ(options.report.accounts, (std::vector<std::string>{"acc-1", "acc-2", "acc-3"}));
  EXPECT_EQ(options.report.formats, (std::vector<std::string>{"json", "html", "csv"}));
  EXPECT_EQ(options.report.output, "/srv/out");
  EXPECT_EQ(options.log_level, log::Level::debug);
}

TEST(CliReport, StandardOutputTakesOneFormatCsvByDefault) {
  EXPECT_EQ(parse_cli({"report", "--period=2026-10", "--output=-"}).report.formats,
            std::vector<std::string>{"csv"});
  EXPECT_EQ(parse_cli({"report", "--period=2026-10", "--output=-", "--format=json"}).report.formats,
            std::vector<std::string>{"json"});
  EXPECT_EQ(cli_error({"report", "--period=2026-10", "--output=-", "--format=csv,json"}),
            "--format: --output=- writes one format, got 2");
}

TEST(CliReport, Errors) {
  EXPECT_EQ(cli_error({"report"}),
            "--period: required by the report command, e.g. --period=2026-10");
  EXPECT_THAT(cli_error({"report", "--period=2026-13"}),
              StartsWith("--period: want YYYY-MM, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD"));
  EXPECT_THAT(cli_error({"report", "--period=2026-11-07..2026-11-01"}),
              HasSubstr("the last day is before the first"));
  EXPECT_THAT(cli_error({"report", "--period=last-month"}), StartsWith("--period: want"));
  EXPECT_EQ(cli_error({"report", "--period=2026-10", "--format=pdf"}),
            "--format: unknown format \"pdf\" (want csv, json, html or focus)");
  EXPECT_EQ(cli_error({"report", "--period=2026-10", "--format=csv,csv"}),
            "--format: duplicate \"csv\"");
  EXPECT_EQ(cli_error({"report", "--period=2026-10", "--account=a,,b"}),
            "--account: empty item in \"a,,b\"");
  EXPECT_EQ(cli_error({"report", "--period=2026-10", "--output="}), "--output: empty value");
  EXPECT_EQ(cli_error({"report", "--period=2026-10", "--check-config"}),
            "--check-config: not with the report command");
  EXPECT_EQ(cli_error({"report", "--period=2026-10", "--web.listen-address=:1"}),
            "--web.listen-address: not with the report command");
  EXPECT_THAT(cli_error({"--period=2026-10"}),
              StartsWith("--period: only with the report command"));
  EXPECT_THAT(cli_error({"--output=-"}), StartsWith("--output: only with the report command"));
}

TEST(CliReport, HelpAndVersionStillWin) {
  EXPECT_EQ(parse_cli({"report", "--help"}).command, Command::help);
  EXPECT_EQ(parse_cli({"report", "--version"}).command, Command::version);
  EXPECT_EQ(parse_cli({"--period=2026-10", "-h"}).command, Command::help);
}

TEST(CliErrors, CliErrorIsAnInvalidArgument) {
  EXPECT_THROW(parse_cli({"--bogus"}), std::invalid_argument);
}

TEST(CliShard, IndexSlashCount) {
  EXPECT_FALSE(parse_cli({}).shard.has_value());
  EXPECT_EQ(parse_cli({"--shard=1/2"}).shard, (ShardSpec{1, 2}));
  EXPECT_EQ(parse_cli({"--shard", "0/3"}).shard, (ShardSpec{0, 3}));
  EXPECT_EQ(parse_cli({"--shard=0/1"}).shard, (ShardSpec{0, 1}));
  EXPECT_EQ(parse_cli({"--check-config", "--shard=2/3"}).shard, (ShardSpec{2, 3}));
}

TEST(CliShard, ErrorsNameTheFlag) {
  EXPECT_EQ(cli_error({"--shard=2/2"}),
            "--shard: INDEX must be less than COUNT (shards are numbered from 0), got \"2/2\"");
  EXPECT_EQ(cli_error({"--shard=0/0"}), "--shard: COUNT must be at least 1, got \"0/0\"");
  EXPECT_EQ(cli_error({"--shard=1"}), "--shard: want INDEX/COUNT, e.g. 0/2, got \"1\"");
  EXPECT_THAT(cli_error({"--shard=a/2"}),
              StartsWith("--shard: INDEX is not a non-negative integer"));
  EXPECT_THAT(cli_error({"--shard=1/b"}),
              StartsWith("--shard: COUNT is not a non-negative integer"));
  EXPECT_EQ(cli_error({"--shard="}), "--shard: empty value");
  // The on-demand report covers what it is asked for; shards divide the daemons' work.
  EXPECT_EQ(cli_error({"report", "--period=2026-10", "--shard=0/2"}),
            "--shard: not with the report command");
}

TEST(CliUsage, DocumentsEveryFlagWithItsDefault) {
  const std::string usage = usage_text();
  for (const char* text : {"usage: scalr-usage-exporter",
                           "--config.file=PATH",
                           "/etc/scalr-usage-exporter/scalr-usage-exporter.yml",
                           "--web.listen-address=ADDRESS",
                           "--web.config.file=PATH",
                           "exporter-toolkit",
                           "Without it, or empty: plain",
                           "0.0.0.0:9871",
                           "web.listen_address",
                           "--log.level=LEVEL",
                           "(default: info)",
                           "--log.format=FORMAT",
                           "(default: logfmt)",
                           "--check-config",
                           "--shard=INDEX/COUNT",
                           "FNV-1a 64-bit",
                           "poll.shard",
                           "--version",
                           "--help",
                           "-h, --help",
                           "SCALR_TOKEN",
                           "scalr-usage-exporter report --period=PERIOD",
                           "Report flags:",
                           "--period=PERIOD",
                           "YYYY-MM-DD..YYYY-MM-DD",
                           "--account=ID",
                           "--format=FORMAT",
                           "--output=PATH",
                           "standard output"}) {
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
