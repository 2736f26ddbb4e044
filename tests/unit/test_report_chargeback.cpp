// Chargeback in the report model (AccountReport::chargeback, WorkspaceRow::chargeback): groups,
// their sums, order and residual, and the overage allocated in whole cents. Expected figures are
// worked out in the comments or computed here from the input, never read from the output.

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chargeback/config.h"
#include "config/node.h"
#include "report_test_util.h"
#include "reports/render.h"
#include "reports/report.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;

ChargebackRules rules_from(const std::string& yaml) {
  const ConfigNode root = ConfigNode::parse_document(yaml, "config.file");
  ChargebackRules rules;
  root.walk({{"chargeback", [&](const ConfigNode& v) { rules = parse_chargeback_section(v); }}});
  return rules;
}

// team by environment name, cost_center only for prod; data-* workspaces elsewhere are "data";
// everything else "unallocated".
const std::string kRules = R"(chargeback:
  labels: [team, cost_center]
  rules:
    - match: {environment_name: "prod*"}
      set: {team: payments, cost_center: CC-100}
    - match: {workspace_name: "~^data-"}
      set: {team: data}
  default: {team: unallocated}
)";

BillingPlan plan(std::uint64_t included, double price) {
  BillingPlan p;
  p.included_runs = included;
  p.overage_price = price;
  return p;
}

AccountUsage usage(UsageCounts total, std::vector<WorkspaceUsage> workspaces) {
  AccountUsage u;
  u.account_id = "acc-1";
  u.account_name = "Team One";
  u.period = month_containing(Seconds{sys_days{year{2026} / 10 / 1}.time_since_epoch()});
  u.total = total;
  u.workspaces = std::move(workspaces);
  return u;
}

WorkspaceUsage ws(std::string id, std::string name, std::string env, UsageCounts counts) {
  return WorkspaceUsage{std::move(id), std::move(name), "env-" + env, env, counts};
}

// 100 + 50 prod (payments), 30 data-x (data), 20 misc (unallocated); 210 runs on no workspace.
AccountUsage mixed() {
  return usage(
      {410, 41000},
      {ws("ws-1", "web", "prod-eu", {100, 10000}), ws("ws-2", "api", "prod-us", {50, 5000}),
       ws("ws-3", "data-x", "dev", {30, 3000}), ws("ws-4", "misc", "dev", {20, 2000})});
}

UsageCounts sum_of(const std::vector<ChargebackGroup>& groups) {
  UsageCounts sum;
  for (const ChargebackGroup& g : groups) sum += g.usage;
  return sum;
}

TEST(ReportChargeback, OffMeansNothingNew) {
  const AccountReport r = build_account_report(mixed(), nullptr, plan(100, 1));
  EXPECT_TRUE(r.chargeback.empty());
  for (const WorkspaceRow& row : r.workspaces) EXPECT_TRUE(row.chargeback.empty()) << row.id;
  EXPECT_EQ(r.account_name, "Team One");
}

TEST(ReportChargeback, WorkspacesCarryTheirValuesInLabelOrder) {
  const AccountReport r = build_account_report(mixed(), nullptr, plan(100, 1), rules_from(kRules));
  ASSERT_EQ(r.workspaces.size(), 4u);
  EXPECT_EQ(r.workspaces[0].chargeback, (ChargebackValues{"payments", "CC-100"}));
  EXPECT_EQ(r.workspaces[1].chargeback, (ChargebackValues{"payments", "CC-100"}));
  EXPECT_EQ(r.workspaces[2].chargeback, (ChargebackValues{"data", ""}));
  EXPECT_EQ(r.workspaces[3].chargeback, (ChargebackValues{"unallocated", ""}));
}

// Groups: the residual 210 / 21000 (410 / 41000 less the workspaces' 200 / 20000), payments
// 150 / 15000, data 30, unallocated 20. 410 runs, 310 over a 100-run plan at 1.00 = 31000 cents:
// 31000 * 210/410 = 15878.05 -> 15878; *150/410 = 11341.46 -> 11341; *30/410 = 2268.29 -> 2268;
// *20/410 = 1512.19 -> 1512; floors sum to 30999, the cent left to the largest remainder (.46).
TEST(ReportChargeback, GroupsAddUpToTheAccountTotalWithTheResidualAllEmpty) {
  const AccountReport r = build_account_report(mixed(), nullptr, plan(100, 1), rules_from(kRules));
  ASSERT_EQ(r.chargeback.size(), 4u);
  EXPECT_EQ(r.chargeback[0].labels, (ChargebackValues{"", ""}));  // 210 runs on no workspace
  EXPECT_EQ(r.chargeback[0].usage, (UsageCounts{210, 41000 - 20000}));
  EXPECT_EQ(r.chargeback[1].labels, (ChargebackValues{"payments", "CC-100"}));
  EXPECT_EQ(r.chargeback[1].usage, (UsageCounts{150, 15000}));
  EXPECT_EQ(r.chargeback[2].labels, (ChargebackValues{"data", ""}));
  EXPECT_EQ(r.chargeback[3].labels, (ChargebackValues{"unallocated", ""}));
  EXPECT_EQ(sum_of(r.chargeback), r.total);
  EXPECT_DOUBLE_EQ(r.chargeback[1].runs_share, 150.0 / 410);
  EXPECT_DOUBLE_EQ(r.chargeback[1].run_seconds_share, 15000.0 / 41000);
  EXPECT_EQ(r.chargeback[0].overage_cost_cents, 15878u);
  EXPECT_EQ(r.chargeback[1].overage_cost_cents, 11342u);
  EXPECT_EQ(r.chargeback[2].overage_cost_cents, 2268u);
  EXPECT_EQ(r.chargeback[3].overage_cost_cents, 1512u);
}

TEST(ReportChargeback, TheResidualMergesWithARealAllEmptyGroup) {
  // No default: a workspace no rule matches has every label "", like the runs on no workspace.
  const ChargebackRules rules = rules_from(R"(chargeback:
  labels: [team]
  rules:
    - match: {workspace_name: web}
      set: {team: web}
)");
  const AccountReport r = build_account_report(
      usage({100, 1000}, {ws("ws-1", "web", "p", {40, 400}), ws("ws-2", "other", "p", {25, 250})}),
      nullptr, BillingPlan{}, rules);
  ASSERT_EQ(r.chargeback.size(), 2u);
  EXPECT_EQ(r.chargeback[0].labels, (ChargebackValues{""}));
  EXPECT_EQ(r.chargeback[0].usage, (UsageCounts{60, 600}));  // 25 + the 35 on no workspace
  EXPECT_EQ(r.chargeback[1].usage, (UsageCounts{40, 400}));
  // Without a plan there is no cost to allocate.
  EXPECT_FALSE(r.chargeback[0].overage_cost_cents.has_value());
  EXPECT_FALSE(r.chargeback[1].overage_cost_cents.has_value());
}

TEST(ReportChargeback, SortedByRunsThenRunSecondsThenValues) {
  const ChargebackRules rules = rules_from(R"(chargeback:
  labels: [team]
  rules:
    - match: {workspace_name: "*"}
      set: {team: "{workspace_name}"}
)");
  const AccountReport r = build_account_report(
      usage({0, 0}, {ws("ws-1", "b", "e", {5, 50}), ws("ws-2", "a", "e", {5, 50}),
                     ws("ws-3", "c", "e", {5, 60}), ws("ws-4", "d", "e", {9, 1}),
                     ws("ws-5", "e", "e", {0, 0})}),
      nullptr, BillingPlan{}, rules);
  std::vector<std::string> order;
  for (const ChargebackGroup& g : r.chargeback) order.push_back(g.labels.at(0));
  // d (9 runs); c (5 runs, more seconds); a and b tied, by value; e idle, still a group.
  EXPECT_EQ(order, (std::vector<std::string>{"d", "c", "a", "b", "e"}));
  // Workspaces adding up to more than the total: no residual, and shares of a 0 total are 0.
  EXPECT_EQ(r.chargeback[0].runs_share, 0.0);
}

TEST(ReportChargeback, AnAccountWithoutWorkspacesIsOneAllEmptyGroup) {
  const AccountReport r =
      build_account_report(usage({150, 900}, {}), nullptr, plan(100, 0.33), rules_from(kRules));
  ASSERT_EQ(r.chargeback.size(), 1u);
  EXPECT_EQ(r.chargeback[0].labels, (ChargebackValues{"", ""}));
  EXPECT_EQ(r.chargeback[0].usage, (UsageCounts{150, 900}));
  EXPECT_EQ(r.chargeback[0].overage_cost_cents, 1650u);  // 50 * 0.33
}

// Awkward splits: for many plans, every group's cents are within one cent of its exact share
// (cents * W differs from overage * w by less than W) and the cents add up to the overage.
TEST(ReportChargeback, CentsAddUpToTheOverageExactlyForAwkwardSplits) {
  const AccountUsage u = usage({3001, 3001}, {ws("ws-1", "web", "prod", {1000, 1000}),
                                              ws("ws-2", "data-a", "dev", {1000, 1000}),
                                              ws("ws-3", "misc", "dev", {1000, 1000})});
  for (const std::uint64_t included : {1u, 2u, 7u, 100u, 2999u, 3000u}) {
    for (const double price : {0.01, 0.07, 0.33, 0.999999, 1.0, 7.77}) {
      const AccountReport r =
          build_account_report(u, nullptr, plan(included, price), rules_from(kRules));
      SCOPED_TRACE(std::to_string(included) + " at " + std::to_string(price));
      ASSERT_TRUE(r.plan.has_value());
      const std::uint64_t overage = r.plan->overage_cost_cents;
      // The overage itself, recomputed: runs over the plan * price, half up to cents.
      const auto micros = static_cast<std::uint64_t>(std::llround(price * 1e6));
      EXPECT_EQ(overage, ((3001 - included) * micros + 5000) / 10000);
      std::uint64_t sum = 0;
      for (const ChargebackGroup& g : r.chargeback) {
        ASSERT_TRUE(g.overage_cost_cents.has_value());
        sum += *g.overage_cost_cents;
        const auto exact = static_cast<long double>(overage) * g.usage.runs;
        const auto given = static_cast<long double>(*g.overage_cost_cents) * 3001;
        EXPECT_LT(std::fabs(static_cast<double>(given - exact)), 3001.0);
      }
      EXPECT_EQ(sum, overage);
    }
  }
}

// Without a plan the groups still show runs and run time, and no cost: null in JSON, empty CSV
// cost fields, FOCUS BilledCost 0 with the Tags, no cost column in HTML.
TEST(ReportChargeback, WithoutAPlanEveryFormatShowsTheGroupsWithoutCost) {
  Report report;
  report.period = mixed().period;
  report.chargeback_labels = rules_from(kRules).labels();
  report.accounts = {build_account_report(mixed(), nullptr, BillingPlan{}, rules_from(kRules))};

  const auto doc = nlohmann::json::parse(render_json(report));
  const auto& groups = doc["accounts"][0]["chargeback"];
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_EQ(groups[1]["labels"], (nlohmann::json{{"team", "payments"}, {"cost_center", "CC-100"}}));
  EXPECT_EQ(groups[1]["runs"], 150);
  EXPECT_TRUE(groups[1]["overage_cost_cents"].is_null());
  EXPECT_TRUE(groups[1]["overage_cost"].is_null());

  std::size_t chargeback_rows = 0;
  for (const auto& r : report_test::csv_records(render_csv(report), nullptr)) {
    if (r.at("level") != "chargeback") continue;
    ++chargeback_rows;
    EXPECT_EQ(r.at("overage_cost"), "");
    EXPECT_EQ(r.at("currency"), "");
  }
  EXPECT_EQ(chargeback_rows, 4u);

  for (const auto& r : report_test::csv_records(render_focus(report), nullptr)) {
    EXPECT_EQ(r.at("BilledCost"), "0.00");
    EXPECT_EQ(r.at("x_CostAllocationMethod"), "None");
    EXPECT_EQ(nlohmann::json::parse(r.at("Tags")).size(), 2u);
  }

  const std::string html = render_html(report);
  EXPECT_NE(html.find("<h3>By team</h3>"), std::string::npos);
  EXPECT_EQ(html.find("Overage cost</th>"), std::string::npos);
}

}  // namespace
}  // namespace scalr_usage
