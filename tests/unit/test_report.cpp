// build_account_report and its money helpers, against figures worked out by hand in the comments.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "reports/report.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;

Seconds at(int y, unsigned m, unsigned d) {
  return Seconds{sys_days{year{y} / month{m} / day{d}}.time_since_epoch()};
}

// October 2026 (31 days). Environments and workspaces deliberately out of id order. The workspaces
// add up to 1650 runs / 599000 s, less than the account's own 1800 / 648000 (deleted workspaces).
AccountUsage october() {
  AccountUsage u;
  u.account_id = "acc-alpha";
  u.period = month_containing(at(2026, 10, 15));
  u.total = {1800, 648000};
  u.environments = {{"env-b", "Staging", {750, 275000}}, {"env-a", "Production", {900, 324000}}};
  u.workspaces = {
      {"ws-c", "infra, \"core\"", "env-a", "Production", {400, 144000}},
      {"ws-a", "=cmd", "env-a", "Production", {500, 180000}},
      {"ws-e", "tie by id, second", "env-b", "Staging", {250, 90000}},
      {"ws-b", "<script>alert(1)</script>", "env-b", "Staging", {250, 90000}},
      {"ws-f", "tie, more seconds", "env-b", "Staging", {250, 95000}},
      {"ws-d", "idle", std::nullopt, std::nullopt, {0, 0}},
  };
  u.daily = {{year{2026} / 10 / 1, {100, 36000}},
             {year{2026} / 10 / 15, {1000, 360000}},
             {year{2026} / 10 / 31, {700, 252000}}};
  return u;
}

AccountUsage september(UsageCounts total) {
  AccountUsage u;
  u.account_id = "acc-alpha";
  u.period = month_containing(at(2026, 9, 10));
  u.total = total;
  return u;
}

BillingPlan plan(std::uint64_t included, double price) {
  BillingPlan p;
  p.included_runs = included;
  p.overage_price = price;
  p.currency = "EUR";
  return p;
}

TEST(Report, TotalsHoursAndPeriod) {
  const AccountReport r = build_account_report(october(), nullptr, BillingPlan{});
  EXPECT_EQ(r.account_id, "acc-alpha");
  EXPECT_EQ(r.period.start, at(2026, 10, 1));
  EXPECT_EQ(r.period.end, at(2026, 11, 1));
  EXPECT_EQ(r.total.runs, 1800u);
  EXPECT_EQ(r.total.run_seconds, 648000u);
  EXPECT_DOUBLE_EQ(r.run_hours, 180.0);  // 648000 / 3600
}

TEST(Report, EnvironmentRowsSortedWithSharesOfTheAccountTotal) {
  const AccountReport r = build_account_report(october(), nullptr, BillingPlan{});
  ASSERT_EQ(r.environments.size(), 2u);
  EXPECT_EQ(r.environments[0].id, "env-a");
  EXPECT_EQ(r.environments[0].name, "Production");
  EXPECT_DOUBLE_EQ(r.environments[0].runs_share, 0.5);         // 900 / 1800
  EXPECT_DOUBLE_EQ(r.environments[0].run_seconds_share, 0.5);  // 324000 / 648000
  EXPECT_EQ(r.environments[1].id, "env-b");
  EXPECT_DOUBLE_EQ(r.environments[1].runs_share, 750.0 / 1800);      // 0.41666...
  EXPECT_NEAR(r.environments[1].run_seconds_share, 0.424383, 1e-6);  // 275000 / 648000
}

TEST(Report, WorkspaceRowsSortedKeepEnvironmentAndShares) {
  const AccountReport r = build_account_report(october(), nullptr, BillingPlan{});
  ASSERT_EQ(r.workspaces.size(), 6u);
  std::vector<std::string> ids;
  for (const WorkspaceRow& ws : r.workspaces) ids.push_back(ws.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"ws-a", "ws-b", "ws-c", "ws-d", "ws-e", "ws-f"}));
  const WorkspaceRow& a = r.workspaces[0];
  EXPECT_EQ(a.name, "=cmd");
  EXPECT_EQ(a.environment_id, "env-a");
  EXPECT_EQ(a.environment_name, "Production");
  EXPECT_NEAR(a.runs_share, 0.277778, 1e-6);         // 500 / 1800
  EXPECT_NEAR(a.run_seconds_share, 0.277778, 1e-6);  // 180000 / 648000
  const WorkspaceRow& d = r.workspaces[3];
  EXPECT_FALSE(d.environment_id.has_value());
  EXPECT_EQ(d.runs_share, 0.0);
  // Shares are of the account's own total, so the workspaces add up to 1650/1800, not 1.
  double sum = 0;
  for (const WorkspaceRow& ws : r.workspaces) sum += ws.runs_share;
  EXPECT_NEAR(sum, 1650.0 / 1800, 1e-12);
}

TEST(Report, TopWorkspacesByRunsThenSecondsThenId) {
  const AccountReport r = build_account_report(october(), nullptr, BillingPlan{});
  std::vector<std::string> ids;
  for (const WorkspaceRow& ws : r.top_workspaces) ids.push_back(ws.id);
  // 500, 400, then three at 250: ws-f has more seconds, ws-b and ws-e tie fully and go by id.
  // ws-d has no usage at all and is not "top".
  EXPECT_EQ(ids, (std::vector<std::string>{"ws-a", "ws-c", "ws-f", "ws-b", "ws-e"}));

  const AccountReport top3 = build_account_report(october(), nullptr, BillingPlan{}, 3);
  ASSERT_EQ(top3.top_workspaces.size(), 3u);
  EXPECT_EQ(top3.top_workspaces[2].id, "ws-f");
  EXPECT_TRUE(build_account_report(october(), nullptr, BillingPlan{}, 0).top_workspaces.empty());
}

TEST(Report, EveryDayOfThePeriodListedZeroDaysIncluded) {
  const AccountReport r = build_account_report(october(), nullptr, BillingPlan{});
  ASSERT_EQ(r.daily.size(), 31u);
  for (std::size_t i = 0; i < r.daily.size(); ++i) {
    EXPECT_EQ(r.daily[i].date, year{2026} / 10 / day{static_cast<unsigned>(i + 1)});
  }
  EXPECT_EQ(r.daily[0].usage, (UsageCounts{100, 36000}));
  EXPECT_EQ(r.daily[1].usage, (UsageCounts{0, 0}));
  EXPECT_EQ(r.daily[14].usage, (UsageCounts{1000, 360000}));
  EXPECT_EQ(r.daily[30].usage, (UsageCounts{700, 252000}));
  std::uint64_t runs = 0;
  for (const DayRow& d : r.daily) runs += d.usage.runs;
  EXPECT_EQ(runs, 1800u);
}

TEST(Report, DailyAddsDuplicatesAndIgnoresDaysOutsideThePeriod) {
  AccountUsage u = october();
  u.daily = {{year{2026} / 9 / 30, {5, 5}},
             {year{2026} / 10 / 2, {1, 10}},
             {year{2026} / 10 / 2, {2, 20}},
             {year{2026} / 11 / 1, {7, 7}}};
  const AccountReport r = build_account_report(u, nullptr, BillingPlan{});
  ASSERT_EQ(r.daily.size(), 31u);
  EXPECT_EQ(r.daily.front().date, year{2026} / 10 / 1);
  EXPECT_EQ(r.daily.back().date, year{2026} / 10 / 31);
  EXPECT_EQ(r.daily[1].usage, (UsageCounts{3, 30}));
  EXPECT_EQ(r.daily[0].usage, (UsageCounts{0, 0}));
}

TEST(Report, DailyCoversLeapFebruaryAndShortPeriods) {
  AccountUsage u = october();
  u.period = month_containing(at(2028, 2, 10));
  u.daily.clear();
  EXPECT_EQ(build_account_report(u, nullptr, BillingPlan{}).daily.size(), 29u);
  u.period = days(year{2026} / 12 / 31, year{2027} / 1 / 2);
  const AccountReport r = build_account_report(u, nullptr, BillingPlan{});
  ASSERT_EQ(r.daily.size(), 3u);
  EXPECT_EQ(r.daily[2].date, year{2027} / 1 / 2);
}

TEST(Report, ChangeAgainstPreviousPeriod) {
  const AccountUsage prev = september({1500, 600000});
  const AccountReport r = build_account_report(october(), &prev, BillingPlan{});
  ASSERT_TRUE(r.change.has_value());
  EXPECT_EQ(r.change->previous_period.start, at(2026, 9, 1));
  EXPECT_EQ(r.change->previous, (UsageCounts{1500, 600000}));
  EXPECT_EQ(r.change->runs_delta, 300);                     // 1800 - 1500
  EXPECT_EQ(r.change->run_seconds_delta, 48000);            // 648000 - 600000
  EXPECT_DOUBLE_EQ(*r.change->runs_relative, 0.2);          // 300 / 1500
  EXPECT_DOUBLE_EQ(*r.change->run_seconds_relative, 0.08);  // 48000 / 600000

  const AccountUsage more = september({2000, 810000});
  const AccountReport down = build_account_report(october(), &more, BillingPlan{});
  EXPECT_EQ(down.change->runs_delta, -200);
  EXPECT_DOUBLE_EQ(*down.change->runs_relative, -0.1);         // -200 / 2000
  EXPECT_DOUBLE_EQ(*down.change->run_seconds_relative, -0.2);  // -162000 / 810000
}

TEST(Report, NoRelativeChangeFromZeroAndNoChangeWithoutPrevious) {
  const AccountUsage zero = september({0, 0});
  const AccountReport r = build_account_report(october(), &zero, BillingPlan{});
  ASSERT_TRUE(r.change.has_value());
  EXPECT_EQ(r.change->runs_delta, 1800);
  EXPECT_FALSE(r.change->runs_relative.has_value());
  EXPECT_FALSE(r.change->run_seconds_relative.has_value());
  EXPECT_FALSE(build_account_report(october(), nullptr, BillingPlan{}).change.has_value());
}

TEST(Report, PreviousOfAnotherAccountIsRejected) {
  AccountUsage other = september({1, 1});
  other.account_id = "acc-beta";
  EXPECT_THROW(build_account_report(october(), &other, BillingPlan{}), std::invalid_argument);
}

TEST(Report, OverageWithPlan) {
  const AccountReport r = build_account_report(october(), nullptr, plan(1000, 0.99));
  ASSERT_TRUE(r.plan.has_value());
  EXPECT_EQ(r.plan->included_runs, 1000u);
  EXPECT_EQ(r.plan->runs_over_plan, 800u);  // 1800 - 1000
  EXPECT_EQ(r.plan->overage_price_micros, 990000u);
  EXPECT_EQ(r.plan->overage_cost_cents, 79200u);  // 800 * 0.99 = 792.00
  EXPECT_EQ(r.plan->currency, "EUR");
}

TEST(Report, NoOverageUnderThePlanAndNoPlanWithoutIncludedRuns) {
  const AccountReport under = build_account_report(october(), nullptr, plan(5000, 0.99));
  ASSERT_TRUE(under.plan.has_value());
  EXPECT_EQ(under.plan->runs_over_plan, 0u);
  EXPECT_EQ(under.plan->overage_cost_cents, 0u);
  const AccountReport exact = build_account_report(october(), nullptr, plan(1800, 0.99));
  EXPECT_EQ(exact.plan->runs_over_plan, 0u);
  // included_runs 0 means "no plan", even with a price configured.
  EXPECT_FALSE(build_account_report(october(), nullptr, plan(0, 0.99)).plan.has_value());
  EXPECT_FALSE(has_plan(BillingPlan{}));
}

TEST(Report, OverageCostIsRoundedToCentsWithoutFloatDrift) {
  // 801 runs over at 0.015: 12.015 exactly, rounded half up: 12.02.
  EXPECT_EQ(build_account_report(october(), nullptr, plan(999, 0.015)).plan->overage_cost_cents,
            1202u);
  // In doubles 3 * 0.29 is 0.8699999999999999, which truncates to 86 cents; integers give 87.
  EXPECT_EQ(cost_cents(3, price_micros(0.29)), 87u);
  EXPECT_EQ(cost_cents(3, price_micros(0.1)), 30u);
  EXPECT_EQ(cost_cents(1, price_micros(0.004)), 0u);  // 0.4 cent rounds down
  EXPECT_EQ(cost_cents(1, price_micros(0.005)), 1u);  // 0.5 cent rounds up
  EXPECT_EQ(cost_cents(0, price_micros(0.99)), 0u);
  // 10^9 runs at 999999.99: the product in micros (~10^21) is past 64 bits, the cents are not.
  EXPECT_EQ(cost_cents(1'000'000'000ull, price_micros(999999.99)), 99'999'999'000'000'000ull);
  // A cost that does not fit in 64-bit cents is an error, not a wrapped number.
  EXPECT_THROW(cost_cents(std::numeric_limits<std::uint64_t>::max(), price_micros(1e6)),
               std::overflow_error);
}

TEST(Report, InvalidPriceOrPeriodIsRejected) {
  EXPECT_THROW(price_micros(-0.01), std::invalid_argument);
  EXPECT_THROW(price_micros(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
  EXPECT_THROW(price_micros(std::numeric_limits<double>::infinity()), std::invalid_argument);
  EXPECT_THROW(build_account_report(october(), nullptr, plan(1, -1)), std::invalid_argument);
  AccountUsage empty = october();
  empty.period.end = empty.period.start;
  EXPECT_THROW(build_account_report(empty, nullptr, BillingPlan{}), std::invalid_argument);
  AccountUsage huge = october();
  huge.period.end = huge.period.start + std::chrono::days{4000};
  EXPECT_THROW(build_account_report(huge, nullptr, BillingPlan{}), std::invalid_argument);
}

TEST(Report, ZeroTotalGivesZeroShares) {
  AccountUsage u = october();
  u.total = {0, 0};
  const AccountReport r = build_account_report(u, nullptr, plan(10, 1));
  for (const WorkspaceRow& ws : r.workspaces) {
    EXPECT_EQ(ws.runs_share, 0.0);
    EXPECT_EQ(ws.run_seconds_share, 0.0);
  }
  EXPECT_EQ(r.plan->overage_cost_cents, 0u);
  EXPECT_EQ(share_of(5, 0), 0.0);
}

TEST(Report, LargestRemainderSplitsExactly) {
  // 100 / 3 = 33.33 each; the one cent left goes to the first of the equal remainders.
  EXPECT_EQ(allocate_largest_remainder(100, {1, 1, 1}), (std::vector<std::uint64_t>{34, 33, 33}));
  // 10 over 1:2:3:4 divides exactly.
  EXPECT_EQ(allocate_largest_remainder(10, {1, 2, 3, 4}), (std::vector<std::uint64_t>{1, 2, 3, 4}));
  // 175 over 8:7 -> 93.33 and 81.67: floors 93 + 81 = 174, the cent goes to the .67.
  EXPECT_EQ(allocate_largest_remainder(175, {8, 7}), (std::vector<std::uint64_t>{93, 82}));
  // Zero weights get nothing; nothing to allocate gives zeros.
  EXPECT_EQ(allocate_largest_remainder(5, {0, 3, 0}), (std::vector<std::uint64_t>{0, 5, 0}));
  EXPECT_EQ(allocate_largest_remainder(0, {0, 0}), (std::vector<std::uint64_t>{0, 0}));
  EXPECT_TRUE(allocate_largest_remainder(0, {}).empty());
  EXPECT_THROW(allocate_largest_remainder(1, {0, 0}), std::invalid_argument);
  EXPECT_THROW(allocate_largest_remainder(1, {}), std::invalid_argument);
}

TEST(Report, LargestRemainderSumsAndStaysWithinOneUnit) {
  const std::vector<std::uint64_t> weights = {3, 7, 11, 13, 0, 1, 997, 1'000'000'007};
  const std::uint64_t amount = 123'456'789;
  const std::vector<std::uint64_t> parts = allocate_largest_remainder(amount, weights);
  EXPECT_EQ(std::accumulate(parts.begin(), parts.end(), std::uint64_t{0}), amount);
  const long double total = std::accumulate(weights.begin(), weights.end(), 0.0L);
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const long double exact = static_cast<long double>(amount) * weights[i] / total;
    EXPECT_LT(std::abs(static_cast<long double>(parts[i]) - exact), 1.0L) << i;
  }
}

TEST(Report, FileNames) {
  EXPECT_EQ(report_file_name("acc-ttpu7uslju6igv8", "2026-10", "csv"),
            "scalr-usage_acc-ttpu7uslju6igv8_2026-10.csv");
  EXPECT_EQ(report_file_name("acc-1", "2026-10", "json"), "scalr-usage_acc-1_2026-10.json");
  EXPECT_EQ(report_file_name("acc-1", "2026-10", "html"), "scalr-usage_acc-1_2026-10.html");
  EXPECT_EQ(report_file_name("acc-1", "2026-10", "focus"), "scalr-usage_acc-1_2026-10.focus.csv");
  // No path separators or other unsafe bytes survive; UTF-8 bytes become one '_' each.
  EXPECT_EQ(report_file_name("../etc/passwd", "2026-10", "csv"),
            "scalr-usage_.._etc_passwd_2026-10.csv");
  EXPECT_EQ(report_file_name("a b\\c:\xC3\xBC", "2026 W01", "csv"),
            "scalr-usage_a_b_c____2026_W01.csv");
  EXPECT_EQ(report_file_name("", "", "csv"), "scalr-usage_unknown_unknown.csv");
  EXPECT_EQ(report_file_name(std::string(300, 'a'), "p", "csv").size(),
            std::string("scalr-usage__p.csv").size() + 100);
  EXPECT_THROW(report_file_name("acc-1", "2026-10", "pdf"), std::invalid_argument);
  EXPECT_THROW(report_file_name("acc-1", "2026-10", "focus.csv"), std::invalid_argument);
}

}  // namespace
}  // namespace scalr_usage
