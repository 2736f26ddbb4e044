// Which accounts a Scalr target polls, and their names: the configured list, or a control tower's
// children found by breakdown_by=account (the part of ScalrApiSource that is about accounts rather
// than usage).

#include <algorithm>
#include <set>

#include "collectors/scalr_api/scalr_api_source.h"
#include "util/log.h"

namespace scalr_usage {

namespace {

// Worth asking again next cycle: the answer may differ. A 4xx or a bad body will not.
bool is_transient(ErrorReason reason) {
  return reason == ErrorReason::timeout || reason == ErrorReason::connection ||
         reason == ErrorReason::server_error || reason == ErrorReason::rate_limited;
}

}  // namespace

std::vector<AccountListing> ScalrApiSource::list(const Period& period, std::stop_token stop) {
  if (target_.discover) return {discover(period, stop)};
  AccountListing listing{target_.name, target_.accounts, {}, target_.max_concurrency, false, {}};
  listing.names = cache_->names();
  listing.enriches = target_.enrich_workspaces;
  return {std::move(listing)};
}

std::vector<std::string> ScalrApiSource::accounts(const Period& period, std::stop_token stop) {
  std::vector<AccountListing> listings = list(period, stop);
  if (listings.front().error) throw *listings.front().error;
  return std::move(listings.front().accounts);
}

AccountListing ScalrApiSource::discover(const Period& period, std::stop_token stop) {
  AccountListing listing{target_.name, {}, {}, target_.max_concurrency, false, {}};
  listing.enriches = target_.enrich_workspaces;
  try {
    int pages_left = target_.max_pages;
    const std::vector<UsageItem> rows = fetch_all_pages("", period, "account", pages_left, stop);
    const std::set<std::string> excluded(target_.exclude_accounts.begin(),
                                         target_.exclude_accounts.end());
    std::set<std::string> children;
    for (const UsageItem& row : rows) {
      // fetch_all_pages has rejected breakdown rows without an id.
      const std::string& id = *row.breakdown_id;
      if (id.empty() || excluded.contains(id)) continue;
      children.insert(id);
      if (row.breakdown_name && !row.breakdown_name->empty())
        listing.names[id] = *row.breakdown_name;
    }
    listing.accounts.assign(children.begin(), children.end());
    listing.reached = true;
    cache_->learn_names(listing.names);
    const std::lock_guard lock(mutex_);
    discovered_ = listing.accounts;
    return listing;
  } catch (const SourceError& error) {
    if (error.reason() == ErrorReason::cancelled) throw;
    listing.error = SourceError(error.reason(), without_token(error.what()));
  }
  listing.names = cache_->names();
  const std::lock_guard lock(mutex_);
  if (discovered_) listing.accounts = *discovered_;
  return listing;
}

std::string ScalrApiSource::account_name(const std::string& account_id, const Period& period,
                                         std::stop_token stop) {
  if (target_.discover) return cache_->name_of(account_id).name.value_or("");
  return cache_->account_name(account_id, stop, [&]() -> std::optional<std::string> {
    try {
      std::string name;
      int pages_left = 1;
      for (const UsageItem& row :
           fetch_all_pages(account_id, period, "account", pages_left, stop)) {
        if (row.breakdown_id == account_id && row.breakdown_name) name = *row.breakdown_name;
      }
      // No row: no runs in the period yet, so no name either; a later cycle may have one.
      if (name.empty()) return std::nullopt;
      return name;
    } catch (const SourceError& error) {
      if (error.reason() == ErrorReason::cancelled) throw;
      // The usage is complete without the name; only say why it stays unknown. (log::Fields
      // holds views, so the message is a named string.)
      const std::string message = without_token(error.what());
      log::debug("account name unknown", {{"target", target_.name},
                                          {"account", account_id},
                                          {"reason", to_string(error.reason())},
                                          {"error", message}});
      // A refusal will not change: answered, with no name. A transient error may.
      if (is_transient(error.reason())) return std::nullopt;
      return std::string();
    }
  });
}

}  // namespace scalr_usage
