#pragma once
// A schedule's `webhook:` section: where the summary is POSTed, and in which shape.
//
//   webhook:
//     url_file: /etc/scalr-usage-exporter/webhook-url   # or url, or url_credential
//     format: slack                                     # json (default) or slack
//     timeout: 30s
//     ca_file: /etc/ssl/private-ca.pem                  # optional; default: the system's CAs
//
// Every webhook URL is a secret (Slack's and most others' carry their token in the path), so the
// URL is a Secret and only its scheme://host is ever shown (shown_url).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "config/environment.h"
#include "config/node.h"
#include "config/secret.h"

namespace scalr_usage {

enum class WebhookFormat {
  json,   // the exporter's own summary document (README "Report delivery")
  slack,  // Slack's incoming-webhook message: text plus blocks
};

std::string_view to_string(WebhookFormat format);

struct WebhookSection {
  std::string path;  // "reports.schedules[0].webhook", for errors in finish
  std::optional<std::string> url;
  std::optional<std::string> url_file;
  std::optional<std::string> url_credential;
  WebhookFormat format = WebhookFormat::json;
  std::chrono::milliseconds timeout{std::chrono::seconds{30}};
  std::string ca_file;  // empty: the system's CA certificates
};

struct WebhookConfig {
  Secret url;
  std::string shown_url;   // scheme://host[:port], safe to log
  std::string url_origin;  // "reports.schedules[0].webhook.url", "url_file /x", "credential x"
  WebhookFormat format = WebhookFormat::json;
  std::chrono::milliseconds timeout{std::chrono::seconds{30}};
  std::string ca_file;
};

// Throws ConfigError naming the key.
void parse_webhook_section(const ConfigNode& node, WebhookSection& section);
// Exactly one of url, url_file, url_credential; the URL must be http:// or https:// with a host.
// Never puts the URL in a message.
WebhookConfig finish_webhook(WebhookSection section, std::string_view key, const Environment& env);

// "https://hooks.slack.com" of "https://hooks.slack.com/services/T/B/x": what may be logged of a
// URL. Throws std::invalid_argument (without the URL) unless it is http(s)://host...
std::string shown_webhook_url(std::string_view url);

}  // namespace scalr_usage
