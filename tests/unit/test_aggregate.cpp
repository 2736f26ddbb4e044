#include "model/aggregate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace scalr_usage {
namespace {

using namespace std::chrono;

const Period kNovember =
    month_containing(Seconds{sys_days{year{2026} / 11 / 15}.time_since_epoch()});

year_month_day nov(unsigned day) { return year{2026} / 11 / std::chrono::day{day}; }

WorkspaceDayRow row(std::string account, std::string env, std::string env_name, std::string ws,
                    std::string ws_name, year_month_day date, std::uint64_t runs,
                    std::uint64_t seconds) {
  return WorkspaceDayRow{std::move(account),
                         std::move(env),
                         std::move(env_name),
                         std::move(ws),
                         std::move(ws_name),
                         date,
                         runs,
                         seconds};
}

TEST(Aggregate, NoRowsGivesZeros) {
  const AccountUsage usage = aggregate_account("acc-1", kNovember, {});
  EXPECT_EQ(usage.account_id, "acc-1");
  EXPECT_EQ(usage.period, kNovember);
  EXPECT_EQ(usage.total, (UsageCounts{0, 0}));
  EXPECT_TRUE(usage.environments.empty());
  EXPECT_TRUE(usage.workspaces.empty());
  EXPECT_TRUE(usage.daily.empty());
}

TEST(Aggregate, SumsEveryLevelAndSortsLikeTheModelSays) {
  const std::vector<WorkspaceDayRow> rows = {
      row("acc-1", "env-b", "Staging", "ws-3", "api", nov(2), 2, 20),
      row("acc-1", "env-a", "Prod", "ws-2", "db", nov(1), 1, 100),
      row("acc-1", "env-a", "Prod", "ws-1", "net", nov(2), 3, 30),
      row("acc-1", "env-a", "Prod", "ws-1", "net", nov(1), 4, 40),
      row("acc-2", "env-z", "Other", "ws-9", "x", nov(1), 50, 5000),  // another account
  };
  const AccountUsage usage = aggregate_account("acc-1", kNovember, rows);
  EXPECT_EQ(usage.total, (UsageCounts{10, 190}));

  ASSERT_EQ(usage.environments.size(), 2u);
  EXPECT_EQ(usage.environments[0].id, "env-a");
  EXPECT_EQ(usage.environments[0].name, "Prod");
  EXPECT_EQ(usage.environments[0].usage, (UsageCounts{8, 170}));
  EXPECT_EQ(usage.environments[1].id, "env-b");
  EXPECT_EQ(usage.environments[1].usage, (UsageCounts{2, 20}));

  ASSERT_EQ(usage.workspaces.size(), 3u);
  EXPECT_EQ(usage.workspaces[0].id, "ws-1");
  EXPECT_EQ(usage.workspaces[0].name, "net");
  EXPECT_EQ(usage.workspaces[0].environment_id, "env-a");
  EXPECT_EQ(usage.workspaces[0].environment_name, "Prod");
  EXPECT_EQ(usage.workspaces[0].usage, (UsageCounts{7, 70}));
  EXPECT_EQ(usage.workspaces[1].id, "ws-2");
  EXPECT_EQ(usage.workspaces[1].usage, (UsageCounts{1, 100}));
  EXPECT_EQ(usage.workspaces[2].id, "ws-3");
  EXPECT_EQ(usage.workspaces[2].environment_id, "env-b");
  EXPECT_EQ(usage.workspaces[2].environment_name, "Staging");

  ASSERT_EQ(usage.daily.size(), 2u);
  EXPECT_EQ(usage.daily[0].date, nov(1));
  EXPECT_EQ(usage.daily[0].usage, (UsageCounts{5, 140}));
  EXPECT_EQ(usage.daily[1].date, nov(2));
  EXPECT_EQ(usage.daily[1].usage, (UsageCounts{5, 50}));
}

TEST(Aggregate, RepeatedWorkspaceDayRowsAreSummed) {
  // A custom query may return several rows for one workspace and day (say, one per run).
  const std::vector<WorkspaceDayRow> rows = {
      row("acc-1", "env-a", "A", "ws-1", "w", nov(3), 1, 10),
      row("acc-1", "env-a", "A", "ws-1", "w", nov(3), 1, 11),
      row("acc-1", "env-a", "A", "ws-1", "w", nov(3), 1, 12),
  };
  const AccountUsage usage = aggregate_account("acc-1", kNovember, rows);
  ASSERT_EQ(usage.workspaces.size(), 1u);
  EXPECT_EQ(usage.workspaces[0].usage, (UsageCounts{3, 33}));
  ASSERT_EQ(usage.daily.size(), 1u);
  EXPECT_EQ(usage.daily[0].usage, (UsageCounts{3, 33}));
}

TEST(Aggregate, NamesComeFromTheLatestRowThatHasOne) {
  const std::vector<WorkspaceDayRow> rows = {
      row("acc-1", "env-a", "", "ws-1", "", nov(9), 1, 1),  // latest, but without names
      row("acc-1", "env-a", "new-env", "ws-1", "renamed", nov(5), 1, 1),
      row("acc-1", "env-a", "old-env", "ws-1", "original", nov(1), 1, 1),
  };
  const AccountUsage usage = aggregate_account("acc-1", kNovember, rows);
  EXPECT_EQ(usage.environments.at(0).name, "new-env");
  EXPECT_EQ(usage.workspaces.at(0).name, "renamed");
  EXPECT_EQ(usage.workspaces.at(0).environment_name, "new-env");
}

TEST(Aggregate, WithoutAnyNameTheNamesAreEmpty) {
  const std::vector<WorkspaceDayRow> rows = {row("acc-1", "env-a", "", "ws-1", "", nov(1), 1, 1)};
  const AccountUsage usage = aggregate_account("acc-1", kNovember, rows);
  EXPECT_EQ(usage.environments.at(0).name, "");
  EXPECT_EQ(usage.workspaces.at(0).name, "");
  EXPECT_EQ(usage.workspaces.at(0).environment_id, "env-a");
  EXPECT_EQ(usage.workspaces.at(0).environment_name, "");
}

TEST(Aggregate, AWorkspaceThatMovedBelongsToItsLatestEnvironment) {
  const std::vector<WorkspaceDayRow> rows = {
      row("acc-1", "env-old", "Old", "ws-1", "w", nov(1), 1, 10),
      row("acc-1", "env-new", "New", "ws-1", "w", nov(2), 2, 20),
  };
  const AccountUsage usage = aggregate_account("acc-1", kNovember, rows);
  ASSERT_EQ(usage.workspaces.size(), 1u);
  EXPECT_EQ(usage.workspaces[0].environment_id, "env-new");
  EXPECT_EQ(usage.workspaces[0].environment_name, "New");
  EXPECT_EQ(usage.workspaces[0].usage, (UsageCounts{3, 30}));
  // Environment totals stay sums of their own rows.
  ASSERT_EQ(usage.environments.size(), 2u);
  EXPECT_EQ(usage.environments[0].usage, (UsageCounts{2, 20}));
  EXPECT_EQ(usage.environments[1].usage, (UsageCounts{1, 10}));
}

TEST(Aggregate, SameDayConflictsResolveIndependentlyOfRowOrder) {
  std::vector<WorkspaceDayRow> rows = {
      row("acc-1", "env-b", "B", "ws-1", "zeta", nov(4), 1, 1),
      row("acc-1", "env-a", "A", "ws-1", "alpha", nov(4), 1, 1),
  };
  const AccountUsage forward = aggregate_account("acc-1", kNovember, rows);
  std::reverse(rows.begin(), rows.end());
  const AccountUsage backward = aggregate_account("acc-1", kNovember, rows);
  EXPECT_EQ(forward.workspaces.at(0).name, "alpha");
  EXPECT_EQ(forward.workspaces.at(0).environment_id, "env-a");
  EXPECT_EQ(backward.workspaces.at(0).name, forward.workspaces.at(0).name);
  EXPECT_EQ(backward.workspaces.at(0).environment_id, forward.workspaces.at(0).environment_id);
}

// --- the account's name and the workspaces' tags (the optional columns) -------------------------

using Tags = std::vector<std::string>;

WorkspaceDayRow named(std::string ws, year_month_day date, std::string account_name,
                      std::optional<Tags> tags) {
  WorkspaceDayRow r = row("acc-1", "env-a", "A", std::move(ws), "w", date, 1, 10);
  r.account_name = std::move(account_name);
  r.workspace_tags = std::move(tags);
  return r;
}

TEST(Aggregate, WithoutTheOptionalColumnsTheNameIsEmptyAndThereAreNoTags) {
  const std::vector<WorkspaceDayRow> rows = {row("acc-1", "env-a", "A", "ws-1", "w", nov(3), 1, 1)};
  const AccountUsage usage = aggregate_account("acc-1", kNovember, rows);
  EXPECT_EQ(usage.account_name, "");
  ASSERT_EQ(usage.workspaces.size(), 1u);
  EXPECT_TRUE(usage.workspaces[0].tags.empty());
}

TEST(Aggregate, AccountNameComesFromTheLatestRowThatHasOneOverAllWorkspaces) {
  const std::vector<WorkspaceDayRow> rows = {
      named("ws-2", nov(20), "", std::nullopt),  // latest, but without a name
      named("ws-1", nov(12), "Renamed Ltd", std::nullopt),
      named("ws-2", nov(3), "Original Ltd", std::nullopt),
      named("ws-1", nov(1), "Original Ltd", std::nullopt),
  };
  EXPECT_EQ(aggregate_account("acc-1", kNovember, rows).account_name, "Renamed Ltd");
  // Another account's name never leaks in, however late its rows.
  std::vector<WorkspaceDayRow> mixed = rows;
  WorkspaceDayRow other = named("ws-9", nov(30), "Other Inc", std::nullopt);
  other.account_id = "acc-2";
  mixed.push_back(other);
  EXPECT_EQ(aggregate_account("acc-1", kNovember, mixed).account_name, "Renamed Ltd");
  EXPECT_EQ(aggregate_account("acc-2", kNovember, mixed).account_name, "Other Inc");
}

TEST(Aggregate, TagsComeFromTheWorkspacesLatestRowThatHasTags) {
  const std::vector<WorkspaceDayRow> rows = {
      named("ws-1", nov(1), "", Tags{"team:data"}),
      named("ws-1", nov(9), "", std::nullopt),  // latest row of ws-1, says nothing of tags
      named("ws-1", nov(5), "", Tags{"cost-center:CC-100", "team:payments"}),
      named("ws-2", nov(2), "", Tags{"team:web"}),
      named("ws-2", nov(7), "", Tags{}),  // ws-2's tags were removed on the 7th
      named("ws-3", nov(4), "", std::nullopt),
  };
  const AccountUsage usage = aggregate_account("acc-1", kNovember, rows);
  ASSERT_EQ(usage.workspaces.size(), 3u);
  EXPECT_EQ(usage.workspaces[0].tags, (Tags{"cost-center:CC-100", "team:payments"}));
  EXPECT_EQ(usage.workspaces[1].tags, Tags{});
  EXPECT_EQ(usage.workspaces[2].tags, Tags{});
  // Tags are a workspace's own: the usage is still summed over all its rows.
  EXPECT_EQ(usage.workspaces[0].usage, (UsageCounts{3, 30}));
}

TEST(Aggregate, SameDayNameAndTagConflictsResolveToTheSmallerValueInAnyOrder) {
  std::vector<WorkspaceDayRow> rows = {
      named("ws-1", nov(8), "Zeta GmbH", Tags{"team:web"}),
      named("ws-1", nov(8), "Alpha AG", Tags{"team:data", "tier:gold"}),
      named("ws-2", nov(8), "Beta SA", Tags{}),
      named("ws-1", nov(2), "Aardvark (older)", Tags{"a"}),
  };
  for (int order = 0; order < 2; ++order) {
    const AccountUsage usage = aggregate_account("acc-1", kNovember, rows);
    EXPECT_EQ(usage.account_name, "Alpha AG") << order;
    // ["team:data", "tier:gold"] < ["team:web"]: compared element by element.
    EXPECT_EQ(usage.workspaces.at(0).tags, (Tags{"team:data", "tier:gold"})) << order;
    std::reverse(rows.begin(), rows.end());
  }
}

// Many random rows over several accounts: every level is checked against sums computed here
// independently, straight from the rows.
TEST(Aggregate, RandomRowsAddUpAtEveryLevel) {
  std::mt19937 random(20261127);
  std::uniform_int_distribution<int> pick(0, 1000000);
  std::vector<WorkspaceDayRow> rows;
  for (int i = 0; i < 5000; ++i) {
    const int account = pick(random) % 3;
    const int env = pick(random) % 4;
    const int ws = env * 10 + pick(random) % 10;
    rows.push_back(row("acc-" + std::to_string(account), "env-" + std::to_string(env),
                       "E" + std::to_string(env), "ws-" + std::to_string(ws),
                       "W" + std::to_string(ws), nov(1 + static_cast<unsigned>(pick(random) % 30)),
                       static_cast<std::uint64_t>(pick(random) % 20),
                       static_cast<std::uint64_t>(pick(random))));
  }
  for (const std::string account : {"acc-0", "acc-1", "acc-2"}) {
    UsageCounts total;
    std::map<std::string, UsageCounts> by_env;
    std::map<std::string, UsageCounts> by_ws;
    std::map<unsigned, UsageCounts> by_day;
    for (const auto& r : rows) {
      if (r.account_id != account) continue;
      const UsageCounts c{r.runs, r.run_seconds};
      total += c;
      by_env[r.environment_id] += c;
      by_ws[r.workspace_id] += c;
      by_day[static_cast<unsigned>(r.date.day())] += c;
    }
    const AccountUsage usage = aggregate_account(account, kNovember, rows);
    EXPECT_EQ(usage.total, total);
    ASSERT_EQ(usage.environments.size(), by_env.size());
    for (const auto& env : usage.environments) EXPECT_EQ(env.usage, by_env.at(env.id)) << env.id;
    ASSERT_EQ(usage.workspaces.size(), by_ws.size());
    for (const auto& ws : usage.workspaces) EXPECT_EQ(ws.usage, by_ws.at(ws.id)) << ws.id;
    ASSERT_EQ(usage.daily.size(), by_day.size());
    for (const auto& day : usage.daily) {
      EXPECT_EQ(day.usage, by_day.at(static_cast<unsigned>(day.date.day())));
    }
    EXPECT_TRUE(std::is_sorted(usage.environments.begin(), usage.environments.end(),
                               [](const auto& a, const auto& b) { return a.id < b.id; }));
    EXPECT_TRUE(std::is_sorted(usage.workspaces.begin(), usage.workspaces.end(),
                               [](const auto& a, const auto& b) { return a.id < b.id; }));
    EXPECT_TRUE(std::is_sorted(
        usage.daily.begin(), usage.daily.end(),
        [](const auto& a, const auto& b) { return sys_days{a.date} < sys_days{b.date}; }));
  }
}

}  // namespace
}  // namespace scalr_usage
