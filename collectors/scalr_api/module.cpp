#include "collectors/scalr_api/module.h"

#include "collectors/scalr_api/multi_target_source.h"
#include "collectors/scalr_api/scalr_api_source.h"
#include "util/text.h"

namespace scalr_usage {

std::unique_ptr<UsageSource> ScalrApiModule::make(const Config& config, RequestObserver& observer) {
  if (config.targets.size() == 1) {
    return std::make_unique<ScalrApiSource>(config.targets.front(), &observer);
  }
  std::vector<std::unique_ptr<UsageSource>> targets;
  for (const ScalrTarget& target : config.targets) {
    targets.push_back(std::make_unique<ScalrApiSource>(target, &observer));
  }
  return std::make_unique<MultiTargetSource>(std::move(targets));
}

std::vector<std::pair<std::string, std::string>> ScalrApiModule::log_fields(const Config& config) {
  if (config.targets.size() == 1) {
    const ScalrTarget& target = config.targets.front();
    return {{"url", target.url},
            {"accounts", target.discover ? "discovered" : join(target.accounts)},
            {"token", target.token_origin}};
  }
  std::vector<std::string> names;
  for (const ScalrTarget& target : config.targets) names.push_back(target.name);
  return {{"targets", join(names)}};
}

// Every request of every account timing out on every attempt, with the longest backoffs, three
// request sequences per account (four the first time, for its name; one more when its workspace
// listing is due) and twice that for slack,
// divided among the target's concurrent fetches. A control tower's children are unknown until it
// is asked, so its budget assumes 100 of them, plus the discovery itself.
std::chrono::milliseconds ScalrApiModule::poll_budget(const Config& config) {
  std::chrono::milliseconds budget{0};
  for (const ScalrTarget& target : config.targets) {
    const auto per_request =
        (target.timeout + target.retry.max_backoff) * target.retry.max_attempts;
    const long accounts = target.discover ? 100 : static_cast<long>(target.accounts.size());
    const long rounds = (accounts + static_cast<long>(target.max_concurrency) - 1) /
                        static_cast<long>(target.max_concurrency);
    const long sequences = target.enrich_workspaces ? 5 : 4;
    budget += per_request * (sequences * rounds * 2 + (target.discover ? 1 : 0));
  }
  return budget;
}

}  // namespace scalr_usage
