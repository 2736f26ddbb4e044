// Exposition serialisation: the work of one snapshot publication (SnapshotStore::install renders
// plain text and gzip once, so scrapes only copy bytes), at 10,000 and 50,000 workspaces, i.e.
// about 20,000 and 100,000 usage series (runs and run seconds per workspace). Split into its
// parts: building the metric families, text serialisation, and each compression alone
// (Exposition::gzip, and the open gzip member a scrape finishes with the process_* lines).

#include <benchmark/benchmark.h>
#include <prometheus/text_serializer.h>
#include <zlib.h>

#include <map>
#include <memory>
#include <sstream>
#include <utility>

#include "bench/fixtures.h"
#include "metrics/exposition.h"
#include "metrics/process_metrics.h"
#include "metrics/snapshot_collector.h"

namespace scalr_usage::bench {
namespace {

const BuildInfo kBuild{"0.1.0", "0123456789ab"};

// Fixed stats, so every run appends the same bytes.
const ProcessStats kProcess{12.5, 48'000'000, 310'000'000, 1'795'600'000.0, 17, 1024};

// Inflates a gzip member, for the fixture checks only.
std::string gunzip(std::string_view gz) {
  z_stream stream{};
  require(inflateInit2(&stream, 15 + 16) == Z_OK, "inflateInit2 failed");
  std::string out;
  std::string chunk(1 << 16, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  stream.avail_in = static_cast<uInt>(gz.size());
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk.data());
    stream.avail_out = static_cast<uInt>(chunk.size());
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(chunk.data(), chunk.size() - stream.avail_out);
  }
  inflateEnd(&stream);
  require(result == Z_STREAM_END, "not a complete gzip member");
  return out;
}

std::size_t workspaces_of(const Snapshot& snapshot) {
  std::size_t n = 0;
  for (const auto& [id, state] : snapshot.accounts) n += state.usage->workspaces.size();
  return n;
}

std::size_t environments_of(const Snapshot& snapshot) {
  std::size_t n = 0;
  for (const auto& [id, state] : snapshot.accounts) n += state.usage->environments.size();
  return n;
}

// The rendered text of the snapshot with `workspaces` workspaces, checked once: every workspace
// and environment has both its series, and the gzip is a gzip of about the right size.
struct Rendered {
  const Snapshot* snapshot;
  Exposition exposition;
  std::size_t series;
};

const Rendered& rendered(std::size_t workspaces) {
  static std::map<std::size_t, std::unique_ptr<const Rendered>> cache;
  auto& slot = cache[workspaces];
  if (!slot) {
    const Snapshot& snapshot = snapshot_with_workspaces(workspaces);
    require(workspaces_of(snapshot) == workspaces, "snapshot has the wrong workspace count");
    Exposition exposition = render_exposition(snapshot, kBuild);
    const std::string& text = exposition.text;
    const std::size_t environments = environments_of(snapshot);
    for (const auto& [prefix, want] :
         {std::pair{"scalr_workspace_runs_total{", workspaces},
          std::pair{"scalr_workspace_run_seconds_total{", workspaces},
          std::pair{"scalr_environment_runs_total{", environments},
          std::pair{"scalr_environment_run_seconds_total{", environments}}) {
      const std::size_t got = count_lines_starting_with(text, prefix);
      require(got == want, std::string("exposition has ") + std::to_string(got) + " " + prefix +
                               " lines, want " + std::to_string(want));
    }
    const std::size_t series = count_sample_lines(text);
    require(series >= 2 * (workspaces + environments), "exposition lacks series");
    const std::string tail = render_process_metrics(kProcess);
    require(gunzip(exposition.gzip.head + gzip_tail(exposition.gzip, tail)) == text + tail,
            "open gzip member plus tail does not inflate to the text plus the tail");
    // An empty tail closes the open member into the text's gzip.
    require(gunzip(exposition.gzip.head + gzip_tail(exposition.gzip, "")) == text,
            "open gzip member closed with an empty tail does not inflate to the text");
    slot = std::make_unique<const Rendered>(Rendered{&snapshot, std::move(exposition), series});
  }
  return *slot;
}

void report_sizes(benchmark::State& state, const Rendered& r) {
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(r.series));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(r.exposition.text.size()));
  state.counters["series"] = static_cast<double>(r.series);
  state.counters["text_bytes"] = static_cast<double>(r.exposition.text.size());
  state.counters["gzip_bytes"] = static_cast<double>(r.exposition.gzip.head.size());
}

// What a publication costs: families, text, gzip.
void BM_Exposition_Render(benchmark::State& state) {
  const Rendered& r = rendered(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    Exposition exposition = render_exposition(*r.snapshot, kBuild);
    benchmark::DoNotOptimize(exposition);
  }
  report_sizes(state, r);
}
BENCHMARK(BM_Exposition_Render)
    ->ArgName("workspaces")
    ->Arg(10'000)
    ->Arg(50'000)
    ->Unit(benchmark::kMillisecond);

// Families and text without gzip: the same steps render_exposition takes before compressing.
void BM_Exposition_Text(benchmark::State& state) {
  const Rendered& r = rendered(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    std::ostringstream text;
    prometheus::TextSerializer{}.Serialize(text, collect_metrics(*r.snapshot, kBuild));
    std::string out = std::move(text).str();
    benchmark::DoNotOptimize(out);
  }
  report_sizes(state, r);
}
BENCHMARK(BM_Exposition_Text)
    ->ArgName("workspaces")
    ->Arg(10'000)
    ->Arg(50'000)
    ->Unit(benchmark::kMillisecond);

// Only the snapshot -> metric families step (label vectors, strings).
void BM_Exposition_CollectMetrics(benchmark::State& state) {
  const Rendered& r = rendered(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto families = collect_metrics(*r.snapshot, kBuild);
    benchmark::DoNotOptimize(families);
  }
  report_sizes(state, r);
}
BENCHMARK(BM_Exposition_CollectMetrics)
    ->ArgName("workspaces")
    ->Arg(10'000)
    ->Arg(50'000)
    ->Unit(benchmark::kMillisecond);

// Only the open gzip member (the scrape path appends process_* to it).
void BM_Exposition_GzipOpen(benchmark::State& state) {
  const Rendered& r = rendered(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    OpenGzip open = gzip_open(r.exposition.text);
    benchmark::DoNotOptimize(open);
  }
  report_sizes(state, r);
}
BENCHMARK(BM_Exposition_GzipOpen)
    ->ArgName("workspaces")
    ->Arg(10'000)
    ->Arg(50'000)
    ->Unit(benchmark::kMillisecond);

// The per-request part of a gzip scrape: render the process_* lines and close the cached open
// member with them (reading /proc is left out: it is a syscall, not serialisation).
void BM_Scrape_ProcessGzipTail(benchmark::State& state) {
  const Rendered& r = rendered(static_cast<std::size_t>(state.range(0)));
  std::size_t tail_bytes = 0;
  for (auto _ : state) {
    const std::string tail = render_process_metrics(kProcess);
    std::string compressed = gzip_tail(r.exposition.gzip, tail);
    tail_bytes = tail.size();
    benchmark::DoNotOptimize(compressed);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(tail_bytes));
  state.counters["tail_bytes"] = static_cast<double>(tail_bytes);
}
BENCHMARK(BM_Scrape_ProcessGzipTail)
    ->ArgName("workspaces")
    ->Arg(10'000)
    ->Unit(benchmark::kMicrosecond);

// Not the exporter's code: the same gzip as gzip_compress at another zlib level, to size what a
// cheaper level would save per publication (gzip_bytes is the output at that level).
void BM_WhatIf_GzipLevel(benchmark::State& state) {
  const Rendered& r = rendered(10'000);
  const int level = static_cast<int>(state.range(0));
  const auto compress = [&] {
    z_stream stream{};
    require(deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK,
            "deflateInit2 failed");
    std::string out(deflateBound(&stream, static_cast<uLong>(r.exposition.text.size())), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(r.exposition.text.data()));
    stream.avail_in = static_cast<uInt>(r.exposition.text.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    const int result = deflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    require(result == Z_STREAM_END, "deflate failed");
    return out;
  };
  const std::string first = compress();
  require(gunzip(first) == r.exposition.text, "level " + std::to_string(level) + " gzip is wrong");
  for (auto _ : state) {
    std::string gzip = compress();
    benchmark::DoNotOptimize(gzip);
  }
  report_sizes(state, r);
  state.counters["gzip_bytes"] = static_cast<double>(first.size());
}
BENCHMARK(BM_WhatIf_GzipLevel)->ArgName("level")->Arg(1)->Arg(6)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace scalr_usage::bench
