#pragma once
// The politeness budget of one Scalr target, shared by every request to it from any thread: at
// most max_concurrency requests in flight, a token bucket of max_requests_per_second, and a pause
// of the whole target after a 429 with Retry-After (not only of the request that got it).
//
// The bucket holds max_concurrency tokens (at least 1) and refills at max_requests_per_second, so
// over any window of T seconds a target gets at most max_concurrency + rate * T requests: an idle
// target may start all its workers at once, and then settles to the rate.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <utility>

namespace scalr_usage {

class RequestGate {
 public:
  using Clock = std::chrono::steady_clock;

  // max_requests_per_second 0: no rate limit. max_concurrency 0 is taken as 1.
  RequestGate(std::size_t max_concurrency, double max_requests_per_second);
  RequestGate(const RequestGate&) = delete;
  RequestGate& operator=(const RequestGate&) = delete;

  // One request in flight; leaving its scope frees the slot.
  class Permit {
   public:
    explicit Permit(RequestGate& gate) : gate_(&gate) {}
    Permit(Permit&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    Permit& operator=(Permit&&) = delete;
    Permit(const Permit&) = delete;
    ~Permit();

   private:
    RequestGate* gate_;
  };

  // Waits until the target is not paused, a slot is free and the bucket has a token, then takes
  // both. nullopt once stop is requested (at once, also while waiting). A request retried after
  // waiting out its own 429's Retry-After passes paused_already_waited: the pause was its own.
  std::optional<Permit> enter(std::stop_token stop, bool paused_already_waited = false);

  // Pauses every request to the target until then (a later pause extends it, an earlier one does
  // not shorten it). Requests already in flight finish.
  void pause_until(Clock::time_point until);

  std::size_t max_concurrency() const { return max_concurrency_; }
  double burst() const { return burst_; }

 private:
  void release();
  void refill(Clock::time_point now);

  const std::size_t max_concurrency_;
  const double rate_;   // tokens per second; 0 = unlimited
  const double burst_;  // bucket size

  std::mutex mutex_;
  std::condition_variable_any changed_;
  std::uint64_t generation_ = 0;  // bumped on every change a waiter may be waiting for
  std::size_t in_flight_ = 0;
  double tokens_;
  Clock::time_point refilled_at_;
  Clock::time_point paused_until_{};
};

}  // namespace scalr_usage
