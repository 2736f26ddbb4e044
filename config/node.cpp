#include "config/node.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "config/duration.h"
#include "config/yaml_document.h"
#include "util/text.h"

namespace scalr_usage {

ConfigNode ConfigNode::root(YAML::Node node, std::string_view file_key) {
  return ConfigNode(std::move(node), "", file_key);
}

ConfigNode ConfigNode::parse_document(const std::string& yaml_text, std::string_view document_key,
                                      std::string_view file_key, std::string_view if_empty) {
  YAML::Node document;
  try {
    document = load_single_yaml_document(yaml_text);
  } catch (const YamlDocumentError& error) {
    fail_config(document_key, error.what());
  }
  if (document.IsNull()) {
    if (!if_empty.empty()) fail_config(document_key, if_empty);
    document = YAML::Node(YAML::NodeType::Map);
  }
  if (!document.IsMap()) {
    fail_config(document_key,
                "want a mapping of keys at the top level, got " + std::string(node_kind(document)));
  }
  return root(std::move(document), file_key);
}

void ConfigNode::fail_at(std::string_view key_path, std::string_view message) const {
  std::string where(file_key_);
  if (!key_path.empty()) where += (where.empty() ? "" : " ") + std::string(key_path);
  fail_config(where, message);
}

void ConfigNode::fail(std::string_view message) const {
  const YAML::Mark mark = node_.Mark();
  std::string text(message);
  if (!mark.is_null()) text += " (line " + std::to_string(mark.line + 1) + ")";
  fail_at(path_, text);
}

void ConfigNode::fail_type(std::string_view wanted) const {
  fail("want " + std::string(wanted) + ", got " + std::string(node_kind(node_)));
}

std::string ConfigNode::text(std::string_view wanted) const {
  if (!node_.IsScalar()) fail_type(wanted);
  if (has_control(node_.Scalar())) fail("want " + std::string(wanted) + " on a single line");
  return node_.Scalar();
}

std::string ConfigNode::multiline_text(std::string_view wanted) const {
  if (!node_.IsScalar()) fail_type(wanted);
  const std::string& value = node_.Scalar();
  if (std::any_of(value.begin(), value.end(),
                  [](char c) { return is_control(c) && c != '\n' && c != '\r' && c != '\t'; })) {
    fail("want " + std::string(wanted) + " without control characters");
  }
  return value;
}

long long ConfigNode::integer(long long min, long long max) const {
  const std::string wanted =
      max == std::numeric_limits<long long>::max()
          ? "an integer of at least " + std::to_string(min)
          : "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  const std::string value = text(wanted);
  long long number = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (error != std::errc() || end != value.data() + value.size() || number < min || number > max) {
    fail("want " + wanted + ", got " + quote_for_message(value));
  }
  return number;
}

std::chrono::milliseconds ConfigNode::duration(std::chrono::milliseconds min) const {
  const std::chrono::milliseconds value = parsed("a duration like 30s, 5m or 1h", parse_duration);
  if (value < min) {
    // A minimum of 1ms just means "positive"; say so rather than show an odd-looking bound.
    fail(min == std::chrono::milliseconds{1}
             ? "must be greater than 0s"
             : "must be at least " + format_duration(min) + ", got " + format_duration(value));
  }
  return value;
}

bool ConfigNode::boolean() const {
  const std::string value = text("true or false");
  if (value == "true" || value == "True" || value == "TRUE") return true;
  if (value == "false" || value == "False" || value == "FALSE") return false;
  fail("want true or false, got " + quote_for_message(value));
}

std::vector<ConfigNode> ConfigNode::items(std::string_view wanted, EmptyList empty) const {
  std::vector<ConfigNode> items;
  if (empty == EmptyList::or_null && node_.IsNull()) return items;
  if (!node_.IsSequence()) fail_type(wanted);
  if (node_.size() == 0 && empty == EmptyList::refused) {
    fail("want " + std::string(wanted) + ", got an empty list");
  }
  for (std::size_t index = 0; index < node_.size(); ++index) {
    items.push_back(child(node_[index], path_ + "[" + std::to_string(index) + "]"));
  }
  return items;
}

std::vector<std::string> ConfigNode::unique_words(
    std::string_view wanted, EmptyList empty,
    const std::function<void(const std::string&)>& accept) const {
  std::vector<std::string> words;
  for (const ConfigNode& item : items(wanted, empty)) {
    std::string word = item.text("a string");
    if (word.empty()) item.fail("must not be empty");
    if (std::any_of(word.begin(), word.end(), is_space)) item.fail("must not contain whitespace");
    if (accept) {
      item.parsed("a string", [&](const std::string& w) {
        accept(w);
        return 0;
      });
    }
    if (std::find(words.begin(), words.end(), word) != words.end()) {
      item.fail("duplicate " + quote_for_message(word));
    }
    words.push_back(std::move(word));
  }
  return words;
}

void ConfigNode::each_entry(std::string_view wanted, const EntryVisitor& visit) const {
  if (node_.IsNull()) return;
  if (!node_.IsMap()) fail_type(wanted);
  std::set<std::string> seen;
  for (const auto& entry : node_) {
    const std::string key = child(entry.first, path_).text("a plain key");
    const ConfigNode key_at = child(entry.first, child_path(key));  // errors point at the key
    visit(key, key_at, child(entry.second, key_at.path()), seen.insert(key).second);
  }
}

void ConfigNode::entries(
    std::string_view wanted,
    const std::function<void(const std::string&, const ConfigNode&)>& apply) const {
  each_entry(wanted, [&](const std::string& key, const ConfigNode& key_at, const ConfigNode& value,
                         bool first) {
    if (!first) key_at.fail("duplicate key");
    apply(key, value);
  });
}

void ConfigNode::walk(std::span<const ConfigField> fields) const {
  each_entry("a mapping of keys", [&](const std::string& key, const ConfigNode& key_at,
                                      const ConfigNode& value, bool first) {
    const auto field = std::find_if(fields.begin(), fields.end(),
                                    [&](const ConfigField& known) { return known.key == key; });
    if (field == fields.end()) {
      std::vector<std::string_view> known;
      for (const ConfigField& candidate : fields) known.push_back(candidate.key);
      key_at.fail(unknown_key_message(key, known));
    }
    if (!first) key_at.fail("duplicate key");
    field->apply(value);
  });
}

std::string ConfigNode::child_path(std::string_view key) const {
  const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return is_alnum(c) || c == '_' || c == '-';
  });
  const std::string segment = plain ? std::string(key) : quote_for_message(key);
  return path_.empty() ? segment : path_ + "." + segment;
}

}  // namespace scalr_usage
