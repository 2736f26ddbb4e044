#pragma once
// The standard process_* metrics of Prometheus client libraries (CPU, memory, file descriptors,
// start time), read from /proc/self at scrape time. They are the only part of a scrape that is
// computed per request: a few hundred bytes, appended to the cached exposition of the snapshot.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace scalr_usage {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  std::uint64_t resident_memory_bytes = 0;
  std::uint64_t virtual_memory_bytes = 0;
  double start_time_seconds = 0;  // Unix time
  std::optional<std::uint64_t> open_fds;
  std::optional<std::uint64_t> max_fds;
};

// Parses the text of /proc/<pid>/stat. clock_ticks_per_second and page_size as sysconf() gives;
// boot_time_seconds is "btime" of /proc/stat. nullopt when the text is not in the kernel's format.
std::optional<ProcessStats> parse_proc_stat(std::string_view stat, double clock_ticks_per_second,
                                            std::uint64_t page_size, double boot_time_seconds);

// The btime line of /proc/stat; nullopt when absent.
std::optional<double> parse_boot_time(std::string_view proc_stat);

// This process's stats, or nullopt when /proc is not readable (then no process_* metrics are
// served rather than wrong ones).
std::optional<ProcessStats> read_process_stats();

// The text exposition (with HELP and TYPE) of stats.
std::string render_process_metrics(const ProcessStats& stats);

}  // namespace scalr_usage
