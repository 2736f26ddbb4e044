#include "delivery/webhook/config.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "config/error.h"
#include "config/files.h"
#include "util/text.h"

namespace scalr_usage {

namespace {

WebhookFormat parse_format(const std::string& text) {
  if (text == "json") return WebhookFormat::json;
  if (text == "slack") return WebhookFormat::slack;
  throw std::invalid_argument("unknown format " + quote_for_message(text) +
                              " (want json or slack)");
}

std::string readable_ca_file(const std::string& path) {
  non_empty_path(path);
  return path;
}

// The URL itself never reaches a message: it may carry the token.
Secret checked_url(std::string_view raw, const std::string& key, std::string& shown) {
  const std::string url(trim(raw));
  if (url.empty()) fail_config(key, "no URL: it is empty");
  const bool printable = std::all_of(url.begin(), url.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7f;
  });
  if (!printable) fail_config(key, "the URL contains spaces or non-printable characters");
  try {
    shown = shown_webhook_url(url);
  } catch (const std::invalid_argument& error) {
    fail_config(key, error.what());
  }
  return Secret(url);
}

}  // namespace

std::string_view to_string(WebhookFormat format) {
  return format == WebhookFormat::slack ? "slack" : "json";
}

std::string shown_webhook_url(std::string_view url) {
  std::string_view scheme;
  if (url.starts_with("https://")) {
    scheme = "https://";
  } else if (url.starts_with("http://")) {
    scheme = "http://";
  } else {
    throw std::invalid_argument("want an http:// or https:// URL");
  }
  std::string_view rest = url.substr(scheme.size());
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  // user:password@host: the credentials are secret too.
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  if (authority.empty() || authority.front() == ':') {
    throw std::invalid_argument("want a URL with a host");
  }
  return std::string(scheme) + std::string(authority);
}

void parse_webhook_section(const ConfigNode& node, WebhookSection& section) {
  section.path = node.path();
  node.walk({
      {"url", [&](const ConfigNode& v) { section.url = v.text("a URL"); }},
      {"url_file",
       [&](const ConfigNode& v) { section.url_file = v.parsed("a file path", non_empty_path); }},
      {"url_credential",
       [&](const ConfigNode& v) { section.url_credential = v.text("a credential name"); }},
      {"format",
       [&](const ConfigNode& v) { section.format = v.parsed("json or slack", parse_format); }},
      {"timeout",
       [&](const ConfigNode& v) { section.timeout = v.duration(std::chrono::seconds{1}); }},
      {"ca_file",
       [&](const ConfigNode& v) { section.ca_file = v.parsed("a file path", readable_ca_file); }},
  });
}

WebhookConfig finish_webhook(WebhookSection section, std::string_view key, const Environment& env) {
  const std::string at(key);
  const int given =
      section.url.has_value() + section.url_file.has_value() + section.url_credential.has_value();
  if (given == 0) fail_config(at + ".url", "required: set url, url_file or url_credential");
  if (given > 1) {
    fail_config(at + (section.url_credential ? ".url_credential" : ".url_file"),
                "set only one of url, url_file, url_credential");
  }
  WebhookConfig config;
  config.format = section.format;
  config.timeout = section.timeout;
  config.ca_file = section.ca_file;
  if (!section.ca_file.empty()) read_configured_file(section.ca_file, 0, at + ".ca_file");
  if (section.url) {
    config.url = checked_url(*section.url, at + ".url", config.shown_url);
    config.url_origin = at + ".url";
    return config;
  }
  std::string file_key = at + ".url_file";
  if (section.url_credential) {
    file_key = at + ".url_credential";
    section.url_file = credential_path(file_key, *section.url_credential, env);
    config.url_origin = "credential " + *section.url_credential;
  } else {
    config.url_origin = "url_file " + shown_path(*section.url_file);
  }
  const std::string text = read_configured_file(*section.url_file, kMaxSecretBytes, file_key);
  if (text.size() > kMaxSecretBytes) {
    fail_config(file_key, shown_path(*section.url_file) + " is larger than 64 KiB");
  }
  config.url = checked_url(text, file_key, config.shown_url);
  return config;
}

}  // namespace scalr_usage
