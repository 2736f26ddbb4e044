#pragma once
// The `scalr:` section: one Scalr account URL with its token and the accounts polled through it.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "collectors/scalr_api/retry.h"
#include "config/environment.h"
#include "config/node.h"
#include "config/secret.h"

namespace scalr_usage {

// One Scalr account URL with its token and the accounts polled through it. Today the config has a
// single `scalr:` block; a later `targets:` list will produce several of these.
struct ScalrTarget {
  // scheme://host[:port][/prefix], no trailing slash; the API is under url + /api/iacp/v3.
  std::string url;
  Secret token;
  // Where the token came from, safe to log: "token_file /x" or "env SCALR_TOKEN".
  std::string token_origin;
  std::vector<std::string> accounts;
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
};

// `source: scalr_api` (the default).
struct ScalrApiConfig {
  std::vector<ScalrTarget> targets;  // one today: the `scalr:` section
};

// The `scalr:` section as written, before the token is read: what parse_scalr_section checks even
// when another source is selected (keys and value types only).
struct ScalrApiSection {
  bool given = false;
  ScalrTarget target;
  std::optional<std::string> token_file;
  std::optional<std::string> token_credential;
  bool max_backoff_given = false;
};

void parse_scalr_section(const ConfigNode& section, ScalrApiSection& parsed);

// The selected source's checks: required keys, the retry bounds, and the token (token_file,
// token_credential or SCALR_TOKEN), read now so that a missing secret fails before anything starts.
// Throws ConfigError.
ScalrApiConfig finish_scalr_api(ScalrApiSection section, const Environment& env);

}  // namespace scalr_usage
