#include "collectors/scalr_api/request_gate.h"

#include <algorithm>

namespace scalr_usage {

RequestGate::RequestGate(std::size_t max_concurrency, double max_requests_per_second)
    : max_concurrency_(std::max<std::size_t>(1, max_concurrency)),
      rate_(std::max(0.0, max_requests_per_second)),
      burst_(static_cast<double>(max_concurrency_)),
      tokens_(burst_),
      refilled_at_(Clock::now()) {}

RequestGate::Permit::~Permit() {
  if (gate_ != nullptr) gate_->release();
}

void RequestGate::refill(Clock::time_point now) {
  if (rate_ <= 0) return;
  const double elapsed = std::chrono::duration<double>(now - refilled_at_).count();
  tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
  refilled_at_ = now;
}

std::optional<RequestGate::Permit> RequestGate::enter(std::stop_token stop,
                                                      bool paused_already_waited) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stop.stop_requested()) return std::nullopt;
    const auto now = Clock::now();
    refill(now);
    // What to wait for, if anything: the end of a pause, the next token, or a free slot (which
    // only a release announces, hence no deadline).
    std::optional<Clock::time_point> wake_at;
    bool must_wait = true;
    if (now < paused_until_ && !paused_already_waited) {
      wake_at = paused_until_;
    } else if (in_flight_ >= max_concurrency_) {
      wake_at = std::nullopt;
    } else if (rate_ > 0 && tokens_ < 1) {
      wake_at = now + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>((1 - tokens_) / rate_));
    } else {
      must_wait = false;
    }
    if (!must_wait) break;
    const std::uint64_t seen = generation_;
    const auto changed = [&] { return generation_ != seen; };
    if (wake_at) {
      changed_.wait_until(lock, stop, *wake_at, changed);
    } else {
      changed_.wait(lock, stop, changed);
    }
  }
  if (rate_ > 0) tokens_ -= 1;
  ++in_flight_;
  return Permit(*this);
}

void RequestGate::release() {
  {
    const std::lock_guard lock(mutex_);
    --in_flight_;
    ++generation_;
  }
  changed_.notify_all();
}

void RequestGate::pause_until(Clock::time_point until) {
  {
    const std::lock_guard lock(mutex_);
    if (until <= paused_until_) return;
    paused_until_ = until;
    ++generation_;
  }
  changed_.notify_all();
}

}  // namespace scalr_usage
