#pragma once
// Command-line flags, in the style of Prometheus exporters (--config.file=PATH,
// --web.listen-address=...).

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "backfill/range.h"  // kDefaultBackfillMaxDays
#include "model/period.h"
#include "model/shard.h"
#include "util/log.h"

namespace scalr_usage {

class CliError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The `report` command's flags (README.md, "On demand").
struct ReportOptions {
  Period period;                      // --period, required
  std::string period_text;            // as given, for messages
  std::vector<std::string> accounts;  // --account; empty: every account of the source
  // --format; every format by default, csv alone with --output=-.
  std::vector<std::string> formats;
  std::string output = ".";  // --output: a directory, or "-" for standard output
};

// The `backfill` command's flags (README.md, "Backfilling history").
struct BackfillOptions {
  std::chrono::year_month_day from;        // --from, required
  std::chrono::year_month_day to;          // --to, required, inclusive
  std::vector<std::string> accounts;       // --account; empty: every account of the source
  std::string output;                      // --output, required: a file, or "-" for standard output
  int max_days = kDefaultBackfillMaxDays;  // --max-days
  // --label NAME=VALUE: added to every sample, in the order given.
  std::vector<std::pair<std::string, std::string>> labels;
  bool from_given = false;
  bool to_given = false;
};

struct CliOptions {
  enum class Command { run, check_config, report, backfill, version, help };
  Command command = Command::run;
  std::string config_file = "/etc/scalr-usage-exporter/scalr-usage-exporter.yml";
  std::optional<std::string> listen_address;  // overrides web.listen_address
  // --web.config.file: TLS and basic authentication (web/web_config.h); empty: neither.
  std::string web_config_file;
  log::Level log_level = log::Level::info;
  log::Format log_format = log::Format::logfmt;
  // --shard=INDEX/COUNT; overrides poll.shard, also on every SIGHUP reload.
  std::optional<ShardSpec> shard;
  ReportOptions report;      // with Command::report
  BackfillOptions backfill;  // with Command::backfill
};

// args excludes argv[0]. Accepts --flag=value and --flag value, and a command word (`report`,
// `backfill`) anywhere among them. Throws CliError naming the flag.
CliOptions parse_cli(const std::vector<std::string>& args);
std::string usage_text();

}  // namespace scalr_usage
