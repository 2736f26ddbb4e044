#pragma once
// HTTP basic authentication against bcrypt hashes (web config basic_auth_users), as the Prometheus
// exporter-toolkit does it: the same answer and the same bcrypt cost for a wrong password and an
// unknown user, and a cache of successful checks so that a scrape every few seconds does not pay
// bcrypt each time.

#include <array>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scalr_usage {

// Equal contents, in a time that depends on the lengths only, never on where the texts differ.
bool constant_time_equals(std::string_view a, std::string_view b);

// Strict RFC 4648 base64 (standard alphabet, padding required); nullopt for anything else.
std::optional<std::string> decode_base64(std::string_view text);

struct BasicCredentials {
  std::string user;
  std::string password;  // never log it
};

// An Authorization header's value "Basic <base64 of user:password>" (the scheme in any case);
// nullopt for another scheme, bad base64, no colon, or a NUL byte (which crypt() would cut the
// password at). The user is everything before the first colon; both are UTF-8 bytes as sent.
std::optional<BasicCredentials> parse_basic_authorization(std::string_view header);

class BasicAuthenticator {
 public:
  enum class Outcome { ok, missing, malformed, rejected };
  struct Result {
    Outcome outcome;
    std::string user;  // as sent, when the header could be parsed; for debug logs only
  };

  // users: name -> bcrypt hash, already validated (is_bcrypt_hash), at least one.
  explicit BasicAuthenticator(std::map<std::string, std::string> users);

  // Checks an Authorization header value (nullptr: no header). Thread-safe.
  Result authenticate(const char* authorization) const;

  // For tests: how many bcrypt computations ran.
  std::size_t bcrypt_runs() const;

 private:
  using Digest = std::array<unsigned char, 32>;  // SHA-256
  static constexpr std::size_t kCacheSize = 64;

  bool verify(const std::string& password, const std::string& hash) const;
  bool cached(const Digest& key) const;
  void remember(const Digest& key) const;

  const std::map<std::string, std::string> users_;
  // For an unknown user the password is checked against the costliest configured hash and the
  // answer ignored, so a request takes as long whether or not the user exists.
  std::string decoy_hash_;

  // One bcrypt at a time, as in the exporter-toolkit: bounds the CPU a flood of wrong passwords
  // can take, and cached users never wait for it.
  mutable std::mutex bcrypt_mutex_;
  mutable std::size_t bcrypt_runs_ = 0;

  // SHA-256 over user, password and hash of successful checks only (the password itself is never
  // kept), a ring of kCacheSize; searched in full with constant-time compares.
  mutable std::mutex cache_mutex_;
  mutable std::vector<Digest> cache_;
  mutable std::size_t cache_next_ = 0;
};

}  // namespace scalr_usage
