#include <gtest/gtest.h>

#include <deque>
#include <optional>
#include <thread>
#include <variant>

#include "daemon/poller.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;

const Clock::time_point kNow = sys_days{year{2026} / 11 / 27} + 14h;

// A source whose answers the test scripts per account, in order.
class ScriptedSource final : public UsageSource {
 public:
  using Answer = std::variant<UsageCounts, SourceError>;
  explicit ScriptedSource(RequestObserver& observer) : observer_(observer) {}

  std::vector<std::string> accounts(const Period&, std::stop_token) override {
    if (listing_delay.count() > 0) std::this_thread::sleep_for(listing_delay);
    if (accounts_error) throw *accounts_error;
    return accounts_;
  }
  std::vector<std::string> configured_accounts() const override { return configured; }

  AccountUsage fetch(const std::string& account_id, const Period& period,
                     std::stop_token stop) override {
    observer_.on_response("", 200, 0.01);
    seen_periods.push_back(period);
    if (stop.stop_requested()) throw SourceError(ErrorReason::cancelled, "stopped");
    auto& queue = script[account_id];
    Answer answer = queue.front();
    if (queue.size() > 1) queue.pop_front();
    if (auto* error = std::get_if<SourceError>(&answer)) throw *error;
    AccountUsage usage;
    usage.account_id = account_id;
    usage.period = period;
    usage.total = std::get<UsageCounts>(answer);
    usage.workspaces.push_back({"ws-" + account_id, "w", std::nullopt, std::nullopt, usage.total});
    return usage;
  }

  std::vector<std::string> accounts_{"acc-a", "acc-b"};
  std::vector<std::string> configured;
  std::optional<SourceError> accounts_error;
  milliseconds listing_delay{0};
  std::map<std::string, std::deque<Answer>> script;
  std::vector<Period> seen_periods;

 private:
  RequestObserver& observer_;
};

class PollerTest : public ::testing::Test {
 protected:
  PollerTest()
      : store_(BuildInfo{"t", "t"}),
        poller_(
            {minutes{5}, [] { return kNow; }},
            [this](RequestObserver& observer) {
              auto source = std::make_unique<ScriptedSource>(observer);
              source_ = source.get();
              return source;
            },
            store_) {}

  const AccountState& state(const std::string& account) {
    return store_.snapshot()->accounts.at(account);
  }

  SnapshotStore store_;
  ScriptedSource* source_ = nullptr;
  Poller poller_;
};

TEST_F(PollerTest, SuccessPublishesUsageForTheCurrentMonth) {
  source_->script["acc-a"] = {UsageCounts{3, 30}};
  source_->script["acc-b"] = {UsageCounts{5, 50}};
  EXPECT_FALSE(store_.snapshot()->first_poll_done);
  poller_.poll_once({});
  const auto snapshot = store_.snapshot();
  EXPECT_TRUE(snapshot->first_poll_done);
  EXPECT_TRUE(state("acc-a").up);
  EXPECT_EQ(state("acc-a").usage->total, (UsageCounts{3, 30}));
  EXPECT_EQ(state("acc-b").usage->total, (UsageCounts{5, 50}));
  EXPECT_EQ(source_->seen_periods.at(0), month_containing(floor<seconds>(kNow)));
  EXPECT_EQ(snapshot->api_requests.at("").by_code.at(200), 2u);
  EXPECT_NE(store_.exposition()->text.find("scalr_account_runs_total{account_id=\"acc-b\"} 5"),
            std::string::npos);
}

TEST_F(PollerTest, FailureKeepsLastGoodValuesAndCountsTheReason) {
  source_->script["acc-a"] = {UsageCounts{3, 30}, SourceError(ErrorReason::server_error, "503"),
                              SourceError(ErrorReason::server_error, "503")};
  source_->script["acc-b"] = {UsageCounts{5, 50}};
  poller_.poll_once({});
  poller_.poll_once({});
  poller_.poll_once({});
  EXPECT_FALSE(state("acc-a").up);
  EXPECT_EQ(state("acc-a").last_error_reason, ErrorReason::server_error);
  ASSERT_TRUE(state("acc-a").usage);
  EXPECT_EQ(state("acc-a").usage->total, (UsageCounts{3, 30}));
  EXPECT_EQ(store_.snapshot()->poll_errors.at({"acc-a", ErrorReason::server_error}), 2u);
  EXPECT_TRUE(state("acc-b").up);
}

TEST_F(PollerTest, RecoveryBringsTheAccountBackUpWithNewValues) {
  source_->script["acc-a"] = {SourceError(ErrorReason::unauthorized, "401"), UsageCounts{9, 90}};
  source_->script["acc-b"] = {UsageCounts{1, 1}};
  poller_.poll_once({});
  EXPECT_FALSE(state("acc-a").up);
  EXPECT_FALSE(state("acc-a").usage);
  EXPECT_FALSE(state("acc-a").last_success_unix_seconds);
  poller_.poll_once({});
  EXPECT_TRUE(state("acc-a").up);
  EXPECT_EQ(state("acc-a").usage->total.runs, 9u);
  EXPECT_DOUBLE_EQ(*state("acc-a").last_success_unix_seconds,
                   duration<double>(kNow.time_since_epoch()).count());
}

TEST_F(PollerTest, AccountsThatLeaveTheSourceLeaveTheSnapshot) {
  source_->script["acc-a"] = {UsageCounts{1, 1}};
  source_->script["acc-b"] = {UsageCounts{1, 1}};
  poller_.poll_once({});
  source_->accounts_ = {"acc-b"};
  poller_.poll_once({});
  EXPECT_FALSE(store_.snapshot()->accounts.contains("acc-a"));
  EXPECT_TRUE(store_.snapshot()->accounts.contains("acc-b"));
}

TEST_F(PollerTest, StopMidPollIsNotCountedAsAnError) {
  source_->script["acc-a"] = {UsageCounts{1, 1}};
  source_->script["acc-b"] = {UsageCounts{1, 1}};
  std::stop_source stop;
  stop.request_stop();
  poller_.poll_once(stop.get_token());
  EXPECT_TRUE(store_.snapshot()->poll_errors.empty());
  EXPECT_FALSE(store_.snapshot()->first_poll_done);
}

TEST_F(PollerTest, SourceUpFollowsTheLastCycle) {
  EXPECT_FALSE(store_.snapshot()->source_up);  // unknown before the first cycle
  EXPECT_EQ(store_.exposition()->text.find("scalr_exporter_source_up"), std::string::npos);
  source_->script["acc-a"] = {UsageCounts{1, 1}, SourceError(ErrorReason::timeout, "slow"),
                              UsageCounts{2, 2}};
  source_->script["acc-b"] = {UsageCounts{1, 1}, SourceError(ErrorReason::timeout, "slow"),
                              UsageCounts{2, 2}};
  poller_.poll_once({});
  EXPECT_EQ(store_.snapshot()->source_up, true);
  EXPECT_NE(store_.exposition()->text.find("\nscalr_exporter_source_up 1\n"), std::string::npos);
  poller_.poll_once({});  // every fetch failed: the source was not reached
  EXPECT_EQ(store_.snapshot()->source_up, false);
  EXPECT_NE(store_.exposition()->text.find("\nscalr_exporter_source_up 0\n"), std::string::npos);
  poller_.poll_once({});
  EXPECT_EQ(store_.snapshot()->source_up, true);
  source_->accounts_error = SourceError(ErrorReason::database, "down");
  poller_.poll_once({});
  EXPECT_EQ(store_.snapshot()->source_up, false);
}

TEST_F(PollerTest, ListingFailureFailsEveryKnownAccountAndKeepsItsValues) {
  source_->script["acc-a"] = {UsageCounts{3, 30}};
  source_->script["acc-b"] = {UsageCounts{5, 50}};
  poller_.poll_once({});
  source_->accounts_error = SourceError(ErrorReason::database, "connection refused");
  poller_.poll_once({});
  poller_.poll_once({});
  for (const char* account : {"acc-a", "acc-b"}) {
    EXPECT_FALSE(state(account).up);
    EXPECT_EQ(state(account).last_error_reason, ErrorReason::database);
    ASSERT_TRUE(state(account).usage);
    EXPECT_EQ(store_.snapshot()->poll_errors.at({account, ErrorReason::database}), 2u);
  }
  EXPECT_EQ(state("acc-b").usage->total, (UsageCounts{5, 50}));
}

TEST_F(PollerTest, ListingTimeCountsInEachAccountsPollDuration) {
  source_->script["acc-a"] = {UsageCounts{1, 1}};
  source_->script["acc-b"] = {UsageCounts{1, 1}};
  source_->listing_delay = milliseconds{30};
  poller_.poll_once({});
  EXPECT_GE(*state("acc-a").last_poll_duration_seconds, 0.03);
  EXPECT_GE(*state("acc-b").last_poll_duration_seconds, 0.03);
}

// A poller whose source names its accounts in the configuration but cannot list them (a database
// down since start): each configured account is still exposed, down, with its error counted.
TEST(PollerConfiguredAccounts, AreDownFromTheStartWhenTheSourceCannotBeListed) {
  SnapshotStore store(BuildInfo{"t", "t"});
  Poller poller(
      {minutes{5}, [] { return kNow; }},
      [](RequestObserver& observer) {
        auto source = std::make_unique<ScriptedSource>(observer);
        source->configured = {"acc-x", "acc-y"};
        source->accounts_error = SourceError(ErrorReason::database, "connection refused");
        return source;
      },
      store);
  poller.poll_once({});
  const auto snapshot = store.snapshot();
  EXPECT_TRUE(snapshot->first_poll_done);
  EXPECT_EQ(snapshot->source_up, false);
  ASSERT_EQ(snapshot->accounts.size(), 2u);
  for (const char* account : {"acc-x", "acc-y"}) {
    EXPECT_FALSE(snapshot->accounts.at(account).up);
    EXPECT_FALSE(snapshot->accounts.at(account).usage);
    EXPECT_EQ(snapshot->poll_errors.at({account, ErrorReason::database}), 1u);
  }
  const std::string text = store.exposition()->text;
  EXPECT_NE(text.find("scalr_up{account_id=\"acc-x\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(
      text.find("scalr_exporter_poll_errors_total{account_id=\"acc-y\",reason=\"database\"} 1\n"),
      std::string::npos);
}

TEST(PollerConfiguredAccounts, WithoutAnyTheSourceGaugeStillTells) {
  SnapshotStore store(BuildInfo{"t", "t"});
  Poller poller(
      {minutes{5}, [] { return kNow; }},
      [](RequestObserver& observer) {
        auto source = std::make_unique<ScriptedSource>(observer);
        source->accounts_error = SourceError(ErrorReason::database, "connection refused");
        return source;
      },
      store);
  poller.poll_once({});
  EXPECT_TRUE(store.snapshot()->accounts.empty());
  EXPECT_TRUE(store.snapshot()->first_poll_done);
  EXPECT_NE(store.exposition()->text.find("\nscalr_exporter_source_up 0\n"), std::string::npos);
}

// Shard 1 of 2 polls and shows only its accounts, both those the source lists each cycle and those
// it knows from the configuration before any listing. FNV-1a 64 of the ids, worked out apart from
// this code: acc-a ...4cfc and acc-c ...5062 are even (shard 0), acc-b ...5215, acc-d ...47e3 and
// acc-x ...4117 are odd (shard 1), acc-y ...3f64 is even.
TEST(PollerShard, PollsAndShowsOnlyItsOwnAccounts) {
  SnapshotStore store(BuildInfo{"t", "t"});
  ScriptedSource* made = nullptr;
  Poller::Options options{minutes{5}, [] { return kNow; }};
  options.shard = ShardSpec{1, 2};
  Poller poller(
      options,
      [&made](RequestObserver& observer) {
        auto source = std::make_unique<ScriptedSource>(observer);
        source->configured = {"acc-x", "acc-y"};
        source->accounts_ = {"acc-a", "acc-b", "acc-c", "acc-d"};
        for (const char* id : {"acc-a", "acc-b", "acc-c", "acc-d"}) {
          source->script[id] = {UsageCounts{1, 60}};
        }
        made = source.get();
        return source;
      },
      store);
  poller.poll_once({});
  const auto snapshot = store.snapshot();
  std::vector<std::string> shown;
  for (const auto& [id, state] : snapshot->accounts) shown.push_back(id);
  EXPECT_EQ(shown, (std::vector<std::string>{"acc-b", "acc-d"}));
  // The other shard's accounts were never fetched, not merely hidden: one fetch per own account.
  EXPECT_EQ(made->seen_periods.size(), 2u);
}

TEST(PollerShard, ConfiguredAccountsOfOtherShardsAreNotShownWhenListingFails) {
  SnapshotStore store(BuildInfo{"t", "t"});
  Poller::Options options{minutes{5}, [] { return kNow; }};
  options.shard = ShardSpec{1, 2};
  Poller poller(
      options,
      [](RequestObserver& observer) {
        auto source = std::make_unique<ScriptedSource>(observer);
        source->configured = {"acc-x", "acc-y"};
        source->accounts_error = SourceError(ErrorReason::database, "connection refused");
        return source;
      },
      store);
  poller.poll_once({});
  const auto snapshot = store.snapshot();
  ASSERT_EQ(snapshot->accounts.size(), 1u);
  EXPECT_TRUE(snapshot->accounts.contains("acc-x"));
  EXPECT_FALSE(snapshot->accounts.at("acc-x").up);
}

// Accounts that complete together are published together: one rendering per cycle, not one per
// account; with no gap, each account is published as it completes, and the end of the cycle once
// more (for the cycle's duration and the targets' state).
TEST(PollerPublication, FastAccountsShareOnePublicationPerCycle) {
  for (const auto& [gap, publications_per_cycle] :
       {std::pair{hours{1}, 1u}, std::pair{hours{0}, 6u}}) {
    SnapshotStore store(BuildInfo{"t", "t"});
    ScriptedSource* source = nullptr;
    Poller poller(
        {minutes{5}, [] { return kNow; }, gap},
        [&](RequestObserver& observer) {
          auto made = std::make_unique<ScriptedSource>(observer);
          source = made.get();
          return made;
        },
        store);
    source->accounts_ = {"acc-1", "acc-2", "acc-3", "acc-4", "acc-5"};
    for (const auto& account : source->accounts_) {
      source->script[account] = {UsageCounts{1, 10}};
    }
    poller.poll_once({});  // the first cycle also publishes first_poll_done and source_up
    const auto before = store.snapshot()->generation;
    poller.poll_once({});
    EXPECT_EQ(store.snapshot()->generation - before, publications_per_cycle) << gap.count();
    for (const auto& account : source->accounts_) {
      EXPECT_TRUE(store.snapshot()->accounts.at(account).usage) << account;
    }
  }
}

TEST_F(PollerTest, RunReturnsPromptlyWhenStopped) {
  source_->script["acc-a"] = {UsageCounts{1, 1}};
  source_->script["acc-b"] = {UsageCounts{1, 1}};
  std::jthread thread([this](std::stop_token stop) { poller_.run(stop); });
  while (!store_.snapshot()->first_poll_done) std::this_thread::sleep_for(1ms);
  const auto before = steady_clock::now();
  thread.request_stop();
  thread.join();
  // The interval is five minutes; returning at all shows the wait was interrupted.
  EXPECT_LT(steady_clock::now() - before, 60s);
}

}  // namespace
}  // namespace scalr_usage

namespace scalr_usage {
namespace {

// A reload replaces the poller; the new one must keep serving the old one's values and counters.
TEST(PollerReplacement, ContinuesFromWhatTheStoreHolds) {
  SnapshotStore store(BuildInfo{"t", "t"});
  auto make = [](ScriptedSource::Answer answer) {
    return [answer](RequestObserver& observer) {
      auto source = std::make_unique<ScriptedSource>(observer);
      source->accounts_ = {"acc-a"};
      source->script["acc-a"] = {answer};
      return source;
    };
  };
  Poller first({std::chrono::minutes{5}, [] { return kNow; }}, make(UsageCounts{4, 40}), store);
  first.poll_once({});
  Poller second({std::chrono::minutes{5}, [] { return kNow; }},
                make(SourceError(ErrorReason::timeout, "slow")), store);
  second.poll_once({});
  const auto snapshot = store.snapshot();
  EXPECT_EQ(snapshot->accounts.at("acc-a").usage->total, (UsageCounts{4, 40}));
  EXPECT_FALSE(snapshot->accounts.at("acc-a").up);
  EXPECT_EQ(snapshot->api_requests.at("").by_code.at(200), 2u);  // both pollers' requests
  EXPECT_EQ(snapshot->poll_errors.at({"acc-a", ErrorReason::timeout}), 1u);
}

TEST(PollerHeartbeat, IdleIsResponsive) {
  SnapshotStore store(BuildInfo{"t", "t"});
  Poller poller(
      {std::chrono::minutes{5}, [] { return kNow; }},
      [](RequestObserver& observer) { return std::make_unique<ScriptedSource>(observer); }, store);
  EXPECT_TRUE(poller.responsive(std::chrono::seconds{0}));
}

}  // namespace
}  // namespace scalr_usage

namespace scalr_usage {
namespace {

// A source whose fetch blocks until stopped: the poll loop is "stuck" for the watchdog.
class BlockingSource final : public UsageSource {
 public:
  std::vector<std::string> accounts(const Period&, std::stop_token) override { return {"acc"}; }
  AccountUsage fetch(const std::string&, const Period&, std::stop_token stop) override {
    while (!stop.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
    throw SourceError(ErrorReason::cancelled, "stopped");
  }
};

TEST(PollerHeartbeat, ACycleRunningLongerThanAllowedIsUnresponsive) {
  using namespace std::chrono_literals;
  SnapshotStore store(BuildInfo{"t", "t"});
  Poller poller(
      {std::chrono::minutes{5}, [] { return kNow; }},
      [](RequestObserver&) { return std::make_unique<BlockingSource>(); }, store);
  std::jthread thread([&poller](std::stop_token stop) { poller.run(stop); });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(poller.responsive(10ms));
  EXPECT_TRUE(poller.responsive(std::chrono::hours{1}));
  thread.request_stop();
}

}  // namespace
}  // namespace scalr_usage

namespace scalr_usage {
namespace {

ChargebackRules team_rules(std::string team_of_a) {
  ChargebackRule rule;
  rule.match.emplace_back(ChargebackKey::account_id, ChargebackPattern::parse("acc-a"));
  rule.set.emplace_back(ChargebackTemplate::parse(team_of_a));
  return ChargebackRules({"team"}, {rule}, {ChargebackTemplate::parse("other-{workspace_id}")});
}

// The snapshot carries each workspace's chargeback values, the exposition the info series; a
// poller made by a reload with other rules relabels what the store holds before it polls again.
TEST(PollerChargeback, SnapshotsCarryTheRulesValuesAndAReloadRelabels) {
  SnapshotStore store(BuildInfo{"t", "t"});
  const auto make_poller = [&](ChargebackRules rules, bool a_fails = false) {
    return std::make_unique<Poller>(
        Poller::Options{
            .interval = minutes{5}, .now = [] { return kNow; }, .chargeback = std::move(rules)},
        [a_fails](RequestObserver& observer) {
          auto source = std::make_unique<ScriptedSource>(observer);
          source->script["acc-a"] = {UsageCounts{3, 30}};
          if (a_fails) source->script["acc-a"] = {SourceError(ErrorReason::server_error, "503")};
          source->script["acc-b"] = {UsageCounts{5, 50}};
          return source;
        },
        store);
  };
  make_poller(team_rules("payments"))->poll_once({});
  auto snapshot = store.snapshot();
  EXPECT_EQ(snapshot->chargeback_labels, (std::vector<std::string>{"team"}));
  EXPECT_EQ(snapshot->accounts.at("acc-a").chargeback.at("ws-acc-a"),
            (std::vector<std::string>{"payments"}));
  EXPECT_EQ(snapshot->accounts.at("acc-b").chargeback.at("ws-acc-b"),
            (std::vector<std::string>{"other-ws-acc-b"}));
  EXPECT_NE(store.exposition()->text.find(
                "scalr_workspace_chargeback_info{account_id=\"acc-a\",workspace_id=\"ws-acc-a\","
                "team=\"payments\"} 1"),
            std::string::npos)
      << store.exposition()->text;

  // The reload's poller relabels the kept usage itself: acc-a's poll fails after the reload, so
  // only that can give it the new value.
  make_poller(team_rules("platform"), true)->poll_once({});
  EXPECT_FALSE(store.snapshot()->accounts.at("acc-a").up);
  EXPECT_EQ(store.snapshot()->accounts.at("acc-a").chargeback.at("ws-acc-a"),
            (std::vector<std::string>{"platform"}));

  // Chargeback off: no values, no info family.
  make_poller(ChargebackRules{})->poll_once({});
  EXPECT_TRUE(store.snapshot()->chargeback_labels.empty());
  EXPECT_TRUE(store.snapshot()->accounts.at("acc-a").chargeback.empty());
  EXPECT_EQ(store.exposition()->text.find("scalr_workspace_chargeback_info"), std::string::npos);
}

}  // namespace
}  // namespace scalr_usage
