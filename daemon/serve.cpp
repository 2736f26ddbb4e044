#include "daemon/serve.h"

#include <time.h>

#include <chrono>
#include <exception>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "collectors/registry/registry.h"
#include "config/duration.h"
#include "daemon/notify.h"
#include "daemon/watchdog.h"
#include "daemon/workers.h"
#include "metrics/snapshot_store.h"
#include "util/http_get.h"
#include "util/log.h"
#include "util/time.h"
#include "version.h"
#include "web/server.h"

namespace scalr_usage {
namespace {

// Well inside systemd's default TimeoutStartSec (90 s).
constexpr std::chrono::seconds kLongestWaitForReady{60};

void log_start(const Config& config) {
  const std::vector<std::pair<std::string, std::string>> source_fields =
      source_log_fields(config.source);
  std::vector<log::Field> fields = {{"version", build::kVersion},
                                    {"revision", build::kRevision},
                                    {"source", source_name(config.source)}};
  for (const auto& [key, value] : source_fields) fields.emplace_back(key, value);
  const std::string interval = format_duration(config.poll.interval);
  fields.emplace_back("poll_interval", interval);
  const std::string shard =
      std::to_string(config.poll.shard.index) + "/" + std::to_string(config.poll.shard.count);
  if (config.poll.shard.count > 1) fields.emplace_back("shard", shard);
  log::write(log::Level::info, "starting scalr-usage-exporter", fields);
}

double unix_now() { return unix_seconds(std::chrono::system_clock::now()); }

// A rejected reload changes nothing but the success gauge: the running configuration (and its
// shard) stays.
void publish_failed_reload(SnapshotStore& store) {
  ConfigStatus status = *store.config_status();
  status.last_reload_successful = false;
  store.publish_config_status(status);
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
    apply_flag_overrides(options, next);
  } catch (const ConfigError& error) {
    log::error("reload failed; keeping the running configuration",
               {{"file", options.config_file}, {"error", error.what()}});
    publish_failed_reload(store);
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
    publish_failed_reload(store);
    return std::make_unique<Workers>(running, store);
  }
  next.web = running.web;
  running = std::move(next);
  store.publish_config_status(ConfigStatus{true, unix_now(), running.poll.shard});
  log_start(running);
  return workers;
}

void log_listening(const Config& config, const WebConfigFile* web_config) {
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
}

// The running daemon: the snapshot store and the listener live as long as it does; the workers
// (poller and report scheduler) are replaced on every successful reload.
class Daemon {
 public:
  Daemon(const CliOptions& options, Configuration loaded)
      : options_(options),
        config_(std::move(loaded.config)),
        web_config_(std::move(loaded.web_config)),
        store_(BuildInfo{build::kVersion, build::kRevision}) {}

  // The workers, the listener and the watchdog; false when one cannot start (logged).
  bool start() {
    log_start(config_);
    store_.publish_config_status(ConfigStatus{true, unix_now(), config_.poll.shard});
    try {
      workers_ = std::make_unique<Workers>(config_, store_);
    } catch (const SourceSetupError& error) {
      // The postgres source's startup check found the query unusable: fail before listening.
      log::error("invalid configuration",
                 {{"file", options_.config_file}, {"error", error.what()}});
      return false;
    }
    const std::chrono::microseconds watchdog_interval =
        systemd::watchdog_ping_interval().value_or(std::chrono::microseconds::zero());
    if (!start_server(watchdog_interval > std::chrono::microseconds::zero())) return false;
    log_listening(config_, web_config_.get());
    // The watchdog thread reads workers_ while a reload swaps it: both sides hold the mutex.
    // During a swap there are no workers, so no ping, which a reload far shorter than the
    // watchdog interval does not notice.
    watchdog_ = std::make_unique<Watchdog>(
        watchdog_interval,
        [this, check = HealthCheck(*server_)] {
          {
            const std::lock_guard lock(workers_mutex_);
            if (!workers_ || !workers_->responsive()) return false;
          }
          return check();
        },
        [] { systemd::watchdog_ping(); });
    return true;
  }

  // Serves until SIGTERM or SIGINT, reloading on SIGHUP.
  void run(const sigset_t& signals) {
    bool ready = false;
    const auto started = std::chrono::steady_clock::now();
    for (;;) {
      // READY=1 once the listener is up and the first poll was attempted, or after a minute at
      // the latest, so that a source retrying for minutes cannot make systemd's start time out;
      // until then the loop wakes every 200 ms to look. Once ready it sleeps until a signal, so an
      // idle daemon's main thread never wakes.
      const bool first_poll_done = store_.snapshot()->first_poll_done;
      if (!ready &&
          (first_poll_done || std::chrono::steady_clock::now() - started > kLongestWaitForReady)) {
        systemd::ready(first_poll_done
                           ? "first poll done; serving on " + config_.web.listen_address
                           : "first poll still running; serving on " + config_.web.listen_address);
        ready = true;
      }
      const timespec wake{0, 200'000'000};
      const int received =
          ready ? sigwaitinfo(&signals, nullptr) : sigtimedwait(&signals, nullptr, &wake);
      if (received < 0) continue;
      if (received != SIGHUP) {
        log::info("shutting down", {{"signal", received == SIGINT ? "SIGINT" : "SIGTERM"}});
        return;
      }
      swap_workers_for_reload();
      ready = true;
    }
  }

  void stop() {
    systemd::stopping();
    watchdog_.reset();  // first: it uses the workers and the server
    workers_.reset();
    server_.reset();
    log::info("stopped");
  }

 private:
  bool start_server(bool loopback_health_port) {
    try {
      WebServer::Options web;
      web.listen_address = config_.web.listen_address;
      web.telemetry_path = config_.web.telemetry_path;
      web.threads = config_.web.max_connections;
      web.version = build::kVersion;
      web.web_config = web_config_;
      web.loopback_health_port = loopback_health_port;
      server_ = std::make_unique<WebServer>(
          std::move(web), [this] { return store_.exposition(); },
          [this] { return store_.snapshot()->first_poll_done; });
      return true;
    } catch (const std::exception& error) {
      log::error("cannot start the web server", {{"error", error.what()}});
      return false;
    }
  }

  void swap_workers_for_reload() {
    systemd::reloading();
    std::unique_ptr<Workers> running;
    {
      const std::lock_guard lock(workers_mutex_);
      running = std::move(workers_);
    }
    running = reload(options_, config_, web_config_.get(), store_, std::move(running));
    const std::lock_guard lock(workers_mutex_);
    workers_ = std::move(running);
    systemd::ready("configuration reloaded");
  }

  const CliOptions& options_;
  Config config_;
  const std::shared_ptr<const WebConfigFile> web_config_;
  // Destroyed in reverse order on a failed start: the workers before the server they publish
  // through, the store last.
  SnapshotStore store_;
  std::unique_ptr<WebServer> server_;
  std::mutex workers_mutex_;
  std::unique_ptr<Workers> workers_;
  std::unique_ptr<Watchdog> watchdog_;
};

}  // namespace

void apply_flag_overrides(const CliOptions& options, Config& config) {
  if (options.listen_address) config.web.listen_address = *options.listen_address;
  if (options.shard) config.poll.shard = *options.shard;
}

bool serve(const CliOptions& options, Configuration loaded, const sigset_t& signals) {
  Daemon daemon(options, std::move(loaded));
  if (!daemon.start()) return false;
  daemon.run(signals);
  daemon.stop();
  return true;
}

}  // namespace scalr_usage
