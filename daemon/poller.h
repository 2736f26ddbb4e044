#pragma once
// The background poll loop: every poll.interval it asks the source for the current billing period
// of every account and publishes a new snapshot after each account. A scrape never waits for it.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <stop_token>
#include <string>

#include "collectors/source.h"
#include "metrics/snapshot_store.h"

namespace scalr_usage {

class Poller final : private RequestObserver {
 public:
  using SourceFactory = std::function<std::unique_ptr<UsageSource>(RequestObserver&)>;
  using WallClock = std::function<Clock::time_point()>;

  struct Options {
    std::chrono::milliseconds interval{std::chrono::minutes{5}};
    WallClock now = [] { return Clock::now(); };
  };

  Poller(Options options, const SourceFactory& make_source, SnapshotStore& store);

  // One cycle over every account for the period containing now(). Returns early, publishing what
  // it has, once stop is requested.
  void poll_once(std::stop_token stop);

  // poll_once() at start and then every interval (measured start to start) until stop.
  void run(std::stop_token stop);

 private:
  void on_response(int http_status) override;
  void record_success(const std::string& account_id, AccountUsage usage, double duration_seconds);
  void record_failure(const std::string& account_id, const SourceError& error,
                      double duration_seconds);
  void record_source_state(bool up, const SourceError* error);
  void publish();

  const Options options_;
  SnapshotStore& store_;
  std::unique_ptr<UsageSource> source_;
  Snapshot working_;  // owned by the polling thread; copies of it are published
};

}  // namespace scalr_usage
