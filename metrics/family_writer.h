#pragma once
// Hands the families of one exposition to a FamilySink in batches (metrics/snapshot_collector.h
// says why batches): the one place that turns values into prometheus-cpp's sample model.

#include <prometheus/metric_family.h>

#include <cstddef>
#include <string>
#include <vector>

#include "metrics/snapshot_collector.h"
#include "model/request_stats.h"

namespace scalr_usage {

// A family starts with begin() and ends with the next begin() or with end().
class FamilyWriter {
 public:
  using Labels = std::vector<prometheus::ClientMetric::Label>;

  FamilyWriter(FamilySink& sink, std::size_t batch_samples);

  void begin(const char* name, std::string help, prometheus::MetricType type);
  // A counter's or a gauge's value, as the family's type says.
  void sample(Labels labels, double value);
  // A histogram of request durations from its per-bucket counts.
  void histogram(Labels labels, const RequestStats& stats);
  void end() { flush(); }

 private:
  void flush();
  void push(prometheus::ClientMetric metric);

  FamilySink& sink_;
  const std::size_t batch_samples_;
  prometheus::MetricFamily batch_;
  bool first_ = true;
};

}  // namespace scalr_usage
