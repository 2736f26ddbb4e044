// Chargeback groups: the account's runs, run time and overage by tuple of chargeback values.
//
// The residual. Scalr's account total also counts workspaces deleted since, so it can exceed the
// sum of the workspaces. FOCUS gives that difference a row without a resource; here it belongs to
// the group whose labels are all "" (merged with a real all-"" group, which is what a workspace no
// rule and no default labels gets), so that the groups add up to the account's total and the
// whole overage has somewhere to go. When the workspaces add up to more than the total
// (inconsistent data), there is no residual and the groups show it, as the shares do.

#include "reports/report_chargeback.h"

#include <algorithm>
#include <map>

namespace scalr_usage::report_detail {

UsageCounts unattributed_usage(const AccountReport& account) {
  UsageCounts attributed;
  for (const WorkspaceRow& ws : account.workspaces) attributed += ws.usage;
  const UsageCounts& total = account.total;
  return UsageCounts{
      total.runs > attributed.runs ? total.runs - attributed.runs : 0,
      total.run_seconds > attributed.run_seconds ? total.run_seconds - attributed.run_seconds : 0};
}

std::vector<ChargebackGroup> chargeback_groups(const AccountReport& account,
                                               std::size_t label_count) {
  // Keyed by the values, so equal tuples merge and the map's order is "label values asc".
  std::map<ChargebackValues, UsageCounts> by_values;
  for (const WorkspaceRow& ws : account.workspaces) by_values[ws.chargeback] += ws.usage;
  const UsageCounts rest = unattributed_usage(account);
  if (rest.runs > 0 || rest.run_seconds > 0) {
    by_values[ChargebackValues(label_count)] += rest;
  }

  std::vector<ChargebackGroup> groups;
  for (const auto& [values, usage] : by_values) {
    groups.push_back(ChargebackGroup{values, usage, share_of(usage.runs, account.total.runs),
                                     share_of(usage.run_seconds, account.total.run_seconds),
                                     std::nullopt});
  }
  // Stable: equal runs and run seconds keep the map's order, the values ascending.
  std::stable_sort(groups.begin(), groups.end(),
                   [](const ChargebackGroup& a, const ChargebackGroup& b) {
                     if (a.usage.runs != b.usage.runs) return a.usage.runs > b.usage.runs;
                     return a.usage.run_seconds > b.usage.run_seconds;
                   });

  if (account.plan) {
    std::vector<std::uint64_t> weights;
    for (const ChargebackGroup& group : groups) weights.push_back(group.usage.runs);
    // Overage > 0 means runs > included >= 1, and the groups hold at least the total's runs, so
    // the weights are not all 0.
    const std::vector<std::uint64_t> cents =
        allocate_largest_remainder(account.plan->overage_cost_cents, weights);
    for (std::size_t i = 0; i < groups.size(); ++i) groups[i].overage_cost_cents = cents[i];
  }
  return groups;
}

}  // namespace scalr_usage::report_detail
