#pragma once
// What the sources of one Scalr target learn and share: the accounts' names and each account's
// workspace directory. Made when the configuration is finished (finish_scalr_api), like the
// target's RequestGate, and shared by every source made from that configuration: the poller's and
// the report scheduler's ask the API for the same things once, within one request budget.
//
// Directories are refreshed at most every enrich_interval per account. A failed listing keeps the
// last good directory, and is tried again no sooner than enrich_interval after the failure: a
// token without workspaces:read fails the same way every time, and the listing's own retries
// (scalr.retry) already ride out a transient error. A reload makes a new cache (the token, and so
// the permissions, may have changed), which lists every account again once.
//
// Thread-safe: fetches of different accounts run concurrently, and the report scheduler may ask
// for an account the poller is refreshing, in which case it waits for that listing rather than
// sending its own.

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

#include "collectors/scalr_api/workspace_directory.h"
#include "collectors/source.h"

namespace scalr_usage {

class TargetCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Now = std::function<Clock::time_point()>;
  // Lists one account's workspaces; throws SourceError (already without the token).
  using Loader = std::function<WorkspaceDirectory()>;

  // target names the log lines; now is for tests.
  TargetCache(
      std::string target, std::chrono::milliseconds enrich_interval,
      Now now = [] { return Clock::now(); });

  // ---- account names ----
  // The known name, or nullopt; asked is true when a lookup already had its definite answer
  // (the name, or a refusal that will not change), so it is not asked again. For a control
  // tower, whose children's names come from discovery alone.
  struct NameState {
    std::optional<std::string> name;
    bool asked = false;
  };
  NameState name_of(const std::string& account_id) const;
  // Names learnt from a listing (discovery); empty names are not kept.
  void learn_names(const std::map<std::string, std::string>& names);
  // Returns a definite answer (the name, or "" for a refusal that will not change), or nullopt
  // when a later lookup may know more (no runs yet, a transient error). Throws SourceError
  // (cancelled) only.
  using NameLookup = std::function<std::optional<std::string>()>;
  // The account's name: known, or already refused (""), or looked up now by lookup, one lookup
  // per account at a time (a second caller waits for the first's answer rather than asking too).
  // Throws SourceError(cancelled).
  std::string account_name(const std::string& account_id, std::stop_token stop,
                           const NameLookup& lookup);
  std::map<std::string, std::string> names() const;

  // ---- workspace directories ----
  struct Lookup {
    // The last good directory of the account; null when it never had one.
    std::shared_ptr<const WorkspaceDirectory> directory;
    // The listing this call made and that failed (for the caller to count); nullopt when it made
    // none or it succeeded.
    std::optional<SourceError> error;
  };
  // The account's directory, listed by load now if the last attempt is enrich_interval old (or
  // there was none), else as last listed. Failures are logged here, once per change of the
  // target's state (first failure with its reason, recovery), never with the token. Throws
  // SourceError(cancelled) when stop is requested while it waits for another caller's listing,
  // and passes on load's cancellation.
  Lookup directory(const std::string& account_id, std::stop_token stop, const Loader& load);

 private:
  struct Entry {
    std::shared_ptr<const WorkspaceDirectory> directory;
    std::optional<Clock::time_point> attempted;  // the last listing's start
    bool loading = false;
  };
  void record_outcome(const std::string& account_id, const SourceError* error, bool has_directory);

  const std::string target_;
  const std::chrono::milliseconds interval_;
  const Now now_;

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable_any loaded_;
  std::map<std::string, std::string> names_;  // account id -> name, as learnt
  std::set<std::string> names_asked_;         // accounts whose lookup had its answer
  std::set<std::string> names_looking_up_;    // accounts whose lookup is under way
  std::map<std::string, Entry> entries_;      // by account id
  // Accounts whose last listing failed, with the reason: the target's enrichment is failing while
  // this is not empty (what the log lines follow).
  std::map<std::string, ErrorReason> failing_;
};

}  // namespace scalr_usage
