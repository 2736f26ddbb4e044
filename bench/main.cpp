// The micro-benchmarks' main: Google Benchmark's, after silencing the daemon's logger, whose
// per-account lines (Poller) would otherwise go to stderr in the middle of the results.

#include <benchmark/benchmark.h>

#include "util/log.h"

int main(int argc, char** argv) {
  scalr_usage::log::init(scalr_usage::log::Level::error, scalr_usage::log::Format::logfmt);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
