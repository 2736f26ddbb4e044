// ReportScheduler's deliveries (delivery/dispatcher.h does the work): the wiring of channels,
// counters and the schedule state.
#include <algorithm>
#include <exception>

#include "daemon/report_scheduler.h"
#include "delivery/summary.h"
#include "util/log.h"

namespace scalr_usage {

using namespace std::chrono;

void ReportScheduler::set_up_delivery() {
  for (const ScheduleChannels& schedule : options_.delivery.schedules) {
    if (std::none_of(specs_.begin(), specs_.end(),
                     [&](const ScheduleSpec& s) { return s.name == schedule.schedule; })) {
      continue;
    }
    for (const ChannelConfig& channel : schedule.channels) {
      const std::string name(channel_name(channel));
      // Exported at 0 from the start; a reload carries the counts (initial_report_status).
      status_.schedules[schedule.schedule].deliveries[name];
      try {
        channels_[{schedule.schedule, name}] = make_channel(channel, options_.delivery);
        // What the module says of itself, never a secret (a webhook: scheme://host only).
        std::vector<log::Field> fields{{"schedule", schedule.schedule}, {"channel", name}};
        const auto described = channel_log_fields(channel);
        for (const auto& [key, value] : described) fields.emplace_back(key, value);
        log::write(log::Level::info, "report delivery", fields);
      } catch (const std::exception& error) {
        log::error("cannot set up a report delivery channel",
                   {{"schedule", schedule.schedule}, {"channel", name}, {"error", error.what()}});
      }
    }
  }
  if (channels_.empty() || !state_store_) return;
  dispatcher_.emplace(
      options_.delivery_retry,
      [this](std::string_view schedule, std::string_view channel) -> DeliveryChannel* {
        const auto it = channels_.find({std::string(schedule), std::string(channel)});
        return it == channels_.end() ? nullptr : it->second.get();
      },
      [this] { return floor<seconds>(options_.now()); });
}

void ReportScheduler::queue_deliveries(const ReportSchedule& spec, const ReportRunResult& result) {
  if (!dispatcher_) return;
  std::vector<std::string> names;
  for (const ChannelConfig& channel : options_.delivery.channels_of(spec.name)) {
    names.emplace_back(channel_name(channel));
  }
  if (names.empty()) return;
  for (const AccountResult& account : result.accounts) {
    // Only an account whose every file is in place: a message about a partial report would
    // name a file that is not there.
    if (!account.report || !account.error.empty() || account.skipped) continue;
    WrittenReport report{spec.name, report_summary(*account.report), {}};
    for (std::size_t i = 0; i < account.files.size() && i < spec.formats.size(); ++i) {
      report.files.push_back(ReportFile{spec.formats[i], account.files[i]});
    }
    try {
      dispatcher_->enqueue(state_, *state_store_, report, names);
    } catch (const ScheduleStateError& error) {
      log::error(
          "cannot queue a report delivery",
          {{"schedule", spec.name}, {"account", account.account_id}, {"error", error.what()}});
    }
  }
}

void ReportScheduler::deliver_due(std::stop_token stop) {
  if (!dispatcher_) return;
  for (const FinishedDelivery& done : dispatcher_->attempt_due(state_, *state_store_, stop)) {
    const auto schedule = status_.schedules.find(done.key.schedule);
    if (schedule == status_.schedules.end()) continue;  // no longer configured
    DeliveryCounts& counts = schedule->second.deliveries[done.key.channel];
    ++(done.status == DeliveryStatus::sent ? counts.sent : counts.failed);
    status_changed_ = true;
  }
  // Bounded: a schedule's finished deliveries older than its last written period go.
  for (const auto& [name, entry] : state_.entries()) {
    DeliveryDispatcher::prune(state_, *state_store_, name, entry.period_key);
  }
}

std::optional<Seconds> ReportScheduler::next_delivery(Seconds now) const {
  if (!dispatcher_) return std::nullopt;
  const std::optional<Seconds> due = DeliveryDispatcher::next_due(state_);
  if (!due) return std::nullopt;
  return std::max(*due, now + seconds{1});
}

}  // namespace scalr_usage
