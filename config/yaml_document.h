#pragma once
// What the configuration file and the web configuration file share in reading YAML: exactly one
// document (with a guard against a yaml-cpp 0.7 hang on some malformed input), and the small
// pieces their one-line error messages are made of.

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace scalr_usage {

// A YAML syntax error or more than one document; what() is one line without a key path, for the
// caller to prefix with the file's key ("config.file: YAML syntax error at line 3, ...").
class YamlDocumentError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The single document of yaml_text; a Null node for an empty text (or a document that is only
// "~"). Throws YamlDocumentError.
YAML::Node load_single_yaml_document(const std::string& yaml_text);

// "a list", "a mapping", "a single value" or "no value", for "want X, got Y" messages.
std::string_view node_kind(const YAML::Node& node);

// Levenshtein distance, for "did you mean" hints on misspelt keys.
std::size_t edit_distance(std::string_view a, std::string_view b);

// "unknown key", or "unknown key, did you mean K?" with K the known key closest to key: within two
// edits, or one that key is the first word of (`listen` for `listen_address`).
std::string unknown_key_message(std::string_view key, const std::vector<std::string_view>& known);

}  // namespace scalr_usage
