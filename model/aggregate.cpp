#include "model/aggregate.h"

#include <utility>

namespace scalr_usage {

namespace {

// A name is offered only when the row has one: empty means unknown, not "renamed to nothing".
void offer_name(aggregate_detail::Latest<std::string>& latest, std::chrono::year_month_day date,
                const std::string& name) {
  if (!name.empty()) latest.offer(date, name);
}

}  // namespace

AccountAggregator::AccountAggregator(std::string account_id, Period period) {
  usage_.account_id = std::move(account_id);
  usage_.period = period;
}

void AccountAggregator::add(const WorkspaceDayRow& row) {
  if (row.account_id != usage_.account_id) return;
  const UsageCounts counts{row.runs, row.run_seconds};
  usage_.total += counts;
  daily_[row.date] += counts;
  offer_name(account_name_, row.date, row.account_name);

  aggregate_detail::EnvironmentSums& environment = environments_[row.environment_id];
  environment.usage += counts;
  offer_name(environment.name, row.date, row.environment_name);

  aggregate_detail::WorkspaceSums& workspace = workspaces_[row.workspace_id];
  workspace.usage += counts;
  offer_name(workspace.name, row.date, row.workspace_name);
  offer_name(workspace.environment_id, row.date, row.environment_id);
  if (row.workspace_tags) workspace.tags.offer(row.date, *row.workspace_tags);
}

AccountUsage AccountAggregator::finish() && {
  AccountUsage usage = std::move(usage_);
  usage.account_name = account_name_.value();
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
    workspace.tags = sums.tags.value();
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
