#pragma once
// What the exporter knows at one instant: the last good usage of every account plus the health of
// the polls. Built by the poller, published whole, never changed afterwards; the scrape path and
// the report writers hold it as std::shared_ptr<const Snapshot>.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "model/usage.h"

namespace scalr_usage {

struct AccountState {
  // Last usage fetched completely; null until the first success. Kept across failed polls.
  std::shared_ptr<const AccountUsage> usage;
  bool up = false;  // the last poll of this account succeeded
  std::optional<double> last_success_unix_seconds;
  std::optional<double> last_poll_duration_seconds;
  std::string last_error_reason;  // empty while up
};

struct Snapshot {
  std::uint64_t generation = 0;  // strictly increasing per publication
  bool first_poll_done = false;  // every account was attempted at least once
  // The last poll cycle reached the source: it listed the accounts and fetched at least one of them
  // (or had none to fetch). Unset until the first cycle has tried.
  std::optional<bool> source_up;
  std::map<std::string, AccountState> accounts;  // by account id
  // Monotonic since start: (account id, reason) -> count, and HTTP status code -> count.
  std::map<std::pair<std::string, std::string>, std::uint64_t> poll_errors;
  std::map<int, std::uint64_t> api_requests;
};

}  // namespace scalr_usage
