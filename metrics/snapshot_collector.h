#pragma once
// Turns one immutable Snapshot into metric families. Families are built from the snapshot every
// time (never by mutating long-lived gauges), so a workspace that leaves the data leaves the
// output.

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "model/snapshot.h"

namespace scalr_usage {

struct BuildInfo {
  std::string version;
  std::string revision;
};

std::vector<prometheus::MetricFamily> collect_metrics(const Snapshot& snapshot,
                                                      const BuildInfo& build,
                                                      const ReportStatus& reports = {},
                                                      const ConfigStatus& config = {});

}  // namespace scalr_usage
