#include "metrics/process_metrics.h"

#include <dirent.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <vector>

namespace scalr_usage {

namespace {

std::optional<std::string> read_small_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

template <typename T>
bool parse_number(std::string_view text, T& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc{} && end == text.data() + text.size();
}

struct DirCloser {
  void operator()(DIR* dir) const { closedir(dir); }
};

std::optional<std::uint64_t> count_open_fds() {
  const std::unique_ptr<DIR, DirCloser> dir(opendir("/proc/self/fd"));
  if (!dir) return std::nullopt;
  std::uint64_t count = 0;
  while (const dirent* entry = readdir(dir.get())) {
    if (entry->d_name[0] != '.') ++count;
  }
  return count - 1;  // the descriptor opendir() itself holds while counting
}

std::optional<std::uint64_t> max_open_fds() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return std::nullopt;
  return static_cast<std::uint64_t>(limit.rlim_cur);
}

void add_gauge(std::vector<prometheus::MetricFamily>& families, const char* name, const char* help,
               prometheus::MetricType type, double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  families.push_back({name, help, type, {std::move(metric)}});
}

}  // namespace

std::optional<ProcessStats> parse_proc_stat(std::string_view stat, double clock_ticks_per_second,
                                            std::uint64_t page_size, double boot_time_seconds) {
  // Field 2 is the command name in parentheses and may itself hold spaces and parentheses, so
  // the fields are counted from the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos || clock_ticks_per_second <= 0) return std::nullopt;
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  std::string_view rest = stat.substr(close + 1);
  while (!rest.empty()) {
    const auto start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const auto end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  }
  const auto field = [&](int number) { return fields[static_cast<std::size_t>(number - 3)]; };
  if (fields.size() < 22) return std::nullopt;  // up to field 24 (rss)
  std::uint64_t utime = 0, stime = 0, start_ticks = 0, vsize = 0, rss_pages = 0;
  if (!parse_number(field(14), utime) || !parse_number(field(15), stime) ||
      !parse_number(field(22), start_ticks) || !parse_number(field(23), vsize) ||
      !parse_number(field(24), rss_pages)) {
    return std::nullopt;
  }
  ProcessStats stats;
  stats.cpu_seconds = static_cast<double>(utime + stime) / clock_ticks_per_second;
  stats.start_time_seconds =
      boot_time_seconds + static_cast<double>(start_ticks) / clock_ticks_per_second;
  stats.virtual_memory_bytes = vsize;
  stats.resident_memory_bytes = rss_pages * page_size;
  return stats;
}

std::optional<double> parse_boot_time(std::string_view proc_stat) {
  std::istringstream lines{std::string(proc_stat)};
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("btime ", 0) != 0) continue;
    std::uint64_t seconds = 0;
    if (!parse_number(std::string_view(line).substr(6), seconds)) return std::nullopt;
    return static_cast<double>(seconds);
  }
  return std::nullopt;
}

std::optional<ProcessStats> read_process_stats() {
  const auto stat = read_small_file("/proc/self/stat");
  const auto system_stat = read_small_file("/proc/stat");
  if (!stat || !system_stat) return std::nullopt;
  const auto boot_time = parse_boot_time(*system_stat);
  if (!boot_time) return std::nullopt;
  auto stats = parse_proc_stat(*stat, static_cast<double>(sysconf(_SC_CLK_TCK)),
                               static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)), *boot_time);
  if (!stats) return std::nullopt;
  stats->open_fds = count_open_fds();
  stats->max_fds = max_open_fds();
  return stats;
}

std::string render_process_metrics(const ProcessStats& stats) {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  add_gauge(families, "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.", MetricType::Counter,
            stats.cpu_seconds);
  if (stats.open_fds) {
    add_gauge(families, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
              static_cast<double>(*stats.open_fds));
  }
  if (stats.max_fds) {
    add_gauge(families, "process_max_fds", "Maximum number of open file descriptors.",
              MetricType::Gauge, static_cast<double>(*stats.max_fds));
  }
  add_gauge(families, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
            MetricType::Gauge, static_cast<double>(stats.virtual_memory_bytes));
  add_gauge(families, "process_resident_memory_bytes", "Resident memory size in bytes.",
            MetricType::Gauge, static_cast<double>(stats.resident_memory_bytes));
  add_gauge(families, "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
            stats.start_time_seconds);
  std::ostringstream text;
  prometheus::TextSerializer{}.Serialize(text, families);
  return std::move(text).str();
}

}  // namespace scalr_usage
