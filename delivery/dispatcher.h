#pragma once
// The deliveries of the scheduled reports: queued when an account's files are written, attempted
// when due, each recorded in the ScheduleStore right after its attempt, so a restart or a new
// leader continues the pending ones and never resends a sent one.
//
// At least once, not exactly once, in one window: a crash (or a lost leadership) between a
// successful send and its record leaves the delivery pending, and it is sent again. The window is
// one store write long; every other path sends once.
//
// The report scheduler (daemon/report_scheduler.h) calls these on its thread: enqueue() after a
// run, attempt_due() at every check, next_due() for when to wake up, prune() to keep the state
// bounded.

#include <chrono>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/channel.h"
#include "delivery/delivery_record.h"
#include "reports/schedule_state.h"
#include "reports/schedule_store.h"

namespace scalr_usage {

// A delivery that ended during attempt_due(), for the counters.
struct FinishedDelivery {
  DeliveryKey key;
  DeliveryStatus status = DeliveryStatus::sent;  // sent or failed
};

class DeliveryDispatcher {
 public:
  // The channel of a schedule's configured channel name; null when the schedule no longer names
  // it (a reload removed it): its pending deliveries then fail.
  using ChannelFor =
      std::function<DeliveryChannel*(std::string_view schedule, std::string_view channel)>;
  using WallClock = std::function<std::chrono::sys_seconds()>;

  DeliveryDispatcher(DeliveryRetryPolicy policy, ChannelFor channels, WallClock now);

  // Queues report by each of channels that state does not have yet (a period's delivery is
  // queued once, whatever happens to the files later), recording each in store and state.
  // Throws ScheduleStateError when the store cannot record it.
  void enqueue(ScheduleState& state, ScheduleStore& store, const WrittenReport& report,
               const std::vector<std::string>& channels) const;

  // Attempts every due pending delivery of state, oldest first. Stops early on stop (the one
  // being attempted stays pending, not counted) or when the store cannot record (logged).
  std::vector<FinishedDelivery> attempt_due(ScheduleState& state, ScheduleStore& store,
                                            std::stop_token stop) const;

  // The earliest next attempt of a pending delivery; nullopt when none is pending.
  static std::optional<std::chrono::sys_seconds> next_due(const ScheduleState& state);

  // Forgets finished deliveries of schedule's periods before period_key, in store and state.
  static void prune(ScheduleState& state, ScheduleStore& store, const std::string& schedule,
                    const std::string& period_key);

 private:
  // One attempt and its record; false when the loop must stop.
  bool attempt(ScheduleState& state, ScheduleStore& store, DeliveryRecord record,
               std::stop_token stop, std::vector<FinishedDelivery>& finished) const;

  DeliveryRetryPolicy policy_;
  ChannelFor channels_;
  WallClock now_;
};

}  // namespace scalr_usage
