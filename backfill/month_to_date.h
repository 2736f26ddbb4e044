#pragma once
// One account's usage from the first of the month to the day last added, from one day's usage
// at a time: what the live exporter's month fetch would have shown at the end of that day.

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "model/usage.h"

namespace scalr_usage {

class MonthToDate {
 public:
  explicit MonthToDate(std::string account_id) { usage_.account_id = std::move(account_id); }

  // Adds the usage of `day` (fetched for that day alone, or for the days of its month up to it). A
  // day of a month other than the last one added starts over: the series reset at each month start,
  // as the live ones do. Days must come in order.
  void add(std::chrono::year_month_day day, const AccountUsage& day_usage);

  // The month to date, breakdowns sorted by id as model/usage.h promises. Names, environments and
  // tags are each item's latest known ones; period is the month so far.
  AccountUsage usage() const;

 private:
  AccountUsage usage_;  // account, name, period and total; breakdowns live in the maps
  std::map<std::string, EnvironmentUsage> environments_;
  std::map<std::string, WorkspaceUsage> workspaces_;
  std::optional<std::chrono::year_month> month_;
};

}  // namespace scalr_usage
