// The chargeback engine (chargeback/rules.h) and its config section (chargeback/config.h).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "chargeback/config.h"
#include "chargeback/rules.h"
#include "config/error.h"

namespace scalr_usage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

WorkspaceUsage workspace(std::string id, std::string name, std::string env_id, std::string env_name,
                         std::vector<std::string> tags = {}) {
  WorkspaceUsage ws;
  ws.id = std::move(id);
  ws.name = std::move(name);
  ws.environment_id = std::move(env_id);
  ws.environment_name = std::move(env_name);
  ws.tags = std::move(tags);
  return ws;
}

ChargebackRules parse(const std::string& yaml) {
  const ConfigNode root = ConfigNode::parse_document(yaml, "config.file");
  ChargebackRules rules;
  root.walk({{"chargeback", [&](const ConfigNode& v) { rules = parse_chargeback_section(v); }}});
  return rules;
}

std::string error_of(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "no error";
}

// The issue's own example, word for word.
const std::string kExample = R"(chargeback:
  labels: [team, cost_center]
  rules:
    - match: {environment_name: "prod-*"}
      set: {team: payments, cost_center: CC-100}
    - match: {workspace_name: "~^data-"}
      set: {team: data}
    - match: {workspace_tag: "team:*"}
      set: {team: "{tag:team}"}
  default: {team: unallocated}
)";

TEST(ChargebackPattern, GlobMatchesTheWholeValue) {
  const auto p = ChargebackPattern::parse("prod-*");
  EXPECT_TRUE(p.matches("prod-eu"));
  EXPECT_TRUE(p.matches("prod-"));
  EXPECT_FALSE(p.matches("preprod-eu"));
  EXPECT_FALSE(p.matches("prod"));
  const auto q = ChargebackPattern::parse("a?c*z");
  EXPECT_TRUE(q.matches("abcz"));
  EXPECT_TRUE(q.matches("abc-xyz"));
  EXPECT_FALSE(q.matches("ac-z"));
  EXPECT_TRUE(ChargebackPattern::parse("*").matches(""));
  EXPECT_FALSE(ChargebackPattern::parse("").matches("x"));
  EXPECT_TRUE(ChargebackPattern::parse("").matches(""));
  // Regex characters are literal in a glob.
  EXPECT_TRUE(ChargebackPattern::parse("a.b").matches("a.b"));
  EXPECT_FALSE(ChargebackPattern::parse("a.b").matches("axb"));
}

TEST(ChargebackPattern, GlobBacktracksWithoutBlowingUp) {
  const std::string value(5000, 'a');
  EXPECT_FALSE(ChargebackPattern::parse("*a*a*a*a*a*a*a*b").matches(value));
  EXPECT_TRUE(ChargebackPattern::parse("*a*a*a*a*a*a*a*").matches(value));
}

TEST(ChargebackPattern, TildeIsASearchedRegularExpression) {
  const auto p = ChargebackPattern::parse("~^data-");
  EXPECT_TRUE(p.matches("data-lake"));
  EXPECT_FALSE(p.matches("big-data-lake"));
  EXPECT_TRUE(ChargebackPattern::parse("~lake").matches("big-data-lake"));  // searched, not whole
  EXPECT_THROW(ChargebackPattern::parse("~(unclosed"), std::invalid_argument);
}

TEST(ChargebackTemplate, ExpandsTagsKeysAndBraces) {
  const WorkspaceUsage ws =
      workspace("ws-1", "api", "env-1", "prod-eu", {"cost-center:CC-7", "team:core", "team:zeta"});
  const auto t = ChargebackTemplate::parse("{tag:team}/{environment_name}/{{x}}/{tag:missing}.");
  EXPECT_EQ(t.expand("acc-1", ws, nullptr), "core/prod-eu/{x}/.");
  const std::string matched = "team:zeta";
  EXPECT_EQ(t.expand("acc-1", ws, &matched), "zeta/prod-eu/{x}/.");
  // A matched tag of another key does not stand in for {tag:team}.
  const std::string other = "cost-center:CC-7";
  EXPECT_EQ(ChargebackTemplate::parse("{tag:team}").expand("acc-1", ws, &other), "core");
  EXPECT_EQ(ChargebackTemplate::parse("{tag:cost-center}").expand("acc-1", ws, nullptr), "CC-7");
  EXPECT_EQ(ChargebackTemplate::parse("{account_id}:{workspace_id}").expand("acc-1", ws, nullptr),
            "acc-1:ws-1");
  EXPECT_THROW(ChargebackTemplate::parse("{nope}"), std::invalid_argument);
  EXPECT_THROW(ChargebackTemplate::parse("{workspace_tag}"), std::invalid_argument);
  EXPECT_THROW(ChargebackTemplate::parse("{tag:team"), std::invalid_argument);
  EXPECT_THROW(ChargebackTemplate::parse("x}"), std::invalid_argument);
}

TEST(ChargebackRules, TheIssueExampleFirstMatchRegexTagAndDefault) {
  const ChargebackRules rules = parse(kExample);
  ASSERT_TRUE(rules.enabled());
  EXPECT_THAT(rules.labels(), ElementsAre("team", "cost_center"));
  // Rule 0 wins over rule 1 although both match: first match wins.
  EXPECT_THAT(rules.classify("acc-1", workspace("ws-1", "data-etl", "env-1", "prod-eu")),
              ElementsAre("payments", "CC-100"));
  // Rule 1 (regex): cost_center is not set by it, so "".
  EXPECT_THAT(rules.classify("acc-1", workspace("ws-2", "data-etl", "env-2", "staging")),
              ElementsAre("data", ""));
  EXPECT_THAT(rules.classify("acc-1", workspace("ws-3", "my-data-etl", "env-2", "staging")),
              ElementsAre("unallocated", ""));
  // Rule 2: the tag's value.
  EXPECT_THAT(rules.classify("acc-1", workspace("ws-4", "web", "env-2", "staging",
                                                {"env:x", "team:frontend"})),
              ElementsAre("frontend", ""));
  // Nothing matches: the default.
  EXPECT_THAT(rules.classify("acc-1", workspace("ws-5", "web", "env-2", "staging", {"env:x"})),
              ElementsAre("unallocated", ""));
}

TEST(ChargebackRules, UnknownEnvironmentIsEmptyAndEveryKeyMustMatch) {
  const ChargebackRules rules = parse(R"(chargeback:
  labels: [team]
  rules:
    - match: {account_id: "acc-a", environment_id: ""}
      set: {team: orphans}
    - match: {account_id: "acc-a", workspace_id: "ws-?"}
      set: {team: "a-{workspace_name}"}
)");
  WorkspaceUsage unknown_env = workspace("ws-1", "one", "", "");
  unknown_env.environment_id.reset();
  unknown_env.environment_name.reset();
  EXPECT_THAT(rules.classify("acc-a", unknown_env), ElementsAre("orphans"));
  EXPECT_THAT(rules.classify("acc-a", workspace("ws-2", "two", "env-1", "e")),
              ElementsAre("a-two"));
  EXPECT_THAT(rules.classify("acc-b", workspace("ws-2", "two", "env-1", "e")), ElementsAre(""));
  EXPECT_THAT(rules.classify("acc-a", workspace("ws-22", "two", "env-1", "e")), ElementsAre(""));
}

TEST(ChargebackConfig, NoSectionOrEmptySectionIsOff) {
  EXPECT_FALSE(parse("").enabled());
  EXPECT_FALSE(parse("chargeback: {}\n").enabled());
  EXPECT_FALSE(parse("chargeback:\n").enabled());
}

TEST(ChargebackConfig, ErrorsNameTheKeyAndTheRuleIndex) {
  EXPECT_THAT(error_of("chargeback:\n  labels: [Team]\n"),
              HasSubstr("chargeback.labels[0]: \"Team\" is not a label name"));
  EXPECT_THAT(error_of("chargeback:\n  labels: [workspace_name]\n"),
              HasSubstr("chargeback.labels[0]: \"workspace_name\" is already a label"));
  EXPECT_THAT(error_of("chargeback:\n  labels: [instance]\n"), HasSubstr("chargeback.labels[0]"));
  EXPECT_THAT(error_of("chargeback:\n  labels: [__x]\n"), HasSubstr("Prometheus' own"));
  EXPECT_THAT(error_of("chargeback:\n  labels: [team, team]\n"), HasSubstr("chargeback.labels[1]"));
  EXPECT_THAT(error_of("chargeback:\n  rules: []\n"), HasSubstr("chargeback.labels: required"));
  EXPECT_THAT(
      error_of("chargeback:\n  labels: [team]\n  rules:\n    - match: {}\n      set: {team: a}\n"
               "    - match: {workspace_name: \"~(\"}\n"),
      HasSubstr("chargeback.rules[1].match.workspace_name: invalid regular expression"));
  EXPECT_THAT(
      error_of("chargeback:\n  labels: [team]\n  rules:\n    - match: {workspace_team: x}\n"),
      HasSubstr("chargeback.rules[0].match.workspace_team: unknown match key (want "
                "account_id, environment_id"));
  EXPECT_THAT(error_of("chargeback:\n  labels: [team]\n  rules:\n    - set: {teem: x}\n"),
              HasSubstr("chargeback.rules[0].set.teem: not one of chargeback.labels (team)"));
  EXPECT_THAT(error_of("chargeback:\n  labels: [team]\n  rules:\n    - set: {team: \"{tag}\"}\n"),
              HasSubstr("chargeback.rules[0].set.team: unknown placeholder {tag}"));
  EXPECT_THAT(error_of("chargeback:\n  labels: [team]\n  default: {cost: x}\n"),
              HasSubstr("chargeback.default.cost: not one of chargeback.labels"));
  EXPECT_THAT(error_of("chargeback:\n  labels: [team]\n  rules:\n    - mtach: {}\n"),
              HasSubstr("chargeback.rules[0].mtach: unknown key"));
}

TEST(ChargebackConfig, ReservedNamesIncludeEveryCsvColumnAndAreSorted) {
  const auto& reserved = reserved_chargeback_labels();
  EXPECT_TRUE(std::is_sorted(reserved.begin(), reserved.end()));
  for (const char* column : {"runs", "level", "currency", "overage_cost", "target", "job"}) {
    EXPECT_TRUE(std::binary_search(reserved.begin(), reserved.end(), column)) << column;
  }
}

}  // namespace
}  // namespace scalr_usage
