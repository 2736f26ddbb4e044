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
  // The Scalr API's usage breakdown does not say which environment a workspace belongs to; its
  // workspace listing does (enrichment), and the PostgreSQL source does. A source that cannot know
  // leaves nullopt, and the metrics then omit those labels; a source that can know but does not
  // for this workspace (deleted, enrichment failing) sets "" so every series has the same labels.
  std::optional<std::string> environment_id;
  std::optional<std::string> environment_name;
  UsageCounts usage;
  // The workspace's tag names, sorted, as the source knows them (the Scalr API's workspace listing,
  // a PostgreSQL query's workspace_tags); empty when it has none or the source does not know.
  // Chargeback rules match on them (chargeback/rules.h); no metric carries them as labels.
  // After usage, so the positional initialisers written before tags existed stay valid.
  std::vector<std::string> tags{};  // {}: positional initialisers may leave it out (-Wextra)
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
