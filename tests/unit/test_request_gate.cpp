// The per-target politeness budget: in-flight bound, token bucket, and the pause after a 429.
// Bounds are checked by counting (which load cannot break), never by timing a fast path.

#include "collectors/scalr_api/request_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace scalr_usage {
namespace {

using namespace std::chrono_literals;
using Clock = RequestGate::Clock;

TEST(RequestGate, NeverMoreInFlightThanTheBound) {
  RequestGate gate(3, 0);
  std::atomic<int> in_flight{0};
  std::atomic<int> peak{0};
  std::vector<std::jthread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        const auto permit = gate.enter({});
        ASSERT_TRUE(permit);
        const int now = ++in_flight;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(200us);
        --in_flight;
      }
    });
  }
  threads.clear();
  EXPECT_LE(peak.load(), 3);
  EXPECT_GE(peak.load(), 1);
}

TEST(RequestGate, TheBucketHoldsTheBurstAndThenPacesTheRate) {
  RequestGate gate(4, 20);  // burst 4, then one request per 50 ms
  EXPECT_EQ(gate.burst(), 4.0);
  const auto started = Clock::now();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(gate.enter({}));
  // 10 requests with 4 tokens at hand need at least 6 refills of 50 ms: a lower bound, which
  // a loaded machine can only make longer.
  EXPECT_GE(Clock::now() - started, 6 * 50ms - 5ms);
}

TEST(RequestGate, APauseHoldsEveryNewRequestUntilItEnds) {
  RequestGate gate(4, 0);
  const auto until = Clock::now() + 300ms;
  gate.pause_until(until);
  gate.pause_until(Clock::now());  // an earlier pause does not shorten it
  ASSERT_TRUE(gate.enter({}));
  EXPECT_GE(Clock::now(), until);
  // The request that waited out its own Retry-After is not held again.
  gate.pause_until(Clock::now() + 10s);
  const auto before = Clock::now();
  ASSERT_TRUE(gate.enter({}, /*paused_already_waited=*/true));
  EXPECT_LT(Clock::now() - before, 5s);
}

TEST(RequestGate, StopEndsTheWaitAtOnce) {
  RequestGate gate(1, 0);
  auto held = gate.enter({});
  ASSERT_TRUE(held);
  std::stop_source stop;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(50ms);
    stop.request_stop();
  });
  EXPECT_FALSE(gate.enter(stop.get_token()));  // the slot is taken: only stop ends the wait
  gate.pause_until(Clock::now() + 1h);
  EXPECT_FALSE(gate.enter(stop.get_token()));
}

TEST(RequestGate, AReleasedSlotWakesAWaiter) {
  RequestGate gate(1, 0);
  std::optional<RequestGate::Permit> held = gate.enter({});
  std::atomic<bool> entered{false};
  std::jthread waiter([&] {
    ASSERT_TRUE(gate.enter({}));
    entered = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(entered.load());
  held.reset();
  waiter.join();
  EXPECT_TRUE(entered.load());
}

}  // namespace
}  // namespace scalr_usage
