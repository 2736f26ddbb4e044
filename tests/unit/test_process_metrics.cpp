#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "metrics/process_metrics.h"

namespace scalr_usage {
namespace {

// A real line of /proc/PID/stat (Linux 6.1), with a command name holding ") (" and spaces to
// prove fields are counted from the last parenthesis.
const std::string kStat =
    "4242 (we ird) (name) S 1 4242 4242 0 -1 4194560 2650 0 0 0 1234 566 0 0 20 0 9 0 "
    "987600 123456789 4096 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";

TEST(ProcessMetrics, ParsesCpuMemoryAndStartTimeFromProcStat) {
  const auto stats = parse_proc_stat(kStat, 100.0, 4096, 1'700'000'000.0);
  ASSERT_TRUE(stats.has_value());
  EXPECT_DOUBLE_EQ(stats->cpu_seconds, (1234 + 566) / 100.0);
  EXPECT_EQ(stats->virtual_memory_bytes, 123456789u);
  EXPECT_EQ(stats->resident_memory_bytes, 4096u * 4096u);
  EXPECT_DOUBLE_EQ(stats->start_time_seconds, 1'700'000'000.0 + 987600 / 100.0);
}

TEST(ProcessMetrics, RejectsTextNotInTheKernelFormat) {
  EXPECT_FALSE(parse_proc_stat("", 100, 4096, 0));
  EXPECT_FALSE(parse_proc_stat("12 (x) S 1 2 3", 100, 4096, 0));  // too few fields
  std::string bad = kStat;
  bad.replace(bad.find("1234"), 4, "12x4");
  EXPECT_FALSE(parse_proc_stat(bad, 100, 4096, 0));
  EXPECT_FALSE(parse_proc_stat(kStat, 0, 4096, 0));
}

TEST(ProcessMetrics, BootTimeIsTheBtimeLine) {
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1764000000\nprocesses 9\n"), 1764000000.0);
  EXPECT_FALSE(parse_boot_time("cpu  1 2 3\n").has_value());
  EXPECT_FALSE(parse_boot_time("btime soon\n").has_value());
}

TEST(ProcessMetrics, ReadsThisProcess) {
  const auto stats = read_process_stats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_GT(stats->resident_memory_bytes, 0u);
  EXPECT_GE(stats->virtual_memory_bytes, stats->resident_memory_bytes);
  ASSERT_TRUE(stats->open_fds.has_value());
  // A descriptor opened here shows up in the count.
  const int fd = dup(0);
  ASSERT_GE(fd, 0);
  const auto more = read_process_stats();
  close(fd);
  ASSERT_TRUE(more && more->open_fds);
  EXPECT_EQ(*more->open_fds, *stats->open_fds + 1);
  const double now = static_cast<double>(time(nullptr));
  EXPECT_LE(stats->start_time_seconds, now + 1);
  EXPECT_GT(stats->start_time_seconds, now - 3600);  // this test binary started recently
}

TEST(ProcessMetrics, RendersTheStandardFamiliesWithHelp) {
  ProcessStats stats;
  stats.cpu_seconds = 1.5;
  stats.resident_memory_bytes = 1024;
  stats.virtual_memory_bytes = 4096;
  stats.start_time_seconds = 1.7e9;
  stats.open_fds = 7;
  stats.max_fds = 1024;
  const std::string text = render_process_metrics(stats);
  for (const char* line :
       {"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n",
        "# TYPE process_open_fds gauge\nprocess_open_fds 7\n",
        "# TYPE process_max_fds gauge\nprocess_max_fds 1024\n",
        "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 1024\n",
        "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes 4096\n",
        "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1700000000\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  }
  EXPECT_NE(text.find("# HELP process_open_fds "), std::string::npos);
  stats.open_fds.reset();
  EXPECT_EQ(render_process_metrics(stats).find("process_open_fds"), std::string::npos);
}

}  // namespace
}  // namespace scalr_usage
