#include "daemon/report_command.h"

#include <chrono>
#include <string>

#include "reports/report_runner.h"

namespace scalr_usage {

namespace {

constexpr const char* kProgram = "scalr-usage-exporter";
// Erases the terminal line the progress was drawn on.
constexpr const char* kClearLine = "\r\x1b[K";

}  // namespace

int run_report_command(const ReportOptions& options, const Config& config,
                       const std::function<std::unique_ptr<UsageSource>()>& make_source,
                       const ReportCommandIo& io, std::stop_token stop) {
  ReportJob job{options.period,
                options.accounts,
                {},
                config.billing,
                options.formats,
                "",
                std::chrono::floor<std::chrono::seconds>(Clock::now())};
  job.chargeback = config.chargeback;
  const bool to_stdout = options.output == "-";
  const ReportOutput output{
      to_stdout ? std::filesystem::path() : std::filesystem::path(options.output),
      to_stdout ? &io.out : nullptr};
  ProgressCallback progress;
  if (io.show_progress) {
    progress = [&](const ReportProgress& step) {
      std::fprintf(io.err, "%sreport %s: %zu/%zu %s", kClearLine, options.period_text.c_str(),
                   step.done, step.total, std::string(step.account).c_str());
      std::fflush(io.err);
    };
  }

  const std::unique_ptr<UsageSource> source = make_source();
  const ReportRunResult result = run_report(*source, job, output, stop, progress);
  if (io.show_progress) std::fputs(kClearLine, io.err);

  const char* period = result.period_key.c_str();
  if (result.cancelled) std::fprintf(io.err, "%s: report %s: interrupted\n", kProgram, period);
  if (!result.error.empty()) {
    std::fprintf(io.err, "%s: report %s: %s\n", kProgram, period, result.error.c_str());
  }
  for (const AccountResult& account : result.accounts) {
    for (const auto& file : account.files) io.out << file.string() << '\n';
    if (!account.error.empty()) {
      std::fprintf(io.err, "%s: report %s: account %s: %s\n", kProgram, period,
                   account.account_id.c_str(), account.error.c_str());
    }
  }
  io.out.flush();
  return result.ok() ? 0 : 1;
}

}  // namespace scalr_usage
