#include "chargeback/rules.h"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace scalr_usage {

namespace {

constexpr std::array kKeys = {
    std::pair{ChargebackKey::account_id, std::string_view("account_id")},
    std::pair{ChargebackKey::environment_id, std::string_view("environment_id")},
    std::pair{ChargebackKey::environment_name, std::string_view("environment_name")},
    std::pair{ChargebackKey::workspace_id, std::string_view("workspace_id")},
    std::pair{ChargebackKey::workspace_name, std::string_view("workspace_name")},
    std::pair{ChargebackKey::workspace_tag, std::string_view("workspace_tag")},
};

// Iterative glob with one backtrack point: linear in practice and no recursion on hostile input
// (a pattern of many stars against a long name).
bool glob_matches(std::string_view pattern, std::string_view value) {
  std::size_t p = 0, v = 0;
  std::size_t star = std::string_view::npos, resume = 0;
  while (v < value.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == value[v])) {
      ++p;
      ++v;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = v;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      v = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string_view value_of(ChargebackKey key, std::string_view account_id,
                          const WorkspaceUsage& workspace) {
  switch (key) {
    case ChargebackKey::account_id:
      return account_id;
    case ChargebackKey::environment_id:
      return workspace.environment_id ? std::string_view(*workspace.environment_id) : "";
    case ChargebackKey::environment_name:
      return workspace.environment_name ? std::string_view(*workspace.environment_name) : "";
    case ChargebackKey::workspace_id:
      return workspace.id;
    case ChargebackKey::workspace_name:
      return workspace.name;
    case ChargebackKey::workspace_tag:
      break;  // many values: matched tag by tag, expanded through {tag:KEY}
  }
  return "";
}

// The value after "KEY:" of the matched tag if it has that key, else of the first tag that does.
std::string tag_value(std::string_view tag_key, const WorkspaceUsage& workspace,
                      const std::string* matched_tag) {
  const auto value_after = [&](std::string_view tag) -> std::optional<std::string> {
    if (tag.size() > tag_key.size() && tag.substr(0, tag_key.size()) == tag_key &&
        tag[tag_key.size()] == ':') {
      return std::string(tag.substr(tag_key.size() + 1));
    }
    return std::nullopt;
  };
  if (matched_tag) {
    if (auto value = value_after(*matched_tag)) return *value;
  }
  for (const std::string& tag : workspace.tags) {
    if (auto value = value_after(tag)) return *value;
  }
  return "";
}

}  // namespace

std::string_view to_string(ChargebackKey key) {
  for (const auto& [k, name] : kKeys) {
    if (k == key) return name;
  }
  return "?";
}

std::optional<ChargebackKey> parse_chargeback_key(std::string_view text) {
  for (const auto& [key, name] : kKeys) {
    if (name == text) return key;
  }
  return std::nullopt;
}

std::string chargeback_key_list() {
  std::string list;
  for (std::size_t i = 0; i < kKeys.size(); ++i) {
    if (i > 0) list += i + 1 == kKeys.size() ? " or " : ", ";
    list += kKeys[i].second;
  }
  return list;
}

ChargebackPattern ChargebackPattern::parse(std::string_view text) {
  ChargebackPattern pattern;
  pattern.text_ = std::string(text);
  if (!text.empty() && text.front() == '~') {
    try {
      pattern.regex_ =
          std::make_shared<const std::regex>(std::string(text.substr(1)), std::regex::ECMAScript);
    } catch (const std::regex_error& error) {
      throw std::invalid_argument("invalid regular expression \"" + std::string(text.substr(1)) +
                                  "\": " + error.what());
    }
  }
  return pattern;
}

bool ChargebackPattern::matches(std::string_view value) const {
  if (regex_) return std::regex_search(value.begin(), value.end(), *regex_);
  return glob_matches(text_, value);
}

ChargebackTemplate ChargebackTemplate::parse(std::string_view text) {
  ChargebackTemplate result;
  std::string literal;
  const auto flush = [&] {
    if (!literal.empty()) result.pieces_.push_back(Piece{Piece::Kind::literal, literal, {}});
    literal.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      literal.push_back(c);
      ++i;
    } else if (c == '}') {
      throw std::invalid_argument("unmatched \"}\" (write \"}}\" for a literal brace)");
    } else if (c == '{') {
      const std::size_t close = text.find('}', i);
      if (close == std::string_view::npos) {
        throw std::invalid_argument("unclosed \"{\" (write \"{{\" for a literal brace)");
      }
      const std::string_view name = text.substr(i + 1, close - i - 1);
      flush();
      if (name.substr(0, 4) == "tag:" && name.size() > 4) {
        result.pieces_.push_back(Piece{Piece::Kind::tag, std::string(name.substr(4)), {}});
      } else if (const auto key = parse_chargeback_key(name);
                 key && *key != ChargebackKey::workspace_tag) {
        result.pieces_.push_back(Piece{Piece::Kind::key, {}, *key});
      } else {
        throw std::invalid_argument(
            "unknown placeholder {" + std::string(name) +
            "} (want {tag:KEY}, {account_id}, {environment_id}, {environment_name}, "
            "{workspace_id} or {workspace_name})");
      }
      i = close;
    } else {
      literal.push_back(c);
    }
  }
  flush();
  return result;
}

std::string ChargebackTemplate::expand(std::string_view account_id, const WorkspaceUsage& workspace,
                                       const std::string* matched_tag) const {
  std::string out;
  for (const Piece& piece : pieces_) {
    switch (piece.kind) {
      case Piece::Kind::literal:
        out += piece.text;
        break;
      case Piece::Kind::tag:
        out += tag_value(piece.text, workspace, matched_tag);
        break;
      case Piece::Kind::key:
        out += value_of(piece.key, account_id, workspace);
        break;
    }
  }
  return out;
}

ChargebackRules::ChargebackRules(std::vector<std::string> labels, std::vector<ChargebackRule> rules,
                                 std::vector<std::optional<ChargebackTemplate>> fallback)
    : labels_(std::move(labels)), rules_(std::move(rules)), fallback_(std::move(fallback)) {
  fallback_.resize(labels_.size());
  for (ChargebackRule& rule : rules_) rule.set.resize(labels_.size());
}

ChargebackValues ChargebackRules::classify(std::string_view account_id,
                                           const WorkspaceUsage& workspace) const {
  const auto expand_all = [&](const std::vector<std::optional<ChargebackTemplate>>& set,
                              const std::string* matched_tag) {
    ChargebackValues values(labels_.size());
    for (std::size_t i = 0; i < labels_.size(); ++i) {
      if (set[i]) values[i] = set[i]->expand(account_id, workspace, matched_tag);
    }
    return values;
  };
  for (const ChargebackRule& rule : rules_) {
    const std::string* matched_tag = nullptr;
    const bool all_match =
        std::all_of(rule.match.begin(), rule.match.end(), [&](const auto& matcher) {
          // Not a structured binding: clang 14 cannot capture one in the lambda below.
          const ChargebackKey key = matcher.first;
          const ChargebackPattern& pattern = matcher.second;
          if (key != ChargebackKey::workspace_tag) {
            return pattern.matches(value_of(key, account_id, workspace));
          }
          // Tags are sorted, so "the matching tag" is the first by name: deterministic.
          const auto tag = std::find_if(workspace.tags.begin(), workspace.tags.end(),
                                        [&](const std::string& t) { return pattern.matches(t); });
          if (tag == workspace.tags.end()) return false;
          if (!matched_tag) matched_tag = &*tag;
          return true;
        });
    if (all_match) return expand_all(rule.set, matched_tag);
  }
  return expand_all(fallback_, nullptr);
}

}  // namespace scalr_usage
