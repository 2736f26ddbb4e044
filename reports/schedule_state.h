#pragma once
// When scheduled reports are due, and the small state file that makes each one happen exactly once.
//
// Catch-up works like systemd's Persistent=true: what matters is the LATEST fire time at or before
// now. Its report is due unless the state file says that schedule already wrote that period. So:
//   - a report missed while the daemon was down is written at the next start;
//   - a daemon down across several fire times writes only the latest one's report, once (three
//     missed monthly reports are not written as a burst of three; the older ones are gone);
//   - with no state at all (first start, or a schedule just added), the latest past fire time's
//     report is written straight away, and nothing older;
//   - a schedule never writes the same period twice, and never goes back to an older fire time than
//     the one it last wrote (a clock stepped backwards, or a schedule edited to fire earlier).
//
// A failed write is simply not marked, so the report is due again at the next check.

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/period.h"
#include "reports/cron.h"

namespace scalr_usage {

// What a scheduled report covers, relative to the fire time (all UTC):
enum class PeriodKind {
  previous_month,  // the calendar month before the fire time's month
  // From the first of the month containing the day before the fire day, up to the start of the fire
  // day: only complete days, so the figures no longer change. On the 1st that is the whole previous
  // month (never an empty period). Every fire time on one day has the same period, so a schedule
  // firing several times a day still writes one report per day.
  month_to_date,
  previous_day,  // the UTC day before the fire day
};

// "previous_month", "month_to_date", "previous_day"; parse throws std::invalid_argument naming the
// accepted values.
std::string_view to_string(PeriodKind kind);
PeriodKind parse_period_kind(std::string_view text);

Period period_for(PeriodKind kind, std::chrono::sys_seconds fire_time);

// A stable name for a period, used in the state file and in report file names (it sorts by time
// within one kind): "2026-10" for a whole calendar month, "2026-11-26" for one UTC day, otherwise
// the first and last day, inclusive: "2026-11-01..2026-11-26". A period not on day boundaries is
// named by the days it touches. Throws std::invalid_argument for an empty period.
std::string period_key(const Period& period);

struct ScheduleSpec {
  std::string name;  // unique; the key in the state file
  CronExpression cron;
  PeriodKind period;
};

struct DueReport {
  std::string schedule;
  std::chrono::sys_seconds fire_time;
  Period period;
  std::string period_key;
  // The fire time was at or before the previous check: it was missed while the daemon was down, or
  // an earlier attempt failed. For logging only.
  bool catch_up = false;

  friend bool operator==(const DueReport&, const DueReport&) = default;
};

// The state file's parse errors and unreadable files. The caller decides (log, refuse to start, or
// move the file aside); the message names the file and what is wrong.
class ScheduleStateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One delivery of a schedule's report of one account and period by one channel
// (delivery/channel.h): the unit sent exactly once.
struct DeliveryKey {
  std::string schedule;
  std::string account;
  std::string period_key;
  std::string channel;  // "email", "webhook"

  friend auto operator<=>(const DeliveryKey&, const DeliveryKey&) = default;
};

// A delivery as the state keeps it. What `record` holds (the summary and files, attempts, next
// attempt, outcome) is delivery/'s to say (delivery/delivery_record.h); reports/ only keeps it
// with the schedule state, so it survives a restart or a change of leader.
struct StoredDelivery {
  bool finished = false;  // sent, or failed for good; else pending
  std::string record;     // the text of a JSON object

  friend bool operator==(const StoredDelivery&, const StoredDelivery&) = default;
};

// Per schedule, the last report written; and the deliveries of the reports written. A plain value;
// the daemon loads it once, and marks and saves after each report it writes.
class ScheduleState {
 public:
  // In the output directory, hidden so report listings and retention skip it.
  static constexpr std::string_view kFileName = ".scalr-usage-exporter-state.json";

  struct Entry {
    std::string period_key;
    std::chrono::sys_seconds fire_time;   // the fire time the report was for
    std::chrono::sys_seconds written_at;  // when it was written

    friend bool operator==(const Entry&, const Entry&) = default;
  };

  // Empty state that save() writes to file.
  explicit ScheduleState(std::filesystem::path file) : file_(std::move(file)) {}

  // A missing file is an empty state. An unreadable or corrupt file (bad JSON, wrong shape, unknown
  // version) throws ScheduleStateError.
  static ScheduleState load(const std::filesystem::path& file);
  // Writes the whole state atomically (write_file_atomically); throws std::system_error.
  void save() const;

  const std::filesystem::path& file() const { return file_; }
  std::optional<std::string> last_written(const std::string& schedule) const;
  std::optional<Entry> last_entry(const std::string& schedule) const;
  const std::map<std::string, Entry>& entries() const { return entries_; }

  const std::map<DeliveryKey, StoredDelivery>& deliveries() const { return deliveries_; }
  // Adds or replaces one delivery; call save() to persist.
  void put_delivery(const DeliveryKey& key, StoredDelivery delivery);
  // Forgets the finished deliveries of schedule's periods before period_key (period keys of one
  // schedule sort by time): they can never be due again, and the state stays bounded. Pending
  // ones stay whatever their period. Returns the keys forgotten.
  std::vector<DeliveryKey> prune_deliveries(const std::string& schedule,
                                            const std::string& period_key);

  // Records that the report was written; call save() to persist.
  void mark_written(const DueReport& report, std::chrono::sys_seconds written_at);
  void mark_written(const std::string& schedule, const std::string& period_key,
                    std::chrono::sys_seconds fire_time, std::chrono::sys_seconds written_at);

 private:
  std::filesystem::path file_;
  // Entries of schedules no longer configured stay; they are tiny, and the schedule may return.
  std::map<std::string, Entry> entries_;
  std::map<DeliveryKey, StoredDelivery> deliveries_;
};

// The reports due at now, in the order of specs (see the top of this file). last_check is when the
// previous check ran (at start: now); it only sets DueReport::catch_up. Pure: writing and marking
// is the caller's.
std::vector<DueReport> due_reports(const std::vector<ScheduleSpec>& specs,
                                   const ScheduleState& state, std::chrono::sys_seconds last_check,
                                   std::chrono::sys_seconds now);

// The earliest fire time of any spec strictly after now, for the daemon to sleep until; nullopt
// when no spec ever fires again.
std::optional<std::chrono::sys_seconds> next_wakeup(const std::vector<ScheduleSpec>& specs,
                                                    std::chrono::sys_seconds now);

}  // namespace scalr_usage
