#include "reports/schedule_store.h"

#include <system_error>

namespace scalr_usage {

void FileScheduleStore::mark_written(const DueReport& report, std::chrono::sys_seconds written_at) {
  state_.mark_written(report, written_at);
  try {
    state_.save();
  } catch (const std::system_error& error) {
    throw ScheduleStateError(error.what());
  }
}

}  // namespace scalr_usage
