#include "web/web_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <set>
#include <stdexcept>
#include <string_view>
#include <variant>

#include "config/error.h"
#include "config/node.h"
#include "config/yaml_document.h"
#include "util/read_file.h"
#include "util/text.h"
#include "web/tls.h"

namespace scalr_usage {

namespace {

constexpr std::string_view kFlag = "web.config.file";
// Big enough for any real file, small enough that a wrong path such as /dev/zero fails at once.
constexpr std::size_t kMaxFileBytes = 1 << 20;

[[noreturn]] void fail(std::string_view key_path, std::string_view message) {
  std::string text(kFlag);
  if (!key_path.empty()) text += " " + std::string(key_path);
  throw ConfigError(text + ": " + std::string(message));
}

// A key of the exporter-toolkit's format this exporter cannot honour: refused, never ignored.
ConfigField unsupported(std::string_view key, std::string_view why) {
  return {key,
          [why](const ConfigNode& value) { value.fail("not supported: " + std::string(why)); }};
}

TlsVersion tls_version(const ConfigNode& value) {
  const std::string text = value.text("TLS12 or TLS13");
  if (text == "TLS12") return TlsVersion::tls12;
  if (text == "TLS13") return TlsVersion::tls13;
  if (text == "TLS10" || text == "TLS11") {
    value.fail("not supported: TLS 1.0 and 1.1 are obsolete and insecure (want TLS12 or TLS13)");
  }
  value.fail("want TLS12 or TLS13, got " + quote_for_message(text));
}

ClientAuth client_auth(const ConfigNode& value) {
  const std::string text = value.text("a client_auth_type");
  if (text == "NoClientCert") return ClientAuth::none;
  if (text == "VerifyClientCertIfGiven") return ClientAuth::verify_if_given;
  if (text == "RequireAndVerifyClientCert") return ClientAuth::require_and_verify;
  if (text == "RequestClientCert" || text == "RequireAnyClientCert") {
    value.fail("not supported: " + text +
               " accepts client certificates without verifying them; use "
               "RequireAndVerifyClientCert (or VerifyClientCertIfGiven) with client_ca_file");
  }
  value.fail("want NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert, got " +
             quote_for_message(text));
}

std::string file_path(const ConfigNode& value, const std::string& base_dir) {
  const std::string path = value.text("a file path");
  if (path.empty()) value.fail("want a file path, got \"\"");
  if (base_dir.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(base_dir) / path).string();
}

std::string version_name(TlsVersion version) {
  return version == TlsVersion::tls13 ? "TLS13" : "TLS12";
}

struct TlsKeys {
  TlsServerConfig config;
  bool any = false;  // any key given at all
  bool cert = false, key = false, ca = false, ciphers = false;
};

// One table of tls_server_config's keys, the way the toolkit's documentation lists them: longer
// than most functions, but a table reads best whole.
TlsKeys parse_tls(const ConfigNode& section, const std::string& base_dir) {
  TlsKeys tls;
  TlsServerConfig& config = tls.config;
  section.walk({
      {"cert_file",
       [&](const ConfigNode& v) {
         config.cert_file = file_path(v, base_dir);
         tls.cert = true;
       }},
      {"key_file",
       [&](const ConfigNode& v) {
         config.key_file = file_path(v, base_dir);
         tls.key = true;
       }},
      {"client_auth_type", [&](const ConfigNode& v) { config.client_auth = client_auth(v); }},
      {"client_ca_file",
       [&](const ConfigNode& v) {
         config.client_ca_file = file_path(v, base_dir);
         tls.ca = true;
       }},
      {"min_version", [&](const ConfigNode& v) { config.min_version = tls_version(v); }},
      {"max_version", [&](const ConfigNode& v) { config.max_version = tls_version(v); }},
      {"cipher_suites",
       [&](const ConfigNode& v) {
         for (const ConfigNode& item :
              v.items("a list of cipher suite names", EmptyList::or_null)) {
           std::string name;
           try {
             name = openssl_cipher_name(item.text("a cipher suite name"));
           } catch (const std::invalid_argument& error) {
             item.fail(error.what());
           }
           config.cipher_list += (config.cipher_list.empty() ? "" : ":") + name;
           tls.ciphers = true;
         }
       }},
      {"prefer_server_cipher_suites",
       [&](const ConfigNode& v) { config.prefer_server_cipher_suites = v.boolean(); }},
      {"curve_preferences",
       [&](const ConfigNode& v) {
         for (const ConfigNode& item : v.items("a list of curve names", EmptyList::or_null)) {
           std::string name;
           try {
             name = openssl_group_name(item.text("a curve name"));
           } catch (const std::invalid_argument& error) {
             item.fail(error.what());
           }
           config.groups_list += (config.groups_list.empty() ? "" : ":") + name;
         }
       }},
      unsupported("cert", "inline PEM; put the certificate in a file and use cert_file"),
      unsupported("key",
                  "inline PEM; put the key in a file readable only by the exporter and "
                  "use key_file"),
      unsupported("client_ca",
                  "inline PEM; put the CA certificates in a file and use "
                  "client_ca_file"),
      unsupported("client_allowed_sans",
                  "any certificate client_ca_file's CAs issued is accepted; issue client "
                  "certificates from a CA of their own"),
  });
  tls.any = !section.is_null() && section.size() > 0;
  return tls;
}

// Completes and checks the TLS section; nullopt when it asks for no TLS at all.
std::optional<TlsServerConfig> checked_tls(const TlsKeys& tls) {
  const std::string where = "tls_server_config";
  if (!tls.cert && !tls.key) {
    // The toolkit serves plain HTTP then; with other TLS settings that would ignore them.
    if (tls.any) {
      fail(where + ".cert_file",
           "required, with key_file: without them the other "
           "tls_server_config settings would have no effect");
    }
    return std::nullopt;
  }
  if (!tls.cert) fail(where + ".cert_file", "required with key_file");
  if (!tls.key) fail(where + ".key_file", "required with cert_file");
  const TlsServerConfig& config = tls.config;
  if (config.client_auth != ClientAuth::none && !tls.ca) {
    fail(where + ".client_ca_file",
         "required with client_auth_type " +
             std::string(config.client_auth == ClientAuth::require_and_verify
                             ? "RequireAndVerifyClientCert"
                             : "VerifyClientCertIfGiven") +
             ": the CA certificates client certificates are verified against");
  }
  if (config.client_auth == ClientAuth::none && tls.ca) {
    fail(where + ".client_ca_file",
         "set, but client_auth_type is NoClientCert, so no client certificate would be asked "
         "for; set client_auth_type: RequireAndVerifyClientCert");
  }
  if (config.max_version < config.min_version) {
    fail(where + ".max_version", version_name(config.max_version) + " is below min_version " +
                                     version_name(config.min_version));
  }
  if (tls.ciphers && config.min_version == TlsVersion::tls13) {
    fail(where + ".cipher_suites",
         "apply to TLS 1.2 only, and min_version is TLS13; remove one of them");
  }
  check_tls_config(config);
  return config;
}

// The toolkit's list: only these headers, and for two of them only these values.
void add_header(WebConfigFile& file, const std::string& name, const ConfigNode& value) {
  static const std::array<std::pair<std::string_view, std::vector<std::string_view>>, 5> kAllowed{{
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  }};
  const auto allowed = std::find_if(kAllowed.begin(), kAllowed.end(),
                                    [&](const auto& entry) { return entry.first == name; });
  if (allowed == kAllowed.end()) {
    value.fail(
        "this header cannot be set (want Strict-Transport-Security, "
        "X-Content-Type-Options, X-Frame-Options, X-XSS-Protection or "
        "Content-Security-Policy)");
  }
  const std::string text = value.is_null() ? "" : value.text("a header value");
  if (text.empty()) return;  // unset, as in the toolkit
  const auto& values = allowed->second;
  if (!values.empty() && std::find(values.begin(), values.end(), text) == values.end()) {
    std::string wanted;
    for (const std::string_view v : values)
      wanted += (wanted.empty() ? "" : " or ") + std::string(v);
    value.fail("want " + wanted + ", got " + quote_for_message(text));
  }
  file.headers.emplace_back(name, text);
}

void add_user(WebConfigFile& file, const std::string& user, const ConfigNode& value) {
  if (user.empty()) value.fail("empty user name");
  if (user.find(':') != std::string::npos) {
    value.fail("a user name cannot contain \":\" (basic authentication splits on the first one)");
  }
  // Never quote the value: when it is not a hash it may well be the password itself.
  const std::string hash = value.is_null() ? "" : value.text("a bcrypt hash");
  if (hash.empty()) value.fail("empty hash");
  if (!is_bcrypt_hash(hash)) {
    value.fail(
        "not a bcrypt hash (want $2a$, $2b$ or $2y$ and 60 characters, as "
        "`htpasswd -nBC 10 \"\" | tr -d ':\\n'` prints; the value is the hash of the "
        "password, never the password)");
  }
  file.basic_auth_users.emplace(user, hash);
}

}  // namespace

bool is_bcrypt_hash(const std::string& hash) {
  static constexpr std::string_view kAlphabet =
      "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  if (hash.size() != 60) return false;
  const std::string_view prefix = std::string_view(hash).substr(0, 4);
  if (prefix != "$2a$" && prefix != "$2b$" && prefix != "$2y$") return false;
  if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9' || hash[6] != '$') {
    return false;
  }
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (std::size_t i = 7; i < hash.size(); ++i) {
    if (kAlphabet.find(hash[i]) == std::string_view::npos) return false;
  }
  // 22 characters carry the 128-bit salt and 31 the 184-bit hash, so the last character of each
  // has unused low bits that must be zero; crypt() would print a different character for any
  // other and so never match.
  const auto low_bits_zero = [](char c, std::size_t multiple) {
    return kAlphabet.find(c) % multiple == 0;
  };
  return low_bits_zero(hash[28], 16) && low_bits_zero(hash[59], 4);
}

WebConfigFile parse_web_config(const std::string& yaml_text, const std::string& base_dir) {
  // An empty file is valid and means plain HTTP without authentication, as in the toolkit.
  const ConfigNode root = ConfigNode::parse_document(yaml_text, kFlag, kFlag);
  WebConfigFile file;
  TlsKeys tls;
  root.walk({
      {"tls_server_config", [&](const ConfigNode& section) { tls = parse_tls(section, base_dir); }},
      {"http_server_config",
       [&](const ConfigNode& section) {
         section.walk({
             {"http2",
              [&](const ConfigNode& v) {
                if (v.boolean()) {
                  v.fail(
                      "not supported: the server speaks HTTP/1.1 only (remove the key or set "
                      "it to false)");
                }
              }},
             {"headers",
              [&](const ConfigNode& headers) {
                headers.entries("a mapping of header names to values",
                                [&](const std::string& name, const ConfigNode& value) {
                                  add_header(file, name, value);
                                });
              }},
         });
       }},
      {"basic_auth_users",
       [&](const ConfigNode& users) {
         users.entries("a mapping of user names to bcrypt hashes",
                       [&](const std::string& user, const ConfigNode& value) {
                         add_user(file, user, value);
                       });
       }},
      unsupported("rate_limit", "put a reverse proxy in front to limit request rates"),
  });
  file.tls = checked_tls(tls);
  return file;
}

WebConfigFile load_web_config_file(const std::string& path) {
  auto read = read_file_prefix(path, kMaxFileBytes);
  if (const auto* error = std::get_if<ReadFileError>(&read)) {
    fail("", "cannot read " + quote_if_needed(path) + ": " + error->reason);
  }
  const std::string text = std::get<std::string>(std::move(read));
  if (text.size() > kMaxFileBytes) fail("", quote_if_needed(path) + " is larger than 1 MiB");
  WebConfigFile file = parse_web_config(text, std::filesystem::path(path).parent_path().string());
  file.path = path;
  return file;
}

}  // namespace scalr_usage
