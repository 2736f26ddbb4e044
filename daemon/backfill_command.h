#pragma once
// The `backfill` command: past days' usage from the configured source as an OpenMetrics file for
// promtool (backfill/backfill.h), then an exit status. Wiring only: the range, the spool, the
// output.

#include <cstdio>
#include <functional>
#include <memory>
#include <ostream>
#include <stop_token>

#include "collectors/source.h"
#include "daemon/cli.h"
#include "daemon/config_file.h"
#include "model/period.h"

namespace scalr_usage {

struct BackfillCommandIo {
  std::ostream& out;  // the document with --output=-
  std::FILE* err;     // errors, the summary line, and the progress line when show_progress
  // Progress on one line rewritten in place: only for a terminal, never into a pipe or a log.
  bool show_progress = false;
  Seconds now;  // what "the last 3 hours" are counted back from
};

inline constexpr int kBackfillFailed = 1;   // the source or the output failed; no file
inline constexpr int kBackfillRefused = 2;  // the range or a --label was refused up front

// Returns 0 when the whole document was written. With --output=FILE the file appears (replacing
// any old one) only then; with --output=- nothing is written to out before every day is fetched.
int run_backfill_command(const BackfillOptions& options, const Config& config,
                         const std::function<std::unique_ptr<UsageSource>()>& make_source,
                         const BackfillCommandIo& io, std::stop_token stop);

}  // namespace scalr_usage
