#pragma once
// The web configuration file (--web.config.file): TLS and basic authentication for the HTTP
// listener, in the format of the Prometheus exporter-toolkit
// (https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md), so the
// file an operator already writes for node_exporter works here. Settings the toolkit has and this
// exporter cannot honour are errors, never silently ignored.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace scalr_usage {

enum class TlsVersion { tls12, tls13 };

// tls_server_config.client_auth_type. Only the modes that verify a certificate the client sends;
// RequestClientCert and RequireAnyClientCert accept any certificate and are refused at load.
enum class ClientAuth {
  none,                // NoClientCert
  verify_if_given,     // VerifyClientCertIfGiven
  require_and_verify,  // RequireAndVerifyClientCert
};

struct TlsServerConfig {
  std::string cert_file;  // PEM, the server certificate first, then any intermediates
  std::string key_file;   // PEM private key of cert_file's first certificate
  ClientAuth client_auth = ClientAuth::none;
  std::string client_ca_file;  // PEM CA bundle; set exactly when client_auth != none
  TlsVersion min_version = TlsVersion::tls12;
  TlsVersion max_version = TlsVersion::tls13;
  // cipher_suites as OpenSSL's cipher list ("ECDHE-RSA-AES128-GCM-SHA256:..."), translated from
  // the IANA names of the file; empty: OpenSSL's defaults. TLS 1.2 only, like the toolkit.
  std::string cipher_list;
  bool prefer_server_cipher_suites = true;
  // curve_preferences as an OpenSSL groups list ("X25519:P-256"); empty: OpenSSL's defaults.
  std::string groups_list;

  bool operator==(const TlsServerConfig&) const = default;
};

struct WebConfigFile {
  std::string path;                    // as given to --web.config.file, for log lines
  std::optional<TlsServerConfig> tls;  // absent: plain HTTP
  // user name -> bcrypt hash ($2a$, $2b$ or $2y$); empty: no authentication.
  std::map<std::string, std::string> basic_auth_users;
  // http_server_config.headers with a value, added to every response.
  std::vector<std::pair<std::string, std::string>> headers;

  bool operator==(const WebConfigFile&) const = default;
};

// Reads and validates the file: YAML, every key, the bcrypt hashes, and with TLS the certificate,
// key and CA files themselves (readable, PEM, key matching the certificate) by building the TLS
// context once. Throws ConfigError, one line starting with "web.config.file", then the key path
// when a key is at fault, e.g. "web.config.file tls_server_config.foo: unknown key".
// Relative file paths in the file are relative to the file's directory, as in the toolkit.
WebConfigFile load_web_config_file(const std::string& path);
// The same from text; relative file paths are taken relative to base_dir (empty: as they are).
WebConfigFile parse_web_config(const std::string& yaml_text, const std::string& base_dir = "");

// Whether `hash` is a bcrypt hash libxcrypt reads and can ever match: $2a$, $2b$ or $2y$, a cost
// from 04 to 31, and 53 characters of bcrypt's base64 with canonical final characters.
bool is_bcrypt_hash(const std::string& hash);

}  // namespace scalr_usage
