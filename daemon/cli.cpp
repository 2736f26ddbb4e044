#include "daemon/cli.h"

#include <algorithm>
#include <array>
#include <functional>
#include <string_view>

#include "config/config.h"
#include "config/duration.h"

namespace scalr_usage {

namespace {

using Command = CliOptions::Command;

// One flag, described once: parse_cli() and usage_text() both read this table, so the help
// cannot drift from what is accepted.
struct Flag {
  std::string_view name;
  std::string_view short_name;   // empty when there is none
  std::string_view placeholder;  // empty for a switch, which takes no value
  std::string_view help;
  std::string default_text;  // empty when there is nothing to show
  std::function<void(CliOptions&, const std::string&)> apply;
};

// Command only ever moves up (run < check_config < version < help), so `--check-config --help`
// prints help whatever the order of the flags.
void request(CliOptions& options, Command command) {
  options.command = std::max(options.command, command);
}

const std::array<Flag, 7>& flags() {
  static const std::array<Flag, 7> table{{
      {"--config.file", "", "PATH", "Path to the YAML configuration file.",
       CliOptions{}.config_file,
       [](CliOptions& options, const std::string& value) { options.config_file = value; }},
      {"--web.listen-address", "", "ADDRESS",
       "Address to serve metrics on: HOST:PORT, [IPv6]:PORT or :PORT.",
       "web.listen_address from the configuration file, else " + WebConfig{}.listen_address,
       [](CliOptions& options, const std::string& value) {
         validate_listen_address(value);
         options.listen_address = value;
       }},
      {"--log.level", "", "LEVEL",
       "Only log messages of this level or above: debug, info, warn, error.", "info",
       [](CliOptions& options, const std::string& value) {
         options.log_level = log::parse_level(value);
       }},
      {"--log.format", "", "FORMAT", "Log line format: logfmt or json.", "logfmt",
       [](CliOptions& options, const std::string& value) {
         options.log_format = log::parse_format(value);
       }},
      {"--check-config", "", "",
       "Validate the configuration file (and read the token) then exit: 0 if valid, 1 if not.", "",
       [](CliOptions& options, const std::string&) { request(options, Command::check_config); }},
      {"--version", "", "", "Print the version and exit.", "",
       [](CliOptions& options, const std::string&) { request(options, Command::version); }},
      {"--help", "-h", "", "Show this help and exit.", "",
       [](CliOptions& options, const std::string&) { request(options, Command::help); }},
  }};
  return table;
}

// Command-line text as typed, unless it would break the one-line message.
std::string shown(std::string_view text) {
  const bool plain = std::none_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '"';
  });
  return plain ? std::string(text) : quote_for_message(text);
}

[[noreturn]] void fail(std::string_view flag, std::string_view message) {
  throw CliError(shown(flag) + ": " + std::string(message));
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

CliOptions parse_cli(const std::vector<std::string>& args) {
  CliOptions options;
  for (std::size_t index = 0; index < args.size(); ++index) {
    const std::string& arg = args[index];
    const std::string_view name = std::string_view(arg).substr(0, arg.find('='));
    const auto flag = std::find_if(flags().begin(), flags().end(), [&](const Flag& known) {
      return known.name == name || (!known.short_name.empty() && known.short_name == name);
    });
    if (flag == flags().end()) {
      if (name.rfind("--", 0) == 0) fail(name, "unknown flag");
      if (name.size() > 1 && name.front() == '-') {
        fail(name, "unknown flag (long flags take two dashes, e.g. --config.file)");
      }
      fail(arg, "unexpected argument (this program takes only flags)");
    }

    const bool inline_value = arg.size() > name.size();
    std::string value;
    if (flag->placeholder.empty()) {
      if (inline_value) fail(flag->name, "takes no value");
    } else if (inline_value) {
      value = arg.substr(name.size() + 1);
    } else {
      // A following flag is not a value: `--config.file --check-config` lost its path.
      if (index + 1 == args.size() || args[index + 1].rfind("--", 0) == 0) {
        fail(flag->name, "missing value, want " + std::string(flag->name) + "=" +
                             std::string(flag->placeholder));
      }
      value = args[++index];
    }
    if (!flag->placeholder.empty() && value.empty()) fail(flag->name, "empty value");

    try {
      flag->apply(options, value);
    } catch (const std::invalid_argument& error) {
      fail(flag->name, error.what());
    }
  }
  return options;
}

std::string usage_text() {
  std::string text =
      "usage: scalr-usage-exporter [<flags>]\n"
      "\n"
      "Prometheus exporter for Scalr billing usage: polls the Scalr API and serves\n"
      "the result as metrics. The API token is read from scalr.token_file in the\n"
      "configuration file, or else from the SCALR_TOKEN environment variable.\n"
      "\n"
      "Flags:\n";
  for (const Flag& flag : flags()) {
    text += flag.short_name.empty() ? "      " : "  " + std::string(flag.short_name) + ", ";
    text += flag.name;
    if (!flag.placeholder.empty()) text += "=" + std::string(flag.placeholder);
    text += "\n";
    std::string help(flag.help);
    if (!flag.default_text.empty()) help += " (default: " + flag.default_text + ")";
    append_wrapped(text, help, 10, 80);
  }
  return text;
}

}  // namespace scalr_usage
