// The backfill pieces on their own: OpenMetrics text, the range rules, month-to-date sums.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "backfill/month_to_date.h"
#include "backfill/openmetrics.h"
#include "backfill/range.h"

namespace scalr_usage {
namespace {

using namespace std::chrono_literals;
using std::chrono::sys_days;
using ::testing::HasSubstr;

constexpr std::chrono::year_month_day kDay{std::chrono::year{2026} / 10 / 15};

Seconds at(std::chrono::year_month_day day, std::chrono::seconds time_of_day) {
  return Seconds{sys_days{day}} + time_of_day;
}

std::string refusal(std::chrono::year_month_day from, std::chrono::year_month_day to, int max_days,
                    Seconds now) {
  try {
    check_backfill_range(from, to, max_days, now);
  } catch (const BackfillError& error) {
    return error.what();
  }
  return "";
}

TEST(OpenMetricsText, EscapesBackslashQuoteAndNewlineOnly) {
  EXPECT_EQ(escape_openmetrics("a\\b\"c\nd ü\t"), "a\\\\b\\\"c\\nd ü\t");
  EXPECT_EQ(escape_openmetrics(""), "");
}

TEST(OpenMetricsText, CountersAreDeclaredWithoutTotal) {
  prometheus::MetricFamily counter{
      "scalr_account_runs_total", "h", prometheus::MetricType::Counter, {}};
  EXPECT_EQ(openmetrics_family_name(counter), "scalr_account_runs");
  prometheus::MetricFamily gauge{"scalr_account_info", "h", prometheus::MetricType::Gauge, {}};
  EXPECT_EQ(openmetrics_family_name(gauge), "scalr_account_info");
}

TEST(OpenMetricsText, SampleLineHasEscapedLabelsExtraLabelsAndSeconds) {
  std::string out;
  append_openmetrics_sample(out, "scalr_workspace_runs_total",
                            {{"account_id", "acc-1"}, {"workspace_name", "a\"b\\c\nd"}},
                            {{"job", "scalr"}}, 42, end_of_day_sample_time(kDay));
  // 2026-10-15T23:59:59Z is 1792108799.
  EXPECT_EQ(out,
            "scalr_workspace_runs_total{account_id=\"acc-1\",workspace_name=\"a\\\"b\\\\c\\nd\","
            "job=\"scalr\"} 42 1792108799\n");
  out.clear();
  append_openmetrics_sample(out, "x", {}, {}, 1e17, Seconds{0s});
  EXPECT_EQ(out, "x 1e+17 0\n");
}

TEST(BackfillRange, SampleTimeIsTheLastSecondOfTheDay) {
  EXPECT_EQ(format_rfc3339(end_of_day_sample_time(kDay)), "2026-10-15T23:59:59Z");
  EXPECT_EQ(format_rfc3339(end_of_day_sample_time(std::chrono::year{2026} / 12 / 31)),
            "2026-12-31T23:59:59Z");
}

TEST(BackfillRange, RefusesFromAfterTo) {
  const auto now = at(std::chrono::year{2026} / 12 / 4, 20h);
  EXPECT_EQ(refusal(std::chrono::year{2026} / 11 / 2, std::chrono::year{2026} / 11 / 1, 400, now),
            "--from 2026-11-02 is after --to 2026-11-01");
  EXPECT_EQ(refusal(kDay, kDay, 400, now), "");  // one day is a range
}

TEST(BackfillRange, RefusesMoreDaysThanMaxDays) {
  const auto now = at(std::chrono::year{2026} / 12 / 4, 20h);
  const std::chrono::year_month_day to{std::chrono::year{2026} / 11 / 30};
  const std::chrono::year_month_day from400{sys_days{to} - std::chrono::days{399}};
  const std::chrono::year_month_day from401{sys_days{to} - std::chrono::days{400}};
  EXPECT_EQ(refusal(from400, to, kDefaultBackfillMaxDays, now), "");
  EXPECT_THAT(refusal(from401, to, kDefaultBackfillMaxDays, now),
              HasSubstr("is 401 days, more than --max-days (400)"));
  EXPECT_THAT(refusal(std::chrono::year{2026} / 11 / 1, to, 29, now),
              HasSubstr("is 30 days, more than --max-days (29)"));
}

TEST(BackfillRange, RefusesTheLastThreeHoursAndSaysWhatWouldDo) {
  const std::chrono::year_month_day today{std::chrono::year{2026} / 12 / 4};
  const std::chrono::year_month_day yesterday{std::chrono::year{2026} / 12 / 3};
  // Yesterday ended 20 hours ago: fine. Today has not ended.
  EXPECT_EQ(refusal(kDay, yesterday, 400, at(today, 20h)), "");
  const std::string today_refused = refusal(kDay, today, 400, at(today, 20h));
  EXPECT_THAT(today_refused, HasSubstr("--to 2026-12-04 reaches into the last 3 hours"));
  EXPECT_THAT(today_refused, HasSubstr("Prometheus"));
  EXPECT_THAT(today_refused, HasSubstr("the latest --to now is 2026-12-03"));
  // Exactly 3 hours after yesterday's end is allowed; a second less is not.
  EXPECT_EQ(refusal(kDay, yesterday, 400, at(today, 3h)), "");
  const std::string early = refusal(kDay, yesterday, 400, at(today, 3h) - 1s);
  EXPECT_THAT(early, HasSubstr("--to 2026-12-03 reaches into the last 3 hours"));
  EXPECT_THAT(early, HasSubstr("the latest --to now is 2026-12-02"));
}

AccountUsage day_usage(std::uint64_t runs, std::string ws_name = "app") {
  AccountUsage usage;
  usage.account_id = "acc-1";
  usage.total = {runs, runs * 10};
  usage.environments = {{"env-1", "prod", {runs, runs * 10}}};
  usage.workspaces = {
      {"ws-1", std::move(ws_name), std::string("env-1"), std::string("prod"), {runs, runs * 10}}};
  return usage;
}

TEST(MonthToDate, SumsDaysAndStartsOverWithEachMonth) {
  MonthToDate month("acc-1");
  month.add(std::chrono::year{2026} / 10 / 30, day_usage(2));
  month.add(std::chrono::year{2026} / 10 / 31, day_usage(3, "renamed"));
  AccountUsage usage = month.usage();
  EXPECT_EQ(usage.total, (UsageCounts{5, 50}));
  ASSERT_EQ(usage.workspaces.size(), 1u);
  EXPECT_EQ(usage.workspaces[0].usage, (UsageCounts{5, 50}));
  EXPECT_EQ(usage.workspaces[0].name, "renamed");  // the latest name
  EXPECT_EQ(usage.environments[0].usage, (UsageCounts{5, 50}));
  EXPECT_EQ(format_rfc3339(usage.period.start), "2026-10-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(usage.period.end), "2026-11-01T00:00:00Z");

  month.add(std::chrono::year{2026} / 11 / 1, day_usage(7));
  usage = month.usage();
  EXPECT_EQ(usage.total, (UsageCounts{7, 70}));
  EXPECT_EQ(usage.workspaces[0].usage, (UsageCounts{7, 70}));
  EXPECT_EQ(format_rfc3339(usage.period.start), "2026-11-01T00:00:00Z");
}

TEST(MonthToDate, KeepsWorkspacesOfEarlierDaysAndTheirEnvironmentKnowledge) {
  MonthToDate month("acc-1");
  AccountUsage first = day_usage(1);
  WorkspaceUsage api_ws{"ws-2", "no-env", std::nullopt, std::nullopt, {4, 8}};
  first.workspaces.push_back(api_ws);
  month.add(std::chrono::year{2026} / 10 / 1, first);
  month.add(std::chrono::year{2026} / 10 / 2, AccountUsage{});  // a quiet day
  const AccountUsage usage = month.usage();
  ASSERT_EQ(usage.workspaces.size(), 2u);
  EXPECT_EQ(usage.workspaces[1].id, "ws-2");
  EXPECT_EQ(usage.workspaces[1].usage, (UsageCounts{4, 8}));
  EXPECT_FALSE(usage.workspaces[1].environment_id.has_value());  // never invented
  EXPECT_EQ(usage.total, (UsageCounts{1, 10}));
}

}  // namespace
}  // namespace scalr_usage
