#pragma once
// The one model of usage data. Every source (Scalr API, PostgreSQL) produces it; the metrics and
// the reports only read it. Values are plain and immutable once built: a finished AccountUsage is
// shared as std::shared_ptr<const AccountUsage> between the poller, the scrape path and the report
// writers.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/period.h"

namespace scalr_usage {

struct UsageCounts {
  std::uint64_t runs = 0;
  std::uint64_t run_seconds = 0;

  UsageCounts& operator+=(const UsageCounts& other) {
    runs += other.runs;
    run_seconds += other.run_seconds;
    return *this;
  }
  friend bool operator==(const UsageCounts&, const UsageCounts&) = default;
};

struct EnvironmentUsage {
  std::string id;
  std::string name;  // empty when the source does not know it
  UsageCounts usage;
};

struct WorkspaceUsage {
  std::string id;
  std::string name;  // empty when the source does not know it
  // The Scalr API's workspace breakdown does not say which environment a workspace belongs to;
  // the PostgreSQL source does. Unknown stays nullopt, and the metrics then omit those labels.
  std::optional<std::string> environment_id;
  std::optional<std::string> environment_name;
  UsageCounts usage;
};

struct DailyUsage {
  std::chrono::year_month_day date;
  UsageCounts usage;
};

// The usage of one account over one period, as one consistent unit: a source either returns all
// of it or throws, so a half-updated account is never exposed.
struct AccountUsage {
  std::string account_id;
  std::string account_name;  // empty when the source does not know it
  Period period;
  UsageCounts total;
  std::vector<EnvironmentUsage> environments;  // sorted by id
  std::vector<WorkspaceUsage> workspaces;      // sorted by id
  std::vector<DailyUsage> daily;               // sorted by date; days without runs may be absent
};

}  // namespace scalr_usage
