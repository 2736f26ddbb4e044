#pragma once
// The `reports:` and `billing:` sections: when reports are written, where, and the plan they bill
// against.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/node.h"
#include "config/secret.h"
#include "reports/cron.h"
#include "reports/report.h"          // BillingPlan
#include "reports/schedule_state.h"  // PeriodKind

namespace scalr_usage {

// One entry of reports.schedules. Not default-constructible (a CronExpression only comes from
// parsing), so a schedule always has a valid cron.
struct ReportSchedule {
  // Unique, [A-Za-z0-9_-]{1,64}: the key in the state file and the name of the schedule's
  // subdirectory of reports.output_dir, which keeps the schedules' files and retention apart.
  std::string name;
  CronExpression cron;  // 5 fields, UTC
  PeriodKind period;
  std::vector<std::string> formats;  // distinct names from kReportFormats, in the order written
};

// reports.leader_election: replicas with the same lock_key elect one writer of the scheduled
// reports, through a PostgreSQL advisory lock (leader_election/ does the connecting).
struct LeaderElectionConfig {
  // Any text of 1 to 256 bytes; the advisory lock's key is derived from it (leader_election/).
  std::string lock_key = "scalr-usage-reports";
  // The DSN's keys as written. The DSN is a secret read when the configuration is finished
  // (finish_leader_election, leader_election/config.h), which fills dsn and dsn_origin.
  std::optional<std::string> dsn_value = std::nullopt;
  std::optional<std::string> dsn_file = std::nullopt;
  std::optional<std::string> dsn_credential = std::nullopt;
  Secret dsn;              // print only redacted (pq/dsn.h)
  std::string dsn_origin;  // safe to log: "reports.leader_election.dsn", "dsn_file /x", "env X"
};

// `reports:`. Without the section there are no schedules; the on-demand command still works.
struct ReportsConfig {
  std::filesystem::path output_dir = "/var/lib/scalr-usage-exporter/reports";  // absolute
  std::vector<ReportSchedule> schedules;
  // Reports kept per schedule, account and format: the newest `keep` periods stay.
  int keep = 24;
  // Unset: this daemon writes every scheduled report itself, with the state file.
  std::optional<LeaderElectionConfig> leader_election = std::nullopt;
};

// Keys of `reports:` and of each schedule that reports/ does not own: the delivery channels
// (`webhook:`, `email:` under a schedule; `smtp:`, `delivery_retry_for` under reports), which sit
// above reports in the layers (delivery/registry/registry.h makes these hooks). Their values are
// parsed by their owners, into their own types; an unknown key is still an error.
struct ReportsSectionHooks {
  std::vector<ConfigField> fields;  // more keys of `reports:`
  // More keys of reports.schedules[index], asked once per schedule, in order.
  std::function<std::vector<ConfigField>(std::size_t index)> schedule_fields;
};

// Each throws ConfigError naming the key.
void parse_reports_section(const ConfigNode& section, ReportsConfig& reports,
                           const ReportsSectionHooks& hooks = {});
void parse_billing_section(const ConfigNode& section, BillingPlan& billing);

}  // namespace scalr_usage
