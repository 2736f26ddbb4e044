#include "collectors/scalr_api/multi_target_source.h"

#include <optional>
#include <thread>
#include <utility>

#include "util/log.h"

namespace scalr_usage {

MultiTargetSource::MultiTargetSource(std::vector<std::unique_ptr<UsageSource>> targets)
    : targets_(std::move(targets)) {
  for (const auto& target : targets_) {
    for (const std::string& account : target->configured_accounts()) {
      owners_.try_emplace(account, target.get());
    }
  }
}

std::vector<AccountListing> MultiTargetSource::list(const Period& period, std::stop_token stop) {
  // Every target lists at once: a control tower whose discovery times out must not hold up the
  // other targets' cycle (each lists on its own source, so they share nothing).
  std::vector<std::vector<AccountListing>> per_target(targets_.size());
  std::vector<std::optional<SourceError>> failures(targets_.size());
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < targets_.size(); ++i) {
      threads.emplace_back([&, i] {
        try {
          per_target[i] = targets_[i]->list(period, stop);
        } catch (const SourceError& error) {
          failures[i] = error;
        }
      });
    }
  }
  for (const auto& failure : failures) {
    if (failure) throw *failure;  // only cancellation: a Scalr target reports others in its listing
  }
  std::vector<AccountListing> listings;
  std::map<std::string, UsageSource*> owners;
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    UsageSource* target = targets_[i].get();
    for (AccountListing& listing : per_target[i]) {
      std::vector<std::string> own;
      for (std::string& account : listing.accounts) {
        const auto [owner, first] = owners.try_emplace(account, target);
        if (first) {
          own.push_back(std::move(account));
          continue;
        }
        const std::lock_guard lock(mutex_);
        if (warned_.insert(account).second) {
          log::warn("account listed by two targets; polled through the first only",
                    {{"account", account},
                     {"polled_by", owner->second->target_name()},
                     {"also_listed_by", listing.target}});
        }
      }
      listing.accounts = std::move(own);
      listings.push_back(std::move(listing));
    }
  }
  const std::lock_guard lock(mutex_);
  for (auto& [account, owner] : owners) owners_[account] = owner;
  return listings;
}

std::vector<std::string> MultiTargetSource::accounts(const Period& period, std::stop_token stop) {
  std::vector<std::string> all;
  for (AccountListing& listing : list(period, stop)) {
    if (listing.error) throw *listing.error;
    all.insert(all.end(), listing.accounts.begin(), listing.accounts.end());
  }
  return all;
}

std::vector<std::string> MultiTargetSource::configured_accounts() const {
  std::vector<std::string> all;
  for (const auto& target : targets_) {
    for (const std::string& account : target->configured_accounts()) all.push_back(account);
  }
  return all;
}

std::vector<AccountListing> MultiTargetSource::configured_listings() const {
  std::vector<AccountListing> all;
  for (const auto& target : targets_) {
    for (AccountListing& listing : target->configured_listings()) all.push_back(std::move(listing));
  }
  return all;
}

UsageSource* MultiTargetSource::owner_of(const std::string& account_id, const Period& period,
                                         std::stop_token stop) {
  {
    const std::lock_guard lock(mutex_);
    if (const auto owner = owners_.find(account_id); owner != owners_.end()) return owner->second;
  }
  // A discovered child asked for before any listing (a report for named accounts): list first.
  list(period, stop);
  const std::lock_guard lock(mutex_);
  const auto owner = owners_.find(account_id);
  return owner == owners_.end() ? nullptr : owner->second;
}

AccountUsage MultiTargetSource::fetch(const std::string& account_id, const Period& period,
                                      std::stop_token stop) {
  UsageSource* owner = owner_of(account_id, period, stop);
  if (owner == nullptr) {
    throw SourceError(ErrorReason::not_found,
                      "account " + account_id + " is under none of the configured targets");
  }
  return owner->fetch(account_id, period, stop);
}

}  // namespace scalr_usage
