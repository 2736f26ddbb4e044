#include "daemon/poller.h"

#include <malloc.h>

#include <set>

#include "daemon/concurrent_fetch.h"

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
  // A reload that changed the shard: the other shards' accounts are no longer this one's.
  std::erase_if(working_.accounts,
                [&](const auto& entry) { return !owns(options_.shard, entry.first); });
  std::set<std::string> targets;
  for (const AccountListing& listing : source_->configured_listings()) {
    targets.insert(listing.target);
    for (const std::string& account_id : owned_accounts(options_.shard, listing.accounts)) {
      working_.accounts[account_id].target = listing.target;
    }
  }
  // A target a reload removed leaves with all its series, its request counts too.
  std::erase_if(working_.api_requests,
                [&](const auto& entry) { return !targets.contains(entry.first); });
  working_.chargeback_labels = options_.chargeback.labels();
  for (auto& [account_id, state] : working_.accounts) classify(account_id, state);
}

void Poller::classify(const std::string& account_id, AccountState& state) const {
  state.chargeback.clear();
  if (!state.usage || !options_.chargeback.enabled()) return;
  for (const WorkspaceUsage& workspace : state.usage->workspaces) {
    state.chargeback[workspace.id] = options_.chargeback.classify(account_id, workspace);
  }
}

void Poller::on_response(std::string_view target, int http_status, double seconds) {
  const std::lock_guard lock(requests_mutex_);
  requests_[std::string(target)].observe(http_status, seconds);
}

void Poller::on_enrichment_error(std::string_view target, ErrorReason reason) {
  const std::lock_guard lock(requests_mutex_);
  ++enrichment_errors_[std::string(target)][reason];
}

void Poller::publish() {
  {
    const std::lock_guard lock(requests_mutex_);
    working_.api_requests += requests_;
    requests_.clear();
    for (const auto& [target, counts] : enrichment_errors_) {
      for (const auto& [reason, count] : counts) {
        working_.targets[target].enrichment_errors[reason] += count;
      }
    }
    enrichment_errors_.clear();
  }
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
  const auto cycle_started = std::chrono::steady_clock::now();
  const Period period = month_containing(std::chrono::floor<std::chrono::seconds>(options_.now()));
  std::vector<AccountListing> listings;
  try {
    listings = source_->list(period, stop);
    // Every shard lists (and discovers) every account, and keeps its own share.
    for (AccountListing& listing : listings) {
      listing.accounts = owned_accounts(options_.shard, std::move(listing.accounts));
    }
  } catch (const SourceError& error) {
    if (error.reason() == ErrorReason::cancelled) return;
    // Without the list, every account known so far failed this cycle.
    const double listing_seconds = seconds_since(cycle_started);
    record_source_state(false, &error);
    for (auto& [target, state] : working_.targets) state.up = false;
    for (const auto& [account_id, state] : working_.accounts) {
      record_failure(account_id, error, listing_seconds);
    }
    working_.first_poll_done = true;
    working_.last_cycle_duration_seconds = listing_seconds;
    publish();
    return;
  }
  // A source that reads every account at once (PostgreSQL) does its work while listing; that time
  // belongs to each account's poll duration.
  const double listing_seconds = seconds_since(cycle_started);
  apply_listings(listings);

  std::map<std::string, std::string> target_of;
  std::set<std::string> reached;  // targets with a successful discovery or fetch this cycle
  for (const AccountListing& listing : listings) {
    for (const std::string& account_id : listing.accounts) target_of[account_id] = listing.target;
    // Nothing to fetch and no error: nothing more to reach.
    if (listing.reached || (listing.accounts.empty() && !listing.error)) {
      reached.insert(listing.target);
    }
  }
  bool cancelled = false;
  fetch_concurrently(*source_, listings, period, stop, [&](FetchOutcome outcome) {
    const double seconds = listing_seconds + outcome.seconds;
    if (outcome.usage) {
      reached.insert(target_of[outcome.account_id]);
      record_success(outcome.account_id, std::move(*outcome.usage), seconds);
    } else if (outcome.error->reason() == ErrorReason::cancelled) {
      cancelled = true;
      return;
    } else {
      record_failure(outcome.account_id, *outcome.error, seconds);
    }
    publish_progress();
  });
  if (cancelled || stop.stop_requested()) {
    publish();  // keep what completed and the request counts seen so far
    return;
  }
  for (const AccountListing& listing : listings) {
    working_.targets[listing.target].up = reached.contains(listing.target);
  }
  record_source_state(listings.empty() || !reached.empty(), nullptr);
  working_.first_poll_done = true;
  working_.last_cycle_duration_seconds = seconds_since(cycle_started);
  publish();
}

void Poller::apply_listings(const std::vector<AccountListing>& listings) {
  std::set<std::string> wanted;
  std::set<std::string> targets;
  for (const AccountListing& listing : listings) {
    targets.insert(listing.target);
    record_discovery(listing);
    for (const std::string& account_id : listing.accounts) {
      wanted.insert(account_id);
      AccountState& state = working_.accounts[account_id];
      state.target = listing.target;
      if (const auto name = listing.names.find(account_id); name != listing.names.end()) {
        state.name = name->second;
      }
    }
  }
  // Accounts no longer in any listing leave the output, and so do targets no longer configured.
  std::erase_if(working_.accounts,
                [&](const auto& entry) { return !wanted.contains(entry.first); });
  std::erase_if(working_.targets,
                [&](const auto& entry) { return !targets.contains(entry.first); });
}

void Poller::record_discovery(const AccountListing& listing) {
  if (listing.reached || listing.error) working_.targets[listing.target].discovers = true;
  working_.targets[listing.target].enriches = listing.enriches;
  std::optional<ErrorReason>& last = discovery_errors_[listing.target];
  const std::optional<ErrorReason> now =
      listing.error ? std::optional(listing.error->reason()) : std::nullopt;
  if (listing.error) {
    ++working_.targets[listing.target].discovery_errors[*now];
    // log::Fields holds views: every value must outlive it.
    const std::string last_known = std::to_string(listing.accounts.size()) + " last known";
    const log::Fields fields{{"target", listing.target},
                             {"reason", to_string(*now)},
                             {"error", listing.error->what()},
                             {"accounts", last_known}};
    if (last != now) {
      log::error("cannot discover the target's accounts", fields);
    } else {
      log::debug("cannot discover the target's accounts again", fields);
    }
  } else if (last) {
    log::info("target's accounts discovered again", {{"target", listing.target}});
  }
  last = now;
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
  if (!usage.account_name.empty()) state.name = usage.account_name;
  const std::string runs = std::to_string(usage.total.runs);
  const std::string workspaces = std::to_string(usage.workspaces.size());
  state.usage = std::make_shared<const AccountUsage>(std::move(usage));
  classify(account_id, state);
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
