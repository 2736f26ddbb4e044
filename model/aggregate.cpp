#include "model/aggregate.h"

#include <utility>

namespace scalr_usage {

namespace aggregate_detail {

void Latest::offer(std::chrono::year_month_day date, const std::string& value) {
  if (value.empty()) return;
  if (!date_ || date > *date_ || (date == *date_ && value < value_)) {
    date_ = date;
    value_ = value;
  }
}

}  // namespace aggregate_detail

AccountAggregator::AccountAggregator(std::string account_id, Period period) {
  usage_.account_id = std::move(account_id);
  usage_.period = period;
}

void AccountAggregator::add(const WorkspaceDayRow& row) {
  if (row.account_id != usage_.account_id) return;
  const UsageCounts counts{row.runs, row.run_seconds};
  usage_.total += counts;
  daily_[row.date] += counts;

  aggregate_detail::EnvironmentSums& environment = environments_[row.environment_id];
  environment.usage += counts;
  environment.name.offer(row.date, row.environment_name);

  aggregate_detail::WorkspaceSums& workspace = workspaces_[row.workspace_id];
  workspace.usage += counts;
  workspace.name.offer(row.date, row.workspace_name);
  workspace.environment_id.offer(row.date, row.environment_id);
}

AccountUsage AccountAggregator::finish() && {
  AccountUsage usage = std::move(usage_);
  usage.environments.reserve(environments_.size());
  for (const auto& [id, sums] : environments_) {
    usage.environments.push_back(EnvironmentUsage{id, sums.name.value(), sums.usage});
  }
  usage.workspaces.reserve(workspaces_.size());
  // Each workspace's sums are released as soon as they are copied out, so the sums and the result
  // are never both whole in memory.
  while (!workspaces_.empty()) {
    auto node = workspaces_.extract(workspaces_.begin());
    aggregate_detail::WorkspaceSums& sums = node.mapped();
    WorkspaceUsage workspace;
    workspace.id = std::move(node.key());
    workspace.name = sums.name.value();
    workspace.environment_id = sums.environment_id.value();
    // The environment's own resolved name, so a workspace series and its environment's series
    // always carry the same environment_name.
    const auto environment = environments_.find(*workspace.environment_id);
    workspace.environment_name =
        environment == environments_.end() ? std::string() : environment->second.name.value();
    workspace.usage = sums.usage;
    usage.workspaces.push_back(std::move(workspace));
  }
  usage.daily.reserve(daily_.size());
  for (const auto& [date, counts] : daily_) usage.daily.push_back(DailyUsage{date, counts});
  return usage;
}

AccountUsage aggregate_account(const std::string& account_id, const Period& period,
                               std::span<const WorkspaceDayRow> rows) {
  AccountAggregator aggregator(account_id, period);
  for (const WorkspaceDayRow& row : rows) aggregator.add(row);
  return std::move(aggregator).finish();
}

}  // namespace scalr_usage
