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
//
// Optional columns, after those 23, so a report without them keeps its bytes: `account_name`
// (on every row of the account) when the report knows at least one account's name, then one
// column per chargeback label, named as the label, when `chargeback:` is configured. With
// chargeback, the label columns are filled on workspace rows, and each account's workspaces are
// followed by one row per chargeback group (level "chargeback", in the model's group order): its
// runs, run time, shares and, with a plan, its allocated part of the overage cost in
// overage_cost and currency. Pivot on level = chargeback for costs, on level = workspace for the
// workspaces behind them (the runs on no workspace are in the all-empty group only).

#include <algorithm>
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
  const ChargebackValues* labels = nullptr;  // workspace and chargeback rows
  const ChargebackGroup* group = nullptr;    // chargeback rows
};

// Which optional columns the report has.
struct Optional {
  bool account_name = false;
  std::size_t labels = 0;
};

// The plan columns (included_runs, runs_over_plan, overage_cost, currency): the account's plan on
// its row, a group's allocated overage on its row, empty elsewhere.
void plan_fields(std::vector<std::string>& f, const AccountReport& account, const Row& row,
                 bool account_level) {
  if (account_level && account.plan) {
    f.push_back(std::to_string(account.plan->included_runs));
    f.push_back(std::to_string(account.plan->runs_over_plan));
    f.push_back(money(account.plan->overage_cost_cents));
    f.push_back(csv_text(account.plan->currency));
  } else if (row.group != nullptr && row.group->overage_cost_cents && account.plan) {
    f.insert(f.end(), 2, "");
    f.push_back(money(*row.group->overage_cost_cents));
    f.push_back(csv_text(account.plan->currency));
  } else {
    f.insert(f.end(), 4, "");
  }
}

// account_name and the label columns, when the report has them.
void optional_fields(std::vector<std::string>& f, const AccountReport& account, const Row& row,
                     const Optional& optional) {
  if (optional.account_name) f.push_back(csv_text(account.account_name));
  for (std::size_t i = 0; i < optional.labels; ++i) {
    const bool known = row.labels != nullptr && i < row.labels->size();
    f.push_back(known ? csv_text((*row.labels)[i]) : "");
  }
}

std::string render_row(const AccountReport& account, const Row& row, bool account_level,
                       const Optional& optional) {
  std::vector<std::string> f = {
      format_rfc3339(account.period.start), format_rfc3339(account.period.end),
      csv_text(account.account_id),         row.level,
      csv_text(row.environment_id),         csv_text(row.environment_name),
      csv_text(row.workspace_id),           csv_text(row.workspace_name),
      std::to_string(row.usage.runs),       std::to_string(row.usage.run_seconds),
      hours(row.usage.run_seconds),         ratio(row.runs_share),
  };
  plan_fields(f, account, row, account_level);
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
  optional_fields(f, account, row, optional);
  return csv_row(f);
}

// The rows of one account: itself, its environments, its workspaces, its chargeback groups.
std::string account_rows(const AccountReport& account, const Optional& optional) {
  std::string out = render_row(account,
                               Row{"account", "", "", "", "", account.total,
                                   share_of(account.total.runs, account.total.runs),
                                   share_of(account.total.run_seconds, account.total.run_seconds)},
                               true, optional);
  for (const EnvironmentRow& env : account.environments) {
    out += render_row(account,
                      Row{"environment", env.id, env.name, "", "", env.usage, env.runs_share,
                          env.run_seconds_share},
                      false, optional);
  }
  for (const WorkspaceRow& ws : account.workspaces) {
    out += render_row(
        account,
        Row{"workspace", ws.environment_id.value_or(""), ws.environment_name.value_or(""), ws.id,
            ws.name, ws.usage, ws.runs_share, ws.run_seconds_share, &ws.chargeback},
        false, optional);
  }
  if (optional.labels == 0) return out;
  for (const ChargebackGroup& group : account.chargeback) {
    out += render_row(account,
                      Row{"chargeback", "", "", "", "", group.usage, group.runs_share,
                          group.run_seconds_share, &group.labels, &group},
                      false, optional);
  }
  return out;
}

}  // namespace

std::string render_csv(const Report& report) {
  const std::vector<const AccountReport*> accounts = accounts_by_id(report);
  Optional optional;
  optional.account_name = std::any_of(accounts.begin(), accounts.end(), [](const auto* account) {
    return !account->account_name.empty();
  });
  optional.labels = report.chargeback_labels.size();

  std::vector<std::string> header;
  for (const std::string_view name : kColumns) header.push_back(csv_field(name));
  if (optional.account_name) header.push_back("account_name");
  // Label names are [a-z_][a-z0-9_]* and never a column's name (chargeback/config.h).
  for (const std::string& label : report.chargeback_labels) header.push_back(csv_field(label));
  std::string out = csv_row(header);
  for (const AccountReport* account : accounts) out += account_rows(*account, optional);
  return out;
}

}  // namespace scalr_usage
