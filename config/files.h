#pragma once
// Files a configuration names (secrets, CA bundles) and systemd credentials, read with errors
// that name the key which named the file.

#include <cstddef>
#include <string>
#include <string_view>

#include "config/environment.h"

namespace scalr_usage {

// Big enough for any real token or DSN, small enough that a wrong path such as /dev/zero fails at
// once.
inline constexpr std::size_t kMaxSecretBytes = 64 << 10;

// A path as the user typed it, unless it would break the one-line message.
std::string shown_path(std::string_view path);

// At most max_bytes + 1 bytes of a regular file (util/read_file.h), so a caller can tell "too
// large". Throws ConfigError "<key_path>: cannot read <path>: <reason>".
std::string read_configured_file(const std::string& path, std::size_t max_bytes,
                                 std::string_view key_path);

// systemd's LoadCredential=NAME:... puts the secret in $CREDENTIALS_DIRECTORY/NAME; naming the
// credential in the config keeps the path (which embeds the unit name) out of it. Throws
// ConfigError at key for an invalid name or when CREDENTIALS_DIRECTORY is not set.
std::string credential_path(std::string_view key, const std::string& name, const Environment& env);

// Throws std::invalid_argument for "" (a config value parser).
std::string non_empty_path(const std::string& path);

}  // namespace scalr_usage
