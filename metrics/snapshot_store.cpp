#include "metrics/snapshot_store.h"

namespace scalr_usage {

SnapshotStore::SnapshotStore(BuildInfo build) : build_(std::move(build)) {
  const std::lock_guard lock(publish_mutex_);
  install(std::make_shared<const Snapshot>(), std::make_shared<const ReportStatus>(),
          std::make_shared<const ConfigStatus>());
}

void SnapshotStore::install(std::shared_ptr<const Snapshot> snapshot,
                            std::shared_ptr<const ReportStatus> reports,
                            std::shared_ptr<const ConfigStatus> config) {
  const std::shared_ptr<const Exposition> previous = current().exposition;
  auto exposition = std::make_shared<const Exposition>(render_exposition(
      *snapshot, build_, *reports, *config, previous ? previous->text.size() : 0));
  const std::lock_guard lock(mutex_);
  current_ =
      Current{std::move(snapshot), std::move(reports), std::move(config), std::move(exposition)};
}

void SnapshotStore::publish(Snapshot snapshot) {
  const std::lock_guard lock(publish_mutex_);
  const Current now = current();
  install(std::make_shared<const Snapshot>(std::move(snapshot)), now.reports, now.config);
}

void SnapshotStore::publish_report_status(ReportStatus status) {
  const std::lock_guard lock(publish_mutex_);
  const Current now = current();
  install(now.snapshot, std::make_shared<const ReportStatus>(std::move(status)), now.config);
}

void SnapshotStore::publish_config_status(ConfigStatus status) {
  const std::lock_guard lock(publish_mutex_);
  const Current now = current();
  install(now.snapshot, now.reports, std::make_shared<const ConfigStatus>(status));
}

SnapshotStore::Current SnapshotStore::current() const {
  const std::lock_guard lock(mutex_);
  return current_;
}

std::shared_ptr<const Snapshot> SnapshotStore::snapshot() const { return current().snapshot; }

std::shared_ptr<const ReportStatus> SnapshotStore::report_status() const {
  return current().reports;
}

std::shared_ptr<const ConfigStatus> SnapshotStore::config_status() const {
  return current().config;
}

std::shared_ptr<const Exposition> SnapshotStore::exposition() const { return current().exposition; }

}  // namespace scalr_usage
