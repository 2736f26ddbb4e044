#pragma once
// OpenMetrics text (https://openmetrics.io) for `promtool tsdb create-blocks-from openmetrics`:
// every sample with its own timestamp, each family's samples together under one # HELP/# TYPE,
// `# EOF` at the end. promtool 2.42 would also take families interleaved, but the format does not,
// and other importers may hold it to that.
//
// The families arrive as the live exposition builds them (metrics/snapshot_collector.h), one day
// after another; a large estate's history does not fit in memory, so each family's samples are
// spooled to a temporary file of their own and the files are concatenated at the end.

#include <prometheus/metric_family.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/snapshot_collector.h"  // FamilySink
#include "model/period.h"                // Seconds

namespace scalr_usage {

// Labels added to every sample (--label), e.g. job and instance, so that backfilled series are the
// very series the live exporter's scrapes make.
using ExtraLabels = std::vector<std::pair<std::string, std::string>>;

// A label value or HELP text as OpenMetrics escapes it: backslash, double quote and line feed.
std::string escape_openmetrics(std::string_view text);

// The name OpenMetrics declares a family under: a counter's without its _total suffix (the
// samples keep it), every other type's as it is.
std::string openmetrics_family_name(const prometheus::MetricFamily& family);

// One sample line, `name{labels} value timestamp\n`, appended to out. The value is written as an
// integer when it is one (every usage value is), the timestamp in seconds.
void append_openmetrics_sample(std::string& out, std::string_view sample_name,
                               const std::vector<prometheus::ClientMetric::Label>& labels,
                               const ExtraLabels& extra, double value, Seconds timestamp);

// A temporary file that exists only as long as this object: created in a directory and unlinked at
// once, so neither an error nor a kill leaves it behind.
class SpoolFile {
 public:
  // Throws std::system_error naming dir when it cannot create the file.
  explicit SpoolFile(const std::filesystem::path& dir);
  void append(std::string_view text);
  // Hands the whole contents to write, in chunks, from the start.
  void copy_to(const std::function<void(std::string_view)>& write);

 private:
  struct Closer {
    void operator()(std::FILE* file) const noexcept { std::fclose(file); }
  };
  std::unique_ptr<std::FILE, Closer> file_;
};

// Collects timestamped samples family by family; finish() writes the document.
class OpenMetricsSpool final : public FamilySink {
 public:
  OpenMetricsSpool(std::filesystem::path dir, ExtraLabels extra);

  // The timestamp of the samples written from now on.
  void set_timestamp(Seconds timestamp) { timestamp_ = timestamp; }
  void write(prometheus::MetricFamily batch, bool first) override;

  // The families in the order they first appeared, each with # HELP and # TYPE and then all its
  // samples, and # EOF.
  void finish(const std::function<void(std::string_view)>& write);
  std::uint64_t samples() const { return samples_; }

 private:
  struct Family {
    std::string name;  // as declared (openmetrics_family_name)
    std::string help;
    prometheus::MetricType type;
    SpoolFile file;
  };

  std::filesystem::path dir_;
  ExtraLabels extra_;
  Seconds timestamp_{};
  std::vector<std::unique_ptr<Family>> families_;
  std::map<std::string, Family*, std::less<>> by_sample_name_;
  std::uint64_t samples_ = 0;
  std::string buffer_;  // one batch's text, reused
};

}  // namespace scalr_usage
