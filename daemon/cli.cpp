#include "daemon/cli.h"

#include <algorithm>
#include <array>
#include <functional>
#include <string_view>

#include "config/address.h"  // validate_listen_address
#include "config/duration.h"
#include "daemon/backfill_flags.h"
#include "reports/render.h"         // kReportFormats
#include "reports/report_runner.h"  // parse_report_period
#include "util/text.h"              // quote_for_message, quote_if_needed
#include "web/listener_config.h"    // the default web.listen_address

namespace scalr_usage {

namespace {

using Command = CliOptions::Command;

constexpr std::string_view kReportCommand = "report";
constexpr std::string_view kBackfillCommand = "backfill";

// Which commands a flag belongs to: a set of bits (in a namespace of their own, so `daemon` is
// Scope::daemon and never the C library's function).
namespace scope {
enum Bits : unsigned {
  daemon = 1,
  report = 2,
  backfill = 4,
  commands = report | backfill,  // the flags the report and backfill commands share
  any = daemon | report | backfill,
};
}  // namespace scope
using Scope = scope::Bits;

// One flag, described once: parse_cli() and usage_text() both read this table, so the help
// cannot drift from what is accepted.
struct Flag {
  std::string_view name;
  std::string_view short_name;   // empty when there is none
  std::string_view placeholder;  // empty for a switch, which takes no value
  std::string_view help;
  std::string default_text;  // empty when there is nothing to show
  Scope scope;
  std::function<void(CliOptions&, const std::string&)> apply;
  bool empty_allowed = false;  // an empty value is meaningful (e.g. "none")
};

// Command only ever moves up (run < check_config < version < help), so `--check-config --help`
// prints help whatever the order of the flags. `report` is a word, not a flag (see parse_cli).
void request(CliOptions& options, Command command) {
  options.command = std::max(options.command, command);
}

// A repeatable flag's values: every use adds its comma-separated items.
void add_items(std::vector<std::string>& into, const std::string& value,
               const std::function<void(const std::string&)>& check) {
  std::string_view rest = value;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string item(rest.substr(0, comma));
    if (item.empty()) throw std::invalid_argument("empty item in " + quote_for_message(value));
    check(item);
    if (std::find(into.begin(), into.end(), item) != into.end()) {
      throw std::invalid_argument("duplicate " + quote_for_message(item));
    }
    into.push_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
}

const std::array<Flag, 17>& flags() {
  // Built from the table of report formats, so the help names every one; Flag::help is a view.
  static const std::string format_help =
      "Report format: " + report_format_choices() +
      "; repeat the flag or separate them with commas for several.";
  static const std::array<Flag, 17> table{{
      {"--config.file", "", "PATH", "Path to the YAML configuration file.",
       CliOptions{}.config_file, Scope::any,
       [](CliOptions& options, const std::string& value) { options.config_file = value; }},
      {"--web.listen-address", "", "ADDRESS",
       "Address to serve metrics on: HOST:PORT, [IPv6]:PORT or :PORT.",
       "web.listen_address from the configuration file, else " + WebConfig{}.listen_address,
       Scope::daemon,
       [](CliOptions& options, const std::string& value) {
         validate_listen_address(value);
         options.listen_address = value;
       }},
      {"--web.config.file", "", "PATH",
       "Path to a web configuration file in the Prometheus exporter-toolkit format, for TLS "
       "and basic authentication. Without it, or empty: plain HTTP, no authentication.",
       "", Scope::daemon,
       [](CliOptions& options, const std::string& value) { options.web_config_file = value; },
       /*empty_allowed=*/true},
      {"--log.level", "", "LEVEL",
       "Only log messages of this level or above: debug, info, warn, error.", "info", Scope::any,
       [](CliOptions& options, const std::string& value) {
         options.log_level = log::parse_level(value);
       }},
      {"--log.format", "", "FORMAT", "Log line format: logfmt or json.", "logfmt", Scope::any,
       [](CliOptions& options, const std::string& value) {
         options.log_format = log::parse_format(value);
       }},
      {"--shard", "", "INDEX/COUNT",
       "Poll and report only the accounts of shard INDEX out of COUNT: those whose FNV-1a 64-bit "
       "hash of the account id, modulo COUNT, is INDEX. Run COUNT exporters with the same "
       "configuration and INDEX 0 to COUNT-1 to split the accounts between them. Overrides "
       "poll.shard of the configuration file.",
       "poll.shard from the configuration file, else 0/1: every account", Scope::daemon,
       [](CliOptions& options, const std::string& value) { options.shard = parse_shard(value); }},
      {"--check-config", "", "",
       "Validate the configuration file (and read the token) and the web configuration file, "
       "then exit: 0 if valid, 1 if not.",
       "", Scope::daemon,
       [](CliOptions& options, const std::string&) { request(options, Command::check_config); }},
      {"--version", "", "", "Print the version and exit.", "", Scope::any,
       [](CliOptions& options, const std::string&) { request(options, Command::version); }},
      {"--help", "-h", "", "Show this help and exit.", "", Scope::any,
       [](CliOptions& options, const std::string&) { request(options, Command::help); }},
      {"--period", "", "PERIOD",
       "The period to report on, UTC: a month YYYY-MM, a day YYYY-MM-DD, or days "
       "YYYY-MM-DD..YYYY-MM-DD (both inclusive). Required.",
       "", Scope::report,
       [](CliOptions& options, const std::string& value) {
         options.report.period = parse_report_period(value);
         options.report.period_text = value;
       }},
      {"--account", "", "ID",
       "Only this account; repeat the flag or separate IDs with commas for several.",
       "every account of the source", Scope::commands,
       [](CliOptions& options, const std::string& value) {
         add_items(options.report.accounts, value, [](const std::string&) {});
         options.backfill.accounts = options.report.accounts;
       }},
      {"--format", "", "FORMAT", format_help,
       "all " + std::string(kReportFormatCount) + "; csv with --output=-", Scope::report,
       [](CliOptions& options, const std::string& value) {
         add_items(options.report.formats, value, [](const std::string& format) {
           if (std::find(kReportFormats.begin(), kReportFormats.end(), format) ==
               kReportFormats.end()) {
             throw std::invalid_argument("unknown format " + quote_for_message(format) + " (want " +
                                         report_format_choices() + ")");
           }
         });
       }},
      {"--output", "", "PATH",
       "report: the directory to write the report files to (created if missing), or - for "
       "standard output: then one format, every account in one document. backfill: the "
       "OpenMetrics file to write (replaced whole, only when complete), or - for standard "
       "output (written at the end). Required by backfill.",
       "report: .", Scope::commands,
       [](CliOptions& options, const std::string& value) {
         options.report.output = value;
         options.backfill.output = value;
       }},
      {"--from", "", "DAY", "First UTC day to backfill, YYYY-MM-DD. Required.", "", Scope::backfill,
       [](CliOptions& options, const std::string& value) {
         options.backfill.from = parse_backfill_day(value);
         options.backfill.from_given = true;
       }},
      {"--to", "", "DAY",
       "Last UTC day to backfill (inclusive), YYYY-MM-DD; it must have ended 3 hours ago. "
       "Required.",
       "", Scope::backfill,
       [](CliOptions& options, const std::string& value) {
         options.backfill.to = parse_backfill_day(value);
         options.backfill.to_given = true;
       }},
      {"--max-days", "", "N", "Refuse a range of more days than this.",
       std::to_string(BackfillOptions{}.max_days), Scope::backfill,
       [](CliOptions& options, const std::string& value) {
         options.backfill.max_days = parse_backfill_max_days(value);
       }},
      {"--label", "", "NAME=VALUE",
       "Add this label to every backfilled sample, e.g. --label=job=scalr "
       "--label=instance=host:9871 to match the labels Prometheus gives the live scrapes; repeat "
       "the flag for several.",
       "", Scope::backfill,
       [](CliOptions& options, const std::string& value) {
         add_backfill_label(options.backfill, value);
       }},
  }};
  return table;
}

[[noreturn]] void fail(std::string_view flag, std::string_view message) {
  throw CliError(quote_if_needed(flag) + ": " + std::string(message));
}

// Appends `text` word by word, breaking lines before `width` columns, each line indented.
void append_wrapped(std::string& out, std::string_view text, std::size_t indent,
                    std::size_t width) {
  out.append(indent, ' ');
  std::size_t column = indent;
  while (!text.empty()) {
    const std::size_t word_end = std::min(text.find(' '), text.size());
    const std::string_view word = text.substr(0, word_end);
    if (column > indent && column + 1 + word.size() > width) {
      out += '\n';
      out.append(indent, ' ');
      column = indent;
    } else if (column > indent) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    text.remove_prefix(std::min(word_end + 1, text.size()));
  }
  out += '\n';
}

}  // namespace

namespace {

const Flag& find_flag(const std::string& arg, std::string_view name) {
  const auto flag = std::find_if(flags().begin(), flags().end(), [&](const Flag& known) {
    return known.name == name || (!known.short_name.empty() && known.short_name == name);
  });
  if (flag != flags().end()) return *flag;
  if (name.rfind("--", 0) == 0) fail(name, "unknown flag");
  if (name.size() > 1 && name.front() == '-') {
    fail(name, "unknown flag (long flags take two dashes, e.g. --config.file)");
  }
  fail(arg,
       "unexpected argument (the commands are report and backfill; everything else is a flag)");
}

// The value of the flag at args[index], inline (--flag=value) or the next argument, which index
// then moves past.
std::string flag_value(const Flag& flag, const std::vector<std::string>& args, std::size_t& index,
                       std::string_view name) {
  const std::string& arg = args[index];
  const bool inline_value = arg.size() > name.size();
  std::string value;
  if (flag.placeholder.empty()) {
    if (inline_value) fail(flag.name, "takes no value");
  } else if (inline_value) {
    value = arg.substr(name.size() + 1);
  } else {
    // A following flag is not a value: `--config.file --check-config` lost its path.
    if (index + 1 == args.size() || args[index + 1].rfind("--", 0) == 0) {
      fail(flag.name,
           "missing value, want " + std::string(flag.name) + "=" + std::string(flag.placeholder));
    }
    value = args[++index];
  }
  if (!flag.placeholder.empty() && value.empty() && !flag.empty_allowed) {
    fail(flag.name, "empty value");
  }
  return value;
}

// The report command's own rules, once every flag is known.
void finish_report_options(ReportOptions& report_options) {
  if (report_options.period_text.empty()) {
    fail("--period", "required by the report command, e.g. --period=2026-10");
  }
  if (report_options.output == "-") {
    if (report_options.formats.size() > 1) {
      fail("--format",
           "--output=- writes one format, got " + std::to_string(report_options.formats.size()));
    }
    if (report_options.formats.empty()) report_options.formats = {"csv"};
  } else if (report_options.formats.empty()) {
    report_options.formats.assign(kReportFormats.begin(), kReportFormats.end());
  }
}

// The backfill command's own rules, once every flag is known. The range itself is checked when
// the command runs (backfill/range.h): "the last 3 hours" depends on the time.
void finish_backfill_options(const BackfillOptions& backfill) {
  if (!backfill.from_given)
    fail("--from", "required by the backfill command, e.g. --from=2026-10-01");
  if (!backfill.to_given) fail("--to", "required by the backfill command, e.g. --to=2026-10-31");
  if (backfill.output.empty()) {
    fail("--output", "required by the backfill command: a file, or - for standard output");
  }
}

// The command a word names, if it is one.
std::optional<Command> command_word(std::string_view arg) {
  if (arg == kReportCommand) return Command::report;
  if (arg == kBackfillCommand) return Command::backfill;
  return std::nullopt;
}

std::string_view scope_command_name(Scope scope) {
  return scope == Scope::backfill ? kBackfillCommand : kReportCommand;
}

// Every flag used belongs to the command on the line (none: the daemon).
void check_scopes(const std::vector<const Flag*>& used, std::optional<Command> command) {
  const Scope scope = !command                      ? Scope::daemon
                      : *command == Command::report ? Scope::report
                                                    : Scope::backfill;
  for (const Flag* flag : used) {
    if ((flag->scope & scope) != 0) continue;
    if (scope == Scope::daemon) {
      const Scope only = (flag->scope & Scope::report) != 0 ? Scope::report : Scope::backfill;
      const std::string_view word = scope_command_name(only);
      const std::string both = flag->scope == Scope::commands ? " (or backfill)" : "";
      fail(flag->name, "only with the " + std::string(word) + " command" + both + ", e.g. " +
                           "scalr-usage-exporter " + std::string(word) + " " +
                           std::string(flag->name) + "=...");
    }
    fail(flag->name, "not with the " + std::string(scope_command_name(scope)) + " command");
  }
}

}  // namespace

CliOptions parse_cli(const std::vector<std::string>& args) {
  CliOptions options;
  std::optional<Command> command;
  std::vector<const Flag*> used;
  for (std::size_t index = 0; index < args.size(); ++index) {
    const std::string& arg = args[index];
    if (const std::optional<Command> word = command_word(arg)) {
      if (command == word) fail(arg, "given twice");
      if (command) fail(arg, "one command at a time");
      command = word;
      continue;
    }
    const std::string_view name = std::string_view(arg).substr(0, arg.find('='));
    const Flag& flag = find_flag(arg, name);
    used.push_back(&flag);
    const std::string value = flag_value(flag, args, index, name);
    try {
      flag.apply(options, value);
    } catch (const std::invalid_argument& error) {
      fail(flag.name, error.what());
    }
  }
  // --help and --version answer whatever else is on the line.
  if (options.command == Command::help || options.command == Command::version) return options;
  check_scopes(used, command);
  if (!command) return options;
  if (*command == Command::report) {
    finish_report_options(options.report);
  } else {
    finish_backfill_options(options.backfill);
  }
  options.command = *command;
  return options;
}

std::string usage_text() {
  std::string text =
      "usage: scalr-usage-exporter [<flags>]\n"
      "       scalr-usage-exporter report --period=PERIOD [<flags>] [<report flags>]\n"
      "       scalr-usage-exporter backfill --from=DAY --to=DAY --output=FILE [<flags>]\n"
      "\n"
      "Prometheus exporter for Scalr billing usage: polls the Scalr API (or a\n"
      "PostgreSQL database) and serves the result as metrics, and writes the billing\n"
      "reports scheduled under reports: in the configuration. The API token is read\n"
      "from scalr.token_file in the configuration file, or else from the SCALR_TOKEN\n"
      "environment variable.\n"
      "\n"
      "The report command writes the billing summary reports of one period from the\n"
      "same source, the same files a schedule writes, and exits: 0 when every\n"
      "account's reports were written, 1 when any failed. Example:\n"
      "  scalr-usage-exporter report --config.file=F --period=2026-10 --output=/tmp/r\n"
      "\n"
      "The backfill command writes the usage history of past days from the same\n"
      "source as OpenMetrics, for promtool tsdb create-blocks-from openmetrics: every\n"
      "UTC day's month-to-date values at 23:59:59, the series the exporter serves.\n"
      "It exits 0 when the file is complete; 1 when the source or the output failed\n"
      "and 2 for a refused range, both without writing anything. Example:\n"
      "  scalr-usage-exporter backfill --config.file=F --from=2026-01-01 \\\n"
      "      --to=2026-10-31 --output=history.om\n";
  // A flag is listed under each command it belongs to; the daemon's and everyone's first.
  for (const Scope section : {Scope::daemon, Scope::report, Scope::backfill}) {
    text += section == Scope::daemon   ? "\nFlags:\n"
            : section == Scope::report ? "\nReport flags:\n"
                                       : "\nBackfill flags:\n";
    for (const Flag& flag : flags()) {
      const bool listed = section == Scope::daemon
                              ? (flag.scope & Scope::daemon) != 0
                              : (flag.scope & section) != 0 && (flag.scope & Scope::daemon) == 0;
      if (!listed) continue;
      text += flag.short_name.empty() ? "      " : "  " + std::string(flag.short_name) + ", ";
      text += flag.name;
      if (!flag.placeholder.empty()) text += "=" + std::string(flag.placeholder);
      text += "\n";
      std::string help(flag.help);
      if (!flag.default_text.empty()) help += " (default: " + flag.default_text + ")";
      append_wrapped(text, help, 10, 80);
    }
  }
  return text;
}

}  // namespace scalr_usage
