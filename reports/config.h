#pragma once
// The `reports:` and `billing:` sections: when reports are written, where, and the plan they bill
// against.

#include <filesystem>
#include <string>
#include <vector>

#include "config/node.h"
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

// `reports:`. Without the section there are no schedules; the on-demand command still works.
struct ReportsConfig {
  std::filesystem::path output_dir = "/var/lib/scalr-usage-exporter/reports";  // absolute
  std::vector<ReportSchedule> schedules;
  // Reports kept per schedule, account and format: the newest `keep` periods stay.
  int keep = 24;
};

// Each throws ConfigError naming the key.
void parse_reports_section(const ConfigNode& section, ReportsConfig& reports);
void parse_billing_section(const ConfigNode& section, BillingPlan& billing);

}  // namespace scalr_usage
