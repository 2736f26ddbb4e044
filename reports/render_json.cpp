// The JSON report; its shape is docs/report.schema.json (schema_version 1). Counts are JSON
// integers, shares and hours plain numbers, money both exact integer cents and a convenience
// decimal number. Keys keep a fixed, readable order (ordered_json) rather than alphabetical.
//
// Chargeback and account names only add keys (so schema_version stays 1), and only when there is
// something to say: "account_name" when the source knows it, "chargeback" per account and
// "chargeback_labels" per workspace when a `chargeback:` section is configured.

#include <nlohmann/json.hpp>

#include "reports/render.h"
#include "reports/render_util.h"

namespace scalr_usage {

using namespace render_detail;
using Json = nlohmann::ordered_json;

namespace {

Json period_json(const Period& period) {
  return Json{{"start", format_rfc3339(period.start)}, {"end", format_rfc3339(period.end)}};
}

Json optional_json(const std::optional<std::string>& value) {
  return value ? Json(*value) : Json(nullptr);
}

Json optional_json(const std::optional<double>& value) {
  return value ? Json(*value) : Json(nullptr);
}

double hours(std::uint64_t seconds) { return static_cast<double>(seconds) / 3600; }

// {"team": "payments", ...}: the values under their label names, in label order.
Json labels_json(const std::vector<std::string>& labels, const ChargebackValues& values) {
  Json out = Json::object();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    out[labels[i]] = i < values.size() ? values[i] : std::string();
  }
  return out;
}

// `labels` empty (chargeback off): no chargeback_labels key.
Json workspace_json(const WorkspaceRow& ws, const std::vector<std::string>& labels) {
  Json out = Json{{"id", ws.id},
                  {"name", ws.name},
                  {"environment_id", optional_json(ws.environment_id)},
                  {"environment_name", optional_json(ws.environment_name)},
                  {"runs", ws.usage.runs},
                  {"run_seconds", ws.usage.run_seconds},
                  {"run_hours", hours(ws.usage.run_seconds)},
                  {"runs_share", ws.runs_share},
                  {"run_seconds_share", ws.run_seconds_share}};
  if (!labels.empty()) out["chargeback_labels"] = labels_json(labels, ws.chargeback);
  return out;
}

// The account's chargeback groups; overage_cost null without a plan, like the account's "plan".
Json chargeback_json(const AccountReport& account, const std::vector<std::string>& labels) {
  Json out = Json::array();
  for (const ChargebackGroup& group : account.chargeback) {
    const auto& cents = group.overage_cost_cents;
    out.push_back(
        Json{{"labels", labels_json(labels, group.labels)},
             {"runs", group.usage.runs},
             {"run_seconds", group.usage.run_seconds},
             {"run_hours", hours(group.usage.run_seconds)},
             {"runs_share", group.runs_share},
             {"run_seconds_share", group.run_seconds_share},
             {"overage_cost_cents", cents ? Json(*cents) : Json(nullptr)},
             {"overage_cost", cents ? Json(static_cast<double>(*cents) / 100) : Json(nullptr)}});
  }
  return out;
}

Json account_json(const AccountReport& account, const std::vector<std::string>& labels) {
  Json out;
  out["account_id"] = account.account_id;
  if (!account.account_name.empty()) out["account_name"] = account.account_name;
  out["period"] = period_json(account.period);
  out["total"] = Json{{"runs", account.total.runs},
                      {"run_seconds", account.total.run_seconds},
                      {"run_hours", account.run_hours}};
  if (account.plan) {
    const PlanUsage& plan = *account.plan;
    out["plan"] = Json{{"included_runs", plan.included_runs},
                       {"runs_over_plan", plan.runs_over_plan},
                       {"overage_price_micros", plan.overage_price_micros},
                       {"overage_cost_cents", plan.overage_cost_cents},
                       {"overage_cost", static_cast<double>(plan.overage_cost_cents) / 100},
                       {"currency", plan.currency}};
  } else {
    out["plan"] = nullptr;
  }
  if (account.change) {
    const UsageChange& c = *account.change;
    out["change"] =
        Json{{"previous_period", period_json(c.previous_period)},
             {"previous", Json{{"runs", c.previous.runs}, {"run_seconds", c.previous.run_seconds}}},
             {"runs_delta", c.runs_delta},
             {"run_seconds_delta", c.run_seconds_delta},
             {"runs_relative", optional_json(c.runs_relative)},
             {"run_seconds_relative", optional_json(c.run_seconds_relative)}};
  } else {
    out["change"] = nullptr;
  }
  out["environments"] = Json::array();
  for (const EnvironmentRow& env : account.environments) {
    out["environments"].push_back(Json{{"id", env.id},
                                       {"name", env.name},
                                       {"runs", env.usage.runs},
                                       {"run_seconds", env.usage.run_seconds},
                                       {"run_hours", hours(env.usage.run_seconds)},
                                       {"runs_share", env.runs_share},
                                       {"run_seconds_share", env.run_seconds_share}});
  }
  out["workspaces"] = Json::array();
  for (const WorkspaceRow& ws : account.workspaces) {
    out["workspaces"].push_back(workspace_json(ws, labels));
  }
  out["top_workspaces"] = Json::array();
  for (const WorkspaceRow& ws : account.top_workspaces) {
    out["top_workspaces"].push_back(workspace_json(ws, labels));
  }
  if (!labels.empty()) out["chargeback"] = chargeback_json(account, labels);
  out["daily"] = Json::array();
  for (const DayRow& day : account.daily) {
    out["daily"].push_back(Json{{"date", format_date(day.date)},
                                {"runs", day.usage.runs},
                                {"run_seconds", day.usage.run_seconds}});
  }
  return out;
}

}  // namespace

std::string render_json(const Report& report) {
  Json out;
  out["schema_version"] = kReportJsonSchemaVersion;
  out["generated_at"] = report.generated_at;
  out["schedule"] = report.schedule;
  out["period"] = period_json(report.period);
  if (has_plan(report.plan)) {
    out["plan"] = Json{{"included_runs", report.plan.included_runs},
                       {"overage_price", report.plan.overage_price},
                       {"currency", report.plan.currency}};
  } else {
    out["plan"] = nullptr;
  }
  out["accounts"] = Json::array();
  for (const AccountReport* account : accounts_by_id(report)) {
    out["accounts"].push_back(account_json(*account, report.chargeback_labels));
  }
  // Names come from Scalr or a database and are not guaranteed to be valid UTF-8; replacing a bad
  // byte with U+FFFD beats failing the whole report (dump() would throw).
  return out.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace scalr_usage
