#include "delivery/dispatcher.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "util/log.h"
#include "util/text.h"

namespace scalr_usage {

using std::chrono::sys_seconds;

namespace {

std::string unix_text(sys_seconds t) { return format_rfc3339(t); }

void log_outcome(const DeliveryRecord& r) {
  const DeliveryKey key = r.key();
  const std::string attempts = std::to_string(r.attempts);
  switch (r.status) {
    case DeliveryStatus::sent:
      log::info("report delivered", {{"schedule", key.schedule},
                                     {"channel", key.channel},
                                     {"account", key.account},
                                     {"period", key.period_key},
                                     {"attempts", attempts}});
      return;
    case DeliveryStatus::failed:
      // Once per delivery: it is never attempted again.
      log::error("report delivery failed", {{"schedule", key.schedule},
                                            {"channel", key.channel},
                                            {"account", key.account},
                                            {"period", key.period_key},
                                            {"attempts", attempts},
                                            {"error", r.last_error}});
      return;
    case DeliveryStatus::pending:
      log::warn("report delivery will be retried", {{"schedule", key.schedule},
                                                    {"channel", key.channel},
                                                    {"account", key.account},
                                                    {"period", key.period_key},
                                                    {"attempts", attempts},
                                                    {"error", r.last_error},
                                                    {"next_attempt", unix_text(r.next_attempt)}});
      return;
  }
}

void record(ScheduleState& state, ScheduleStore& store, const DeliveryRecord& r) {
  const StoredDelivery stored = encode_delivery(r);
  store.record_delivery(r.key(), stored);
  state.put_delivery(r.key(), stored);
}

}  // namespace

DeliveryDispatcher::DeliveryDispatcher(DeliveryRetryPolicy policy, ChannelFor channels,
                                       WallClock now)
    : policy_(policy), channels_(std::move(channels)), now_(std::move(now)) {}

void DeliveryDispatcher::enqueue(ScheduleState& state, ScheduleStore& store,
                                 const WrittenReport& report,
                                 const std::vector<std::string>& channels) const {
  for (const std::string& channel : channels) {
    const DeliveryRecord r = new_delivery(report, channel, now_());
    if (state.deliveries().contains(r.key())) continue;
    record(state, store, r);
  }
}

std::vector<FinishedDelivery> DeliveryDispatcher::attempt_due(ScheduleState& state,
                                                              ScheduleStore& store,
                                                              std::stop_token stop) const {
  std::vector<FinishedDelivery> finished;
  std::vector<DeliveryRecord> due;
  const sys_seconds now = now_();
  for (const auto& [key, stored] : state.deliveries()) {
    if (stored.finished) continue;
    try {
      DeliveryRecord r = decode_delivery(stored);
      if (is_due(r, now)) due.push_back(std::move(r));
    } catch (const std::invalid_argument& error) {
      log::warn("skipping an unreadable delivery", {{"schedule", key.schedule},
                                                    {"channel", key.channel},
                                                    {"account", key.account},
                                                    {"period", key.period_key},
                                                    {"error", error.what()}});
    }
  }
  std::stable_sort(due.begin(), due.end(), [](const DeliveryRecord& a, const DeliveryRecord& b) {
    return a.next_attempt < b.next_attempt;
  });
  for (DeliveryRecord& r : due) {
    if (stop.stop_requested() || !attempt(state, store, std::move(r), stop, finished)) break;
  }
  return finished;
}

bool DeliveryDispatcher::attempt(ScheduleState& state, ScheduleStore& store, DeliveryRecord r,
                                 std::stop_token stop,
                                 std::vector<FinishedDelivery>& finished) const {
  DeliveryChannel* channel = channels_(r.report.schedule, r.channel);
  DeliveryResult result{DeliveryOutcome::failed,
                        "the schedule no longer names the " + r.channel + " channel"};
  if (channel != nullptr) result = channel->deliver(r.report, stop);
  // Cut short by shutdown: not an attempt; it stays pending for the next start.
  if (result.outcome == DeliveryOutcome::retry && stop.stop_requested()) return false;
  r = after_attempt(std::move(r), result, now_(), policy_);
  log_outcome(r);
  try {
    record(state, store, r);
  } catch (const ScheduleStateError& error) {
    log::warn("cannot record a delivery; it is attempted again later",
              {{"schedule", r.report.schedule}, {"channel", r.channel}, {"error", error.what()}});
    return false;
  }
  if (r.status != DeliveryStatus::pending) finished.push_back({r.key(), r.status});
  return true;
}

std::optional<sys_seconds> DeliveryDispatcher::next_due(const ScheduleState& state) {
  std::optional<sys_seconds> earliest;
  for (const auto& [key, stored] : state.deliveries()) {
    if (stored.finished) continue;
    try {
      const DeliveryRecord r = decode_delivery(stored);
      if (!earliest || r.next_attempt < *earliest) earliest = r.next_attempt;
    } catch (const std::invalid_argument&) {
      // skipped, and logged, by attempt_due
    }
  }
  return earliest;
}

void DeliveryDispatcher::prune(ScheduleState& state, ScheduleStore& store,
                               const std::string& schedule, const std::string& period_key) {
  if (state.prune_deliveries(schedule, period_key).empty()) return;
  store.prune_deliveries(schedule, period_key);
}

}  // namespace scalr_usage
