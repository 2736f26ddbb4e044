#include "reports/schedule_store.h"

#include <system_error>

namespace scalr_usage {

void FileScheduleStore::mark_written(const DueReport& report, std::chrono::sys_seconds written_at) {
  state_.mark_written(report, written_at);
  save();
}

void FileScheduleStore::record_delivery(const DeliveryKey& key, const StoredDelivery& delivery) {
  state_.put_delivery(key, delivery);
  save();
}

void FileScheduleStore::prune_deliveries(const std::string& schedule,
                                         const std::string& period_key) {
  if (state_.prune_deliveries(schedule, period_key).empty()) return;
  try {
    save();
  } catch (const ScheduleStateError&) {
    // Best effort: the next save writes the pruned state.
  }
}

void FileScheduleStore::save() {
  try {
    state_.save();
  } catch (const std::system_error& error) {
    throw ScheduleStateError(error.what());
  }
}

}  // namespace scalr_usage
