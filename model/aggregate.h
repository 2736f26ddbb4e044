#pragma once
// Builds an AccountUsage from per-workspace, per-day rows: the shape every row-oriented source
// (the PostgreSQL source today) reads. The account, environment, workspace and daily figures are
// all sums of the same rows, so they always add up exactly.

#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "model/period.h"
#include "model/usage.h"

namespace scalr_usage {

struct WorkspaceDayRow {
  std::string account_id;
  std::string environment_id;
  std::string environment_name;  // empty when unknown
  std::string workspace_id;
  std::string workspace_name;  // empty when unknown
  std::chrono::year_month_day date;
  std::uint64_t runs = 0;
  std::uint64_t run_seconds = 0;
};

// The usage of account_id over period from rows; rows of other accounts are ignored, so the caller
// may pass everything it read. No rows gives an AccountUsage with zeros and empty breakdowns.
//
// Names can change within a period (a workspace renamed mid-month), and a row may lack one, so
// each environment and workspace takes its name from its latest row (by date) that has one; a
// workspace's environment likewise comes from its latest row. Ties go to the smaller value, so the
// result never depends on the order of the rows.
AccountUsage aggregate_account(const std::string& account_id, const Period& period,
                               std::span<const WorkspaceDayRow> rows);

}  // namespace scalr_usage
