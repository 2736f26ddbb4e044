#pragma once
// History before install: the usage families of every UTC day of a range at their month-to-date
// value at the end of that day (D 23:59:59Z), from the configured source, as OpenMetrics for
// `promtool tsdb create-blocks-from openmetrics` (README.md, "Backfilling history").
//
// The samples are the live exposition's (metrics/snapshot_collector.h, write_usage_metrics), built
// from a one-account snapshot per day, so names, HELP texts and label sets cannot drift from what
// the exporter serves.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "backfill/openmetrics.h"
#include "backfill/range.h"
#include "chargeback/rules.h"
#include "collectors/source.h"

namespace scalr_usage {

struct BackfillJob {
  std::chrono::year_month_day from;
  std::chrono::year_month_day to;     // inclusive
  std::vector<std::string> accounts;  // empty: every account the source lists for the range
  // With rules (a chargeback: section), scalr_workspace_chargeback_info too, every day.
  ChargebackRules chargeback{};
};

struct BackfillProgress {
  std::string_view account;
  std::size_t account_number;  // 1-based
  std::size_t accounts;
  std::chrono::year_month_day day;
};
using BackfillProgressCallback = std::function<void(const BackfillProgress&)>;

struct BackfillSummary {
  std::size_t accounts = 0;
  std::size_t days = 0;
  std::uint64_t samples = 0;
};

// Label names every backfilled family may carry, which --label must not repeat; and the check.
// Throws BackfillError naming the label.
void check_extra_labels(const ExtraLabels& labels, const ChargebackRules& chargeback);

// Fetches every account's usage day by day (account after account, so memory holds one account's
// month, never the range) and writes the samples into spool. When `from` is not the 1st, the days
// of its month before it are fetched first (as one period) so its first values are month to date
// too. Throws BackfillError naming the
// account and the day when a fetch fails (or "interrupted" once stop is requested), and when the
// source cannot list its accounts.
BackfillSummary run_backfill(UsageSource& source, const BackfillJob& job, OpenMetricsSpool& spool,
                             std::stop_token stop, const BackfillProgressCallback& progress = {});

}  // namespace scalr_usage
