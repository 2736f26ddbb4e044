#include "backfill/openmetrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <string>
#include <system_error>

namespace scalr_usage {

namespace {

constexpr std::string_view kTotal = "_total";

[[noreturn]] void fail(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), what);
}

std::string_view type_name(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    default:
      return "unknown";  // the usage families are counters and gauges only
  }
}

double value_of(const prometheus::MetricFamily& family, const prometheus::ClientMetric& metric) {
  return family.type == prometheus::MetricType::Counter ? metric.counter.value : metric.gauge.value;
}

void append_labels(std::string& out, const std::vector<prometheus::ClientMetric::Label>& labels,
                   const ExtraLabels& extra) {
  if (labels.empty() && extra.empty()) return;
  out += '{';
  bool first = true;
  const auto add = [&](const std::string& name, const std::string& value) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    out += escape_openmetrics(value);
    out += '"';
  };
  for (const auto& label : labels) add(label.name, label.value);
  for (const auto& [name, value] : extra) add(name, value);
  out += '}';
}

}  // namespace

std::string escape_openmetrics(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string openmetrics_family_name(const prometheus::MetricFamily& family) {
  const std::string_view name = family.name;
  if (family.type == prometheus::MetricType::Counter && name.size() > kTotal.size() &&
      name.ends_with(kTotal)) {
    return std::string(name.substr(0, name.size() - kTotal.size()));
  }
  return family.name;
}

void append_openmetrics_sample(std::string& out, std::string_view sample_name,
                               const std::vector<prometheus::ClientMetric::Label>& labels,
                               const ExtraLabels& extra, double value, Seconds timestamp) {
  out += sample_name;
  append_labels(out, labels, extra);
  out += ' ';
  // Integers below 2^53 are exact in a double and read best without an exponent.
  if (std::isfinite(value) && std::fabs(value) < 9007199254740992.0 && value == std::trunc(value)) {
    out += std::to_string(static_cast<long long>(value));
  } else {
    std::array<char, 32> text{};
    std::snprintf(text.data(), text.size(), "%.17g", value);
    out += text.data();
  }
  out += ' ';
  out += std::to_string(timestamp.time_since_epoch().count());
  out += '\n';
}

SpoolFile::SpoolFile(const std::filesystem::path& dir) {
  std::string name = (dir / ".scalr-usage-backfill.XXXXXX").string();
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) fail(errno, "cannot create a temporary file in \"" + dir.string() + "\"");
  ::unlink(name.c_str());  // lives on through the descriptor only
  file_.reset(::fdopen(fd, "w+"));
  if (!file_) {
    const int error = errno;
    ::close(fd);
    fail(error, "cannot open a temporary file in \"" + dir.string() + "\"");
  }
}

void SpoolFile::append(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), file_.get()) != text.size()) {
    fail(errno, "cannot write a temporary file");
  }
}

void SpoolFile::copy_to(const std::function<void(std::string_view)>& write) {
  if (std::fflush(file_.get()) != 0) fail(errno, "cannot write a temporary file");
  std::rewind(file_.get());
  std::array<char, 1 << 16> chunk{};
  while (const std::size_t read = std::fread(chunk.data(), 1, chunk.size(), file_.get())) {
    write(std::string_view(chunk.data(), read));
  }
  if (std::ferror(file_.get())) fail(errno, "cannot read a temporary file");
}

OpenMetricsSpool::OpenMetricsSpool(std::filesystem::path dir, ExtraLabels extra)
    : dir_(std::move(dir)), extra_(std::move(extra)) {}

void OpenMetricsSpool::write(prometheus::MetricFamily batch, bool /*first*/) {
  // Every day starts the families again (first is true each time), so families are found by
  // name rather than by first.
  auto found = by_sample_name_.find(batch.name);
  if (found == by_sample_name_.end()) {
    families_.push_back(std::make_unique<Family>(
        Family{openmetrics_family_name(batch), batch.help, batch.type, SpoolFile(dir_)}));
    found = by_sample_name_.emplace(batch.name, families_.back().get()).first;
  }
  buffer_.clear();
  for (const auto& metric : batch.metric) {
    append_openmetrics_sample(buffer_, batch.name, metric.label, extra_, value_of(batch, metric),
                              timestamp_);
  }
  found->second->file.append(buffer_);
  samples_ += batch.metric.size();
}

void OpenMetricsSpool::finish(const std::function<void(std::string_view)>& write) {
  for (const auto& family : families_) {
    write("# HELP " + family->name + " " + escape_openmetrics(family->help) + "\n# TYPE " +
          family->name + " " + std::string(type_name(family->type)) + "\n");
    family->file.copy_to(write);
  }
  write("# EOF\n");
}

}  // namespace scalr_usage
