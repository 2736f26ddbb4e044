#pragma once
// A value that must never be printed: tokens, DSNs with passwords.

#include <string>
#include <utility>

namespace scalr_usage {

// It has no stream operator and no implicit conversion, so a secret can only reach a log line
// through an explicit reveal().
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  std::string value_;
};

}  // namespace scalr_usage
