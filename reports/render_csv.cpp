// The CSV report. Column names are an interface (README.md, "Reports"): new columns go at the end,
// none is renamed or moved. The first 16 columns are the originally specified set; the change
// against the previous period and the run-time share were added after them for that reason.
//
// One row per account (level "account"), then its environments, then its workspaces, each in id
// order; accounts in id order. Values that do not apply to a row are empty fields: the plan and
// change columns are filled on account rows only (the plan's overage is the account's, FOCUS has
// the per-workspace allocation), environment columns on workspace rows only when the source knows
// the workspace's environment. No byte order mark: RFC 4180 has none and tools that read CSV
// programmatically trip over it.

#include <array>
#include <string_view>

#include "reports/render.h"
#include "reports/render_util.h"

namespace scalr_usage {

using namespace render_detail;

namespace {

constexpr std::array<std::string_view, 23> kColumns = {"period_start",
                                                       "period_end",
                                                       "account_id",
                                                       "level",
                                                       "environment_id",
                                                       "environment_name",
                                                       "workspace_id",
                                                       "workspace_name",
                                                       "runs",
                                                       "run_seconds",
                                                       "run_hours",
                                                       "runs_share",
                                                       "included_runs",
                                                       "runs_over_plan",
                                                       "overage_cost",
                                                       "currency",
                                                       "run_seconds_share",
                                                       "previous_runs",
                                                       "previous_run_seconds",
                                                       "runs_change",
                                                       "runs_change_ratio",
                                                       "run_seconds_change",
                                                       "run_seconds_change_ratio"};

std::string hours(std::uint64_t seconds) { return fixed(static_cast<double>(seconds) / 3600, 4); }
std::string ratio(double v) { return fixed(v, 6); }

struct Row {
  std::string level;
  std::string environment_id, environment_name, workspace_id, workspace_name;
  UsageCounts usage;
  double runs_share = 0;
  double run_seconds_share = 0;
};

std::string render_row(const AccountReport& account, const Row& row, bool account_level) {
  std::vector<std::string> f = {
      format_rfc3339(account.period.start), format_rfc3339(account.period.end),
      csv_text(account.account_id),         row.level,
      csv_text(row.environment_id),         csv_text(row.environment_name),
      csv_text(row.workspace_id),           csv_text(row.workspace_name),
      std::to_string(row.usage.runs),       std::to_string(row.usage.run_seconds),
      hours(row.usage.run_seconds),         ratio(row.runs_share),
  };
  if (account_level && account.plan) {
    f.push_back(std::to_string(account.plan->included_runs));
    f.push_back(std::to_string(account.plan->runs_over_plan));
    f.push_back(money(account.plan->overage_cost_cents));
    f.push_back(csv_text(account.plan->currency));
  } else {
    f.insert(f.end(), 4, "");
  }
  f.push_back(ratio(row.run_seconds_share));
  if (account_level && account.change) {
    const UsageChange& c = *account.change;
    f.push_back(std::to_string(c.previous.runs));
    f.push_back(std::to_string(c.previous.run_seconds));
    f.push_back(std::to_string(c.runs_delta));
    f.push_back(c.runs_relative ? ratio(*c.runs_relative) : "");
    f.push_back(std::to_string(c.run_seconds_delta));
    f.push_back(c.run_seconds_relative ? ratio(*c.run_seconds_relative) : "");
  } else {
    f.insert(f.end(), 6, "");
  }
  return csv_row(f);
}

}  // namespace

std::string render_csv(const Report& report) {
  std::vector<std::string> header;
  for (const std::string_view name : kColumns) header.push_back(csv_field(name));
  std::string out = csv_row(header);
  for (const AccountReport* account : accounts_by_id(report)) {
    out += render_row(*account,
                      Row{"account", "", "", "", "", account->total,
                          share_of(account->total.runs, account->total.runs),
                          share_of(account->total.run_seconds, account->total.run_seconds)},
                      true);
    for (const EnvironmentRow& env : account->environments) {
      out += render_row(*account,
                        Row{"environment", env.id, env.name, "", "", env.usage, env.runs_share,
                            env.run_seconds_share},
                        false);
    }
    for (const WorkspaceRow& ws : account->workspaces) {
      out += render_row(
          *account,
          Row{"workspace", ws.environment_id.value_or(""), ws.environment_name.value_or(""), ws.id,
              ws.name, ws.usage, ws.runs_share, ws.run_seconds_share},
          false);
    }
  }
  return out;
}

}  // namespace scalr_usage
