#include "util/time.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

#include "model/period.h"  // Clock, Seconds

namespace scalr_usage {
namespace {

using namespace std::chrono;

// EXPECT_EQ on doubles: bit for bit, not within a tolerance.

TEST(UnixSeconds, WholeSecondsAreExact) {
  EXPECT_EQ(unix_seconds(Seconds{}), 0.0);
  EXPECT_EQ(unix_seconds(Seconds{seconds{1'700'000'000}}), 1.7e9);
  EXPECT_EQ(unix_seconds(Seconds{seconds{-86'400}}), -86'400.0);
  EXPECT_EQ(unix_seconds(sys_days{year{2026} / 11 / 1}), 1'793'491'200.0);
  // What metrics/snapshot_collector.cpp and daemon/report_scheduler.cpp computed before.
  for (const std::int64_t count : {std::int64_t{1'793'491'200}, std::int64_t{253'402'300'799},
                                   (std::int64_t{1} << 53) + 1, std::int64_t{-1}}) {
    const Seconds t{seconds{count}};
    EXPECT_EQ(unix_seconds(t), static_cast<double>(t.time_since_epoch().count())) << count;
  }
}

TEST(UnixSeconds, FinerTimesAreWhatDurationDoubleGives) {
  // What daemon/poller.cpp computed before, for the wall clock's own time points.
  const Clock::time_point now = Clock::now();
  EXPECT_EQ(unix_seconds(now), duration<double>(now.time_since_epoch()).count());

  const sys_time<nanoseconds> t{nanoseconds{1'793'491'200'123'456'789}};
  EXPECT_EQ(unix_seconds(t), 1'793'491'200'123'456'789.0 / 1e9);
  EXPECT_EQ(unix_seconds(sys_time<milliseconds>{milliseconds{1'500}}), 1.5);
}

}  // namespace
}  // namespace scalr_usage
