#pragma once
// Reading exactly one YAML document, shared by the configuration file and the web configuration
// file, with a guard against a yaml-cpp 0.7 hang on some malformed input.

#include <yaml-cpp/yaml.h>

#include <stdexcept>
#include <string>

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

}  // namespace scalr_usage
