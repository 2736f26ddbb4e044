#pragma once
// Several Scalr targets (scalr.targets) as one UsageSource: each target lists and fetches its own
// accounts, fails on its own, and is fetched concurrently with the others by the poller.

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "collectors/source.h"

namespace scalr_usage {

class MultiTargetSource final : public UsageSource {
 public:
  explicit MultiTargetSource(std::vector<std::unique_ptr<UsageSource>> targets);

  // Every target's listing, in configuration order. An account that two targets list (a child
  // a control tower discovers and another target names) stays with the first, once: its usage
  // must not count twice.
  std::vector<AccountListing> list(const Period& period, std::stop_token stop) override;
  // All targets' accounts; throws the first target's listing error.
  std::vector<std::string> accounts(const Period& period, std::stop_token stop) override;
  std::vector<std::string> configured_accounts() const override;
  std::vector<AccountListing> configured_listings() const override;
  // Asks the target that listed the account (or names it in the configuration). Throws
  // SourceError(not_found) for an account under no target.
  AccountUsage fetch(const std::string& account_id, const Period& period,
                     std::stop_token stop) override;

 private:
  UsageSource* owner_of(const std::string& account_id, const Period& period, std::stop_token stop);

  std::vector<std::unique_ptr<UsageSource>> targets_;
  std::mutex mutex_;  // guards owners_ and warned_ against concurrent fetches
  std::map<std::string, UsageSource*> owners_;
  std::set<std::string> warned_;  // accounts already logged as listed by two targets
};

}  // namespace scalr_usage
