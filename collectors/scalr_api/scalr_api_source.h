#pragma once
// UsageSource backed by the Scalr API: GET /api/iacp/v3/usage-statistics, three paginated request
// sequences per account and period (daily totals, by environment, by workspace), with retries.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "collectors/scalr_api/config.h"
#include "collectors/scalr_api/http_transport.h"
#include "collectors/scalr_api/jsonapi.h"
#include "collectors/scalr_api/retry.h"
#include "collectors/source.h"
#include "util/stoppable_sleep.h"  // the real Sleeper: sleep_unless_stopped

namespace scalr_usage {

// Waits for the duration unless stop is requested first; returns false when stopped.
using Sleeper = std::function<bool(std::chrono::milliseconds, std::stop_token)>;

// Not thread-safe: fetch() calls must not overlap (the daemon polls accounts one at a time from
// one thread). observer, when not null, must outlive the source.
class ScalrApiSource final : public UsageSource {
 public:
  using Sleeper = ::scalr_usage::Sleeper;

  ScalrApiSource(ScalrTarget target, RequestObserver* observer);
  // For tests: a scripted transport, an instant sleeper and a fixed jitter in [0, 1).
  ScalrApiSource(ScalrTarget target, std::unique_ptr<HttpTransport> transport,
                 RequestObserver* observer, Sleeper sleeper, std::function<double()> jitter);

  // The target's configured accounts; this source does not discover accounts.
  std::vector<std::string> accounts(const Period& period, std::stop_token stop) override;
  std::vector<std::string> configured_accounts() const override { return target_.accounts; }

  AccountUsage fetch(const std::string& account_id, const Period& period,
                     std::stop_token stop) override;

 private:
  AccountUsage fetch_usage(const std::string& account_id, const Period& period,
                           std::stop_token stop);
  // All rows of one request sequence (every page), breakdown_by being "" for none. pages_left is
  // the account's budget of page requests for this poll (scalr.max_pages), shared by its
  // sequences; a sequence that would exceed it fails as too_large.
  std::vector<UsageItem> fetch_all_pages(const std::string& account_id, const Period& period,
                                         const std::string& breakdown_by, int& pages_left,
                                         std::stop_token stop);
  // One page, retried per the policy; returns only a 2xx JSON response.
  HttpResponse get_with_retry(const HttpRequest& request, const std::string& account_id,
                              std::stop_token stop);
  std::string page_url(const std::string& account_id, const Period& period,
                       const std::string& breakdown_by, int page) const;
  // text with every occurrence of the token (as sent, or percent-encoded) replaced by "xxxxx":
  // for what the server says (error bodies, content types, values quoted from a page), which a
  // proxy echoing request headers could fill with the token.
  std::string without_token(std::string text) const;

  ScalrTarget target_;
  std::unique_ptr<HttpTransport> transport_;
  RequestObserver* observer_;
  Sleeper sleeper_;
  std::function<double()> jitter_;
  RetryPolicy retry_;
};

// RFC 3986 percent-encoding of a query component: everything but unreserved characters is
// escaped, so "filter[date]" becomes "filter%5Bdate%5D". Exposed for tests.
std::string url_encode(std::string_view text);

}  // namespace scalr_usage
