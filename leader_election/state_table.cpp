#include "leader_election/state_table.h"

#include <bit>
#include <set>

#include "util/fnv1a.h"
#include "util/text.h"  // quote_for_message

namespace scalr_usage {

std::int64_t advisory_lock_key(std::string_view lock_key) {
  return std::bit_cast<std::int64_t>(fnv1a_64(lock_key));
}

StateRow state_row(const DueReport& report, std::chrono::sys_seconds written_at) {
  return StateRow{report.schedule, report.period_key, report.fire_time.time_since_epoch().count(),
                  written_at.time_since_epoch().count()};
}

ScheduleState state_from_rows(const std::vector<StateRow>& rows) {
  // No file: the state lives in the table, and is only ever marked there (mark_written).
  ScheduleState state{std::filesystem::path{}};
  std::set<std::string> seen;
  const auto fail = [](const std::string& schedule, std::string_view what) {
    throw ScheduleStateError("table " + std::string(leader_sql::kTable) + ", schedule " +
                             quote_for_message(schedule) + ": " + std::string(what));
  };
  for (const StateRow& row : rows) {
    if (row.schedule.empty()) fail(row.schedule, "empty schedule name");
    if (row.period_key.empty()) fail(row.schedule, "empty period_key");
    if (!seen.insert(row.schedule).second) fail(row.schedule, "more than one row");
    state.mark_written(row.schedule, row.period_key,
                       std::chrono::sys_seconds{std::chrono::seconds{row.fire_time}},
                       std::chrono::sys_seconds{std::chrono::seconds{row.written_at}});
  }
  return state;
}

void add_delivery_rows(ScheduleState& state, const std::vector<DeliveryRow>& rows) {
  for (const DeliveryRow& row : rows) {
    const DeliveryKey& k = row.key;
    if (k.schedule.empty() || k.account.empty() || k.period_key.empty() || k.channel.empty()) {
      throw ScheduleStateError("table " + std::string(leader_sql::kDeliveryTable) +
                               ": a row with an empty key (schedule " +
                               quote_for_message(k.schedule) + ")");
    }
    state.put_delivery(k, row.delivery);
  }
}

}  // namespace scalr_usage
