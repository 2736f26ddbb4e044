#pragma once
// The hand-over point between the writers (the poller, the report scheduler) and the scrape and
// report paths (many readers). A publication swaps in a new immutable input together with the
// exposition rendered from it, so readers never see a half-built state and a scrape never
// serialises anything.

#include <memory>
#include <mutex>

#include "metrics/exposition.h"
#include "model/snapshot.h"

namespace scalr_usage {

class SnapshotStore {
 public:
  explicit SnapshotStore(BuildInfo build);

  // Each writer has its own input, so the poller and the report scheduler never write the same
  // object; either publication renders the exposition anew from both latest inputs.
  // Called by the poller only.
  void publish(Snapshot snapshot);
  // Called by the report scheduler only (and once by main before any thread starts).
  void publish_report_status(ReportStatus status);
  // Called by the main thread only (start and SIGHUP reloads).
  void publish_config_status(ConfigStatus status);

  std::shared_ptr<const Snapshot> snapshot() const;
  std::shared_ptr<const ReportStatus> report_status() const;
  std::shared_ptr<const ConfigStatus> config_status() const;
  std::shared_ptr<const Exposition> exposition() const;

 private:
  struct Current {
    std::shared_ptr<const Snapshot> snapshot;
    std::shared_ptr<const ReportStatus> reports;
    std::shared_ptr<const ConfigStatus> config;
    std::shared_ptr<const Exposition> exposition;
  };
  Current current() const;
  // Renders and swaps in. Caller holds publish_mutex_.
  void install(std::shared_ptr<const Snapshot> snapshot,
               std::shared_ptr<const ReportStatus> reports,
               std::shared_ptr<const ConfigStatus> config);

  const BuildInfo build_;
  // Serialises the two writers: without it, both could render from the other's older input and
  // the later swap would drop the earlier writer's change.
  std::mutex publish_mutex_;
  mutable std::mutex mutex_;  // guards only the pointer swap, never the rendering
  Current current_;
};

}  // namespace scalr_usage
