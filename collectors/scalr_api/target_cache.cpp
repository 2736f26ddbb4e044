#include "collectors/scalr_api/target_cache.h"

#include <algorithm>
#include <utility>

#include "util/log.h"

namespace scalr_usage {

TargetCache::TargetCache(std::string target, std::chrono::milliseconds enrich_interval, Now now)
    : target_(std::move(target)), interval_(enrich_interval), now_(std::move(now)) {}

TargetCache::NameState TargetCache::name_of(const std::string& account_id) const {
  const std::lock_guard lock(mutex_);
  NameState state;
  if (const auto known = names_.find(account_id); known != names_.end()) state.name = known->second;
  state.asked = names_asked_.contains(account_id);
  return state;
}

void TargetCache::learn_names(const std::map<std::string, std::string>& names) {
  const std::lock_guard lock(mutex_);
  for (const auto& [id, name] : names) {
    if (!name.empty()) names_[id] = name;
  }
}

std::string TargetCache::account_name(const std::string& account_id, std::stop_token stop,
                                      const NameLookup& lookup) {
  std::unique_lock lock(mutex_);
  if (!loaded_.wait(lock, stop, [&] { return !names_looking_up_.contains(account_id); })) {
    throw SourceError(ErrorReason::cancelled, "cancelled");
  }
  if (const auto known = names_.find(account_id); known != names_.end()) return known->second;
  if (names_asked_.contains(account_id)) return "";
  names_looking_up_.insert(account_id);
  lock.unlock();
  std::optional<std::string> answer;
  try {
    answer = lookup();
  } catch (...) {
    {
      const std::lock_guard relock(mutex_);
      names_looking_up_.erase(account_id);
    }
    loaded_.notify_all();
    throw;
  }
  lock.lock();
  names_looking_up_.erase(account_id);
  if (answer) {
    names_asked_.insert(account_id);
    if (!answer->empty()) names_[account_id] = *answer;
  }
  lock.unlock();
  loaded_.notify_all();
  return answer.value_or("");
}

std::map<std::string, std::string> TargetCache::names() const {
  const std::lock_guard lock(mutex_);
  return names_;
}

TargetCache::Lookup TargetCache::directory(const std::string& account_id, std::stop_token stop,
                                           const Loader& load) {
  std::unique_lock lock(mutex_);
  Entry& entry = entries_[account_id];  // std::map: the reference survives other insertions
  // Another caller is listing this account: its answer is as fresh as ours would be.
  if (!loaded_.wait(lock, stop, [&] { return !entry.loading; })) {
    throw SourceError(ErrorReason::cancelled, "cancelled");
  }
  const Clock::time_point now = now_();
  if (entry.attempted && now - *entry.attempted < interval_) return Lookup{entry.directory, {}};
  entry.loading = true;
  lock.unlock();

  std::optional<SourceError> failure;
  std::shared_ptr<const WorkspaceDirectory> listed;
  try {
    listed = std::make_shared<const WorkspaceDirectory>(load());
  } catch (const SourceError& error) {
    if (error.reason() == ErrorReason::cancelled) {
      // Not an attempt: the next caller lists.
      {
        const std::lock_guard relock(mutex_);
        entry.loading = false;
      }
      loaded_.notify_all();
      throw;
    }
    failure = error;
  }

  lock.lock();
  entry.loading = false;
  entry.attempted = now;
  if (listed) entry.directory = std::move(listed);
  record_outcome(account_id, failure ? &*failure : nullptr, entry.directory != nullptr);
  Lookup result{entry.directory, std::move(failure)};
  lock.unlock();
  loaded_.notify_all();
  return result;
}

// Called with mutex_ held. One line when the target starts failing (or fails for a new reason)
// and one when its last failing account lists again; repeats go to debug.
void TargetCache::record_outcome(const std::string& account_id, const SourceError* error,
                                 bool has_directory) {
  if (error == nullptr) {
    if (failing_.erase(account_id) > 0 && failing_.empty()) {
      log::info("workspace enrichment works again", {{"target", target_}});
    }
    return;
  }
  const ErrorReason reason = error->reason();
  const bool known = std::any_of(failing_.begin(), failing_.end(),
                                 [&](const auto& failing) { return failing.second == reason; });
  failing_[account_id] = reason;
  const log::Fields fields{{"target", target_},
                           {"account", account_id},
                           {"reason", to_string(reason)},
                           {"error", error->what()},
                           {"serving", has_directory ? "the workspaces last listed"
                                                     : "usage without environments or tags"}};
  if (!known) {
    log::error("cannot list the workspaces for enrichment", fields);
  } else {
    log::debug("cannot list the workspaces for enrichment again", fields);
  }
}

}  // namespace scalr_usage
