#include "collectors/scalr_api/config.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <map>
#include <stdexcept>
#include <string_view>

#include "collectors/source.h"  // check_configured_label_lengths
#include "config/address.h"
#include "config/duration.h"
#include "config/error.h"
#include "config/files.h"
#include "util/text.h"

namespace scalr_usage {

namespace {

using std::chrono::milliseconds;

constexpr std::string_view kTokenEnv = "SCALR_TOKEN";
constexpr std::string_view kApiSuffix = "/api/iacp/v3";
constexpr milliseconds kMinEnrichInterval{std::chrono::minutes{1}};

// The URL is echoed only in parts: a query or user-info part might hold a credential.
std::string scalr_url(const std::string& url) {
  const std::string example = " (want e.g. https://example.scalr.io)";
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    throw std::invalid_argument("want an http or https URL" + example);
  const std::string scheme = to_lower(std::string_view(url).substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") {
    throw std::invalid_argument("unsupported scheme " + quote_for_message(scheme) + example);
  }
  const std::string_view rest = std::string_view(url).substr(scheme_end + 3);
  const std::size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view path = authority_end == std::string_view::npos ? "" : rest.substr(authority_end);
  if (path.find_first_of("?#") != std::string_view::npos) {
    throw std::invalid_argument("must not have a query or fragment" + example);
  }
  if (authority.find('@') != std::string_view::npos) {
    throw std::invalid_argument("must not contain credentials; the token goes in scalr.token_file");
  }
  if (path.find_first_of(" \t") != std::string_view::npos) {
    throw std::invalid_argument("must not contain spaces");
  }
  const HostPort host_port = split_host_port(authority, /*port_required=*/false);
  if (host_port.host.empty()) throw std::invalid_argument("missing host" + example);

  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.size() >= kApiSuffix.size() &&
      path.substr(path.size() - kApiSuffix.size()) == kApiSuffix) {
    path.remove_suffix(kApiSuffix.size());
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  }
  return scheme + "://" + to_lower(authority) + std::string(path);
}

// Goes into a `Prefer: profile=...` header, so only token characters are allowed.
std::string prefer_profile(const std::string& profile) {
  const bool valid = std::all_of(profile.begin(), profile.end(), [](char c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '-';
  });
  if (!valid) {
    throw std::invalid_argument("want a profile name like preview (letters, digits, . _ -), got " +
                                quote_for_message(profile));
  }
  return profile;
}

std::string readable_file(const std::string& path) {
  if (path.empty()) return path;  // the system default
  if (read_configured_file(path, 0, "scalr.ca_file").empty()) {
    throw std::invalid_argument(shown_path(path) + " is empty");
  }
  return path;
}

// Never puts any part of the token in a message: only where it came from and what is wrong.
Secret checked_token(std::string_view raw, std::string_view origin, const std::string& key) {
  const std::string_view token = trim(raw);
  if (token.empty()) fail_config(key, "no token: " + std::string(origin) + " is empty");
  const bool printable = std::all_of(token.begin(), token.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7f;
  });
  if (!printable) {
    fail_config(key,
                "token in " + std::string(origin) + " contains spaces or non-printable characters");
  }
  return Secret(std::string(token));
}

void load_token_file(ScalrTarget& target, const std::string& path, const std::string& key) {
  const std::string content = read_configured_file(path, kMaxSecretBytes, key);
  const std::string origin = shown_path(path);
  if (content.size() > kMaxSecretBytes) {
    fail_config(key, origin + " is larger than 64 KiB; is it the token file?");
  }
  target.token = checked_token(content, origin, key);
  target.token_origin = "token_file " + origin;
}

void load_token_env(ScalrTarget& target, const std::string& variable, const std::string& key,
                    const Environment& env) {
  const auto from_env = env.find(variable);
  if (from_env == env.end()) fail_config(key, "environment variable " + variable + " is not set");
  target.token = checked_token(from_env->second, variable, key);
  target.token_origin = "env " + variable;
}

// Exactly one of token_file, token_credential, token_env; the `scalr:` block alone may fall back
// to SCALR_TOKEN, as it always could.
void load_token(ScalrTargetSection& section, bool env_fallback, const Environment& env) {
  const std::string& at = section.path;
  const int given = section.token_file.has_value() + section.token_credential.has_value() +
                    section.token_env.has_value();
  if (given > 1) {
    fail_config(at + (section.token_env ? ".token_env" : ".token_credential"),
                "set only one of token_file, token_credential, token_env");
  }
  if (section.token_credential) {
    section.token_file = credential_path(at + ".token_credential", *section.token_credential, env);
  }
  if (section.token_file) {
    load_token_file(section.target, *section.token_file,
                    at + (section.token_credential ? ".token_credential" : ".token_file"));
  } else if (section.token_env) {
    load_token_env(section.target, *section.token_env, at + ".token_env", env);
  } else if (env_fallback && env.contains(std::string(kTokenEnv))) {
    load_token_env(section.target, std::string(kTokenEnv), at + ".token_file", env);
  } else {
    fail_config(at + ".token_file",
                env_fallback ? "no token: set scalr.token_file, token_credential or SCALR_TOKEN"
                             : "no token: set token_file, token_credential or token_env");
  }
}

void parse_retry(const ConfigNode& retry, ScalrTargetSection& parsed) {
  const milliseconds any_positive{1};
  RetryConfig& config = parsed.target.retry;
  retry.walk({
      {"max_attempts",
       [&](const ConfigNode& v) { config.max_attempts = static_cast<int>(v.integer(1, 20)); }},
      {"initial_backoff",
       [&](const ConfigNode& v) {
         config.initial_backoff = v.duration(any_positive);
         parsed.initial_backoff_at = v.path();
       }},
      {"max_backoff",
       [&](const ConfigNode& v) {
         config.max_backoff = v.duration(any_positive);
         parsed.max_backoff_at = v.path();
       }},
  });
}

// Blames the key the user wrote: with the default max_backoff, the initial one is too large.
void check_backoffs(const ScalrTargetSection& section) {
  const RetryConfig& retry = section.target.retry;
  if (retry.max_backoff >= retry.initial_backoff) return;
  const std::string initial = format_duration(retry.initial_backoff);
  const std::string max = format_duration(retry.max_backoff);
  const std::string at = section.path + ".retry.";
  const std::string initial_at =
      section.initial_backoff_at.empty() ? at + "initial_backoff" : section.initial_backoff_at;
  if (!section.max_backoff_at.empty()) {
    fail_config(section.max_backoff_at, max + " is less than " + initial_at + " (" + initial + ")");
  }
  fail_config(initial_at,
              initial + " is more than " + at + "max_backoff (" + max + ", the default)");
}

std::string target_name(const std::string& name) {
  const bool valid =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
      });
  if (!valid) {
    throw std::invalid_argument("want 1 to 64 of a-z 0-9 _ -, got " + quote_for_message(name));
  }
  return name;
}

// The keys every target has, inherited from the `scalr:` block by the items of `targets:`.
std::vector<ConfigField> setting_fields(ScalrTargetSection& parsed) {
  ScalrTarget& target = parsed.target;
  return {
      {"prefer_profile",
       [&](const ConfigNode& v) {
         target.prefer_profile = v.parsed("a profile name", prefer_profile);
       }},
      {"page_size",
       [&](const ConfigNode& v) { target.page_size = static_cast<int>(v.integer(1, 1000)); }},
      {"timeout", [&](const ConfigNode& v) { target.timeout = v.duration(milliseconds{1}); }},
      {"max_response_bytes",
       [&](const ConfigNode& v) {
         target.max_response_bytes = static_cast<std::size_t>(v.integer(1));
       }},
      {"max_pages",
       [&](const ConfigNode& v) {
         target.max_pages = static_cast<int>(v.integer(1, std::numeric_limits<int>::max()));
       }},
      {"max_label_length",
       [&](const ConfigNode& v) {
         target.max_label_length = static_cast<std::size_t>(v.integer(1, kMaxLabelLengthLimit));
       }},
      {"ca_file",
       [&](const ConfigNode& v) { target.ca_file = v.parsed("a file path", readable_file); }},
      {"retry", [&](const ConfigNode& v) { parse_retry(v, parsed); }},
      {"max_concurrency",
       [&](const ConfigNode& v) {
         target.max_concurrency = static_cast<std::size_t>(v.integer(1, 64));
       }},
      {"max_requests_per_second",
       [&](const ConfigNode& v) {
         target.max_requests_per_second = static_cast<double>(v.integer(0, 100000));
       }},
      {"enrich_workspaces", [&](const ConfigNode& v) { target.enrich_workspaces = v.boolean(); }},
      // A listing per account and interval; below a minute it would cost more requests than the
      // usage it labels.
      {"enrich_interval",
       [&](const ConfigNode& v) { target.enrich_interval = v.duration(kMinEnrichInterval); }},
  };
}

// The keys of one target only; each one given is remembered in own_keys.
std::vector<ConfigField> own_fields(ScalrTargetSection& parsed) {
  ScalrTarget& target = parsed.target;
  const auto own = [&parsed](std::string_view key, std::function<void(const ConfigNode&)> apply) {
    return ConfigField{key, [&parsed, key, apply = std::move(apply)](const ConfigNode& v) {
                         parsed.own_keys.emplace_back(key);
                         apply(v);
                       }};
  };
  return {
      own("name", [&](const ConfigNode& v) { target.name = v.parsed("a name", target_name); }),
      own("url", [&](const ConfigNode& v) { target.url = v.parsed("a URL", scalr_url); }),
      own("token_file",
          [&](const ConfigNode& v) {
            parsed.token_file = v.parsed("a file path", non_empty_path);
          }),
      own("token_credential",
          [&](const ConfigNode& v) { parsed.token_credential = v.text("a credential name"); }),
      own("token_env",
          [&](const ConfigNode& v) { parsed.token_env = v.text("an environment variable name"); }),
      own("accounts",
          [&](const ConfigNode& v) { target.accounts = v.unique_words("a list of account IDs"); }),
      own("discover", [&](const ConfigNode& v) { target.discover = v.boolean(); }),
      own("exclude_accounts",
          [&](const ConfigNode& v) {
            target.exclude_accounts = v.unique_words("a list of account IDs", EmptyList::or_null);
          }),
  };
}

std::vector<ConfigField> operator+(std::vector<ConfigField> a, std::vector<ConfigField> b) {
  a.insert(a.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
  return a;
}

void finish_target(ScalrTargetSection& section, bool env_fallback, const Environment& env) {
  ScalrTarget& target = section.target;
  const std::string& at = section.path;
  if (target.url.empty()) fail_config(at + ".url", "required (e.g. https://example.scalr.io)");
  if (target.discover && !target.accounts.empty()) {
    fail_config(at + ".accounts",
                "not with discover: true (discovery lists the accounts; leave some out with "
                "exclude_accounts)");
  }
  if (!target.discover && !target.exclude_accounts.empty()) {
    fail_config(at + ".exclude_accounts", "only with discover: true");
  }
  if (!target.discover && target.accounts.empty()) {
    fail_config(at + ".accounts", "required (a list of account IDs), or discover: true");
  }
  check_configured_label_lengths(at, target.accounts, target.max_label_length);
  check_backoffs(section);
  load_token(section, env_fallback, env);
  target.gate =
      std::make_shared<RequestGate>(target.max_concurrency, target.max_requests_per_second);
  // Like the gate: one per target and configuration load, so a reload (which may bring a new
  // token, and with it other permissions) starts from an empty cache.
  target.cache = std::make_shared<TargetCache>(target.name, target.enrich_interval);
}

// Names are unique and an account is polled through one target only: two would double its
// usage in every sum.
void check_distinct(const std::vector<ScalrTargetSection>& targets) {
  std::map<std::string, std::size_t> names;
  std::map<std::string, std::size_t> owners;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const ScalrTarget& target = targets[i].target;
    const auto [named, fresh] = names.try_emplace(target.name, i);
    if (!fresh) {
      fail_config(
          targets[i].path + ".name",
          quote_for_message(target.name) + " is also the name of " + targets[named->second].path);
    }
    for (const std::string& account : target.accounts) {
      const auto [owner, first] = owners.try_emplace(account, i);
      if (!first) {
        const ScalrTargetSection& other = targets[owner->second];
        fail_config(targets[i].path + ".accounts", account + " is also under " + other.path + " (" +
                                                       other.target.name +
                                                       "); poll each account through one target");
      }
    }
  }
}

}  // namespace

void parse_scalr_section(const ConfigNode& scalr, ScalrApiSection& parsed) {
  parsed.given = true;
  parsed.block.path = "scalr";
  std::optional<ConfigNode> targets;
  scalr.walk(setting_fields(parsed.block) + own_fields(parsed.block) +
             std::vector<ConfigField>{
                 {"targets", [&](const ConfigNode& v) { targets = v; }},
             });
  if (!targets) return;
  parsed.targets_given = true;
  // Parsed after the block, whatever the order of the keys, so each target starts from all of
  // the block's settings.
  for (const ConfigNode& item : targets->items("a list of targets")) {
    ScalrTargetSection target = parsed.block;
    target.path = item.path();
    target.own_keys.clear();
    item.walk(setting_fields(target) + own_fields(target));
    if (std::find(target.own_keys.begin(), target.own_keys.end(), "name") ==
        target.own_keys.end()) {
      item.fail_at(item.path() + ".name", "required (a-z 0-9 _ -, used in the target label)");
    }
    parsed.targets.push_back(std::move(target));
  }
}

ScalrApiConfig finish_scalr_api(ScalrApiSection section, const Environment& env) {
  if (!section.given) fail_config("scalr", "required (the Scalr URL, token and accounts to poll)");
  if (section.targets_given && !section.block.own_keys.empty()) {
    fail_config("scalr." + section.block.own_keys.front(),
                "not with scalr.targets: set it in each target");
  }
  const bool single = !section.targets_given;
  std::vector<ScalrTargetSection> targets =
      single ? std::vector<ScalrTargetSection>{std::move(section.block)}
             : std::move(section.targets);
  for (ScalrTargetSection& target : targets) finish_target(target, single, env);
  check_distinct(targets);
  ScalrApiConfig config;
  for (ScalrTargetSection& target : targets) config.targets.push_back(std::move(target.target));
  return config;
}

}  // namespace scalr_usage
