// JSON:API page parsing: what every page of GET /api/iacp/v3/usage-statistics costs the poller
// (a 10,000-workspace profile is 100 workspace-breakdown pages per account per poll).

#include <benchmark/benchmark.h>

#include "bench/fixtures.h"
#include "collectors/scalr_api/jsonapi.h"

namespace scalr_usage::bench {
namespace {

void check_page(const UsagePage& page, PageKind kind, std::size_t items) {
  require(page.items.size() == items, "parsed page has " + std::to_string(page.items.size()) +
                                          " items, want " + std::to_string(items));
  for (const UsageItem& item : page.items) {
    require(item.account_id == "acc-ttpu7uslju6igv8", "item without its account");
    require(item.runs_count > 0, "item without runs");
    if (kind == PageKind::workspace_breakdown) {
      require(item.breakdown_id && item.breakdown_id->starts_with("ws-") && !item.date,
              "workspace breakdown item without a workspace id, or with a date");
    } else {
      require(!item.breakdown_id && item.date.has_value(), "daily item without a date");
    }
  }
  require(page.total_pages.has_value(), "page without total-pages");
}

void BM_ParseUsagePage(benchmark::State& state, PageKind kind, std::size_t items) {
  const std::string body = usage_page_json(kind, items, 7);
  check_page(parse_usage_page(body), kind, items);
  for (auto _ : state) {
    UsagePage page = parse_usage_page(body);
    benchmark::DoNotOptimize(page);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(items));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
  state.counters["page_bytes"] = static_cast<double>(body.size());
}

BENCHMARK_CAPTURE(BM_ParseUsagePage, workspace_breakdown_100, PageKind::workspace_breakdown, 100)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ParseUsagePage, daily_30, PageKind::daily, 30)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace scalr_usage::bench
