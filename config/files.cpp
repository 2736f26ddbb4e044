#include "config/files.h"

#include <stdexcept>
#include <variant>

#include "config/error.h"
#include "util/read_file.h"
#include "util/text.h"

namespace scalr_usage {

std::string shown_path(std::string_view path) {
  return has_control(path) ? quote_for_message(path) : std::string(path);
}

std::string read_configured_file(const std::string& path, std::size_t max_bytes,
                                 std::string_view key_path) {
  auto result = read_file_prefix(path, max_bytes);
  if (const auto* error = std::get_if<ReadFileError>(&result)) {
    fail_config(key_path, "cannot read " + shown_path(path) + ": " + error->reason);
  }
  return std::get<std::string>(std::move(result));
}

std::string credential_path(std::string_view key, const std::string& name, const Environment& env) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    fail_config(key, "invalid credential name " + quote_for_message(name));
  }
  const auto dir = env.find("CREDENTIALS_DIRECTORY");
  if (dir == env.end() || dir->second.empty()) {
    fail_config(key, "names credential " + quote_for_message(name) +
                         " but CREDENTIALS_DIRECTORY is not set (run under systemd with "
                         "LoadCredential=)");
  }
  return dir->second + "/" + name;
}

std::string non_empty_path(const std::string& path) {
  if (path.empty()) throw std::invalid_argument("want a file path, got \"\"");
  return path;
}

}  // namespace scalr_usage
