// The `scalr.targets` list: per-target settings that default from the `scalr:` block, names,
// tokens, discovery, and an account polled through one target only.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <variant>

#include "daemon/config_file.h"

namespace scalr_usage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kSecret = "tok-ESTATE-42";

Environment env() { return {{"ACME_TOKEN", kSecret}, {"TOWER_TOKEN", "tower-secret"}}; }

const std::vector<ScalrTarget>& targets_of(const Config& config) {
  return std::get<ScalrApiConfig>(config.source).targets;
}

std::string rejected(const std::string& yaml) {
  try {
    parse_config(yaml, env());
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), Not(HasSubstr(kSecret)));
    return error.what();
  }
  ADD_FAILURE() << "accepted:\n" << yaml;
  return "";
}

const std::string kTwoTargets =
    "scalr:\n"
    "  page_size: 7\n"
    "  max_concurrency: 2\n"
    "  retry: {max_attempts: 2}\n"
    "  targets:\n"
    "    - name: acme\n"
    "      url: https://acme.scalr.io\n"
    "      token_env: ACME_TOKEN\n"
    "      accounts: [acc-a, acc-b]\n"
    "      max_requests_per_second: 0\n"
    "    - name: tower\n"
    "      url: https://tower.scalr.io/\n"
    "      token_env: TOWER_TOKEN\n"
    "      discover: true\n"
    "      exclude_accounts: [acc-sandbox]\n"
    "      page_size: 50\n";

TEST(ConfigTargets, SettingsDefaultFromTheBlockAndTargetsOverrideThem) {
  const Config config = parse_config(kTwoTargets, env());
  const auto& targets = targets_of(config);
  ASSERT_EQ(targets.size(), 2u);
  const ScalrTarget& acme = targets[0];
  EXPECT_EQ(acme.name, "acme");
  EXPECT_EQ(acme.url, "https://acme.scalr.io");
  EXPECT_EQ(acme.token.reveal(), kSecret);
  EXPECT_EQ(acme.token_origin, "env ACME_TOKEN");
  EXPECT_THAT(acme.accounts, ElementsAre("acc-a", "acc-b"));
  EXPECT_EQ(acme.page_size, 7);                // from the block
  EXPECT_EQ(acme.max_concurrency, 2u);         // from the block
  EXPECT_EQ(acme.retry.max_attempts, 2);       // from the block
  EXPECT_EQ(acme.max_requests_per_second, 0);  // its own
  EXPECT_FALSE(acme.discover);
  const ScalrTarget& tower = targets[1];
  EXPECT_EQ(tower.url, "https://tower.scalr.io");
  EXPECT_TRUE(tower.discover);
  EXPECT_TRUE(tower.accounts.empty());
  EXPECT_THAT(tower.exclude_accounts, ElementsAre("acc-sandbox"));
  EXPECT_EQ(tower.page_size, 50);                // its own
  EXPECT_EQ(tower.max_requests_per_second, 10);  // the default
  // Each target has its own politeness budget, shared by every source made from this config.
  ASSERT_TRUE(acme.gate && tower.gate);
  EXPECT_NE(acme.gate, tower.gate);
  EXPECT_EQ(tower.gate->max_concurrency(), 2u);
  EXPECT_EQ(tower.gate->burst(), 2.0);
}

TEST(ConfigTargets, TheBlockAloneIsTheDefaultTarget) {
  const Config config = parse_config("scalr:\n  url: https://x.scalr.io\n  accounts: [acc-1]\n",
                                     {{"SCALR_TOKEN", "t"}});
  ASSERT_EQ(targets_of(config).size(), 1u);
  EXPECT_EQ(targets_of(config)[0].name, "default");
  EXPECT_EQ(targets_of(config)[0].max_concurrency, 4u);
  EXPECT_EQ(targets_of(config)[0].max_requests_per_second, 10);
}

TEST(ConfigTargets, TheSameAccountUnderTwoTargetsNamesBoth) {
  std::string yaml = kTwoTargets;
  yaml.replace(yaml.find("discover: true\n      exclude_accounts: [acc-sandbox]"),
               std::string("discover: true\n      exclude_accounts: [acc-sandbox]").size(),
               "accounts: [acc-c, acc-b]");
  const std::string message = rejected(yaml);
  EXPECT_THAT(message, StartsWith("scalr.targets[1].accounts: acc-b is also under "
                                  "scalr.targets[0] (acme)"));
}

TEST(ConfigTargets, NamesAreRequiredValidAndUnique) {
  std::string unnamed = kTwoTargets;
  const std::string named = "    - name: tower\n      url";
  unnamed.replace(unnamed.find(named), named.size(), "    - url");
  EXPECT_THAT(rejected(unnamed), StartsWith("scalr.targets[1].name: required"));

  std::string twice = kTwoTargets;
  twice.replace(twice.find("name: tower"), 11, "name: acme");
  EXPECT_THAT(rejected(twice),
              StartsWith("scalr.targets[1].name: \"acme\" is also the name of scalr.targets[0]"));

  std::string upper = kTwoTargets;
  upper.replace(upper.find("name: tower"), 11, "name: Tower");
  EXPECT_THAT(rejected(upper), StartsWith("scalr.targets[1].name: want 1 to 64 of a-z 0-9 _ -"));
}

TEST(ConfigTargets, PerTargetKeysAreNotDefaults) {
  EXPECT_THAT(rejected("scalr:\n  url: https://x.scalr.io\n" + kTwoTargets.substr(7)),
              StartsWith("scalr.url: not with scalr.targets"));
}

TEST(ConfigTargets, EachTargetNeedsAUrlAndAToken) {
  std::string no_url = kTwoTargets;
  no_url.replace(no_url.find("      url: https://acme.scalr.io\n"), 33, "");
  EXPECT_THAT(rejected(no_url), StartsWith("scalr.targets[0].url: required"));

  std::string no_token = kTwoTargets;
  no_token.replace(no_token.find("      token_env: ACME_TOKEN\n"), 28, "");
  EXPECT_THAT(rejected(no_token), StartsWith("scalr.targets[0].token_file: no token: set "
                                             "token_file, token_credential or token_env"));

  std::string unset = kTwoTargets;
  unset.replace(unset.find("ACME_TOKEN"), 10, "NOPE_TOKEN");
  EXPECT_THAT(rejected(unset),
              StartsWith("scalr.targets[0].token_env: environment variable NOPE_TOKEN is not set"));

  std::string both = kTwoTargets;
  both.replace(both.find("      token_env: ACME_TOKEN\n"), 0, "      token_file: /nonexistent\n");
  EXPECT_THAT(rejected(both), StartsWith("scalr.targets[0].token_env: set only one of"));
}

TEST(ConfigTargets, DiscoveryAndAccountsAreExclusive) {
  std::string both = kTwoTargets;
  both.replace(both.find("      discover: true\n"), 21,
               "      discover: true\n      accounts: [x]\n");
  EXPECT_THAT(rejected(both), StartsWith("scalr.targets[1].accounts: not with discover: true"));

  std::string exclude_alone = kTwoTargets;
  exclude_alone.replace(exclude_alone.find("      accounts: [acc-a, acc-b]\n"), 31,
                        "      accounts: [acc-a]\n      exclude_accounts: [acc-b]\n");
  EXPECT_THAT(rejected(exclude_alone),
              StartsWith("scalr.targets[0].exclude_accounts: only with discover: true"));
}

TEST(ConfigTargets, BoundsAndUnknownKeysNameTheTarget) {
  std::string zero = kTwoTargets;
  zero.replace(zero.find("max_requests_per_second: 0"), 26, "max_concurrency: 0");
  EXPECT_THAT(rejected(zero), StartsWith("scalr.targets[0].max_concurrency: "));

  std::string typo = kTwoTargets;
  typo.replace(typo.find("page_size: 50"), 13, "page_sise: 50");
  EXPECT_THAT(rejected(typo), StartsWith("scalr.targets[1].page_sise: unknown key"));

  EXPECT_THAT(rejected("scalr:\n  targets: []\n"), StartsWith("scalr.targets: "));
}

TEST(ConfigTargets, EnrichmentDefaultsOnHourlyAndIsInheritedFromTheBlock) {
  const Config defaults = parse_config(kTwoTargets, env());
  for (const ScalrTarget& target : targets_of(defaults)) {
    EXPECT_TRUE(target.enrich_workspaces) << target.name;
    EXPECT_EQ(target.enrich_interval, std::chrono::hours{1}) << target.name;
  }
  std::string yaml = kTwoTargets;
  yaml.replace(yaml.find("  targets:\n"), 0,
               "  enrich_interval: 10m\n  enrich_workspaces: false\n");
  yaml += "      enrich_workspaces: true\n";  // the tower's own
  const Config config = parse_config(yaml, env());
  const ScalrTarget& acme = targets_of(config)[0];
  const ScalrTarget& tower = targets_of(config)[1];
  EXPECT_FALSE(acme.enrich_workspaces);  // from the block
  EXPECT_TRUE(tower.enrich_workspaces);  // its own
  EXPECT_EQ(acme.enrich_interval, std::chrono::minutes{10});
  EXPECT_EQ(tower.enrich_interval, std::chrono::minutes{10});
  // Each target has its own cache, shared like its gate by every source made from this config.
  ASSERT_TRUE(acme.cache && tower.cache);
  EXPECT_NE(acme.cache, tower.cache);
}

TEST(ConfigTargets, EnrichmentKeysAreCheckedAndNamed) {
  std::string short_interval = kTwoTargets;
  short_interval += "      enrich_interval: 30s\n";
  EXPECT_THAT(rejected(short_interval),
              StartsWith("scalr.targets[1].enrich_interval: must be at least 1m, got 30s"));
  EXPECT_THAT(rejected("scalr:\n  enrich_workspaces: maybe\n" + kTwoTargets.substr(7)),
              StartsWith("scalr.enrich_workspaces: want true or false"));
  EXPECT_THAT(rejected("scalr:\n  enrich_interval: soon\n" + kTwoTargets.substr(7)),
              StartsWith("scalr.enrich_interval: "));
}

}  // namespace
}  // namespace scalr_usage
