#pragma once
// The dataset of the report golden files (tests/golden/reports/), shared by the golden tests and
// the chargeback tests that re-derive the golden numbers. Every figure is fixed, so the rendered
// bytes are too; change it only together with the golden files (SUE_UPDATE_GOLDEN=1, then review
// the diff).
//
// October 2026, plan: 100 runs included, 0.37 EUR per run beyond.
//   acc-alpha  total 523 runs / 190000 s (previous period 400 / 150000); its workspaces add up to
//              480 / 154000, so 43 runs / 36000 s are on no workspace (deleted workspaces).
//              423 runs over the plan: 423 * 0.37 = 156.51 EUR.
//   acc-beta   total 90 / 5400 = its workspaces; under the plan; no previous period.
//   acc-gamma  total 12 / 720 and no workspace at all (all deleted); previous period 0 / 0.
// Names need CSV quoting, the formula guard and HTML escaping.

#include <chrono>
#include <string>
#include <vector>

#include "model/period.h"
#include "model/usage.h"
#include "reports/report.h"

namespace scalr_usage::golden_data {

using namespace std::chrono;

inline Seconds at(int y, unsigned m, unsigned d) {
  return Seconds{sys_days{year{y} / month{m} / day{d}}.time_since_epoch()};
}

inline Period october() { return month_containing(at(2026, 10, 1)); }

inline const std::string kDevName = "dev, \"test\"";

inline AccountUsage alpha() {
  AccountUsage u;
  u.account_id = "acc-alpha";
  u.period = october();
  u.total = {523, 190000};
  u.environments = {{"env-dev", kDevName, {127, 35000}}, {"env-prod", "prod-eu", {320, 110000}}};
  u.workspaces = {
      {"ws-a1", "data-pipeline", "env-prod", "prod-eu", {120, 50000}},
      {"ws-a2", "web <frontend> & \"api\"", "env-prod", "prod-eu", {200, 60000}},
      {"ws-a3", "=cmd", "env-dev", kDevName, {77, 20000}},
      {"ws-a4", "data-lake", "env-dev", kDevName, {50, 15000}},
      {"ws-a5", "orphan", std::nullopt, std::nullopt, {33, 9000}},
      {"ws-a6", "idle", "env-dev", kDevName, {0, 0}},
  };
  u.daily = {{year{2026} / 10 / 1, {200, 70000}},
             {year{2026} / 10 / 15, {250, 90000}},
             {year{2026} / 10 / 31, {73, 30000}}};
  return u;
}

inline AccountUsage alpha_previous() {
  AccountUsage u;
  u.account_id = "acc-alpha";
  u.period = month_containing(at(2026, 9, 1));
  u.total = {400, 150000};
  return u;
}

inline AccountUsage beta() {
  AccountUsage u;
  u.account_id = "acc-beta";
  u.period = october();
  u.total = {90, 5400};
  u.environments = {{"env-us", "prod-us", {60, 3600}}};
  u.workspaces = {
      {"ws-b1", "api", "env-us", "prod-us", {60, 3600}},
      {"ws-b2", "line\nbreak, ops", std::nullopt, std::nullopt, {30, 1800}, {"team:ops"}}};
  u.daily = {{year{2026} / 10 / 10, {90, 5400}}};
  return u;
}

inline AccountUsage gamma() {
  AccountUsage u;
  u.account_id = "acc-gamma";
  u.period = october();
  u.total = {12, 720};
  u.daily = {{year{2026} / 10 / 2, {12, 720}}};
  return u;
}

inline AccountUsage gamma_previous() {
  AccountUsage u;
  u.account_id = "acc-gamma";
  u.period = month_containing(at(2026, 9, 1));
  return u;
}

inline BillingPlan plan() {
  BillingPlan p;
  p.included_runs = 100;
  p.overage_price = 0.37;
  p.currency = "EUR";
  return p;
}

// The usages with the names of their accounts, as a source that knows them (the PostgreSQL
// source's account_name, the API's discovery) would give them.
inline std::vector<AccountUsage> with_account_names(std::vector<AccountUsage> usages) {
  for (AccountUsage& u : usages) {
    if (u.account_id == "acc-alpha") u.account_name = "Alpha & Co, \"Ltd\"";
    if (u.account_id == "acc-beta") u.account_name = "=Beta";
    // acc-gamma's name stays unknown: a report may know some names and not others.
  }
  return usages;
}

}  // namespace scalr_usage::golden_data
