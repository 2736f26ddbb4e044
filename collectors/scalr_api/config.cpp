#include "collectors/scalr_api/config.h"

#include <algorithm>
#include <limits>
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
Secret checked_token(std::string_view raw, std::string_view origin) {
  const std::string_view token = trim(raw);
  if (token.empty())
    fail_config("scalr.token_file", "no token: " + std::string(origin) + " is empty");
  const bool printable = std::all_of(token.begin(), token.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7f;
  });
  if (!printable) {
    fail_config("scalr.token_file",
                "token in " + std::string(origin) + " contains spaces or non-printable characters");
  }
  return Secret(std::string(token));
}

void load_token(ScalrTarget& target, const std::optional<std::string>& token_file,
                const Environment& env) {
  if (token_file) {
    const std::string content =
        read_configured_file(*token_file, kMaxSecretBytes, "scalr.token_file");
    const std::string origin = shown_path(*token_file);
    if (content.size() > kMaxSecretBytes) {
      fail_config("scalr.token_file", origin + " is larger than 64 KiB; is it the token file?");
    }
    target.token = checked_token(content, origin);
    target.token_origin = "token_file " + origin;
    return;
  }
  const auto from_env = env.find(std::string(kTokenEnv));
  if (from_env == env.end())
    fail_config("scalr.token_file", "no token: set scalr.token_file or SCALR_TOKEN");
  target.token = checked_token(from_env->second, kTokenEnv);
  target.token_origin = "env " + std::string(kTokenEnv);
}

void parse_retry(const ConfigNode& retry, ScalrApiSection& parsed) {
  const milliseconds any_positive{1};
  RetryConfig& config = parsed.target.retry;
  retry.walk({
      {"max_attempts",
       [&](const ConfigNode& v) { config.max_attempts = static_cast<int>(v.integer(1, 20)); }},
      {"initial_backoff",
       [&](const ConfigNode& v) { config.initial_backoff = v.duration(any_positive); }},
      {"max_backoff",
       [&](const ConfigNode& v) {
         config.max_backoff = v.duration(any_positive);
         parsed.max_backoff_given = true;
       }},
  });
}

// Blames the key the user wrote: with the default max_backoff, the initial one is too large.
void check_backoffs(const ScalrApiSection& section) {
  const RetryConfig& retry = section.target.retry;
  if (retry.max_backoff >= retry.initial_backoff) return;
  const std::string initial = format_duration(retry.initial_backoff);
  const std::string max = format_duration(retry.max_backoff);
  if (section.max_backoff_given) {
    fail_config("scalr.retry.max_backoff",
                max + " is less than scalr.retry.initial_backoff (" + initial + ")");
  }
  fail_config("scalr.retry.initial_backoff",
              initial + " is more than scalr.retry.max_backoff (" + max + ", the default)");
}

}  // namespace

void parse_scalr_section(const ConfigNode& scalr, ScalrApiSection& parsed) {
  parsed.given = true;
  ScalrTarget& target = parsed.target;
  const milliseconds any_positive{1};
  scalr.walk({
      {"url", [&](const ConfigNode& v) { target.url = v.parsed("a URL", scalr_url); }},
      {"token_file",
       [&](const ConfigNode& v) { parsed.token_file = v.parsed("a file path", non_empty_path); }},
      {"token_credential",
       [&](const ConfigNode& v) { parsed.token_credential = v.text("a credential name"); }},
      {"accounts",
       [&](const ConfigNode& v) { target.accounts = v.unique_words("a list of account IDs"); }},
      {"prefer_profile",
       [&](const ConfigNode& v) {
         target.prefer_profile = v.parsed("a profile name", prefer_profile);
       }},
      {"page_size",
       [&](const ConfigNode& v) { target.page_size = static_cast<int>(v.integer(1, 1000)); }},
      {"timeout", [&](const ConfigNode& v) { target.timeout = v.duration(any_positive); }},
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
  });
}

ScalrApiConfig finish_scalr_api(ScalrApiSection section, const Environment& env) {
  ScalrTarget& target = section.target;
  if (!section.given) fail_config("scalr", "required (the Scalr URL, token and accounts to poll)");
  if (target.url.empty()) fail_config("scalr.url", "required (e.g. https://example.scalr.io)");
  if (target.accounts.empty()) fail_config("scalr.accounts", "required (a list of account IDs)");
  check_configured_label_lengths("scalr", target.accounts, target.max_label_length);
  check_backoffs(section);
  if (section.token_credential) {
    if (section.token_file) {
      fail_config("scalr.token_credential", "set only one of token_file, token_credential");
    }
    section.token_file = credential_path("scalr.token_credential", *section.token_credential, env);
  }
  load_token(target, section.token_file, env);
  return ScalrApiConfig{{std::move(target)}};
}

}  // namespace scalr_usage
