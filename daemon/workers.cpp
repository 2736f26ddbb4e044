#include "daemon/workers.h"

#include <algorithm>

#include "collectors/postgres/postgres_source.h"
#include "collectors/scalr_api/scalr_api_source.h"
#include "daemon/notify.h"
#include "util/log.h"

namespace scalr_usage {

std::string check_postgres_query(PostgresSource& source) {
  try {
    source.check_query({});
    return "";
  } catch (const SourceError& error) {
    return error.what();
  }
}

namespace {

// How long one poll cycle may legitimately run before the watchdog calls the loop stuck: every
// request of every account timing out on every attempt, with the longest backoffs, is far below
// this for sane configs, and a floor keeps small configs from tripping on a slow database.
std::chrono::steady_clock::duration max_poll_duration(const Config& config) {
  using namespace std::chrono;
  milliseconds worst = minutes{15};
  if (!config.scalr_targets.empty()) {
    const ScalrTarget& target = config.scalr_targets.front();
    const auto per_request =
        (target.timeout + target.retry.max_backoff) * target.retry.max_attempts;
    worst = std::max(worst, per_request * 3 * static_cast<long>(target.accounts.size()) * 2);
  }
  if (config.postgres) worst = std::max(worst, config.postgres->statement_timeout * 4);
  return worst;
}

std::string poll_summary(const Snapshot& snapshot) {
  std::size_t up = 0;
  for (const auto& [id, state] : snapshot.accounts) up += state.up ? 1 : 0;
  return "polled " + std::to_string(snapshot.accounts.size()) + " accounts: " + std::to_string(up) +
         " up, " + std::to_string(snapshot.accounts.size() - up) + " failing";
}

}  // namespace

Poller::SourceFactory make_source_factory(const Config& config, bool check_query_at_start) {
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

Workers::Workers(const Config& config, SnapshotStore& store)
    : max_poll_(max_poll_duration(config)),
      poller_(std::make_unique<Poller>(Poller::Options{config.poll.interval},
                                       make_source_factory(config, true), store)),
      // Built before any thread starts, so the first scrape already has the report series.
      scheduler_(std::make_unique<ReportScheduler>(
          ReportScheduler::Options{config.reports, config.billing},
          make_source_factory(config, false), store)) {
  poller_->set_cycle_observer(
      [](const Snapshot& snapshot) { systemd::status(poll_summary(snapshot)); });
  poll_thread_ = std::jthread([this](std::stop_token stop) { poller_->run(stop); });
  report_thread_ = std::jthread([this](std::stop_token stop) { scheduler_->run(stop); });
}

Workers::~Workers() {
  poll_thread_.request_stop();
  report_thread_.request_stop();
  poll_thread_.join();
  report_thread_.join();
}

bool Workers::responsive() const { return poller_->responsive(max_poll_); }

}  // namespace scalr_usage
