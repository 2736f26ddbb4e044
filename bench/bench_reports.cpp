// Billing reports for the large profile (3 accounts, 100 environments, 10,000 workspaces, with the
// previous month and a plan with overage): building the Report from the usage, and rendering it in
// every format. The whole report is rendered as one document (what `report --output -` writes);
// the scheduler renders the same rows account by account.

#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "bench/fixtures.h"
#include "reports/formats.h"  // kReportFormatTable
#include "reports/render.h"
#include "reports/report.h"

namespace scalr_usage::bench {
namespace {

std::size_t count_of(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t pos = text.find(needle); pos != std::string_view::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

void check_report(const Report& report) {
  const LargeProfile& profile = large_profile();
  require(report.accounts.size() == profile.catalogue.size(), "report lacks accounts");
  std::size_t workspaces = 0;
  for (const AccountReport& account : report.accounts) {
    workspaces += account.workspaces.size();
    require(account.change.has_value(), "report without the previous period");
    require(account.plan.has_value() && account.plan->runs_over_plan > 0,
            "report without overage: the plan's rows would not be rendered");
    require(account.top_workspaces.size() == 10, "report without a top 10");
    require(account.daily.size() == 30, "report without 30 days");
  }
  require(workspaces == profile.workspace_count, "report has the wrong workspace count");
}

// Every workspace must be in the output, or the benchmark renders something smaller than asked.
void check_rendered(std::string_view format, const std::string& out, const LargeProfile& p) {
  const std::size_t accounts = p.catalogue.size();
  const std::size_t ws = p.workspace_count;
  if (format == "csv") {
    const std::size_t rows = count_of(out, "\r\n");
    require(rows == 1 + accounts + p.environment_count + ws,
            "csv has " + std::to_string(rows) + " rows");
  } else if (format == "focus") {
    const std::size_t rows = count_of(out, "\r\n");
    // Header, one row per workspace, and at most one row per account for runs on no workspace.
    require(rows >= 1 + ws && rows <= 1 + ws + accounts,
            "focus has " + std::to_string(rows) + " rows");
  } else if (format == "json") {
    const nlohmann::json doc = nlohmann::json::parse(out);
    std::size_t n = 0;
    for (const auto& account : doc.at("accounts")) n += account.at("workspaces").size();
    require(n == ws, "json has " + std::to_string(n) + " workspaces");
  } else if (format == "html") {
    // Environment and workspace rows start alike; the top chart and summary do not.
    const std::size_t rows = count_of(out, "<tr><td class=\"id\">");
    require(rows == p.environment_count + ws, "html has " + std::to_string(rows) + " id rows");
  } else {
    fixture_error("unknown format " + std::string(format));
  }
}

void BM_ReportBuild_Large(benchmark::State& state) {
  const LargeProfile& profile = large_profile();
  const BillingPlan plan = bench_plan();
  check_report(large_report());
  for (auto _ : state) {
    Report report{"2026-12-01T06:00:00Z", "monthly: 0 6 1 * *", bench_period(), {}, plan};
    for (std::size_t i = 0; i < profile.usage.size(); ++i) {
      report.accounts.push_back(
          build_account_report(profile.usage[i], &profile.previous_usage[i], plan));
    }
    benchmark::DoNotOptimize(report);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(profile.workspace_count));
}
BENCHMARK(BM_ReportBuild_Large)->Unit(benchmark::kMillisecond);

void BM_ReportRender_Large(benchmark::State& state, std::string_view format) {
  const Report& report = large_report();
  check_report(report);
  const std::string first = render_report(report, format);
  check_rendered(format, first, large_profile());
  for (auto _ : state) {
    std::string out = render_report(report, format);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<std::int64_t>(large_profile().workspace_count));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(first.size()));
  state.counters["output_bytes"] = static_cast<double>(first.size());
}
// BM_ReportRender_Large/<name> for every row of the table of formats, in its order.
[[maybe_unused]] const bool kRenderBenchmarksRegistered = [] {
  for (const ReportFormat& format : kReportFormatTable) {
    const std::string name = "BM_ReportRender_Large/" + std::string(format.name);
    benchmark::RegisterBenchmark(name.c_str(), BM_ReportRender_Large, format.name)
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace
}  // namespace scalr_usage::bench
