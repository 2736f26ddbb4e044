#pragma once
// Fetches the accounts of a poll cycle concurrently: each target's accounts by up to its
// max_concurrency workers of their own, so a slow or failing target never holds up another, and
// hands every outcome to the calling thread, which alone touches the poller's state.

#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "collectors/source.h"

namespace scalr_usage {

struct FetchOutcome {
  std::string account_id;
  std::optional<AccountUsage> usage;  // set on success
  std::optional<SourceError> error;   // set on failure (cancelled included)
  double seconds = 0;                 // how long the fetch took
};

// Calls on_outcome on the calling thread for each account as its fetch ends, in completion order.
// Returns when every account is done or, once stop is requested, when the workers have ended
// (accounts not yet started are skipped; a fetch in flight ends as cancelled).
void fetch_concurrently(UsageSource& source, const std::vector<AccountListing>& listings,
                        const Period& period, std::stop_token stop,
                        const std::function<void(FetchOutcome)>& on_outcome);

}  // namespace scalr_usage
