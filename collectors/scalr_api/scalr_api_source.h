#pragma once
// UsageSource backed by the Scalr API: GET /api/iacp/v3/usage-statistics, three paginated request
// sequences per account and period (daily totals, by environment, by workspace), with retries;
// with a control-tower token, the accounts are discovered by breakdown_by=account. With
// enrich_workspaces, GET /api/iacp/v3/workspaces gives each workspace its environment and tags.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "collectors/scalr_api/config.h"
#include "collectors/scalr_api/http_transport.h"
#include "collectors/scalr_api/jsonapi.h"
#include "collectors/scalr_api/request_gate.h"
#include "collectors/scalr_api/retry.h"
#include "collectors/scalr_api/target_cache.h"
#include "collectors/scalr_api/workspace_directory.h"
#include "collectors/source.h"
#include "util/stoppable_sleep.h"  // the real Sleeper: sleep_unless_stopped

namespace scalr_usage {

// Waits for the duration unless stop is requested first; returns false when stopped.
using Sleeper = std::function<bool(std::chrono::milliseconds, std::stop_token)>;

// One Scalr target. fetch() is thread-safe (each call leases a transport of its own, and every
// request passes the target's RequestGate); list() and accounts() are called from one thread at a
// time. observer, when not null, must outlive the source.
class ScalrApiSource final : public UsageSource {
 public:
  using Sleeper = ::scalr_usage::Sleeper;
  using TransportFactory = std::function<std::unique_ptr<HttpTransport>()>;

  ScalrApiSource(ScalrTarget target, RequestObserver* observer);
  // For tests: a scripted transport, an instant sleeper and a fixed jitter in [0, 1). Concurrent
  // fetches beyond the first get transports from make_transport (default: none, so they wait for
  // the first).
  ScalrApiSource(ScalrTarget target, std::unique_ptr<HttpTransport> transport,
                 RequestObserver* observer, Sleeper sleeper, std::function<double()> jitter,
                 TransportFactory make_transport = {});
  ~ScalrApiSource() override;

  // The configured accounts, or with discover the control tower's children this cycle (less
  // exclude_accounts); a failed discovery keeps the last list and says so in the listing's error.
  std::vector<AccountListing> list(const Period& period, std::stop_token stop) override;
  // The same accounts; throws the discovery's SourceError when it failed.
  std::vector<std::string> accounts(const Period& period, std::stop_token stop) override;
  std::vector<std::string> configured_accounts() const override { return target_.accounts; }
  std::string_view target_name() const override { return target_.name; }

  AccountUsage fetch(const std::string& account_id, const Period& period,
                     std::stop_token stop) override;

 private:
  class TransportLease;

  AccountUsage fetch_usage(const std::string& account_id, const Period& period,
                           std::stop_token stop);
  // The children of a control tower: breakdown_by=account without filter[account].
  AccountListing discover(const Period& period, std::stop_token stop);
  // The account's name from breakdown_by=account filtered to it, asked once per account and
  // target cache (a token without the right to it answers 4xx, and the name stays unknown); empty
  // when unknown.
  std::string account_name(const std::string& account_id, const Period& period,
                           std::stop_token stop);
  // Fills each workspace's environment, tags and (when usage has none) name from the account's
  // directory in the target cache; "" where the directory does not know the workspace. Never
  // throws but SourceError(cancelled): a failed listing is logged by the cache, counted through
  // the observer, and leaves the usage as it is with empty environments.
  void enrich(AccountUsage& usage, std::stop_token stop);
  // Every page of the account's workspace listing (include=environment,tags), with the same
  // retries, bounds and checks as the usage sequences. Throws SourceError.
  WorkspaceDirectory list_workspaces(const std::string& account_id, std::stop_token stop);
  std::string workspaces_url(const std::string& account_id, int page) const;
  // Authorization, Accept and Prefer, as every request sends them.
  std::vector<std::string> request_headers() const;
  // All rows of one request sequence (every page), breakdown_by being "" for none, account_id ""
  // for no filter[account] (discovery). pages_left is the budget of page requests shared by an
  // account's sequences (scalr.max_pages); a sequence that would exceed it fails as too_large.
  std::vector<UsageItem> fetch_all_pages(const std::string& account_id, const Period& period,
                                         const std::string& breakdown_by, int& pages_left,
                                         std::stop_token stop);
  // One page, retried per the policy; returns only a 2xx JSON response.
  HttpResponse get_with_retry(const HttpRequest& request, const std::string& account_id,
                              std::stop_token stop);
  HttpResponse get_once(const HttpRequest& request, bool paused_already_waited,
                        std::stop_token stop);
  std::string page_url(const std::string& account_id, const Period& period,
                       const std::string& breakdown_by, int page) const;
  // text with every occurrence of the token (as sent, or percent-encoded) replaced by "xxxxx":
  // for what the server says (error bodies, content types, values quoted from a page), which a
  // proxy echoing request headers could fill with the token.
  std::string without_token(std::string text) const;
  double next_jitter();

  ScalrTarget target_;
  RequestObserver* observer_;
  Sleeper sleeper_;
  RetryPolicy retry_;
  std::shared_ptr<RequestGate> gate_;
  std::shared_ptr<TargetCache> cache_;  // names and workspace directories, shared per target

  std::mutex mutex_;  // guards everything below, which concurrent fetches share
  std::function<double()> jitter_;
  std::vector<std::unique_ptr<HttpTransport>> idle_transports_;
  TransportFactory make_transport_;
  std::condition_variable transport_returned_;
  std::optional<std::vector<std::string>> discovered_;  // the last discovery's accounts
};
// RFC 3986 percent-encoding of a query component: everything but unreserved characters is
// escaped, so "filter[date]" becomes "filter%5Bdate%5D". Exposed for tests.
std::string url_encode(std::string_view text);

}  // namespace scalr_usage
