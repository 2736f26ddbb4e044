#include "collectors/scalr_api/module.h"

#include "collectors/scalr_api/scalr_api_source.h"
#include "util/text.h"

namespace scalr_usage {

// finish_scalr_api makes exactly one target, the `scalr:` section.
std::unique_ptr<UsageSource> ScalrApiModule::make(const Config& config, RequestObserver& observer) {
  return std::make_unique<ScalrApiSource>(config.targets.front(), &observer);
}

std::vector<std::pair<std::string, std::string>> ScalrApiModule::log_fields(const Config& config) {
  const ScalrTarget& target = config.targets.front();
  return {{"url", target.url}, {"accounts", join(target.accounts)}, {"token", target.token_origin}};
}

// Every request of every account timing out on every attempt, with the longest backoffs, three
// request sequences per account, and twice that for slack.
std::chrono::milliseconds ScalrApiModule::poll_budget(const Config& config) {
  std::chrono::milliseconds budget{0};
  for (const ScalrTarget& target : config.targets) {
    const auto per_request =
        (target.timeout + target.retry.max_backoff) * target.retry.max_attempts;
    budget += per_request * 3 * static_cast<long>(target.accounts.size()) * 2;
  }
  return budget;
}

}  // namespace scalr_usage
