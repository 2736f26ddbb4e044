#pragma once
// A scripted UsageSource for the report tests.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "collectors/source.h"

namespace scalr_usage::test_files {

// Usage that tells the period it was fetched for: the runs are the period's length in days, plus
// 100 for a period starting on the 1st, so the current and the previous period always differ.
inline AccountUsage usage_for(const std::string& account, const Period& period) {
  using namespace std::chrono;
  const auto length = duration_cast<std::chrono::days>(period.end - period.start).count();
  const year_month_day first{floor<std::chrono::days>(period.start)};
  const UsageCounts counts{static_cast<std::uint64_t>(length) + (first.day() == day{1} ? 100u : 0u),
                           static_cast<std::uint64_t>(length) * 60};
  AccountUsage usage;
  usage.account_id = account;
  usage.period = period;
  usage.total = counts;
  usage.environments = {{"env-1", "Prod", counts}};
  usage.workspaces = {{"ws-1", "app", std::string("env-1"), std::string("Prod"), counts}};
  usage.daily = {{first, counts}};
  return usage;
}

class FakeSource final : public UsageSource {
 public:
  std::vector<std::string> accounts(const Period& period, std::stop_token) override {
    listed_periods.push_back(period);
    if (listing_error) throw *listing_error;
    return listed;
  }
  AccountUsage fetch(const std::string& account, const Period& period,
                     std::stop_token stop) override {
    fetches.emplace_back(account, period);
    if (fetch_log != nullptr) fetch_log->emplace_back(account, period);
    if (stop.stop_requested()) throw SourceError(ErrorReason::cancelled, "stopped");
    if (const auto it = failing.find(account); it != failing.end()) throw it->second;
    return usage_for(account, period);
  }

  std::vector<std::string> listed{"acc-b", "acc-a"};
  std::optional<SourceError> listing_error;
  std::map<std::string, SourceError> failing;
  std::vector<Period> listed_periods;
  std::vector<std::pair<std::string, Period>> fetches;
  // Also appended to when set: a log that outlives the source (the scheduler makes its own).
  std::vector<std::pair<std::string, Period>>* fetch_log = nullptr;
};

}  // namespace scalr_usage::test_files
