#include "delivery/email/smtp_config.h"

#include <algorithm>
#include <stdexcept>

#include "config/address.h"
#include "config/error.h"
#include "config/files.h"
#include "util/text.h"

namespace scalr_usage {

namespace {

constexpr std::string_view kAt = "reports.smtp";

struct SmtpUrl {
  std::string url;
  bool implicit_tls = false;
};

// The URL is echoed only in parts: user info might hold a password.
SmtpUrl smtp_url(const std::string& url) {
  const std::size_t scheme_end = url.find("://");
  const std::string scheme =
      scheme_end == std::string::npos ? "" : to_lower(std::string_view(url).substr(0, scheme_end));
  if (scheme != "smtp" && scheme != "smtps") {
    throw std::invalid_argument("want smtp:// or smtps:// (e.g. smtp://mail.example.com:587)");
  }
  std::string_view rest = std::string_view(url).substr(scheme_end + 3);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('@') != std::string_view::npos) {
    throw std::invalid_argument(
        "must not contain credentials; set reports.smtp.username and password_file");
  }
  if (rest.find_first_of("/?# \t") != std::string_view::npos) {
    throw std::invalid_argument("want smtp://HOST[:PORT] or smtps://HOST[:PORT], no path or query");
  }
  const HostPort host_port = split_host_port(rest, /*port_required=*/false);
  if (host_port.host.empty()) throw std::invalid_argument("missing host");
  return SmtpUrl{scheme + "://" + to_lower(rest), scheme == "smtps"};
}

std::string user_name(const std::string& name) {
  if (name.empty() || has_control(name)) {
    throw std::invalid_argument("want a non-empty user name without control characters");
  }
  return name;
}

std::string ca_file(const std::string& path) {
  if (read_configured_file(non_empty_path(path), 0, "reports.smtp.ca_file").empty()) {
    throw std::invalid_argument(shown_path(path) + " is empty");
  }
  return path;
}

// Trailing line breaks are the file's, not the password's; anything else is kept as written.
Secret checked_password(std::string_view raw, const std::string& origin, const std::string& key) {
  while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r')) raw.remove_suffix(1);
  if (raw.empty()) fail_config(key, "no password: " + origin + " is empty");
  if (has_control(raw)) fail_config(key, "password in " + origin + " contains control characters");
  return Secret(std::string(raw));
}

}  // namespace

SmtpConfig parse_smtp_section(const ConfigNode& node) {
  SmtpConfig smtp;
  bool has_url = false;
  bool has_from = false;
  node.walk({
      {"url",
       [&](const ConfigNode& v) {
         const SmtpUrl url = v.parsed("an smtp:// or smtps:// URL", smtp_url);
         smtp.url = url.url;
         smtp.implicit_tls = url.implicit_tls;
         has_url = true;
       }},
      {"require_tls", [&](const ConfigNode& v) { smtp.require_tls = v.boolean(); }},
      {"from",
       [&](const ConfigNode& v) {
         smtp.from = v.parsed("a mail address", parse_mail_address);
         has_from = true;
       }},
      {"username",
       [&](const ConfigNode& v) { smtp.username = v.parsed("a user name", user_name); }},
      {"password_file",
       [&](const ConfigNode& v) { smtp.password_file = v.parsed("a file path", non_empty_path); }},
      {"password_credential",
       [&](const ConfigNode& v) { smtp.password_credential = v.text("a credential name"); }},
      {"ca_file", [&](const ConfigNode& v) { smtp.ca_file = v.parsed("a file path", ca_file); }},
      {"timeout", [&](const ConfigNode& v) { smtp.timeout = v.duration(std::chrono::seconds{1}); }},
  });
  const std::string at(kAt);
  if (!has_url) node.fail_at(at + ".url", "required (e.g. smtp://mail.example.com:587)");
  if (!has_from) node.fail_at(at + ".from", "required: the sender address");
  if ((smtp.password_file || smtp.password_credential) && !smtp.username) {
    node.fail_at(at + (smtp.password_file ? ".password_file" : ".password_credential"),
                 "a password needs reports.smtp.username");
  }
  if (smtp.password_file && smtp.password_credential) {
    node.fail_at(at + ".password_credential", "set only one of password_file, password_credential");
  }
  // AUTH over a connection that may stay plain would show the password to the network.
  if (smtp.username && !smtp.implicit_tls && !smtp.require_tls) {
    node.fail_at(at + ".require_tls",
                 "false with a username would send the password in the clear; use smtps:// or "
                 "keep require_tls: true");
  }
  return smtp;
}

void finish_smtp(SmtpConfig& smtp, const Environment& env) {
  if (!smtp.username) return;
  const std::string at(kAt);
  std::optional<std::string> file = smtp.password_file;
  std::string key = at + ".password_file";
  if (smtp.password_credential) {
    key = at + ".password_credential";
    file = credential_path(key, *smtp.password_credential, env);
  }
  if (file) {
    const std::string text = read_configured_file(*file, kMaxSecretBytes, key);
    const std::string origin =
        (smtp.password_credential ? "credential " : "password_file ") +
        shown_path(smtp.password_credential ? *smtp.password_credential : *file);
    if (text.size() > kMaxSecretBytes) {
      fail_config(key, origin + " is larger than 64 KiB; is it the password file?");
    }
    smtp.password = checked_password(text, origin, key);
    smtp.password_origin = origin;
    return;
  }
  const std::string variable(kSmtpPasswordEnv);
  if (const auto from_env = env.find(variable); from_env != env.end()) {
    smtp.password = checked_password(from_env->second, "env " + variable, key);
    smtp.password_origin = "env " + variable;
    return;
  }
  fail_config(key,
              "required with reports.smtp.username: set password_file, password_credential "
              "or " +
                  variable);
}

}  // namespace scalr_usage
