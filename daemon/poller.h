#pragma once
// The background poll loop: every poll.interval it asks the source for the current billing period
// of every account and publishes a new snapshot as accounts complete. A scrape never waits for it.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "chargeback/rules.h"
#include "collectors/source.h"
#include "metrics/snapshot_store.h"
#include "model/shard.h"

namespace scalr_usage {

class Poller final : private RequestObserver {
 public:
  using SourceFactory = std::function<std::unique_ptr<UsageSource>(RequestObserver&)>;
  using WallClock = std::function<Clock::time_point()>;

  struct Options {
    std::chrono::milliseconds interval{std::chrono::minutes{5}};
    WallClock now = [] { return Clock::now(); };
    // Within a cycle, a snapshot is published after an account only if the last publication is
    // at least this old; the end of the cycle always publishes. Each publication renders every
    // series, so publishing after each of many fast accounts (PostgreSQL answers them all at
    // once) would multiply the cost, while a slow API still shows each account as it completes.
    std::chrono::milliseconds min_publish_gap{1000};
    // Only this shard's accounts are polled and shown (owned_accounts() wherever accounts are
    // listed); the rest belong to the other exporters of the fleet.
    ShardSpec shard{};
    // Labels every workspace of every snapshot (scalr_workspace_chargeback_info); a reload's new
    // rules relabel what the store already holds.
    ChargebackRules chargeback{};
  };
  using CycleObserver = std::function<void(const Snapshot&)>;

  // Continues from what the store holds (last good values, counters), so a poller that replaces
  // another on reload keeps serving what is known.
  Poller(Options options, const SourceFactory& make_source, SnapshotStore& store);

  // Called on the polling thread after every cycle (systemd's STATUS=). Set before run().
  void set_cycle_observer(CycleObserver observer) { on_cycle_done_ = std::move(observer); }

  // False when a poll cycle has been running for longer than max_busy: the loop is stuck. Safe to
  // call from any thread (the systemd watchdog asks).
  bool responsive(std::chrono::steady_clock::duration max_busy) const;

  // One cycle over every account for the period containing now(). Returns early, publishing what
  // it has, once stop is requested.
  void poll_once(std::stop_token stop);

  // poll_once() at start and then every interval (measured start to start) until stop.
  void run(std::stop_token stop);

 private:
  void on_response(std::string_view target, int http_status, double seconds) override;
  void on_enrichment_error(std::string_view target, ErrorReason reason) override;
  // Takes the cycle's listings: which accounts and targets exist, their names, discovery errors.
  void apply_listings(const std::vector<AccountListing>& listings);
  void record_discovery(const AccountListing& listing);
  void record_success(const std::string& account_id, AccountUsage usage, double duration_seconds);
  void record_failure(const std::string& account_id, const SourceError& error,
                      double duration_seconds);
  void record_source_state(bool up, const SourceError* error);
  // state.chargeback from state.usage and options_.chargeback.
  void classify(const std::string& account_id, AccountState& state) const;
  void publish();
  // publish() unless the last publication is younger than min_publish_gap; then it is owed and
  // the end of the cycle pays it.
  void publish_progress();

  const Options options_;
  SnapshotStore& store_;
  std::unique_ptr<UsageSource> source_;
  CycleObserver on_cycle_done_;
  Snapshot working_;  // owned by the polling thread; copies of it are published
  // Responses seen by the fetching threads since the last publication, added to working_ then.
  std::mutex requests_mutex_;
  RequestStatsByTarget requests_;
  std::map<std::string, std::map<ErrorReason, std::uint64_t>> enrichment_errors_;  // same
  std::map<std::string, std::optional<ErrorReason>> discovery_errors_;  // last, per target
  std::chrono::steady_clock::time_point last_publish_{};
  bool publish_owed_ = false;
  // steady_clock ticks when the running cycle started; 0 while the loop waits.
  std::atomic<std::chrono::steady_clock::rep> busy_since_{0};
};

}  // namespace scalr_usage
