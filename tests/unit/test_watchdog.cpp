#include "daemon/watchdog.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "daemon/notify.h"

namespace scalr_usage {
namespace {

using namespace std::chrono_literals;

TEST(Watchdog, PingsOnlyWhileAlive) {
  std::atomic<bool> alive{true};
  std::atomic<int> pings{0};
  {
    Watchdog watchdog(
        5ms, [&] { return alive.load(); }, [&] { ++pings; });
    while (pings.load() < 3) std::this_thread::sleep_for(1ms);
    alive = false;
    std::this_thread::sleep_for(20ms);  // let a ping already under way finish
    const int frozen = pings.load();
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(pings.load(), frozen);  // ten intervals, not one ping while dead
    alive = true;
    while (pings.load() == frozen) std::this_thread::sleep_for(1ms);
  }
  SUCCEED();  // and the destructor stopped the thread (the test would hang otherwise)
}

TEST(Watchdog, ZeroIntervalMeansNoThread) {
  std::atomic<int> pings{0};
  {
    Watchdog watchdog(
        0us, [] { return true; }, [&] { ++pings; });
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(pings.load(), 0);
}

TEST(SystemdNotify, StatusIsOneBoundedLine) {
  EXPECT_EQ(systemd::one_line("a\nb\rc"), "a b c");
  EXPECT_EQ(systemd::one_line(std::string(500, 'x')).size(), 200u);
}

}  // namespace
}  // namespace scalr_usage
