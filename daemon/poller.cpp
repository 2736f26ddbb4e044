#include "daemon/poller.h"

#include <malloc.h>

#include <set>

#include "util/log.h"
#include "util/stoppable_sleep.h"
#include "util/time.h"  // unix_seconds

namespace scalr_usage {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Poller::Poller(Options options, const SourceFactory& make_source, SnapshotStore& store)
    : options_(std::move(options)),
      store_(store),
      source_(make_source(*this)),
      working_(*store.snapshot()) {
  // Known before the source is ever asked, so that a source that cannot even list its accounts
  // (a database down since start) still shows each of them as down rather than nothing at all.
  for (const std::string& account_id :
       owned_accounts(options_.shard, source_->configured_accounts())) {
    working_.accounts.try_emplace(account_id);
  }
}

void Poller::on_response(int http_status) { ++working_.api_requests[http_status]; }

void Poller::publish() {
  ++working_.generation;
  store_.publish(working_);
  last_publish_ = std::chrono::steady_clock::now();
  publish_owed_ = false;
}

void Poller::publish_progress() {
  if (std::chrono::steady_clock::now() - last_publish_ >= options_.min_publish_gap) {
    publish();
  } else {
    publish_owed_ = true;
  }
}

void Poller::poll_once(std::stop_token stop) {
  const Period period = month_containing(std::chrono::floor<std::chrono::seconds>(options_.now()));
  const auto listing_started = std::chrono::steady_clock::now();
  std::vector<std::string> accounts;
  try {
    accounts = owned_accounts(options_.shard, source_->accounts(period, stop));
  } catch (const SourceError& error) {
    if (error.reason() == ErrorReason::cancelled) return;
    // Without the list, every account known so far failed this cycle.
    const double listing_seconds = seconds_since(listing_started);
    record_source_state(false, &error);
    for (const auto& [account_id, state] : working_.accounts) {
      record_failure(account_id, error, listing_seconds);
    }
    working_.first_poll_done = true;
    publish();
    return;
  }
  // A source that reads every account at once (PostgreSQL) does its work while listing; that time
  // belongs to each account's poll duration.
  const double listing_seconds = seconds_since(listing_started);

  // Accounts no longer in the source's list leave the output.
  const std::set<std::string> wanted(accounts.begin(), accounts.end());
  std::erase_if(working_.accounts,
                [&](const auto& entry) { return !wanted.contains(entry.first); });

  bool any_fetched = false;
  for (const std::string& account_id : accounts) {
    if (stop.stop_requested()) return;
    const auto started = std::chrono::steady_clock::now();
    try {
      AccountUsage usage = source_->fetch(account_id, period, stop);
      record_success(account_id, std::move(usage), listing_seconds + seconds_since(started));
      any_fetched = true;
    } catch (const SourceError& error) {
      if (error.reason() == ErrorReason::cancelled) {
        publish();  // keep the request counts seen so far
        return;
      }
      record_failure(account_id, error, listing_seconds + seconds_since(started));
    }
    publish_progress();
  }
  const bool source_up = accounts.empty() || any_fetched;
  const bool changed = !working_.first_poll_done || working_.source_up != source_up;
  record_source_state(source_up, nullptr);
  working_.first_poll_done = true;
  if (changed || publish_owed_) publish();
}

void Poller::record_source_state(bool up, const SourceError* error) {
  const std::optional<bool> before = working_.source_up;
  working_.source_up = up;
  if (error != nullptr) {
    // Logged once per change of state, like account failures; with no account known yet (a source
    // that discovers its accounts), this is the only line that tells.
    const log::Fields fields{{"reason", to_string(error->reason())}, {"error", error->what()}};
    if (before != false) {
      log::error("cannot list accounts from the source", fields);
    } else {
      log::debug("cannot list accounts from the source again", fields);
    }
  } else if (up && before == false) {
    log::info("source reachable again");
  }
}

void Poller::record_success(const std::string& account_id, AccountUsage usage,
                            double duration_seconds) {
  AccountState& state = working_.accounts[account_id];
  const bool recovered = !state.up && state.last_error_reason.has_value();
  const bool first = !state.usage;
  const std::string runs = std::to_string(usage.total.runs);
  const std::string workspaces = std::to_string(usage.workspaces.size());
  state.usage = std::make_shared<const AccountUsage>(std::move(usage));
  state.up = true;
  state.last_error_reason.reset();
  state.last_success_unix_seconds = unix_seconds(options_.now());
  state.last_poll_duration_seconds = duration_seconds;
  const std::string duration = std::to_string(duration_seconds);
  if (recovered) {
    log::info("poll recovered", {{"account", account_id}, {"runs", runs}});
  } else if (first) {
    log::info("first poll succeeded",
              {{"account", account_id}, {"runs", runs}, {"workspaces", workspaces}});
  }
  log::debug("poll succeeded", {{"account", account_id},
                                {"runs", runs},
                                {"workspaces", workspaces},
                                {"duration_seconds", duration}});
}

void Poller::record_failure(const std::string& account_id, const SourceError& error,
                            double duration_seconds) {
  AccountState& state = working_.accounts[account_id];
  const ErrorReason reason = error.reason();
  ++working_.poll_errors[{account_id, reason}];
  // Logged at error level once per change of state; repeats of the same failure go to debug so a
  // long outage does not flood the journal.
  const bool changed = state.up || state.last_error_reason != reason;
  state.up = false;
  state.last_error_reason = reason;
  state.last_poll_duration_seconds = duration_seconds;
  const log::Fields fields{{"account", account_id},
                           {"reason", to_string(reason)},
                           {"error", error.what()},
                           {"serving", state.usage ? "last good values" : "no values yet"}};
  if (changed) {
    log::error("poll failed", fields);
  } else {
    log::debug("poll failed again", fields);
  }
}

bool Poller::responsive(std::chrono::steady_clock::duration max_busy) const {
  const auto since = busy_since_.load();
  if (since == 0) return true;
  const std::chrono::steady_clock::time_point started{std::chrono::steady_clock::duration{since}};
  return std::chrono::steady_clock::now() - started <= max_busy;
}

void Poller::run(std::stop_token stop) {
  auto next = std::chrono::steady_clock::now();
  while (!stop.stop_requested()) {
    busy_since_.store(std::chrono::steady_clock::now().time_since_epoch().count());
    poll_once(stop);
    busy_since_.store(0);
    // A cycle's parsed pages, query results and rendering leave freed memory in glibc's arenas
    // that it would otherwise keep; handing it back keeps the idle RSS near what is live (the
    // snapshot and its exposition), measured in docs/performance.md.
    malloc_trim(0);
    if (on_cycle_done_) on_cycle_done_(working_);
    next += options_.interval;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // a poll longer than the interval starts the next one at once
    if (!sleep_until(next, stop)) break;
  }
}

}  // namespace scalr_usage
