#include "daemon/concurrent_fetch.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

namespace scalr_usage {

namespace {

// Outcomes from the workers to the calling thread.
class Mailbox {
 public:
  explicit Mailbox(std::size_t workers) : workers_left_(workers) {}

  void post(FetchOutcome outcome) {
    {
      const std::lock_guard lock(mutex_);
      outcomes_.push_back(std::move(outcome));
    }
    arrived_.notify_one();
  }
  void worker_done() {
    {
      const std::lock_guard lock(mutex_);
      --workers_left_;
    }
    arrived_.notify_one();
  }
  // The next outcome, or nullopt once every worker has ended and every outcome was taken.
  std::optional<FetchOutcome> take() {
    std::unique_lock lock(mutex_);
    arrived_.wait(lock, [&] { return !outcomes_.empty() || workers_left_ == 0; });
    if (outcomes_.empty()) return std::nullopt;
    FetchOutcome outcome = std::move(outcomes_.front());
    outcomes_.pop_front();
    return outcome;
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<FetchOutcome> outcomes_;
  std::size_t workers_left_;
};

FetchOutcome fetch_one(UsageSource& source, const std::string& account_id, const Period& period,
                       std::stop_token stop) {
  FetchOutcome outcome;
  outcome.account_id = account_id;
  const auto started = std::chrono::steady_clock::now();
  try {
    outcome.usage = source.fetch(account_id, period, stop);
  } catch (const SourceError& error) {
    outcome.error = error;
  }
  outcome.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return outcome;
}

// A listing's workers: its concurrency, never more than it has accounts, at least one.
std::size_t workers_for(const AccountListing& listing) {
  return std::min(std::max<std::size_t>(1, listing.max_concurrency), listing.accounts.size());
}

}  // namespace

void fetch_concurrently(UsageSource& source, const std::vector<AccountListing>& listings,
                        const Period& period, std::stop_token stop,
                        const std::function<void(FetchOutcome)>& on_outcome) {
  // One queue per listing: the next account to start is the next index of that listing.
  std::vector<std::unique_ptr<std::atomic<std::size_t>>> next;
  std::size_t workers = 0;
  for (const AccountListing& listing : listings) {
    next.push_back(std::make_unique<std::atomic<std::size_t>>(0));
    workers += workers_for(listing);
  }
  Mailbox mailbox(workers);
  {
    std::vector<std::jthread> threads;
    threads.reserve(workers);
    for (std::size_t i = 0; i < listings.size(); ++i) {
      const AccountListing& listing = listings[i];
      std::atomic<std::size_t>& cursor = *next[i];
      for (std::size_t w = 0; w < workers_for(listing); ++w) {
        threads.emplace_back([&, stop] {
          for (std::size_t at = cursor++; at < listing.accounts.size() && !stop.stop_requested();
               at = cursor++) {
            mailbox.post(fetch_one(source, listing.accounts[at], period, stop));
          }
          mailbox.worker_done();
        });
      }
    }
    while (std::optional<FetchOutcome> outcome = mailbox.take()) on_outcome(std::move(*outcome));
  }  // every worker has ended: take() returned nullopt only after the last worker_done()
}

}  // namespace scalr_usage
