#pragma once
// The error every configuration problem becomes: one line that starts with the key at fault.

#include <stdexcept>
#include <string>
#include <string_view>

namespace scalr_usage {

// Thrown for any invalid configuration. what() is one line that starts with the key path, for
// example "scalr.timeout: invalid duration \"3x\" (want e.g. 30s, 5m, 1h)".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws ConfigError "<key_path>: <message>".
[[noreturn]] inline void fail_config(std::string_view key_path, std::string_view message) {
  throw ConfigError(std::string(key_path) + ": " + std::string(message));
}

}  // namespace scalr_usage
