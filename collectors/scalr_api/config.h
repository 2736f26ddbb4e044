#pragma once
// The `scalr:` section: the Scalr targets (an account URL with its token and the accounts polled
// through it), either the block itself or its `targets:` list.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collectors/scalr_api/request_gate.h"
#include "collectors/scalr_api/retry.h"
#include "collectors/scalr_api/target_cache.h"
#include "config/environment.h"
#include "config/node.h"
#include "config/secret.h"

namespace scalr_usage {

// One Scalr account URL with its token and the accounts polled through it: the `scalr:` block
// itself, or one item of `scalr.targets`, whose settings default from the block.
struct ScalrTarget {
  // [a-z0-9_-]{1,64}, unique: the `target` label and the logs' name for it. "default" for the
  // `scalr:` block without targets.
  std::string name = "default";
  // scheme://host[:port][/prefix], no trailing slash; the API is under url + /api/iacp/v3.
  std::string url;
  Secret token;
  // Where the token came from, safe to log: "token_file /x" or "env SCALR_TOKEN".
  std::string token_origin;
  std::vector<std::string> accounts;
  // A control-tower (parent) token: the accounts are its children, listed every poll cycle by
  // breakdown_by=account, less exclude_accounts.
  bool discover = false;
  std::vector<std::string> exclude_accounts;
  std::string prefer_profile = "preview";  // empty: no Prefer header
  int page_size = 100;
  std::chrono::milliseconds timeout{30000};   // one HTTP request
  std::size_t max_response_bytes = 8u << 20;  // one page
  int max_pages = 1000;                       // per account and poll
  // Longest environment or workspace id or name accepted from the API; a longer one fails the
  // account's poll as too_large rather than becoming a label of unbounded size.
  std::size_t max_label_length = 1024;  // bytes
  std::string ca_file;                  // extra CA bundle; empty = system default
  RetryConfig retry;
  std::size_t max_concurrency = 4;      // requests in flight to this target
  double max_requests_per_second = 10;  // sustained; 0 = unbounded
  // Workspace enrichment: each account's workspace listing (environment, tags, name), asked at
  // most every enrich_interval, fills the environment labels of the API's workspace series.
  bool enrich_workspaces = true;
  std::chrono::milliseconds enrich_interval{std::chrono::hours{1}};
  // The politeness budget of the target, made when the configuration is finished and shared by
  // every source made from it (the poller's and the report scheduler's), so together they stay
  // within it. Null in a target not finished (tests): the source then makes its own.
  std::shared_ptr<RequestGate> gate;
  // What the target's sources learn and share the same way: account names and workspace
  // directories (collectors/scalr_api/target_cache.h). Null in a target not finished (tests).
  std::shared_ptr<TargetCache> cache;
};

// `source: scalr_api` (the default).
struct ScalrApiConfig {
  std::vector<ScalrTarget> targets;  // the `scalr:` block, or its `targets:`; never empty
};

// One target as written, before its token is read.
struct ScalrTargetSection {
  std::string path;  // "scalr" or "scalr.targets[1]", for messages
  ScalrTarget target;
  std::optional<std::string> token_file;
  std::optional<std::string> token_credential;
  std::optional<std::string> token_env;
  // Where retry.initial_backoff and retry.max_backoff were written ("scalr.retry.max_backoff" for
  // a target inheriting the block's), empty while they keep their defaults: a bad pair blames the
  // key the user wrote, not the target that inherited it.
  std::string initial_backoff_at;
  std::string max_backoff_at;
  // Keys of this mapping that belong to one target only (url, accounts, tokens...): the `scalr:`
  // block with `targets:` must not set them, since no target would inherit them.
  std::vector<std::string> own_keys;
};

// The `scalr:` section as written: what parse_scalr_section checks even when another source is
// selected (keys and value types only).
struct ScalrApiSection {
  bool given = false;
  ScalrTargetSection block;                 // the `scalr:` mapping itself: defaults of the targets
  std::vector<ScalrTargetSection> targets;  // `scalr.targets`, each starting from block's settings
  bool targets_given = false;
};

void parse_scalr_section(const ConfigNode& section, ScalrApiSection& parsed);

// The selected source's checks: required keys, names, accounts under one target only, the retry
// bounds, and each target's token (token_file, token_credential, token_env, or SCALR_TOKEN for the
// `scalr:` block alone), read now so that a missing secret fails before anything starts. Throws
// ConfigError.
ScalrApiConfig finish_scalr_api(ScalrApiSection section, const Environment& env);

}  // namespace scalr_usage
