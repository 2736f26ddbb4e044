#pragma once
// TLS for the HTTP listener with OpenSSL: the SSL_CTX set up from tls_server_config (CivetWeb
// hands us its context through its init_ssl callback), the translations of the exporter-toolkit's
// Go names, and the shim that lets Debian 12's CivetWeb load OpenSSL 3 at all (see tls.cpp).

#include <string>
#include <string_view>

#include "web/web_config.h"

namespace scalr_usage {

// Sets up `ssl_ctx` (an SSL_CTX*, void* to keep OpenSSL's headers out) completely: versions,
// ciphers, groups, certificate chain, key, client verification. Throws ConfigError
// "web.config.file tls_server_config.<key>: ..." naming the file or setting at fault; never
// includes key material.
void configure_tls_context(void* ssl_ctx, const TlsServerConfig& config);

// configure_tls_context() on a throwaway context: what load_web_config_file() runs, so a bad
// certificate or key fails --check-config and the start, before anything listens.
void check_tls_config(const TlsServerConfig& config);

// OpenSSL's name of a TLS 1.2 cipher suite given by its IANA name as the toolkit takes it
// ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" -> "ECDHE-RSA-AES128-GCM-SHA256"). Throws
// std::invalid_argument for an unknown name or a TLS 1.3 suite (not configurable, as in Go).
std::string openssl_cipher_name(std::string_view iana_name);

// OpenSSL's group name for a Go curve name (CurveP256 -> P-256, X25519 -> X25519). Throws
// std::invalid_argument for any other name.
std::string openssl_group_name(std::string_view go_name);

}  // namespace scalr_usage
