#include "daemon/backfill_command.h"

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>

#include "backfill/backfill.h"
#include "reports/atomic_file.h"

namespace scalr_usage {

namespace {

constexpr const char* kProgram = "scalr-usage-exporter";
// Erases the terminal line the progress was drawn on.
constexpr const char* kClearLine = "\r\x1b[K";

// Where the per-family temporary files go: beside the output (its filesystem has room for the
// file, so for its parts), or $TMPDIR for standard output.
std::filesystem::path spool_dir(const std::string& output) {
  if (output != "-") {
    const std::filesystem::path path(output);
    return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  }
  const char* tmpdir = std::getenv("TMPDIR");
  return tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
}

int fail(const BackfillCommandIo& io, int status, const std::string& message) {
  std::fprintf(io.err, "%s: backfill: %s\n", kProgram, message.c_str());
  return status;
}

}  // namespace

int run_backfill_command(const BackfillOptions& options, const Config& config,
                         const std::function<std::unique_ptr<UsageSource>()>& make_source,
                         const BackfillCommandIo& io, std::stop_token stop) {
  const ExtraLabels labels(options.labels.begin(), options.labels.end());
  try {
    check_backfill_range(options.from, options.to, options.max_days, io.now);
    check_extra_labels(labels, config.chargeback);
  } catch (const BackfillError& error) {
    return fail(io, kBackfillRefused, error.what());
  }
  BackfillJob job{options.from, options.to, options.accounts};
  job.chargeback = config.chargeback;
  BackfillProgressCallback progress;
  if (io.show_progress) {
    progress = [&](const BackfillProgress& step) {
      std::fprintf(io.err, "%sbackfill: account %zu/%zu %s, %s", kClearLine, step.account_number,
                   step.accounts, std::string(step.account).c_str(), format_date(step.day).c_str());
      std::fflush(io.err);
    };
  }
  try {
    OpenMetricsSpool spool(spool_dir(options.output), labels);
    const std::unique_ptr<UsageSource> source = make_source();
    const BackfillSummary summary = run_backfill(*source, job, spool, stop, progress);
    if (io.show_progress) std::fputs(kClearLine, io.err);
    if (options.output == "-") {
      spool.finish([&](std::string_view chunk) { io.out.write(chunk.data(), chunk.size()); });
      io.out.flush();
      if (!io.out) return fail(io, kBackfillFailed, "cannot write standard output");
    } else {
      write_file_atomically(options.output,
                            [&](const AtomicFileWriter& write) { spool.finish(write); });
    }
    std::fprintf(io.err, "%s: backfill: %llu samples, %zu accounts, %zu days (%s to %s) to %s\n",
                 kProgram, static_cast<unsigned long long>(summary.samples), summary.accounts,
                 summary.days, format_date(options.from).c_str(), format_date(options.to).c_str(),
                 options.output == "-" ? "standard output" : options.output.c_str());
    return 0;
  } catch (const std::exception& error) {
    if (io.show_progress) std::fputs(kClearLine, io.err);
    return fail(io, kBackfillFailed, error.what());
  }
}

}  // namespace scalr_usage
