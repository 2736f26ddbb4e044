#pragma once
// The one small interface every usage source implements (the Scalr API, PostgreSQL).
// Error boundary: sources throw SourceError; the poller (daemon/poller.cpp) and the report runner
// catch it per account, count it under its reason and keep the last good values.

#include <cstddef>
#include <map>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "model/error_reason.h"
#include "model/usage.h"

namespace scalr_usage {

class SourceError : public std::runtime_error {
 public:
  SourceError(ErrorReason reason, const std::string& message)
      : std::runtime_error(message), reason_(reason) {}
  ErrorReason reason() const noexcept { return reason_; }

 private:
  ErrorReason reason_;
};

// Ids and names become label values, which every scrape carries and Prometheus stores with every
// sample; a source rejects one longer than its max_label_length instead of passing it on. Throws
// SourceError(too_large) "<field>: <n> bytes, longer than <key> (<max>)", without the value.
void check_label_length(std::string_view value, std::size_t max_length, std::string_view field,
                        std::string_view key);

// Observes every HTTP response a source gets, for scalr_exporter_api_requests_total{target, code}
// and scalr_exporter_api_request_duration_seconds{target}. Called from whichever thread made the
// request, concurrently for concurrent fetches: implementations must be thread-safe.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void on_response(std::string_view target, int http_status, double seconds) = 0;
  // A failed workspace listing of the target (enrichment), for
  // scalr_exporter_enrichment_errors_total{target, reason}; the usage it was for is complete
  // without it. Same threads as on_response.
  virtual void on_enrichment_error(std::string_view /*target*/, ErrorReason /*reason*/) {}
};

// The accounts of one target (a Scalr URL with its token; the database) for one poll cycle.
// Targets fail independently: a target whose listing failed still lists what it knew before.
struct AccountListing {
  std::string target;
  std::vector<std::string> accounts;
  std::map<std::string, std::string> names;  // account id -> name, where known
  // How many of the target's accounts may be fetched at once (concurrent fetch() calls).
  std::size_t max_concurrency = 1;
  // The target answered this listing (a control tower's discovery, a database's query): it was
  // reached this cycle even if no fetch succeeds. False for accounts from the configuration.
  bool reached = false;
  // The target could not list its accounts this cycle (control-tower discovery failed); accounts
  // are then the last list it had, empty if it never had one.
  std::optional<SourceError> error;
  // The target enriches its workspaces (scalr.enrich_workspaces), so its enrichment errors are
  // exported, at 0 until the first.
  bool enriches = false;
};

// Longest max_label_length a source accepts: past this a label is no longer a label but a
// document.
inline constexpr long long kMaxLabelLengthLimit = 1 << 20;

// A configured account id becomes the account_id label, so it obeys the section's bound too; the
// message says how long it is rather than echoing kilobytes of it. Throws ConfigError
// "<section>.accounts[<i>]: ...".
void check_configured_label_lengths(std::string_view section,
                                    const std::vector<std::string>& accounts,
                                    std::size_t max_label_length);

// A source's configuration cannot work, found by its start-up check (a custom query with a
// syntax error or without the required columns). what() is one line starting with the key at
// fault ("postgres.query: ..."); the daemon presents it like a configuration error.
class SourceSetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class UsageSource {
 public:
  virtual ~UsageSource() = default;

  // The accounts this source reports on for the period, all targets together. Throws SourceError,
  // also when one target cannot list its accounts (a report must not silently miss them).
  virtual std::vector<std::string> accounts(const Period& period, std::stop_token stop) = 0;

  // The accounts of each target for the period, for the poller, which fetches each target's
  // accounts concurrently and keeps one target's failure from touching another's accounts. The
  // default is one target, target_name(), with accounts() fetched one at a time. Throws
  // SourceError when the source as a whole cannot list (a database that is down).
  virtual std::vector<AccountListing> list(const Period& period, std::stop_token stop) {
    return {AccountListing{std::string(target_name()), accounts(period, stop), {}, 1, false, {}}};
  }

  // The `target` label of a single-target source.
  virtual std::string_view target_name() const { return ""; }

  // The accounts the configuration names, known without asking the source. The poller exposes
  // them from the start, so when accounts() fails (a database down since start) each still shows
  // scalr_up 0 and counts the error. Empty when the source discovers its accounts.
  virtual std::vector<std::string> configured_accounts() const { return {}; }
  // The same, per target.
  virtual std::vector<AccountListing> configured_listings() const {
    return {AccountListing{std::string(target_name()), configured_accounts(), {}, 1, false, {}}};
  }

  // The start-up check of the daemon and --check-config: finds a configuration that cannot work
  // before the first poll does. Throws SourceSetupError for such a configuration, SourceError when
  // the source cannot be asked yet (which is no configuration error). Most sources have nothing
  // to check.
  virtual void check_setup(std::stop_token /*stop*/) {}

  // All usage of one account for the period, complete or not at all. Throws SourceError;
  // throws SourceError(cancelled) promptly once stop is requested. Called concurrently for
  // different accounts of one listing (up to its max_concurrency), and for accounts of different
  // listings, but never concurrently with accounts() or list().
  virtual AccountUsage fetch(const std::string& account_id, const Period& period,
                             std::stop_token stop) = 0;
};

}  // namespace scalr_usage
