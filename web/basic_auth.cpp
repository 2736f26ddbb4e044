#include "web/basic_auth.h"

#include <crypt.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "util/text.h"  // trim_ows

namespace scalr_usage {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// The bcrypt cost of a validated hash ("$2b$10$..." -> 10).
int bcrypt_cost(const std::string& hash) { return (hash[4] - '0') * 10 + (hash[5] - '0'); }

}  // namespace

bool constant_time_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  // volatile: the compiler must not turn the loop into an early-exit compare.
  volatile unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    difference = difference | static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return difference == 0;
}

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  unsigned buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size() - padding; ++i) {
    const int value = base64_value(text[i]);
    if (value < 0) return std::nullopt;  // includes '=' anywhere but at the end
    buffer = (buffer << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

std::optional<BasicCredentials> parse_basic_authorization(std::string_view header) {
  header = trim_ows(header);
  const std::size_t space = header.find_first_of(" \t");
  if (space == std::string_view::npos || !iequals(header.substr(0, space), "Basic")) {
    return std::nullopt;
  }
  const std::optional<std::string> decoded = decode_base64(trim_ows(header.substr(space)));
  if (!decoded) return std::nullopt;
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos || decoded->find('\0') != std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

BasicAuthenticator::BasicAuthenticator(std::map<std::string, std::string> users)
    : users_(std::move(users)) {
  if (users_.empty()) throw std::invalid_argument("BasicAuthenticator needs at least one user");
  for (const auto& [user, hash] : users_) {
    if (decoy_hash_.empty() || bcrypt_cost(hash) > bcrypt_cost(decoy_hash_)) decoy_hash_ = hash;
  }
  cache_.reserve(kCacheSize);
}

bool BasicAuthenticator::verify(const std::string& password, const std::string& hash) const {
  // crypt_rn: the thread-safe crypt() of libxcrypt, which reads $2a$/$2b$/$2y$ bcrypt hashes.
  // crypt_data is large (tens of KiB): on the heap, zeroed as crypt_rn wants it the first time.
  const auto data = std::make_unique<crypt_data>();
  const std::lock_guard lock(bcrypt_mutex_);
  ++bcrypt_runs_;
  const char* result =
      crypt_rn(password.c_str(), hash.c_str(), data.get(), static_cast<int>(sizeof(crypt_data)));
  return result != nullptr && constant_time_equals(result, hash);
}

bool BasicAuthenticator::cached(const Digest& key) const {
  const std::string_view wanted(reinterpret_cast<const char*>(key.data()), key.size());
  bool found = false;
  const std::lock_guard lock(cache_mutex_);
  for (const Digest& entry : cache_) {
    // No early exit: the time must not tell which entry matched, or how close one came.
    found =
        constant_time_equals(
            std::string_view(reinterpret_cast<const char*>(entry.data()), entry.size()), wanted) ||
        found;
  }
  return found;
}

void BasicAuthenticator::remember(const Digest& key) const {
  const std::lock_guard lock(cache_mutex_);
  if (cache_.size() < kCacheSize) {
    cache_.push_back(key);
  } else {
    cache_[cache_next_] = key;
    cache_next_ = (cache_next_ + 1) % kCacheSize;
  }
}

BasicAuthenticator::Result BasicAuthenticator::authenticate(const char* authorization) const {
  if (authorization == nullptr) return {Outcome::missing, {}};
  const std::optional<BasicCredentials> credentials = parse_basic_authorization(authorization);
  if (!credentials) return {Outcome::malformed, {}};

  const auto user = users_.find(credentials->user);
  const std::string& hash = user != users_.end() ? user->second : decoy_hash_;

  // The key covers the hash too, so it can only ever vouch for this very user entry.
  std::string material = credentials->user;
  material += '\0';
  material += credentials->password;
  material += '\0';
  material += hash;
  Digest key{};
  unsigned int length = 0;
  const bool digested = EVP_Digest(material.data(), material.size(), key.data(), &length,
                                   EVP_sha256(), nullptr) == 1 &&
                        length == key.size();

  // Looked up for unknown users too (it cannot match: only existing users' keys are stored), so
  // the two cases do the same work.
  const bool hit = digested && cached(key);
  if (hit && user != users_.end()) return {Outcome::ok, credentials->user};
  const bool valid = verify(credentials->password, hash) && user != users_.end();
  if (!valid) return {Outcome::rejected, credentials->user};
  if (digested) remember(key);
  return {Outcome::ok, credentials->user};
}

std::size_t BasicAuthenticator::bcrypt_runs() const {
  const std::lock_guard lock(bcrypt_mutex_);
  return bcrypt_runs_;
}

}  // namespace scalr_usage
