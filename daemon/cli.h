#pragma once
// Command-line flags, in the style of Prometheus exporters (--config.file=PATH,
// --web.listen-address=...).

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/log.h"

namespace scalr_usage {

class CliError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct CliOptions {
  enum class Command { run, check_config, version, help };
  Command command = Command::run;
  std::string config_file = "/etc/scalr-usage-exporter/scalr-usage-exporter.yml";
  std::optional<std::string> listen_address;  // overrides web.listen_address
  log::Level log_level = log::Level::info;
  log::Format log_format = log::Format::logfmt;
};

// args excludes argv[0]. Accepts --flag=value and --flag value. Throws CliError naming the flag.
CliOptions parse_cli(const std::vector<std::string>& args);
std::string usage_text();

}  // namespace scalr_usage
