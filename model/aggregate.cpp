#include "model/aggregate.h"

#include <map>
#include <optional>
#include <utility>

namespace scalr_usage {

namespace {

using std::chrono::year_month_day;

// The value of the latest row (by date) that has one; on the same date the smaller value wins, so
// the choice does not depend on row order.
class Latest {
 public:
  void offer(year_month_day date, const std::string& value) {
    if (value.empty()) return;
    if (!date_ || date > *date_ || (date == *date_ && value < value_)) {
      date_ = date;
      value_ = value;
    }
  }
  const std::string& value() const { return value_; }

 private:
  std::optional<year_month_day> date_;
  std::string value_;
};

struct EnvironmentSums {
  UsageCounts usage;
  Latest name;
};

struct WorkspaceSums {
  UsageCounts usage;
  Latest name;
  Latest environment_id;
};

}  // namespace

AccountUsage aggregate_account(const std::string& account_id, const Period& period,
                               std::span<const WorkspaceDayRow> rows) {
  // std::map keeps every breakdown sorted the way model/usage.h promises.
  std::map<std::string, EnvironmentSums> environments;
  std::map<std::string, WorkspaceSums> workspaces;
  std::map<year_month_day, UsageCounts> daily;

  AccountUsage usage;
  usage.account_id = account_id;
  usage.period = period;
  for (const WorkspaceDayRow& row : rows) {
    if (row.account_id != account_id) continue;
    const UsageCounts counts{row.runs, row.run_seconds};
    usage.total += counts;
    daily[row.date] += counts;

    EnvironmentSums& environment = environments[row.environment_id];
    environment.usage += counts;
    environment.name.offer(row.date, row.environment_name);

    WorkspaceSums& workspace = workspaces[row.workspace_id];
    workspace.usage += counts;
    workspace.name.offer(row.date, row.workspace_name);
    workspace.environment_id.offer(row.date, row.environment_id);
  }

  usage.environments.reserve(environments.size());
  for (const auto& [id, sums] : environments) {
    usage.environments.push_back(EnvironmentUsage{id, sums.name.value(), sums.usage});
  }
  usage.workspaces.reserve(workspaces.size());
  for (const auto& [id, sums] : workspaces) {
    WorkspaceUsage workspace;
    workspace.id = id;
    workspace.name = sums.name.value();
    workspace.environment_id = sums.environment_id.value();
    // The environment's own resolved name, so a workspace series and its environment's series
    // always carry the same environment_name.
    const auto environment = environments.find(*workspace.environment_id);
    workspace.environment_name =
        environment == environments.end() ? std::string() : environment->second.name.value();
    workspace.usage = sums.usage;
    usage.workspaces.push_back(std::move(workspace));
  }
  usage.daily.reserve(daily.size());
  for (const auto& [date, counts] : daily) usage.daily.push_back(DailyUsage{date, counts});
  return usage;
}

}  // namespace scalr_usage
