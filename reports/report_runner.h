#pragma once
// One report run, the same for the scheduler (daemon/report_scheduler.h) and the on-demand
// `report` command (daemon/report_command.h): list the accounts, fetch each one's usage for the
// period and for the period before, build the reports, render them and write them, atomically,
// each file named so that it sorts by period. A failing account is recorded and the others go on.
//
// The source must be the caller's own instance: sources are not thread-safe, so the daemon makes
// one for each run with the same factory as the poller's, never sharing the poller's.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/source.h"
#include "model/period.h"
#include "model/shard.h"
#include "reports/report.h"

namespace scalr_usage {

// The period a report compares with: the calendar month before for a calendar month, otherwise
// the period of the same length immediately before (the 7 days before a 7-day range).
Period previous_period(const Period& period);

// The on-demand command's --period: "YYYY-MM" (a calendar month), "YYYY-MM-DD" (one day) or
// "YYYY-MM-DD..YYYY-MM-DD" (whole days, both inclusive), all UTC; exactly the spellings
// period_key() writes. Throws std::invalid_argument saying what is wanted.
Period parse_report_period(std::string_view text);

struct ReportJob {
  Period period;
  // Only these accounts; empty: every account source.accounts(period) lists.
  std::vector<std::string> accounts;
  // Accounts whose files an earlier attempt at the same report already wrote: they count as
  // written and are neither fetched nor written again (files output only).
  std::set<std::string> already_written;
  BillingPlan plan;
  std::vector<std::string> formats;  // names from kReportFormats
  std::string schedule;              // Report::schedule: "<name>: <cron>", empty on demand
  Seconds generated_at;
  // Only the accounts of this shard, whether listed by the source or given in `accounts`: a
  // sharded daemon's schedules write the reports of its own accounts only.
  ShardSpec shard{};
  // The `chargeback:` rules the reports allocate by; the default is off (nothing about chargeback
  // in any format).
  ChargebackRules chargeback{};
};

// Where a run's output goes: files in `directory`, or, when `stream` is set, one document per
// format on the stream.
struct ReportOutput {
  // One file per account and format, report_file_name(account, period_key, format); created
  // with mode 0750 (and its missing parents) when missing.
  std::filesystem::path directory;
  // Every account in one document, in one format (the job must have exactly one), written only
  // when every account succeeded so that a pipe never gets a partial report.
  std::ostream* stream = nullptr;
};

struct ReportProgress {
  std::size_t done = 0;      // fetches finished
  std::size_t total = 0;     // fetches in all: two per account (the period and the one before)
  std::string_view account;  // the account being fetched now
};
using ProgressCallback = std::function<void(const ReportProgress&)>;

struct AccountResult {
  std::string account_id;
  std::vector<std::filesystem::path> files;  // written by this run
  bool skipped = false;                      // in ReportJob::already_written
  std::string error;                         // empty when all of the account's output was written
  // The account's report as built by this run (what a delivery summarises); null when skipped or
  // when its usage could not be fetched or built.
  std::shared_ptr<const AccountReport> report = nullptr;
};

struct ReportRunResult {
  std::string period_key;
  // A failure of the whole run (the directory cannot be created, the accounts cannot be listed,
  // the stream cannot be written); empty otherwise.
  std::string error;
  bool cancelled = false;               // stop was requested; the rest was not attempted
  std::vector<AccountResult> accounts;  // in id order

  // Nothing failed, nothing was cancelled: every account's output is complete.
  bool ok() const;
  // The accounts whose output is complete (written now or before).
  std::set<std::string> written_accounts() const;
};

ReportRunResult run_report(UsageSource& source, const ReportJob& job, const ReportOutput& output,
                           std::stop_token stop, const ProgressCallback& progress = {});

// Creates dir and its missing parents with mode 0750 (narrowed by the umask, never widened);
// an existing directory is fine. Throws std::system_error naming the directory, e.g. when a
// parent is a regular file.
void ensure_report_directory(const std::filesystem::path& dir);

// Retention in one directory of reports: for each account and format, keeps the `keep` newest
// periods (by file name, which sorts by period) and removes the older files. Files not named by
// report_file_name, hidden files and anything but regular files are left alone. Returns the
// removed paths; throws std::filesystem::filesystem_error.
std::vector<std::filesystem::path> remove_old_reports(const std::filesystem::path& dir,
                                                      std::size_t keep);

}  // namespace scalr_usage
