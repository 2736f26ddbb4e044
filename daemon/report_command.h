#pragma once
// The `report` command: the billing reports of one period, on demand, from the configured source
// through the same runner as the schedules (reports/report_runner.h), then an exit status.

#include <cstdio>
#include <functional>
#include <memory>
#include <ostream>
#include <stop_token>

#include "collectors/source.h"
#include "daemon/cli.h"
#include "daemon/config_file.h"

namespace scalr_usage {

struct ReportCommandIo {
  // The document with --output=-; otherwise the path of every file written, one per line.
  std::ostream& out;
  std::FILE* err;  // errors, and the progress line when show_progress
  // Progress on one line rewritten in place: only for a terminal, never into a pipe or a log.
  bool show_progress = false;
};

// Returns 0 when every account's reports were written, 1 otherwise (each failure is printed on
// err, one line per account).
int run_report_command(const ReportOptions& options, const Config& config,
                       const std::function<std::unique_ptr<UsageSource>()>& make_source,
                       const ReportCommandIo& io, std::stop_token stop);

}  // namespace scalr_usage
