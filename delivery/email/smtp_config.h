#pragma once
// `reports.smtp`: the relay every schedule's `email:` sends through. Parsed with the rest of
// `reports:`; the password is a secret, read when the configuration is finished (like the other
// secrets, config/files.h), so a missing one fails at start and --check-config says so.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "config/environment.h"
#include "config/node.h"
#include "config/secret.h"
#include "delivery/email/mail_address.h"

namespace scalr_usage {

// Where the password comes from when neither password_file nor password_credential is set.
inline constexpr std::string_view kSmtpPasswordEnv = "SCALR_USAGE_SMTP_PASSWORD";

struct SmtpConfig {
  // "smtp://host:587" (STARTTLS) or "smtps://host:465" (TLS from the first byte), lowered, no
  // user info, no path: safe to log as is.
  std::string url;
  bool implicit_tls = false;  // smtps://
  // With smtp://: STARTTLS must succeed or nothing is sent (CURLUSESSL_ALL); false tries STARTTLS
  // and falls back to plain text (CURLUSESSL_TRY). smtps:// is TLS either way.
  bool require_tls = true;
  MailAddress from;  // the envelope sender and the From header
  std::optional<std::string> username = std::nullopt;
  // The password's keys as written; finish_smtp reads them.
  std::optional<std::string> password_file = std::nullopt;
  std::optional<std::string> password_credential = std::nullopt;
  Secret password;
  std::string password_origin;  // safe to log: "password_file /x", "env SCALR_USAGE_SMTP_PASSWORD"
  std::string ca_file;          // empty: the system's CA bundle
  std::chrono::milliseconds timeout{std::chrono::minutes{1}};  // one whole attempt
};

// Parses reports.smtp (node is that key's value). Throws ConfigError naming the key.
SmtpConfig parse_smtp_section(const ConfigNode& node);

// Reads the password (password_file, password_credential or SCALR_USAGE_SMTP_PASSWORD) when a
// username is set. Throws ConfigError naming the key; never shows the password.
void finish_smtp(SmtpConfig& smtp, const Environment& env);

}  // namespace scalr_usage
