#include "web/tls.h"

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <variant>

#include "config/error.h"
#include "util/read_file.h"
#include "util/text.h"  // quote_for_message, quote_if_needed

// CivetWeb 1.15 as Debian 12 packages it loads OpenSSL with dlopen("libcrypto.so") and
// dlopen("libssl.so") and looks its functions up with dlsym, written for the OpenSSL 1.1 API. On
// Debian 12 that fails twice (civetweb/civetweb#1334): the unversioned names exist only where
// libssl-dev is installed, and OpenSSL 3 has no SSL_get_peer_certificate any more (it became a
// macro for SSL_get1_peer_certificate), which CivetWeb requires, so it refuses every TLS port.
// The exporter links OpenSSL 3 itself and, here, answers exactly those two dlopen calls with the
// program's own handle, whose symbol scope holds the linked libssl.so.3 and libcrypto.so.3, and
// provides the missing function under its old name; the link exports it
// (--export-dynamic-symbol in CMakeLists.txt), since nothing else references it. Every other
// dlopen goes to the C library unchanged. SSL_get_peer_certificate always returned a new
// reference, exactly what SSL_get1_peer_certificate does, so CivetWeb's X509_free stays right.
extern "C" {

#undef SSL_get_peer_certificate
X509* SSL_get_peer_certificate(const SSL* ssl) { return SSL_get1_peer_certificate(ssl); }

void* dlopen(const char* file, int mode) noexcept {
  using DlopenFunction = void* (*)(const char*, int);
  static const DlopenFunction next =
      reinterpret_cast<DlopenFunction>(dlsym(RTLD_NEXT, "dlopen"));  // the C library's
  if (next == nullptr) return nullptr;
  if (file != nullptr &&
      (std::strcmp(file, "libssl.so") == 0 || std::strcmp(file, "libcrypto.so") == 0)) {
    return next(nullptr, mode);
  }
  return next(file, mode);
}

}  // extern "C"

namespace scalr_usage {

namespace {

struct ContextFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using Context = std::unique_ptr<SSL_CTX, ContextFree>;

[[noreturn]] void fail(std::string_view key, std::string_view message) {
  throw ConfigError("web.config.file tls_server_config." + std::string(key) + ": " +
                    std::string(message));
}

// What went wrong, from OpenSSL's whole error queue (the first entry is the root cause; the last
// is often only "PEM lib"), which is left empty so that the next check starts clean.
struct OpenSslError {
  std::string reason = "unknown OpenSSL error";
  bool key_mismatch = false;  // a key that is not the certificate's
  bool password = false;      // an encrypted key, and no passphrase to give
};

OpenSslError take_errors() {
  OpenSslError result;
  bool first = true;
  for (unsigned long code = ERR_get_error(); code != 0; code = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(code);
    const std::string_view text = reason != nullptr ? reason : "";
    if (first && !text.empty()) {
      result.reason = text;
      first = false;
    }
    result.key_mismatch =
        result.key_mismatch ||
        (ERR_GET_LIB(code) == ERR_LIB_X509 && ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH);
    // With no passphrase given, OpenSSL 3 tries an empty one: "bad decrypt".
    result.password =
        result.password || text.find("password") != std::string_view::npos || text == "bad decrypt";
  }
  return result;
}

std::string openssl_reason() { return take_errors().reason; }

// OpenSSL's messages for unreadable files are vague ("system lib"); errno's are not.
void require_readable(std::string_view key, const std::string& path) {
  const auto read = read_file_prefix(path, 0);
  if (const auto* error = std::get_if<ReadFileError>(&read)) {
    fail(key, "cannot read " + quote_if_needed(path) + ": " + error->reason);
  }
  if (std::get<std::string>(read).empty())
    fail(key, "cannot read " + quote_if_needed(path) + ": the file is empty");
}

int version_number(TlsVersion version) {
  return version == TlsVersion::tls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

// An encrypted key would otherwise make OpenSSL ask for its passphrase on the terminal.
int no_passphrase(char*, int, int, void*) { return 0; }

Context new_context() {
  Context ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) throw std::runtime_error("cannot create a TLS context: " + openssl_reason());
  return ctx;
}

void configure_protocol(SSL_CTX* ctx, const TlsServerConfig& config) {
  if (SSL_CTX_set_min_proto_version(ctx, version_number(config.min_version)) != 1) {
    fail("min_version", "not supported by OpenSSL: " + openssl_reason());
  }
  if (SSL_CTX_set_max_proto_version(ctx, version_number(config.max_version)) != 1) {
    fail("max_version", "not supported by OpenSSL: " + openssl_reason());
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (config.prefer_server_cipher_suites) {
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  } else {
    SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }
  if (!config.cipher_list.empty() &&
      SSL_CTX_set_cipher_list(ctx, config.cipher_list.c_str()) != 1) {
    fail("cipher_suites", "rejected by OpenSSL: " + openssl_reason());
  }
  if (!config.groups_list.empty() &&
      SSL_CTX_set1_groups_list(ctx, config.groups_list.c_str()) != 1) {
    fail("curve_preferences", "rejected by OpenSSL: " + openssl_reason());
  }
}

void load_certificate_and_key(SSL_CTX* ctx, const TlsServerConfig& config) {
  SSL_CTX_set_default_passwd_cb(ctx, &no_passphrase);
  require_readable("cert_file", config.cert_file);
  if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()) != 1) {
    fail("cert_file", "cannot load a PEM certificate from " + quote_if_needed(config.cert_file) +
                          ": " + openssl_reason() + " (is it a PEM certificate?)");
  }
  require_readable("key_file", config.key_file);
  const auto mismatch = [&] {
    fail("key_file", quote_if_needed(config.key_file) + " is not the key of cert_file " +
                         quote_if_needed(config.cert_file));
  };
  if (SSL_CTX_use_PrivateKey_file(ctx, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    const OpenSslError error = take_errors();
    if (error.key_mismatch) mismatch();
    fail("key_file", "cannot load a PEM private key from " + quote_if_needed(config.key_file) +
                         ": " +
                         (error.password ? "it is encrypted, and there is no way to enter its "
                                           "passphrase; decrypt it (openssl pkey -in KEY -out "
                                           "PLAIN) and keep it readable by the exporter only"
                                         : error.reason + " (is it a PEM private key?)"));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    mismatch();
  }
}

void configure_client_verification(SSL_CTX* ctx, const TlsServerConfig& config) {
  if (config.client_auth == ClientAuth::none) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return;
  }
  require_readable("client_ca_file", config.client_ca_file);
  if (SSL_CTX_load_verify_locations(ctx, config.client_ca_file.c_str(), nullptr) != 1) {
    fail("client_ca_file", "cannot load PEM CA certificates from " +
                               quote_if_needed(config.client_ca_file) + ": " + openssl_reason());
  }
  // The CA names the server sends, so a client with several certificates picks the right one.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.client_ca_file.c_str());
  if (names == nullptr) {
    fail("client_ca_file", "no CA certificate in " + quote_if_needed(config.client_ca_file) + ": " +
                               openssl_reason());
  }
  SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
  SSL_CTX_set_verify(ctx,
                     config.client_auth == ClientAuth::require_and_verify
                         ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                         : SSL_VERIFY_PEER,
                     nullptr);
}

}  // namespace

void configure_tls_context(void* ssl_ctx, const TlsServerConfig& config) {
  SSL_CTX* const ctx = static_cast<SSL_CTX*>(ssl_ctx);
  ERR_clear_error();
  configure_protocol(ctx, config);
  load_certificate_and_key(ctx, config);
  // Sessions are resumed only within the same context id; needed with client certificates.
  static constexpr std::string_view kSessionContext = "scalr-usage-exporter";
  SSL_CTX_set_session_id_context(ctx,
                                 reinterpret_cast<const unsigned char*>(kSessionContext.data()),
                                 static_cast<unsigned>(kSessionContext.size()));
  configure_client_verification(ctx, config);
}

void check_tls_config(const TlsServerConfig& config) {
  const Context ctx = new_context();
  configure_tls_context(ctx.get(), config);
}

std::string openssl_cipher_name(std::string_view iana_name) {
  const Context ctx = new_context();
  // Every suite this OpenSSL knows, not only the default list, so that a name it knows is never
  // reported unknown; "ALL" leaves out only the ones without encryption.
  if (SSL_CTX_set_cipher_list(ctx.get(), "ALL:COMPLEMENTOFALL") != 1) ERR_clear_error();
  const STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx.get());
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
    const char* standard = SSL_CIPHER_standard_name(cipher);
    if (standard == nullptr || iana_name != standard) continue;
    if (std::string_view(SSL_CIPHER_get_version(cipher)) == "TLSv1.3") {
      throw std::invalid_argument(quote_for_message(iana_name) +
                                  " is a TLS 1.3 suite; those are not configurable (as in the "
                                  "exporter-toolkit), cipher_suites applies to TLS 1.2");
    }
    return SSL_CIPHER_get_name(cipher);
  }
  throw std::invalid_argument("unknown cipher suite " + quote_for_message(iana_name) +
                              " (want an IANA name like TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
}

std::string openssl_group_name(std::string_view go_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kGroups{{
      {"CurveP256", "P-256"},
      {"CurveP384", "P-384"},
      {"CurveP521", "P-521"},
      {"X25519", "X25519"},
  }};
  for (const auto& [go, openssl] : kGroups) {
    if (go == go_name) return std::string(openssl);
  }
  throw std::invalid_argument("unknown curve " + quote_for_message(go_name) +
                              " (want CurveP256, CurveP384, CurveP521 or X25519)");
}

}  // namespace scalr_usage
