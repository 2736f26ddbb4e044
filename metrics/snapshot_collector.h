#pragma once
// Turns one immutable Snapshot into metric families. Families are built from the snapshot every
// time (never by mutating long-lived gauges), so a workspace that leaves the data leaves the
// output.

#include <prometheus/metric_family.h>

#include <cstddef>
#include <string>
#include <vector>

#include "model/snapshot.h"

namespace scalr_usage {

struct BuildInfo {
  std::string version;
  std::string revision;
};

// Receives the families one after the other, each as one or more consecutive batches of samples.
// The exposition of a large account is tens of thousands of samples, and prometheus-cpp's model
// of a sample is several times the size of its text: rendering batch by batch keeps only one batch
// of the model in memory at a time.
class FamilySink {
 public:
  virtual ~FamilySink() = default;
  // A batch of samples of one family; first is true for a family's first batch. Families without
  // samples are never written: an empty HELP/TYPE block only confuses readers.
  virtual void write(prometheus::MetricFamily batch, bool first) = 0;
};

inline constexpr std::size_t kDefaultBatchSamples = 1024;

// Writes every family of the exposition to sink, in a fixed order (stable output for diffs), in
// batches of at most batch_samples samples (at least 1).
void write_metrics(const Snapshot& snapshot, const BuildInfo& build, const ReportStatus& reports,
                   const ConfigStatus& config, FamilySink& sink,
                   std::size_t batch_samples = kDefaultBatchSamples);

// Only the usage families (runs and run seconds per account, environment and workspace),
// scalr_workspace_chargeback_info and scalr_account_info, with the names, HELP texts and label sets
// of write_metrics: for writers of the same series outside a scrape (backfill/), so history and
// live series are the same series.
void write_usage_metrics(const Snapshot& snapshot, FamilySink& sink,
                         std::size_t batch_samples = kDefaultBatchSamples);

// The whole model at once (write_metrics into one vector): for tests and benchmarks.
std::vector<prometheus::MetricFamily> collect_metrics(const Snapshot& snapshot,
                                                      const BuildInfo& build,
                                                      const ReportStatus& reports = {},
                                                      const ConfigStatus& config = {});

}  // namespace scalr_usage
