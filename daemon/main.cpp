// Wiring only: flags, the configuration files, logging, then --check-config, the on-demand report
// command, or the daemon (daemon/serve.h). Business logic lives in collectors/, metrics/,
// reports/, web/ and daemon/{poller,report_scheduler,report_command}.cpp.

#include <pthread.h>
#include <signal.h>
#include <time.h>  // timespec, sigtimedwait
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collectors/registry/registry.h"
#include "daemon/backfill_command.h"
#include "daemon/cli.h"
#include "daemon/config_file.h"
#include "daemon/report_command.h"
#include "daemon/serve.h"
#include "daemon/workers.h"
#include "util/log.h"
#include "version.h"
#include "web/web_config.h"

namespace scalr_usage {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitConfig = 1;

// Signals are taken synchronously by the main thread with sigwait, so no handler runs inside a
// library call and the other threads never see them.
sigset_t block_shutdown_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a scraper that hangs up must not kill the daemon
  return signals;
}

// For sources whose HTTP responses nobody counts (the report command, --check-config).
struct NoObserver final : RequestObserver {
  void on_response(std::string_view, int, double) override {}
};

// SIGINT/SIGTERM request a stop of the foreground commands (report, backfill) through stop
// instead of killing the process, so that no partial file is left behind.
class StopOnSignal {
 public:
  StopOnSignal() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    watch_ = std::jthread([this](std::stop_token done) {
      while (!done.stop_requested()) {
        const timespec timeout{0, 200'000'000};
        if (sigtimedwait(&signals_, nullptr, &timeout) > 0) {
          stop_.request_stop();
          return;
        }
      }
    });
  }
  std::stop_token token() const { return stop_.get_token(); }

 private:
  sigset_t signals_{};
  std::stop_source stop_;
  std::jthread watch_;  // last: stopped and joined before the rest goes
};

// The backfill command in the foreground (see StopOnSignal).
int backfill_command(const CliOptions& options, const Config& config) {
  StopOnSignal stop;
  NoObserver no_observer;
  const Poller::SourceFactory factory = make_source_factory(config, /*check_at_start=*/false);
  return run_backfill_command(
      options.backfill, config, [&] { return factory(no_observer); },
      BackfillCommandIo{std::cout, stderr, isatty(STDERR_FILENO) == 1,
                        std::chrono::floor<std::chrono::seconds>(Clock::now())},
      stop.token());
}

// The report command in the foreground: SIGINT/SIGTERM stop the run (files already renamed into
// place stay, a file being written is not left behind) instead of killing the process.
int report_command(const CliOptions& options, const Config& config) {
  StopOnSignal stop;
  NoObserver no_observer;
  const Poller::SourceFactory factory = make_source_factory(config, /*check_at_start=*/false);
  return run_report_command(
      options.report, config, [&] { return factory(no_observer); },
      ReportCommandIo{std::cout, stderr, isatty(STDERR_FILENO) == 1}, stop.token());
}

// --check-config reports on standard error, the daemon in its log.
void report_invalid(const CliOptions& options, std::string_view what, const std::string& file,
                    const ConfigError& error) {
  if (options.command == CliOptions::Command::check_config) {
    std::fprintf(stderr, "%s\n", error.what());
  } else {
    log::error(what, {{"file", file}, {"error", error.what()}});
  }
}

std::optional<Configuration> load_configuration(const CliOptions& options) {
  Configuration loaded;
  try {
    loaded.config = load_config(options.config_file, process_environment());
  } catch (const ConfigError& error) {
    report_invalid(options, "invalid configuration", options.config_file, error);
    return std::nullopt;
  }
  if (options.web_config_file.empty()) return loaded;
  try {
    loaded.web_config =
        std::make_shared<const WebConfigFile>(load_web_config_file(options.web_config_file));
  } catch (const ConfigError& error) {
    report_invalid(options, "invalid web configuration", options.web_config_file, error);
    return std::nullopt;
  }
  return loaded;
}

// A source's setup (the postgres source's query) is part of the configuration, so it is checked
// too when the source answers; a source that does not is reported but is no configuration error.
int check_config_command(const CliOptions& options, const Configuration& loaded) {
  if (const std::string_view key = setup_check_key(loaded.config.source); !key.empty()) {
    try {
      NoObserver no_observer;
      const std::unique_ptr<UsageSource> source = make_source(loaded.config.source, no_observer);
      if (const std::string unchecked = check_source_setup(*source); !unchecked.empty()) {
        std::fprintf(stderr, "warning: %s not checked: %s\n", std::string(key).c_str(),
                     unchecked.c_str());
      }
    } catch (const SourceSetupError& error) {
      std::fprintf(stderr, "%s\n", error.what());
      return kExitConfig;
    }
  }
  std::printf("%s: configuration is valid\n", options.config_file.c_str());
  if (loaded.web_config) {
    std::printf("%s: web configuration is valid\n", options.web_config_file.c_str());
  }
  return 0;
}

int run(const CliOptions& options) {
  log::init(options.log_level, options.log_format);
  std::optional<Configuration> loaded = load_configuration(options);
  if (!loaded) return kExitConfig;
  if (options.command == CliOptions::Command::check_config) {
    return check_config_command(options, *loaded);
  }
  if (options.command == CliOptions::Command::report) {
    return report_command(options, loaded->config);
  }
  if (options.command == CliOptions::Command::backfill) {
    return backfill_command(options, loaded->config);
  }
  apply_flag_overrides(options, loaded->config);
  const sigset_t signals = block_shutdown_signals();
  return serve(options, std::move(*loaded), signals) ? 0 : kExitConfig;
}

}  // namespace
}  // namespace scalr_usage

int main(int argc, char** argv) {
  using scalr_usage::CliOptions;
  CliOptions options;
  try {
    options = scalr_usage::parse_cli(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const scalr_usage::CliError& error) {
    std::fprintf(stderr, "scalr-usage-exporter: %s\nTry 'scalr-usage-exporter --help'.\n",
                 error.what());
    return scalr_usage::kExitUsage;
  }
  switch (options.command) {
    case CliOptions::Command::help:
      std::fputs(scalr_usage::usage_text().c_str(), stdout);
      return 0;
    case CliOptions::Command::version:
      std::printf("scalr-usage-exporter, version %s (revision %s)\n", scalr_usage::build::kVersion,
                  scalr_usage::build::kRevision);
      return 0;
    default:
      break;
  }
  try {
    return scalr_usage::run(options);
  } catch (const std::exception& error) {
    scalr_usage::log::error("fatal error", {{"error", error.what()}});
    return 1;
  }
}
