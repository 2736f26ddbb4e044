#pragma once
// Builds an AccountUsage from per-workspace, per-day rows: the shape every row-oriented source
// (the PostgreSQL source today) reads. The account, environment, workspace and daily figures are
// all sums of the same rows, so they always add up exactly.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

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
  // Optional in a source's rows, so after the rest and defaulted: rows written without them stay
  // valid. The account's name, empty when unknown.
  std::string account_name = {};
  // The workspace's tag names, sorted, without duplicates. nullopt when the row does not say (a
  // NULL, or a query without tags); an empty list says the workspace has none, so removing a
  // workspace's last tag shows.
  std::optional<std::vector<std::string>> workspace_tags = {};
};

namespace aggregate_detail {

// The value of the latest row (by date) that offered one; on the same date the smaller value wins,
// so the choice does not depend on row order. The caller offers only the values a row has (a name
// that is not empty, tags that are not NULL).
template <typename T>
class Latest {
 public:
  void offer(std::chrono::year_month_day date, const T& value) {
    if (!date_ || date > *date_ || (date == *date_ && value < value_)) {
      date_ = date;
      value_ = value;
    }
  }
  const T& value() const { return value_; }

 private:
  std::optional<std::chrono::year_month_day> date_;
  T value_{};
};

struct EnvironmentSums {
  UsageCounts usage;
  Latest<std::string> name;
};

struct WorkspaceSums {
  UsageCounts usage;
  Latest<std::string> name;
  Latest<std::string> environment_id;
  Latest<std::vector<std::string>> tags;
};

}  // namespace aggregate_detail

// Sums one account's rows as they come, so a source can aggregate while it reads a result and
// never hold the rows themselves: memory grows with the account's workspaces and days, not with
// its rows. Rows of other accounts are ignored. The rules are aggregate_account's below.
class AccountAggregator {
 public:
  AccountAggregator(std::string account_id, Period period);
  void add(const WorkspaceDayRow& row);
  AccountUsage finish() &&;

 private:
  AccountUsage usage_;  // account, period and total so far; the breakdowns are filled by finish()
  aggregate_detail::Latest<std::string> account_name_;
  // std::map keeps every breakdown sorted the way model/usage.h promises.
  std::map<std::string, aggregate_detail::EnvironmentSums> environments_;
  std::map<std::string, aggregate_detail::WorkspaceSums> workspaces_;
  std::map<std::chrono::year_month_day, UsageCounts> daily_;
};

// The usage of account_id over period from rows; rows of other accounts are ignored, so the caller
// may pass everything it read. No rows gives an AccountUsage with zeros and empty breakdowns.
//
// Names can change within a period (a workspace renamed mid-month), and a row may lack one, so
// each environment and workspace takes its name from its latest row (by date) that has one; a
// workspace's environment likewise comes from its latest row. The account's name comes from its
// latest row that has one, and a workspace's tags from its latest row that has tags (an empty list
// counts: the tags were removed). Ties go to the smaller value (for tags, the lexicographically
// smaller sorted list), so the result never depends on the order of the rows.
AccountUsage aggregate_account(const std::string& account_id, const Period& period,
                               std::span<const WorkspaceDayRow> rows);

}  // namespace scalr_usage
