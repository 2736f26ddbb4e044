#include "metrics/snapshot_store.h"

namespace scalr_usage {

SnapshotStore::SnapshotStore(BuildInfo build) : build_(std::move(build)) { publish(Snapshot{}); }

void SnapshotStore::publish(Snapshot snapshot) {
  auto exposition = std::make_shared<const Exposition>(render_exposition(snapshot, build_));
  auto shared = std::make_shared<const Snapshot>(std::move(snapshot));
  const std::lock_guard lock(mutex_);
  current_ = Current{std::move(shared), std::move(exposition)};
}

SnapshotStore::Current SnapshotStore::current() const {
  const std::lock_guard lock(mutex_);
  return current_;
}

std::shared_ptr<const Snapshot> SnapshotStore::snapshot() const { return current().snapshot; }

std::shared_ptr<const Exposition> SnapshotStore::exposition() const { return current().exposition; }

}  // namespace scalr_usage
