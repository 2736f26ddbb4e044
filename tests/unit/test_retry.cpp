#include "collectors/scalr_api/retry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>

namespace scalr_usage {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

RetryConfig config(int max_attempts, milliseconds initial, milliseconds max) {
  RetryConfig c;
  c.max_attempts = max_attempts;
  c.initial_backoff = initial;
  c.max_backoff = max;
  return c;
}

TEST(RetryPolicy, BackoffDoublesUpToTheCap) {
  const RetryPolicy policy(config(10, 1000ms, 30000ms));
  // jitter 0 gives the lower bound d/2; jitter just under 1 the upper bound d.
  const milliseconds expected_full[] = {1000ms,  2000ms,  4000ms,  8000ms, 16000ms,
                                        30000ms, 30000ms, 30000ms, 30000ms};
  for (int attempt = 1; attempt <= 9; ++attempt) {
    const milliseconds full = expected_full[attempt - 1];
    EXPECT_EQ(policy.delay_before_retry(attempt, std::nullopt, 0.0), full / 2) << attempt;
    EXPECT_EQ(policy.delay_before_retry(attempt, std::nullopt, 1.0), full) << attempt;
    const auto near_top = policy.delay_before_retry(attempt, std::nullopt, 0.999999);
    ASSERT_TRUE(near_top.has_value());
    EXPECT_GE(*near_top, full - 1ms);
    EXPECT_LE(*near_top, full);
  }
}

TEST(RetryPolicy, JitterStaysWithinHalfToFull) {
  const RetryPolicy policy(config(4, 1000ms, 30000ms));
  for (double jitter : {0.0, 0.1, 0.25, 0.5, 0.75, 0.9999}) {
    const auto delay = policy.delay_before_retry(2, std::nullopt, jitter);
    ASSERT_TRUE(delay.has_value());
    EXPECT_GE(*delay, 1000ms) << jitter;
    EXPECT_LE(*delay, 2000ms) << jitter;
  }
  EXPECT_EQ(policy.delay_before_retry(2, std::nullopt, 0.5), 1500ms);
  // Out-of-range jitter is clamped rather than trusted.
  EXPECT_EQ(policy.delay_before_retry(2, std::nullopt, -3.0), 1000ms);
  EXPECT_EQ(policy.delay_before_retry(2, std::nullopt, 7.0), 2000ms);
  EXPECT_EQ(policy.delay_before_retry(2, std::nullopt, std::numeric_limits<double>::quiet_NaN()),
            1000ms);
}

TEST(RetryPolicy, NoDelayOnceAttemptsAreExhausted) {
  const RetryPolicy policy(config(4, 1000ms, 30000ms));
  EXPECT_TRUE(policy.delay_before_retry(1, std::nullopt, 0.0).has_value());
  EXPECT_TRUE(policy.delay_before_retry(3, std::nullopt, 0.0).has_value());
  EXPECT_FALSE(policy.delay_before_retry(4, std::nullopt, 0.0).has_value());
  EXPECT_FALSE(policy.delay_before_retry(5, 1000ms, 0.0).has_value());

  const RetryPolicy single(config(1, 1000ms, 30000ms));
  EXPECT_FALSE(single.delay_before_retry(1, std::nullopt, 0.0).has_value());
}

TEST(RetryPolicy, HugeAttemptNumbersDoNotOverflow) {
  const RetryPolicy policy(config(std::numeric_limits<int>::max(), 1000ms, 30000ms));
  EXPECT_EQ(policy.delay_before_retry(100000, std::nullopt, 1.0), 30000ms);
}

TEST(RetryPolicy, RetryAfterIsUsedAndCapped) {
  const RetryPolicy policy(config(4, 1000ms, 30000ms));
  EXPECT_EQ(policy.delay_before_retry(1, 7000ms, 0.0), 7000ms);
  EXPECT_EQ(policy.delay_before_retry(1, 7000ms, 0.99), 7000ms);  // no jitter on Retry-After
  EXPECT_EQ(policy.delay_before_retry(3, 0ms, 0.5), 0ms);
  EXPECT_EQ(policy.delay_before_retry(1, 3600000ms, 0.5), 30000ms);
  EXPECT_EQ(policy.delay_before_retry(1, -5ms, 0.5), 0ms);
}

const auto kNow = std::chrono::sys_days{2015y / 10 / 21} + 7h + 27min + 30s;

TEST(RetryAfter, DeltaSeconds) {
  EXPECT_EQ(parse_retry_after("120", kNow), 120000ms);
  EXPECT_EQ(parse_retry_after("0", kNow), 0ms);
  EXPECT_EQ(parse_retry_after("  5\t", kNow), 5000ms);
  // Saturates instead of overflowing; the policy caps it anyway.
  EXPECT_EQ(parse_retry_after("99999999999999999999999", kNow), 1'000'000'000'000ms);
}

TEST(RetryAfter, HttpDate) {
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", kNow), 30000ms);
  EXPECT_EQ(parse_retry_after("Thu, 22 Oct 2015 07:27:30 GMT", kNow), 86400000ms);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", kNow), 0ms);  // in the past
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kNow), 0ms);
  // Sub-second "now" rounds the wait up, never down to an early retry.
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", kNow + 250ms), 29750ms);
  EXPECT_EQ(parse_retry_after("Sat, 29 Feb 2020 00:00:00 GMT", kNow).has_value(), true);
}

TEST(RetryAfter, GarbageIsIgnored) {
  for (const char* value :
       {"", "   ", "abc", "-1", "1.5", "+3", "12s", "0x10", "Wed, 21 Oct 2015 07:28:00 UTC",
        "Wed, 21 Oct 2015 07:28:00", "Wed, 32 Oct 2015 07:28:00 GMT",
        "Wed, 21 Foo 2015 07:28:00 GMT", "Wed, 21 Oct 2015 24:00:00 GMT",
        "Wed, 21 Oct 2015 07:60:00 GMT", "Xyz, 21 Oct 2015 07:28:00 GMT",
        "Sun, 29 Feb 2015 00:00:00 GMT", "Wed, 2a Oct 2015 07:28:00 GMT",
        "Wednesday, 21-Oct-15 07:28:00 GMT", "Wed Oct 21 07:28:00 2015"}) {
    EXPECT_EQ(parse_retry_after(value, kNow), std::nullopt) << '"' << value << '"';
  }
}

TEST(RetryClassification, RetryableStatuses) {
  EXPECT_TRUE(is_retryable(429));
  EXPECT_TRUE(is_retryable(500));
  EXPECT_TRUE(is_retryable(502));
  EXPECT_TRUE(is_retryable(503));
  EXPECT_TRUE(is_retryable(599));
  EXPECT_FALSE(is_retryable(200));
  EXPECT_FALSE(is_retryable(301));
  EXPECT_FALSE(is_retryable(400));
  EXPECT_FALSE(is_retryable(401));
  EXPECT_FALSE(is_retryable(403));
  EXPECT_FALSE(is_retryable(404));
  EXPECT_FALSE(is_retryable(422));
  EXPECT_FALSE(is_retryable(600));
}

TEST(RetryClassification, ReasonForStatus) {
  EXPECT_EQ(reason_for_status(401), ErrorReason::unauthorized);
  EXPECT_EQ(reason_for_status(403), ErrorReason::forbidden);
  EXPECT_EQ(reason_for_status(404), ErrorReason::not_found);
  EXPECT_EQ(reason_for_status(429), ErrorReason::rate_limited);
  EXPECT_EQ(reason_for_status(500), ErrorReason::server_error);
  EXPECT_EQ(reason_for_status(503), ErrorReason::server_error);
  EXPECT_EQ(reason_for_status(400), ErrorReason::client_error);
  EXPECT_EQ(reason_for_status(405), ErrorReason::client_error);
  EXPECT_EQ(reason_for_status(422), ErrorReason::client_error);
  EXPECT_EQ(reason_for_status(499), ErrorReason::client_error);
  EXPECT_EQ(reason_for_status(302), ErrorReason::bad_response);
  EXPECT_EQ(reason_for_status(204), ErrorReason::bad_response);
}

}  // namespace
}  // namespace scalr_usage
