#include "daemon/report_scheduler.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "reports/report_runner.h"
#include "util/log.h"
#include "util/stoppable_sleep.h"
#include "util/text.h"  // join
#include "util/time.h"  // unix_seconds

namespace scalr_usage {

namespace fs = std::filesystem;
using namespace std::chrono;

namespace {

// The sleep between checks is measured on the steady clock, which stands still during a suspend
// and ignores clock steps, while cron times are wall-clock times; waking at least this often
// keeps a fire time from being overslept by more than this.
constexpr auto kMaxSleep = minutes{1};

ScheduleState read_state_file(const fs::path& file) {
  try {
    return ScheduleState::load(file);
  } catch (const ScheduleStateError& error) {
    // Starting empty writes at most the latest report of each schedule again (due_reports never
    // goes further back), which beats writing none until someone repairs the file.
    log::error("cannot read the report state file; starting from an empty state",
               {{"file", file.string()}, {"error", error.what()}});
    return ScheduleState(file);
  }
}

// What a failed run is recorded with: the run's own error, else the first failing account's, and
// how many accounts failed.
struct RunFailure {
  std::string error;
  std::size_t failed_accounts = 0;
};

RunFailure run_failure(const ReportRunResult& result) {
  RunFailure failure{result.error, 0};
  for (const AccountResult& account : result.accounts) {
    if (account.error.empty()) continue;
    if (failure.error.empty()) failure.error = account.account_id + ": " + account.error;
    ++failure.failed_accounts;
  }
  return failure;
}

// Retention in a schedule's directory after its report landed; returns how many files it removed.
// A failure is only logged: old files left behind are no reason to write the report again.
std::size_t apply_retention(const std::string& schedule, const fs::path& directory,
                            std::size_t keep) {
  try {
    return remove_old_reports(directory, keep).size();
  } catch (const fs::filesystem_error& error) {
    log::warn("cannot remove old reports",
              {{"schedule", schedule}, {"directory", directory.string()}, {"error", error.what()}});
    return 0;
  }
}

}  // namespace

ReportStatus initial_report_status(const ReportsConfig& reports, const BillingPlan& plan,
                                   const ScheduleState* state, const ReportStatus* carried) {
  ReportStatus status;
  if (has_plan(plan)) status.included_runs = plan.included_runs;
  if (carried != nullptr) {
    status.api_requests = carried->api_requests;
    status.enrichment_errors = carried->enrichment_errors;
    // Counters continue across a reload; whether this replica leads is the new store's to say.
    status.leader_errors = carried->leader_errors;
  }
  for (const ReportSchedule& schedule : reports.schedules) {
    ReportScheduleStatus& entry = status.schedules[schedule.name];
    if (carried != nullptr) {
      if (const auto it = carried->schedules.find(schedule.name); it != carried->schedules.end()) {
        entry = it->second;
      }
    }
    if (state != nullptr) {
      if (const auto last = state->last_entry(schedule.name)) {
        const double written = unix_seconds(last->written_at);
        entry.last_success_unix_seconds =
            std::max(entry.last_success_unix_seconds.value_or(written), written);
      }
    }
  }
  return status;
}

ReportScheduler::ReportScheduler(Options options, SourceFactory make_source, SnapshotStore& store)
    : options_(std::move(options)),
      make_source_(std::move(make_source)),
      store_(store),
      state_(options_.reports.output_dir / ScheduleState::kFileName) {
  for (const ReportSchedule& schedule : options_.reports.schedules) {
    specs_.push_back(ScheduleSpec{schedule.name, schedule.cron, schedule.period});
  }
  if (!specs_.empty()) {
    std::string names;
    for (const ScheduleSpec& spec : specs_) names += (names.empty() ? "" : ",") + spec.name;
    log::info("report schedules", {{"schedules", names},
                                   {"output_dir", options_.reports.output_dir.string()},
                                   {"keep", std::to_string(options_.reports.keep)},
                                   {"leader_election", options_.store ? "on" : "off"}});
    state_store_ = options_.store
                       ? options_.store
                       : std::make_shared<FileScheduleStore>(read_state_file(state_.file()));
    // The state file's entries give the last successes at once; an election's table is read by
    // the leader only, at its checks.
    if (std::optional<ScheduleState> loaded = load_state()) state_ = std::move(*loaded);
  }
  const ReportStatus* carried = store_.report_status().get();
  if (carried != nullptr) carried_leader_errors_ = carried->leader_errors;
  status_ = initial_report_status(options_.reports, options_.plan, &state_, carried);
  set_up_delivery();
  update_leadership();
  store_.publish_report_status(status_);
}

std::optional<ScheduleState> ReportScheduler::load_state() {
  if (!state_store_) return std::nullopt;  // no schedules: nothing is ever due
  try {
    std::optional<ScheduleState> loaded = state_store_->load();
    if (loaded && !load_error_.empty()) {
      log::info("the report state can be read again");
      load_error_.clear();
    }
    return loaded;
  } catch (const ScheduleStateError& error) {
    // Once per change of the error: a long database outage is not a log line per check.
    if (load_error_ != error.what()) {
      log::error("cannot read the report state; no report is written until it can be read",
                 {{"error", error.what()}});
      load_error_ = error.what();
    }
    return std::nullopt;
  }
}

void ReportScheduler::update_leadership() {
  const std::optional<LeadershipStatus> leadership =
      state_store_ ? state_store_->leadership() : std::nullopt;
  std::optional<bool> leader;
  std::map<std::string, std::uint64_t> errors;
  if (leadership) {
    leader = leadership->leader;
    errors = carried_leader_errors_;
    for (const auto& [reason, count] : leadership->errors) errors[reason] += count;
  }
  if (leader != status_.leader || errors != status_.leader_errors) {
    status_.leader = leader;
    status_.leader_errors = std::move(errors);
    status_changed_ = true;
  }
}

// The last successes a leader finds in the shared state: written by whichever replica led then.
void ReportScheduler::adopt_last_successes() {
  for (const auto& [name, entry] : state_.entries()) {
    const auto it = status_.schedules.find(name);
    if (it == status_.schedules.end()) continue;  // a schedule no longer configured
    const double written = unix_seconds(entry.written_at);
    std::optional<double>& last = it->second.last_success_unix_seconds;
    if (!last || *last < written) {
      last = written;
      status_changed_ = true;
    }
  }
}

void ReportScheduler::on_response(std::string_view target, int http_status, double seconds) {
  // The report runs fetch one account at a time, on this scheduler's thread.
  status_.api_requests[std::string(target)].observe(http_status, seconds);
  status_changed_ = true;
}

void ReportScheduler::on_enrichment_error(std::string_view target, ErrorReason reason) {
  // Same thread as on_response.
  ++status_.enrichment_errors[std::string(target)][reason];
  status_changed_ = true;
}

const ReportSchedule& ReportScheduler::schedule(const std::string& name) const {
  const auto& schedules = options_.reports.schedules;
  const auto it = std::find_if(schedules.begin(), schedules.end(),
                               [&](const ReportSchedule& s) { return s.name == name; });
  if (it == schedules.end()) throw std::logic_error("unknown schedule " + name);
  return *it;
}

std::optional<Seconds> ReportScheduler::check(std::stop_token stop) {
  const Seconds now = floor<seconds>(options_.now());
  update_leadership();
  std::vector<DueReport> due;
  bool writes = false;  // this replica writes (and delivers) now
  if (std::optional<ScheduleState> loaded = load_state()) {
    state_ = std::move(*loaded);
    adopt_last_successes();
    due = due_reports(specs_, state_, last_check_.value_or(now), now);
    writes = true;
  }
  last_check_ = now;

  std::unique_ptr<UsageSource> source;
  for (const DueReport& report : due) {
    if (stop.stop_requested()) break;
    const auto failure = failures_.find(report.schedule);
    if (failure != failures_.end() && failure->second.period_key == report.period_key &&
        now < failure->second.retry_at) {
      continue;  // backing off
    }
    // Asked again right before writing: leadership may have gone since the state was read.
    const std::optional<std::stop_token> lost = state_store_->begin_write();
    if (!lost) break;
    if (!source) {
      try {
        source = make_source_(*this);
      } catch (const std::exception& error) {
        record_failure(report, now, std::string("cannot create the source: ") + error.what(), {},
                       0);
        continue;
      }
    }
    write(report, *source, now, stop, *lost);
  }
  if (writes && !stop.stop_requested()) deliver_due(stop);
  update_leadership();
  if (status_changed_) {
    store_.publish_report_status(status_);
    status_changed_ = false;
  }

  return next_check(now, due);
}

std::optional<Seconds> ReportScheduler::next_check(Seconds now, const std::vector<DueReport>& due) {
  // A failure whose report is no longer due (written after all, or its schedule moved on) has
  // nothing left to retry; keeping it would wake the loop for nothing.
  std::erase_if(failures_, [&](const auto& entry) {
    return std::none_of(due.begin(), due.end(), [&](const DueReport& report) {
      return report.schedule == entry.first && report.period_key == entry.second.period_key;
    });
  });
  std::optional<Seconds> wake = next_wakeup(specs_, now);
  if (const auto delivery = next_delivery(now); delivery && (!wake || *delivery < *wake)) {
    wake = delivery;
  }
  for (const auto& [name, failure] : failures_) {
    if (failure.retry_at > now && (!wake || failure.retry_at < *wake)) wake = failure.retry_at;
  }
  const std::string due_count = std::to_string(due.size());
  std::vector<log::Field> fields{{"due", due_count}};
  if (status_.leader) {
    // A follower may become the leader at any moment, and a leader must notice a lost lock.
    const Seconds look_again = now + options_.leadership_check;
    if (!wake || look_again < *wake) wake = look_again;
    fields.emplace_back("leader", *status_.leader ? "true" : "false");
  }
  const std::string next = wake ? format_rfc3339(*wake) : "never";
  fields.emplace_back("next_check", next);
  log::write(log::Level::debug, "scheduled reports checked", fields);
  return wake;
}

void ReportScheduler::write(const DueReport& due, UsageSource& source, Seconds now,
                            std::stop_token stop, std::stop_token lost) {
  const ReportSchedule& spec = schedule(due.schedule);
  const fs::path directory = options_.reports.output_dir / spec.name;
  const ReportJob job = job_for(due, spec, now);
  // catch_up: the fire time was before this check, missed while the daemon was down or retried.
  log::info("writing a scheduled report", {{"schedule", spec.name},
                                           {"period", due.period_key},
                                           {"catch_up", due.catch_up ? "true" : "false"}});
  std::stop_source cancel;
  const std::stop_callback cancel_on_stop(stop, [&cancel] { cancel.request_stop(); });
  const std::stop_callback cancel_on_lost(lost, [&cancel] { cancel.request_stop(); });
  const ReportRunResult result =
      run_report(source, job, ReportOutput{directory}, cancel.get_token());
  // Shutting down: not a failure, due again at the next start. Leadership lost: the next leader
  // writes it, since it is not marked written.
  if (stop.stop_requested()) return;
  if (lost.stop_requested()) {
    log::warn("scheduled report abandoned: report leadership was lost while writing it",
              {{"schedule", spec.name}, {"period", due.period_key}});
    return;
  }
  if (result.cancelled) return;
  queue_deliveries(spec, result);

  std::set<std::string> written = result.written_accounts();
  written.insert(job.already_written.begin(), job.already_written.end());
  if (!result.ok()) {
    const RunFailure failure = run_failure(result);
    record_failure(due, now, failure.error, written, failure.failed_accounts);
    return;
  }
  record_written(due, spec, directory, result, written, now);
}

ReportJob ReportScheduler::job_for(const DueReport& due, const ReportSchedule& spec,
                                   Seconds now) const {
  ReportJob job{
      due.period,    {}, {}, options_.plan, spec.formats, spec.name + ": " + spec.cron.text(), now,
      options_.shard};
  job.chargeback = options_.chargeback;
  if (const auto failure = failures_.find(due.schedule);
      failure != failures_.end() && failure->second.period_key == due.period_key) {
    job.already_written = failure->second.written_accounts;
  }
  return job;
}

void ReportScheduler::record_written(const DueReport& due, const ReportSchedule& spec,
                                     const fs::path& directory, const ReportRunResult& result,
                                     const std::set<std::string>& written, Seconds now) {
  state_.mark_written(due, now);
  try {
    state_store_->mark_written(due, now);
  } catch (const ScheduleStateError& error) {
    // The files are in place but nothing remembers it: count it, and retry (which only records
    // the report again, as every account is recorded as written).
    record_failure(due, now, std::string("saving the state: ") + error.what(), written, 0);
    return;
  }
  const std::size_t removed =
      apply_retention(spec.name, directory, static_cast<std::size_t>(options_.reports.keep));
  const bool recovered = failures_.erase(due.schedule) > 0;
  ReportScheduleStatus& status = status_.schedules[spec.name];
  status.last_success_unix_seconds = unix_seconds(now);
  status_changed_ = true;
  std::size_t files = 0;
  for (const AccountResult& account : result.accounts) files += account.files.size();
  log::info(recovered ? "scheduled report written after failures" : "scheduled report written",
            {{"schedule", spec.name},
             {"period", due.period_key},
             {"accounts", std::to_string(written.size())},
             {"files", std::to_string(files)},
             {"old_files_removed", std::to_string(removed)},
             {"directory", directory.string()}});
}

void ReportScheduler::record_failure(const DueReport& due, Seconds now, const std::string& error,
                                     const std::set<std::string>& written,
                                     std::size_t failed_accounts) {
  Failure& failure = failures_[due.schedule];
  if (failure.period_key != due.period_key) {
    failure = Failure{due.period_key, {}, 0, now, failure.logged_error};
  }
  failure.written_accounts = written;
  ++failure.attempts;
  // 5m, 10m, 20m, ... up to retry_max: bounded, and a long outage is not hammered.
  auto delay = options_.retry_initial;
  for (int i = 1; i < failure.attempts && delay < options_.retry_max; ++i) delay *= 2;
  delay = std::min(delay, options_.retry_max);
  failure.retry_at = now + delay;
  ++status_.schedules[due.schedule].errors;
  status_changed_ = true;

  const std::string retry = format_rfc3339(failure.retry_at);
  const std::string failed = std::to_string(failed_accounts);
  const std::string done = join(written);
  const log::Fields fields{{"schedule", due.schedule}, {"period", due.period_key},
                           {"error", error},           {"failed_accounts", failed},
                           {"written_accounts", done}, {"retry_at", retry}};
  // Once per change of the error; the repeats of a long outage go to debug.
  if (failure.logged_error != error) {
    log::error("scheduled report failed", fields);
    failure.logged_error = error;
  } else {
    log::debug("scheduled report failed again", fields);
  }
}

void ReportScheduler::run(std::stop_token stop) {
  if (specs_.empty()) return;
  std::optional<Seconds> wake = check(stop);
  while (!stop.stop_requested()) {
    const auto now = options_.now();
    if (wake && now >= *wake) {
      wake = check(stop);
      continue;
    }
    const auto left = wake ? ceil<milliseconds>(*wake - now) : milliseconds{kMaxSleep};
    if (!sleep_unless_stopped(std::min<milliseconds>(left, kMaxSleep), stop)) break;
  }
}

}  // namespace scalr_usage
