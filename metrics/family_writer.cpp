#include "metrics/family_writer.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace scalr_usage {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

FamilyWriter::FamilyWriter(FamilySink& sink, std::size_t batch_samples)
    : sink_(sink), batch_samples_(std::max<std::size_t>(batch_samples, 1)) {}

void FamilyWriter::begin(const char* name, std::string help, MetricType type) {
  flush();
  batch_ = MetricFamily{name, std::move(help), type, {}};
  first_ = true;
}

void FamilyWriter::sample(Labels labels, double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  if (batch_.type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  push(std::move(metric));
}

void FamilyWriter::histogram(Labels labels, const RequestStats& stats) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.histogram.sample_count = stats.count;
  metric.histogram.sample_sum = stats.sum_seconds;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kRequestDurationBuckets.size(); ++i) {
    cumulative += stats.buckets[i];
    metric.histogram.bucket.push_back({cumulative, kRequestDurationBuckets[i]});
  }
  metric.histogram.bucket.push_back({stats.count, std::numeric_limits<double>::infinity()});
  push(std::move(metric));
}

void FamilyWriter::push(ClientMetric metric) {
  batch_.metric.push_back(std::move(metric));
  if (batch_.metric.size() >= batch_samples_) flush();
}

void FamilyWriter::flush() {
  if (batch_.metric.empty()) return;
  MetricFamily next{batch_.name, batch_.help, batch_.type, {}};
  sink_.write(std::exchange(batch_, std::move(next)), first_);
  first_ = false;
}

}  // namespace scalr_usage
