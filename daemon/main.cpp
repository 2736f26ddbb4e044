// Wiring only: flags, config, logging, then the poller, the report scheduler, the snapshot store
// and the web server, or the on-demand report command. Business logic lives in collectors/,
// metrics/, reports/, web/ and daemon/{poller,report_scheduler,report_command}.cpp.

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collectors/registry/registry.h"
#include "config/duration.h"
#include "daemon/cli.h"
#include "daemon/config_file.h"
#include "daemon/notify.h"
#include "daemon/poller.h"
#include "daemon/report_command.h"
#include "daemon/report_scheduler.h"
#include "daemon/watchdog.h"
#include "daemon/workers.h"
#include "metrics/snapshot_store.h"
#include "util/http_get.h"
#include "util/log.h"
#include "util/text.h"  // join
#include "version.h"
#include "web/server.h"
#include "web/web_config.h"

namespace scalr_usage {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitConfig = 1;
// Well inside systemd's default TimeoutStartSec (90 s).
constexpr std::chrono::seconds kLongestWaitForReady{60};

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
  const Poller::SourceFactory factory = make_source_factory(config, /*check_query_at_start=*/false);
  return run_report_command(
      options.report, config, [&] { return factory(no_observer); },
      ReportCommandIo{std::cout, stderr, isatty(STDERR_FILENO) == 1}, stop.get_token());
}

void log_start(const Config& config) {
  const std::vector<std::pair<std::string, std::string>> source_fields =
      source_log_fields(config.source);
  std::vector<log::Field> fields = {{"version", build::kVersion},
                                    {"revision", build::kRevision},
                                    {"source", source_name(config.source)}};
  for (const auto& [key, value] : source_fields) fields.emplace_back(key, value);
  const std::string interval = format_duration(config.poll.interval);
  fields.emplace_back("poll_interval", interval);
  log::write(log::Level::info, "starting scalr-usage-exporter", fields);
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Asks the daemon's own listener for /-/healthy over loopback: the watchdog's proof that the
// HTTP server still answers, not merely that its threads exist. With TLS it asks the server's
// loopback health port (WebServer::Options::loopback_health_port), in plain HTTP.
class HealthCheck {
 public:
  explicit HealthCheck(const WebServer& server)
      : client_(std::make_shared<HttpGetClient>()), url_(server.health_check_url()) {}
  bool operator()() const {
    try {
      return client_->get(url_, std::chrono::seconds{5}, 1024).status == 200;
    } catch (const std::exception&) {
      return false;
    }
  }

 private:
  std::shared_ptr<HttpGetClient> client_;  // used by the watchdog thread only
  std::string url_;
};

// The web configuration file is read once: the listener is kept across reloads. A reload only
// says when the file no longer matches what is being served.
void check_web_config_unchanged(const CliOptions& options, const WebConfigFile* running) {
  if (options.web_config_file.empty()) return;
  try {
    if (load_web_config_file(options.web_config_file) == *running) return;
    log::warn("the web configuration file changed; it applies after a restart",
              {{"file", options.web_config_file}});
  } catch (const ConfigError& error) {
    log::warn("the web configuration file is invalid now; the running one stays until a restart",
              {{"file", options.web_config_file}, {"error", error.what()}});
  }
}

// SIGHUP: a valid new configuration replaces the poller and the scheduler (accounts, interval,
// schedules) while the listener and the values it serves stay; an invalid one is rejected and the
// running workers carry on. web.* and web configuration file changes need a restart, since the
// listener is kept.
std::unique_ptr<Workers> reload(const CliOptions& options, Config& running,
                                const WebConfigFile* running_web, SnapshotStore& store,
                                std::unique_ptr<Workers> workers) {
  log::info("SIGHUP received; reloading the configuration", {{"file", options.config_file}});
  check_web_config_unchanged(options, running_web);
  Config next;
  try {
    next = load_config(options.config_file, process_environment());
    if (options.listen_address) next.web.listen_address = *options.listen_address;
  } catch (const ConfigError& error) {
    log::error("reload failed; keeping the running configuration",
               {{"file", options.config_file}, {"error", error.what()}});
    store.publish_config_status(
        ConfigStatus{false, store.config_status()->last_reload_success_unix_seconds});
    return workers;
  }
  if (next.web.listen_address != running.web.listen_address ||
      next.web.telemetry_path != running.web.telemetry_path) {
    log::warn("web.* changed; the listener keeps its address and path until a restart");
  }
  workers.reset();  // stop the old threads first: sources and the state file are not shared
  try {
    workers = std::make_unique<Workers>(next, store);
  } catch (const SourceSetupError& error) {
    log::error("reload failed; restarting with the running configuration",
               {{"error", error.what()}});
    store.publish_config_status(
        ConfigStatus{false, store.config_status()->last_reload_success_unix_seconds});
    return std::make_unique<Workers>(running, store);
  }
  next.web = running.web;
  running = std::move(next);
  store.publish_config_status(ConfigStatus{true, unix_now()});
  log_start(running);
  return workers;
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
  std::shared_ptr<const WebConfigFile> web_config;
  if (!options.web_config_file.empty()) {
    try {
      web_config =
          std::make_shared<const WebConfigFile>(load_web_config_file(options.web_config_file));
    } catch (const ConfigError& error) {
      if (options.command == CliOptions::Command::check_config) {
        std::fprintf(stderr, "%s\n", error.what());
      } else {
        log::error("invalid web configuration",
                   {{"file", options.web_config_file}, {"error", error.what()}});
      }
      return kExitConfig;
    }
  }
  if (options.command == CliOptions::Command::check_config) {
    // A source's setup (the postgres source's query) is part of the configuration, so it is
    // checked too when the source answers; a source that does not is reported but is no
    // configuration error.
    if (const std::string_view key = setup_check_key(config.source); !key.empty()) {
      try {
        struct NoObserver final : RequestObserver {
          void on_response(int) override {}
        } no_observer;
        const std::unique_ptr<UsageSource> source = make_source(config.source, no_observer);
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
    if (web_config) {
      std::printf("%s: web configuration is valid\n", options.web_config_file.c_str());
    }
    return 0;
  }
  if (options.command == CliOptions::Command::report) return report_command(options, config);
  if (options.listen_address) config.web.listen_address = *options.listen_address;

  const sigset_t signals = block_shutdown_signals();
  log_start(config);

  SnapshotStore store(BuildInfo{build::kVersion, build::kRevision});
  store.publish_config_status(ConfigStatus{true, unix_now()});
  std::unique_ptr<Workers> workers;
  try {
    workers = std::make_unique<Workers>(config, store);
  } catch (const SourceSetupError& error) {
    // The postgres source's startup check found the query unusable: fail before listening.
    log::error("invalid configuration", {{"file", options.config_file}, {"error", error.what()}});
    return kExitConfig;
  }
  const std::chrono::microseconds watchdog_interval =
      systemd::watchdog_ping_interval().value_or(std::chrono::microseconds::zero());
  std::unique_ptr<WebServer> server;
  try {
    WebServer::Options web;
    web.listen_address = config.web.listen_address;
    web.telemetry_path = config.web.telemetry_path;
    web.threads = config.web.max_connections;
    web.version = build::kVersion;
    web.web_config = web_config;
    web.loopback_health_port = watchdog_interval > std::chrono::microseconds::zero();
    server = std::make_unique<WebServer>(
        std::move(web), [&store] { return store.exposition(); },
        [&store] { return store.snapshot()->first_poll_done; });
  } catch (const std::exception& error) {
    log::error("cannot start the web server", {{"error", error.what()}});
    return kExitConfig;
  }
  const bool tls = web_config && web_config->tls;
  const std::size_t users = web_config ? web_config->basic_auth_users.size() : 0;
  log::info("listening", {{"address", config.web.listen_address},
                          {"telemetry_path", config.web.telemetry_path},
                          {"tls", tls ? "on" : "off"},
                          {"basic_auth_users", std::to_string(users)}});
  if (users > 0 && !tls) {
    log::warn(
        "basic authentication without TLS: passwords cross the network readable; set "
        "tls_server_config in the web configuration file");
  }

  // The watchdog thread reads `workers` while a reload swaps it: both sides hold the mutex. During
  // a swap there are no workers, so no ping, which a reload far shorter than the watchdog
  // interval does not notice.
  std::mutex workers_mutex;
  auto watchdog = std::make_unique<Watchdog>(
      watchdog_interval,
      [&workers, &workers_mutex, check = HealthCheck(*server)] {
        {
          const std::lock_guard lock(workers_mutex);
          if (!workers || !workers->responsive()) return false;
        }
        return check();
      },
      [] { systemd::watchdog_ping(); });

  bool ready = false;
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    // READY=1 once the listener is up and the first poll was attempted, or after a minute at the
    // latest, so that a source retrying for minutes cannot make systemd's start time out; until
    // then the loop wakes every 200 ms to look. Once ready it sleeps until a signal, so an idle
    // daemon's main thread never wakes.
    if (!ready && (store.snapshot()->first_poll_done ||
                   std::chrono::steady_clock::now() - started > kLongestWaitForReady)) {
      systemd::ready(store.snapshot()->first_poll_done
                         ? "first poll done; serving on " + config.web.listen_address
                         : "first poll still running; serving on " + config.web.listen_address);
      ready = true;
    }
    const timespec wake{0, 200'000'000};
    const int received =
        ready ? sigwaitinfo(&signals, nullptr) : sigtimedwait(&signals, nullptr, &wake);
    if (received < 0) continue;
    if (received == SIGHUP) {
      systemd::reloading();
      std::unique_ptr<Workers> running;
      {
        const std::lock_guard lock(workers_mutex);
        running = std::move(workers);
      }
      running = reload(options, config, web_config.get(), store, std::move(running));
      const std::lock_guard lock(workers_mutex);
      workers = std::move(running);
      systemd::ready("configuration reloaded");
      ready = true;
      continue;
    }
    log::info("shutting down", {{"signal", received == SIGINT ? "SIGINT" : "SIGTERM"}});
    break;
  }
  systemd::stopping();
  watchdog.reset();  // first: it uses the workers and the server
  workers.reset();
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
