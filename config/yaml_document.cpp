#include "config/yaml_document.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <sstream>
#include <string_view>
#include <vector>

#include "util/text.h"  // has_control, quote_for_message

namespace scalr_usage {

namespace {

// Counts a stream's documents without building them, noting where each starts. yaml-cpp 0.7's
// LoadAll() never returns on some malformed input, such as a lone "," or `"a",b`: the parser
// stops consuming and LoadAll() appends empty documents until memory runs out (yaml-cpp issue
// 1040, fixed after 0.8). A document that starts where the previous one did is that loop.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  std::vector<YAML::Mark> starts;
};

[[noreturn]] void fail_syntax(const YAML::Mark& mark, std::string_view message) {
  std::string where;
  if (!mark.is_null()) {
    where =
        " at line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
  }
  // yaml-cpp puts the offending character in some messages as is ("unknown escape character: "
  // and a line break); quoted, the message stays on one line.
  const std::string reason =
      has_control(message) ? quote_for_message(message) : std::string(message);
  throw YamlDocumentError("YAML syntax error" + where + ": " + reason);
}

}  // namespace

YAML::Node load_single_yaml_document(const std::string& yaml_text) {
  std::size_t count = 0;
  try {
    std::istringstream stream(yaml_text);
    YAML::Parser parser(stream);
    DocumentCounter counter;
    while (parser.HandleNextDocument(counter)) {
      const auto& starts = counter.starts;
      if (starts.size() >= 2 && starts[starts.size() - 1].pos == starts[starts.size() - 2].pos) {
        const YAML::Mark& stuck = starts.back();
        const auto at = std::min(static_cast<std::size_t>(stuck.pos), yaml_text.size());
        fail_syntax(stuck, "unexpected " + quote_for_message(yaml_text.substr(at, 1)));
      }
    }
    count = counter.starts.size();
    if (count == 1) return YAML::Load(yaml_text);
  } catch (const YAML::Exception& error) {
    fail_syntax(error.mark, error.msg);
  }
  if (count > 1) {
    throw YamlDocumentError("has " + std::to_string(count) + " YAML documents, want one");
  }
  return YAML::Node(YAML::NodeType::Null);
}

std::string_view node_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return "a single value";
    default:
      return "no value";
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_key_message(std::string_view key, const std::vector<std::string_view>& known) {
  std::string_view closest;
  std::size_t closest_distance = 3;  // three edits or more: a different word, not a typo
  for (const std::string_view candidate : known) {
    const bool prefix = candidate.size() > key.size() && candidate.substr(0, key.size()) == key &&
                        candidate[key.size()] == '_';
    const std::size_t distance = prefix ? 1 : edit_distance(key, candidate);
    if (distance < closest_distance) {
      closest = candidate;
      closest_distance = distance;
    }
  }
  if (closest.empty()) return "unknown key";
  return "unknown key, did you mean " + std::string(closest) + "?";
}

}  // namespace scalr_usage
