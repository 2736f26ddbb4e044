#pragma once
// The hand-over point between the poller (one writer) and the scrape and report paths (many
// readers). A publication swaps in a new immutable snapshot together with its rendered exposition,
// so readers never see a half-built state and a scrape never serialises anything.

#include <memory>
#include <mutex>

#include "metrics/exposition.h"
#include "model/snapshot.h"

namespace scalr_usage {

class SnapshotStore {
 public:
  explicit SnapshotStore(BuildInfo build);

  // Renders the exposition of snapshot and makes both current. Called by the poller only.
  void publish(Snapshot snapshot);

  std::shared_ptr<const Snapshot> snapshot() const;
  std::shared_ptr<const Exposition> exposition() const;

 private:
  struct Current {
    std::shared_ptr<const Snapshot> snapshot;
    std::shared_ptr<const Exposition> exposition;
  };
  Current current() const;

  const BuildInfo build_;
  mutable std::mutex mutex_;  // guards only the pointer swap, never the rendering
  Current current_;
};

}  // namespace scalr_usage
