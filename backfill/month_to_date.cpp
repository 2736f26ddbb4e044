#include "backfill/month_to_date.h"

namespace scalr_usage {

namespace {

// A later day's non-empty name replaces the earlier one (a rename mid-month shows from then on,
// as the aggregation of rows does, model/aggregate.h).
void take_name(std::string& into, const std::string& name) {
  if (!name.empty()) into = name;
}

void merge_workspace(WorkspaceUsage& into, const WorkspaceUsage& day) {
  into.usage += day.usage;
  take_name(into.name, day.name);
  // A source that knows environments says so every day; one that cannot leaves nullopt.
  if (day.environment_id) into.environment_id = day.environment_id;
  if (day.environment_name) into.environment_name = day.environment_name;
  into.tags = day.tags;
}

}  // namespace

void MonthToDate::add(std::chrono::year_month_day day, const AccountUsage& day_usage) {
  const std::chrono::year_month month{day.year(), day.month()};
  if (month_ != month) {
    month_ = month;
    usage_.total = {};
    environments_.clear();
    workspaces_.clear();
    usage_.period.start = Seconds{std::chrono::sys_days{day.year() / day.month() / 1}};
  }
  usage_.period.end = Seconds{std::chrono::sys_days{day} + std::chrono::days{1}};
  take_name(usage_.account_name, day_usage.account_name);
  usage_.total += day_usage.total;
  for (const EnvironmentUsage& env : day_usage.environments) {
    auto [it, added] = environments_.try_emplace(env.id, env);
    if (added) continue;
    it->second.usage += env.usage;
    take_name(it->second.name, env.name);
  }
  for (const WorkspaceUsage& ws : day_usage.workspaces) {
    auto [it, added] = workspaces_.try_emplace(ws.id, ws);
    if (!added) merge_workspace(it->second, ws);
  }
}

AccountUsage MonthToDate::usage() const {
  AccountUsage usage = usage_;
  usage.environments.reserve(environments_.size());
  for (const auto& [id, env] : environments_) usage.environments.push_back(env);
  usage.workspaces.reserve(workspaces_.size());
  for (const auto& [id, ws] : workspaces_) usage.workspaces.push_back(ws);
  return usage;
}

}  // namespace scalr_usage
