#include "daemon/workers.h"

#include <algorithm>

#include "collectors/registry/registry.h"
#include "daemon/notify.h"
#include "util/log.h"

namespace scalr_usage {

std::string check_source_setup(UsageSource& source) {
  try {
    source.check_setup({});
    return "";
  } catch (const SourceError& error) {
    return error.what();
  }
}

namespace {

// The retry schedule's defaults, with reports.delivery_retry_for.
DeliveryRetryPolicy delivery_retry_policy(const DeliveryConfig& delivery) {
  DeliveryRetryPolicy policy;
  policy.retry_for = std::chrono::ceil<std::chrono::seconds>(delivery.retry_for);
  return policy;
}

// How long one poll cycle may legitimately run before the watchdog calls the loop stuck: the
// source's own worst case, with a floor that keeps small configs from tripping on a slow database.
std::chrono::steady_clock::duration max_poll_duration(const Config& config) {
  return std::max<std::chrono::milliseconds>(std::chrono::minutes{15},
                                             source_poll_budget(config.source));
}

// The election runs only when there is something to lead: without schedules it would hold a
// database connection for nothing.
std::shared_ptr<PostgresLeadership> make_leadership(const ReportsConfig& reports) {
  if (!reports.leader_election) return nullptr;
  if (reports.schedules.empty()) {
    log::warn("reports.leader_election is set but there are no reports.schedules; no election");
    return nullptr;
  }
  return std::make_shared<PostgresLeadership>(*reports.leader_election,
                                              PostgresLeadership::Options{});
}

std::string poll_summary(const Snapshot& snapshot) {
  std::size_t up = 0;
  for (const auto& [id, state] : snapshot.accounts) up += state.up ? 1 : 0;
  return "polled " + std::to_string(snapshot.accounts.size()) + " accounts: " + std::to_string(up) +
         " up, " + std::to_string(snapshot.accounts.size() - up) + " failing";
}

}  // namespace

Poller::SourceFactory make_source_factory(const Config& config, bool check_at_start) {
  return [source = config.source,
          check_at_start](RequestObserver& observer) -> std::unique_ptr<UsageSource> {
    auto made = make_source(source, observer);
    if (!check_at_start || setup_check_key(source).empty()) return made;
    if (const std::string unchecked = check_source_setup(*made); !unchecked.empty()) {
      log::warn("cannot check " + std::string(setup_check_key(source)) +
                    " at start; polling will keep trying",
                {{"error", unchecked}});
    }
    return made;
  };
}

Workers::Workers(const Config& config, SnapshotStore& store)
    : max_poll_(max_poll_duration(config)),
      poller_(std::make_unique<Poller>(Poller::Options{.interval = config.poll.interval,
                                                       .shard = config.poll.shard,
                                                       .chargeback = config.chargeback},
                                       make_source_factory(config, true), store)),
      leadership_(make_leadership(config.reports)),
      // Built before any thread starts, so the first scrape already has the report series.
      scheduler_(std::make_unique<ReportScheduler>(
          ReportScheduler::Options{.reports = config.reports,
                                   .plan = config.billing,
                                   .chargeback = config.chargeback,
                                   .shard = config.poll.shard,
                                   .store = leadership_,
                                   .delivery = config.delivery,
                                   .delivery_retry = delivery_retry_policy(config.delivery)},
          make_source_factory(config, false), store)) {
  poller_->set_cycle_observer(
      [](const Snapshot& snapshot) { systemd::status(poll_summary(snapshot)); });
  poll_thread_ = std::jthread([this](std::stop_token stop) { poller_->run(stop); });
  report_thread_ = std::jthread([this](std::stop_token stop) { scheduler_->run(stop); });
  if (leadership_) {
    election_thread_ = std::jthread([this](std::stop_token stop) { leadership_->run(stop); });
  }
}

Workers::~Workers() {
  poll_thread_.request_stop();
  report_thread_.request_stop();
  election_thread_.request_stop();
  poll_thread_.join();
  report_thread_.join();
  if (election_thread_.joinable()) election_thread_.join();
}

bool Workers::responsive() const { return poller_->responsive(max_poll_); }

}  // namespace scalr_usage
