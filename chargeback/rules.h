#pragma once
// Chargeback: which of the user's units (team, cost centre, product) each workspace's runs are
// charged to. The `chargeback:` section (chargeback/config.h) becomes ChargebackRules; the poller
// classifies the workspaces of every snapshot with them (scalr_workspace_chargeback_info) and the
// report builder allocates each account's runs and overage cost by the resulting labels.
//
// A classification is a pure function of the rules and the workspace as the usage model knows it
// (model/usage.h): the same workspace always gets the same labels, in metrics and in reports.

#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/usage.h"

namespace scalr_usage {

// What a rule can match on. workspace_tag matches when any one of the workspace's tag names does.
enum class ChargebackKey {
  account_id,
  environment_id,
  environment_name,
  workspace_id,
  workspace_name,
  workspace_tag,
};

// "account_id", ...; parse_chargeback_key returns nullopt for any other text.
std::string_view to_string(ChargebackKey key);
std::optional<ChargebackKey> parse_chargeback_key(std::string_view text);
// Every key, in the order error messages list them.
std::string chargeback_key_list();

// A pattern as written in a rule: a glob where * is any run of characters and ? any one, matched
// against the whole value; or, with a leading ~, an ECMAScript regular expression that matches
// when it is found anywhere in the value (anchor it with ^ and $ for a whole match).
class ChargebackPattern {
 public:
  // Throws std::invalid_argument saying what is wrong (an invalid regular expression).
  static ChargebackPattern parse(std::string_view text);
  bool matches(std::string_view value) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  // Shared so that rules copy cheaply; std::regex is immutable once built and safe to use from
  // several threads at once.
  std::shared_ptr<const std::regex> regex_;
};

// The text a rule sets a label to: literal text with placeholders. {tag:KEY} is the part after
// "KEY:" of the workspace's tag the rule matched on when that tag starts with "KEY:", else of its
// first tag (by name) that does, else empty; {account_id}, {environment_id}, {environment_name},
// {workspace_id}, {workspace_name} are the workspace's own values. {{ and }} are literal braces.
class ChargebackTemplate {
 public:
  // Throws std::invalid_argument for an unknown placeholder or an unbalanced brace.
  static ChargebackTemplate parse(std::string_view text);
  // matched_tag: the tag name a workspace_tag matcher of the rule matched, if any.
  std::string expand(std::string_view account_id, const WorkspaceUsage& workspace,
                     const std::string* matched_tag) const;

 private:
  struct Piece {
    enum class Kind { literal, tag, key } kind = Kind::literal;
    std::string text;  // the literal, or the tag key
    ChargebackKey key = ChargebackKey::account_id;
  };
  std::vector<Piece> pieces_;
};

struct ChargebackRule {
  // Every matcher must match (an empty list matches every workspace).
  std::vector<std::pair<ChargebackKey, ChargebackPattern>> match;
  // Per label of ChargebackRules::labels(), in that order: what the rule sets, or nullopt to
  // leave that label "".
  std::vector<std::optional<ChargebackTemplate>> set;
};

// The label values of one workspace, in ChargebackRules::labels() order.
using ChargebackValues = std::vector<std::string>;

class ChargebackRules {
 public:
  // No chargeback: no labels, nothing classified, nothing new in metrics or reports.
  ChargebackRules() = default;
  // `fallback` (config `default:`) labels the workspaces no rule matches; it has one entry per
  // label, like a rule's `set`.
  ChargebackRules(std::vector<std::string> labels, std::vector<ChargebackRule> rules,
                  std::vector<std::optional<ChargebackTemplate>> fallback);

  bool enabled() const { return !labels_.empty(); }
  const std::vector<std::string>& labels() const { return labels_; }

  // The first rule that matches decides every label; without one, the default does. Labels
  // neither sets are "".
  ChargebackValues classify(std::string_view account_id, const WorkspaceUsage& workspace) const;

 private:
  std::vector<std::string> labels_;
  std::vector<ChargebackRule> rules_;
  std::vector<std::optional<ChargebackTemplate>> fallback_;
};

}  // namespace scalr_usage
