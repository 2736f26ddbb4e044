#pragma once
// The one YAML walker of both configuration files (--config.file and --web.config.file): a node
// with the key path that led to it, so that every error names the key, and mappings described by
// tables of known keys, so that an unknown key is simply one missing from the table. The two files
// differ only in how a message starts (ConfigNode::root's file_key).

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/error.h"

namespace scalr_usage {

class ConfigNode;

// One known key of a mapping and what to do with its value.
struct ConfigField {
  std::string_view key;
  std::function<void(const ConfigNode&)> apply;
};

// What a list may be besides a list of items.
enum class EmptyList {
  refused,  // "want X, got an empty list"
  allowed,  // [] is fine, a missing value is not
  or_null,  // [] and no value at all are both an empty list
};

class ConfigNode {
 public:
  // The top of a file. file_key, when not empty, starts every message before the key path
  // ("web.config.file tls_server_config.foo: unknown key"); it must outlive the nodes.
  static ConfigNode root(YAML::Node node, std::string_view file_key = {});
  // The root of a file's text: exactly one YAML document (config/yaml_document.h) whose top level
  // is a mapping. An empty text is an empty mapping, or fails with if_empty when that is given.
  // Errors about the document as a whole start with document_key ("config.file: is empty ...").
  static ConfigNode parse_document(const std::string& yaml_text, std::string_view document_key,
                                   std::string_view file_key = {}, std::string_view if_empty = {});

  const std::string& path() const { return path_; }
  bool is_null() const { return node_.IsNull(); }
  std::size_t size() const { return node_.size(); }

  // Throws ConfigError "<file key> <key path>: <message> (line N)"; the line helps find the key in
  // a long file, the message still starts with the key path.
  [[noreturn]] void fail(std::string_view message) const;
  // "want <wanted>, got a list" and the like.
  [[noreturn]] void fail_type(std::string_view wanted) const;
  // The same message for another key of this file, without a line ("scalr.url: required").
  [[noreturn]] void fail_at(std::string_view key_path, std::string_view message) const;

  // A scalar on one line; `wanted` describes the expected value for the error message.
  std::string text(std::string_view wanted) const;
  // A scalar that may span lines (an SQL query); tabs and line breaks are its only control
  // characters.
  std::string multiline_text(std::string_view wanted) const;

  // Runs a parser that throws std::invalid_argument, reporting its message under this key.
  template <typename Parse>
  auto parsed(std::string_view wanted, Parse parse) const {
    const std::string value = text(wanted);
    try {
      return parse(value);
    } catch (const std::invalid_argument& error) {
      fail(error.what());
    }
  }

  long long integer(long long min, long long max = std::numeric_limits<long long>::max()) const;
  // A duration like 30s or 1h30m (config/duration.h) of at least min.
  std::chrono::milliseconds duration(std::chrono::milliseconds min) const;
  // YAML 1.2 core booleans only: "yes" or "on" are not true here, as they are not in Go's YAML.
  bool boolean() const;

  // The items of a list, each with its index in the key path ("reports.schedules[0]").
  std::vector<ConfigNode> items(std::string_view wanted,
                                EmptyList empty = EmptyList::refused) const;

  // A list of distinct, non-empty strings without whitespace. accept, when given, checks each
  // word (throwing std::invalid_argument, reported at the item).
  std::vector<std::string> unique_words(
      std::string_view wanted, EmptyList empty = EmptyList::refused,
      const std::function<void(const std::string&)>& accept = {}) const;

  // A mapping whose keys are data (user names, header names): each key once, in file order.
  void entries(std::string_view wanted,
               const std::function<void(const std::string&, const ConfigNode&)>& apply) const;

  // A mapping of known keys: applies each present key's field. A missing or empty mapping (`web:`
  // with everything under it commented out) is fine: the defaults stay. An unknown key is an error
  // at its line, with a "did you mean" hint when a known key is close.
  void walk(std::span<const ConfigField> fields) const;
  void walk(std::initializer_list<ConfigField> fields) const {
    walk(std::span<const ConfigField>(fields.begin(), fields.size()));
  }

 private:
  ConfigNode(YAML::Node node, std::string path, std::string_view file_key)
      : node_(std::move(node)), path_(std::move(path)), file_key_(file_key) {}
  ConfigNode child(YAML::Node node, std::string path) const {
    return ConfigNode(std::move(node), std::move(path), file_key_);
  }
  std::string child_path(std::string_view key) const;
  // Calls visit(key, node of the key, node of the value, first time the key is seen) per entry.
  using EntryVisitor =
      std::function<void(const std::string&, const ConfigNode&, const ConfigNode&, bool)>;
  void each_entry(std::string_view wanted, const EntryVisitor& visit) const;

  YAML::Node node_;
  std::string path_;
  std::string_view file_key_;
};

}  // namespace scalr_usage
