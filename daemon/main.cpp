// Wiring only: flags, config, logging, then the poller, the report scheduler, the snapshot store
// and the web server, or the on-demand report command. Business logic lives in collectors/,
// metrics/, reports/, web/ and daemon/{poller,report_scheduler,report_command}.cpp.

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "collectors/postgres/postgres_source.h"
#include "collectors/scalr_api/scalr_api_source.h"
#include "config/config.h"
#include "config/dsn.h"
#include "config/duration.h"
#include "daemon/cli.h"
#include "daemon/poller.h"
#include "daemon/report_command.h"
#include "daemon/report_scheduler.h"
#include "metrics/snapshot_store.h"
#include "util/log.h"
#include "version.h"
#include "web/server.h"

namespace scalr_usage {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitConfig = 1;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

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

// The PostgreSQL source's startup check. A query that cannot work is a configuration error
// (ConfigError propagates); a database that cannot be asked yet is not, as the poller keeps trying.
// Returns the reason the query could not be checked, empty when it was.
std::string check_postgres_query(PostgresSource& source) {
  try {
    source.check_query({});
    return "";
  } catch (const SourceError& error) {
    return error.what();
  }
}

// The one way sources are made: the poller's, each report run's and the report command's are
// separate instances (sources are not thread-safe). Only the poller's start-up checks the
// postgres query: the daemon's start is where a broken query must stop it.
Poller::SourceFactory source_factory(const Config& config, bool check_query_at_start) {
  if (config.postgres) {
    return [postgres = *config.postgres,
            check_query_at_start](RequestObserver&) -> std::unique_ptr<UsageSource> {
      auto source = std::make_unique<PostgresSource>(postgres);
      if (!check_query_at_start) return source;
      if (const std::string unchecked = check_postgres_query(*source); !unchecked.empty()) {
        log::warn("cannot check postgres.query at start; polling will keep trying",
                  {{"error", unchecked}});
      }
      return source;
    };
  }
  return [target = config.scalr_targets.at(0)](RequestObserver& observer) {
    return std::make_unique<ScalrApiSource>(target, &observer);
  };
}

// The report command in the foreground: SIGINT/SIGTERM stop the run (files already renamed into
// place stay, a file being written is not left behind) instead of killing the process.
int report_command(const CliOptions& options, const Config& config) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::stop_source stop;
  std::jthread watch([&signals, &stop](std::stop_token done) {
    while (!done.stop_requested()) {
      const timespec timeout{0, 200'000'000};
      if (sigtimedwait(&signals, nullptr, &timeout) > 0) {
        stop.request_stop();
        return;
      }
    }
  });
  struct NoObserver final : RequestObserver {
    void on_response(int) override {}
  } no_observer;
  const Poller::SourceFactory factory = source_factory(config, /*check_query_at_start=*/false);
  return run_report_command(
      options.report, config, [&] { return factory(no_observer); },
      ReportCommandIo{std::cout, stderr, isatty(STDERR_FILENO) == 1}, stop.get_token());
}

void log_start(const Config& config) {
  const std::string interval = format_duration(config.poll.interval);
  if (config.postgres) {
    const PostgresConfig& postgres = *config.postgres;
    log::info("starting scalr-usage-exporter",
              {{"version", build::kVersion},
               {"revision", build::kRevision},
               {"source", config.source},
               {"dsn", redact_dsn(postgres.dsn.reveal())},
               {"dsn_origin", postgres.dsn_origin},
               {"accounts", postgres.accounts.empty() ? "all" : join(postgres.accounts)},
               {"query", postgres.query.empty() ? "default" : "custom"},
               {"statement_timeout", format_duration(postgres.statement_timeout)},
               {"poll_interval", interval}});
    return;
  }
  const ScalrTarget& target = config.scalr_targets.at(0);
  log::info("starting scalr-usage-exporter", {{"version", build::kVersion},
                                              {"revision", build::kRevision},
                                              {"source", config.source},
                                              {"url", target.url},
                                              {"accounts", join(target.accounts)},
                                              {"token", target.token_origin},
                                              {"poll_interval", interval}});
}

int run(const CliOptions& options) {
  log::init(options.log_level, options.log_format);
  Config config;
  try {
    config = load_config(options.config_file, process_environment());
  } catch (const ConfigError& error) {
    if (options.command == CliOptions::Command::check_config) {
      std::fprintf(stderr, "%s\n", error.what());
    } else {
      log::error("invalid configuration", {{"file", options.config_file}, {"error", error.what()}});
    }
    return kExitConfig;
  }
  if (options.command == CliOptions::Command::check_config) {
    // The postgres source's query is part of the configuration, so it is checked too when the
    // database answers; a database that does not is reported but is no configuration error.
    if (config.postgres) {
      try {
        PostgresSource source(*config.postgres);
        if (const std::string unchecked = check_postgres_query(source); !unchecked.empty()) {
          std::fprintf(stderr, "warning: postgres.query not checked: %s\n", unchecked.c_str());
        }
      } catch (const ConfigError& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return kExitConfig;
      }
    }
    std::printf("%s: configuration is valid\n", options.config_file.c_str());
    return 0;
  }
  if (options.command == CliOptions::Command::report) return report_command(options, config);
  if (options.listen_address) config.web.listen_address = *options.listen_address;

  const sigset_t signals = block_shutdown_signals();
  log_start(config);

  SnapshotStore store(BuildInfo{build::kVersion, build::kRevision});
  std::unique_ptr<Poller> poller;
  try {
    poller = std::make_unique<Poller>(Poller::Options{config.poll.interval},
                                      source_factory(config, /*check_query_at_start=*/true), store);
  } catch (const ConfigError& error) {
    // The postgres source's startup check found the query unusable: fail before listening.
    log::error("invalid configuration", {{"file", options.config_file}, {"error", error.what()}});
    return kExitConfig;
  }
  // Before listening, so that the first scrape already has the report and plan series.
  ReportScheduler scheduler(ReportScheduler::Options{config.reports, config.billing},
                            source_factory(config, /*check_query_at_start=*/false), store);
  std::unique_ptr<WebServer> server;
  try {
    server = std::make_unique<WebServer>(
        WebServer::Options{config.web.listen_address, config.web.telemetry_path, build::kVersion},
        [&store] { return store.exposition(); },
        [&store] { return store.snapshot()->first_poll_done; });
  } catch (const std::exception& error) {
    log::error("cannot start the web server", {{"error", error.what()}});
    return kExitConfig;
  }
  log::info("listening", {{"address", config.web.listen_address},
                          {"telemetry_path", config.web.telemetry_path}});

  std::jthread poll_thread([&poller](std::stop_token stop) { poller->run(stop); });
  std::jthread report_thread([&scheduler](std::stop_token stop) { scheduler.run(stop); });

  for (;;) {
    int received = 0;
    if (sigwait(&signals, &received) != 0) continue;
    if (received == SIGHUP) {
      log::warn("SIGHUP received; reloading is not supported yet, restart to apply changes");
      continue;
    }
    log::info("shutting down", {{"signal", received == SIGINT ? "SIGINT" : "SIGTERM"}});
    break;
  }
  poll_thread.request_stop();
  report_thread.request_stop();
  poll_thread.join();
  report_thread.join();
  server.reset();
  log::info("stopped");
  return 0;
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
