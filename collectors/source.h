#pragma once
// The one small interface every usage source implements (the Scalr API, PostgreSQL).
// Error boundary: sources throw SourceError; the poller (daemon/poller.cpp) and the report runner
// catch it per account, count it under its reason and keep the last good values.

#include <cstddef>
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

// Observes every HTTP response status a source gets, for scalr_exporter_api_requests_total{code}.
// Called from the polling thread only.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void on_response(int http_status) = 0;
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

  // The accounts this source reports on for the period. Throws SourceError.
  virtual std::vector<std::string> accounts(const Period& period, std::stop_token stop) = 0;

  // The accounts the configuration names, known without asking the source. The poller exposes
  // them from the start, so when accounts() fails (a database down since start) each still shows
  // scalr_up 0 and counts the error. Empty when the source discovers its accounts.
  virtual std::vector<std::string> configured_accounts() const { return {}; }

  // The start-up check of the daemon and --check-config: finds a configuration that cannot work
  // before the first poll does. Throws SourceSetupError for such a configuration, SourceError when
  // the source cannot be asked yet (which is no configuration error). Most sources have nothing
  // to check.
  virtual void check_setup(std::stop_token /*stop*/) {}

  // All usage of one account for the period, complete or not at all. Throws SourceError;
  // throws SourceError(cancelled) promptly once stop is requested.
  virtual AccountUsage fetch(const std::string& account_id, const Period& period,
                             std::stop_token stop) = 0;
};

}  // namespace scalr_usage
