// Several targets: a control tower's discovery, names, routing between targets, concurrent
// fetches bounded per target, and the poller's per-target state.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "collectors/scalr_api/multi_target_source.h"
#include "collectors/scalr_api/scalr_api_source.h"
#include "daemon/concurrent_fetch.h"
#include "daemon/poller.h"
#include "model/period.h"

namespace scalr_usage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using json = nlohmann::json;
using namespace std::chrono_literals;

const Period kOctober = days(std::chrono::year{2026} / 10 / 1, std::chrono::year{2026} / 10 / 31);

// Answers like the stand-in: breakdown_by=account lists `children` (filtered to filter[account]
// when given); an unbroken-down request gets one row of 1 run for its account, the other
// breakdowns none.
class TowerTransport final : public HttpTransport {
 public:
  HttpResponse get(const HttpRequest& request, std::stop_token) override {
    const std::lock_guard lock(mutex);
    urls.push_back(request.url);
    if (status != 200)
      return HttpResponse{status, R"({"errors":[]})", "application/vnd.api+json", {}};
    const bool by_account = request.url.find("breakdown_by=account") != std::string::npos;
    const auto filter = request.url.find("filter%5Baccount%5D=");
    const std::string only =
        filter == std::string::npos
            ? ""
            : request.url.substr(filter + 20, request.url.find('&', filter) - filter - 20);
    json data = json::array();
    for (const auto& [id, name] : children) {
      if (!only.empty() && id != only) continue;
      if (!by_account && (id != only || request.url.find("breakdown_by") != std::string::npos)) {
        continue;  // environment and workspace breakdowns: no rows
      }
      data.push_back({{"type", "usage-statistics"},
                      {"id", "row-" + id},
                      {"attributes",
                       {{"breakdown-id", by_account ? json(id) : json(nullptr)},
                        {"breakdown-name", by_account ? json(name) : json(nullptr)},
                        {"date", by_account ? json(nullptr) : json("2026-10-02")},
                        {"runs-count", 1},
                        {"runs-seconds", 10}}}});
    }
    const std::string body =
        json{{"data", data}, {"meta", {{"pagination", {{"next-page", nullptr}}}}}}.dump();
    return HttpResponse{200, body, "application/vnd.api+json", {}};
  }

  std::mutex mutex;
  std::map<std::string, std::string> children;
  std::vector<std::string> urls;
  int status = 200;
};

ScalrTarget tower_target() {
  ScalrTarget target;
  target.name = "tower";
  target.url = "https://tower.scalr.io";
  target.token = Secret("tower-secret");
  target.discover = true;
  target.exclude_accounts = {"acc-sandbox"};
  target.retry.max_attempts = 1;
  target.enrich_workspaces = false;  // discovery and usage only
  return target;
}

std::unique_ptr<ScalrApiSource> source_over(TowerTransport*& transport, ScalrTarget target) {
  auto fake = std::make_unique<TowerTransport>();
  transport = fake.get();
  return std::make_unique<ScalrApiSource>(
      std::move(target), std::move(fake), nullptr,
      [](std::chrono::milliseconds, std::stop_token) { return true; }, [] { return 0.0; });
}

TEST(ScalrDiscovery, ListsTheChildrenLessTheExcludedWithNamesEveryCycle) {
  TowerTransport* transport = nullptr;
  auto source = source_over(transport, tower_target());
  transport->children = {{"acc-1", "One"}, {"acc-2", "Two"}, {"acc-sandbox", "Sandbox"}};
  auto listing = source->list(kOctober, {}).at(0);
  EXPECT_EQ(listing.target, "tower");
  EXPECT_TRUE(listing.reached);
  EXPECT_FALSE(listing.error);
  EXPECT_THAT(listing.accounts, ElementsAre("acc-1", "acc-2"));
  EXPECT_EQ(listing.names.at("acc-2"), "Two");
  // The discovery request: no filter[account], breakdown_by=account.
  ASSERT_EQ(transport->urls.size(), 1u);
  EXPECT_THAT(transport->urls[0], HasSubstr("breakdown_by=account"));
  EXPECT_EQ(transport->urls[0].find("filter%5Baccount%5D"), std::string::npos);
  // A fetch names the child from discovery, without asking again.
  EXPECT_EQ(source->fetch("acc-1", kOctober, {}).account_name, "One");
  EXPECT_EQ(transport->urls.size(), 4u);

  transport->children.erase("acc-1");
  transport->children["acc-3"] = "Three";
  EXPECT_THAT(source->list(kOctober, {}).at(0).accounts, ElementsAre("acc-2", "acc-3"));
}

TEST(ScalrDiscovery, AFailureKeepsTheLastListAndSaysWhy) {
  TowerTransport* transport = nullptr;
  auto source = source_over(transport, tower_target());
  transport->status = 503;
  auto never = source->list(kOctober, {}).at(0);
  ASSERT_TRUE(never.error);
  EXPECT_TRUE(never.accounts.empty());
  EXPECT_THROW(source->accounts(kOctober, {}), SourceError);  // a report must not miss accounts

  transport->status = 200;
  transport->children = {{"acc-1", "One"}};
  ASSERT_FALSE(source->list(kOctober, {}).at(0).error);
  transport->status = 401;
  auto failed = source->list(kOctober, {}).at(0);
  ASSERT_TRUE(failed.error);
  EXPECT_EQ(failed.error->reason(), ErrorReason::unauthorized);
  EXPECT_FALSE(failed.reached);
  EXPECT_THAT(failed.accounts, ElementsAre("acc-1"));
  EXPECT_THAT(failed.error->what(), ::testing::Not(HasSubstr("tower-secret")));
}

TEST(ScalrDiscovery, AListedAccountLearnsItsNameOnce) {
  TowerTransport* transport = nullptr;
  ScalrTarget target = tower_target();
  target.discover = false;
  target.exclude_accounts.clear();
  target.accounts = {"acc-1"};
  auto source = source_over(transport, target);
  transport->children = {{"acc-1", "One"}};
  EXPECT_EQ(source->fetch("acc-1", kOctober, {}).account_name, "One");
  EXPECT_EQ(transport->urls.size(), 4u);  // three usage sequences and the name
  EXPECT_EQ(source->fetch("acc-1", kOctober, {}).account_name, "One");
  EXPECT_EQ(transport->urls.size(), 7u);  // the name is not asked again
  EXPECT_EQ(source->list(kOctober, {}).at(0).names.at("acc-1"), "One");
}

// A scripted target for the poller: its accounts, which fail, and the peak of concurrent fetches.
class TargetSource final : public UsageSource {
 public:
  TargetSource(std::string name, std::vector<std::string> accounts, std::size_t concurrency)
      : name_(std::move(name)), accounts_(std::move(accounts)), concurrency_(concurrency) {}

  std::vector<std::string> accounts(const Period&, std::stop_token) override { return accounts_; }
  std::vector<AccountListing> list(const Period&, std::stop_token) override {
    AccountListing listing{name_, accounts_, {}, concurrency_, false, discovery_error};
    return {listing};
  }
  std::string_view target_name() const override { return name_; }
  AccountUsage fetch(const std::string& account, const Period& period, std::stop_token) override {
    const int now = ++in_flight;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(5ms);
    --in_flight;
    if (failing) throw SourceError(ErrorReason::unauthorized, "401");
    AccountUsage usage;
    usage.account_id = account;
    usage.account_name = "name of " + account;
    usage.period = period;
    usage.total = {1, 10};
    return usage;
  }

  std::atomic<int> in_flight{0};
  std::atomic<int> peak{0};
  bool failing = false;
  std::optional<SourceError> discovery_error;

 private:
  std::string name_;
  std::vector<std::string> accounts_;
  std::size_t concurrency_;
};

TEST(ConcurrentFetch, EachTargetStaysWithinItsConcurrencyAndEveryAccountIsFetchedOnce) {
  std::vector<std::string> many;
  for (int i = 0; i < 24; ++i) many.push_back("acc-" + std::to_string(i));
  TargetSource source("t", many, 3);
  const auto listings = source.list(kOctober, {});
  std::multiset<std::string> seen;
  fetch_concurrently(source, listings, kOctober, {}, [&](FetchOutcome outcome) {
    EXPECT_TRUE(outcome.usage);
    seen.insert(outcome.account_id);
  });
  EXPECT_EQ(seen, std::multiset<std::string>(many.begin(), many.end()));
  EXPECT_LE(source.peak.load(), 3);
}

TEST(ConcurrentFetch, StopSkipsTheAccountsNotStarted) {
  std::vector<std::string> many(200, "acc");
  TargetSource source("t", many, 2);
  std::stop_source stop;
  int outcomes = 0;
  fetch_concurrently(source, source.list(kOctober, {}), kOctober, stop.get_token(),
                     [&](FetchOutcome) {
                       if (++outcomes == 4) stop.request_stop();
                     });
  EXPECT_LT(outcomes, 200);
}

TEST(MultiTarget, RoutesEachAccountToItsTargetAndKeepsADuplicateWithTheFirst) {
  std::vector<std::unique_ptr<UsageSource>> targets;
  auto first = std::make_unique<TargetSource>("a", std::vector<std::string>{"acc-1", "acc-2"}, 2);
  auto second = std::make_unique<TargetSource>("b", std::vector<std::string>{"acc-2", "acc-3"}, 2);
  second->failing = true;
  TargetSource* b = second.get();
  targets.push_back(std::move(first));
  targets.push_back(std::move(second));
  MultiTargetSource source(std::move(targets));
  const auto listings = source.list(kOctober, {});
  ASSERT_EQ(listings.size(), 2u);
  EXPECT_THAT(listings[0].accounts, ElementsAre("acc-1", "acc-2"));
  EXPECT_THAT(listings[1].accounts, ElementsAre("acc-3"));
  EXPECT_NO_THROW(source.fetch("acc-2", kOctober, {}));  // target a's, which works
  EXPECT_THROW(source.fetch("acc-3", kOctober, {}), SourceError);
  EXPECT_EQ(b->peak.load(), 1);
  try {
    source.fetch("acc-9", kOctober, {});
    ADD_FAILURE();
  } catch (const SourceError& error) {
    EXPECT_EQ(error.reason(), ErrorReason::not_found);
  }
}

// Lists only once the other target has started listing too: listed one after the other, the
// first would wait for the second forever (here: 10 s, then it says so).
class RendezvousSource final : public UsageSource {
 public:
  RendezvousSource(std::string name, std::atomic<int>& started) : name_(name), started_(started) {}
  std::vector<std::string> accounts(const Period&, std::stop_token) override { return {}; }
  std::vector<AccountListing> list(const Period&, std::stop_token) override {
    ++started_;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (started_.load() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    met = started_.load() >= 2;
    return {AccountListing{name_, {}, {}, 1, true, {}}};
  }
  std::string_view target_name() const override { return name_; }
  AccountUsage fetch(const std::string&, const Period&, std::stop_token) override { return {}; }
  bool met = false;

 private:
  std::string name_;
  std::atomic<int>& started_;
};

TEST(MultiTarget, TargetsListAtOnceSoASlowOneHoldsUpNoOther) {
  std::atomic<int> started{0};
  auto a = std::make_unique<RendezvousSource>("a", started);
  auto b = std::make_unique<RendezvousSource>("b", started);
  RendezvousSource* first = a.get();
  std::vector<std::unique_ptr<UsageSource>> targets;
  targets.push_back(std::move(a));
  targets.push_back(std::move(b));
  MultiTargetSource source(std::move(targets));
  EXPECT_EQ(source.list(kOctober, {}).size(), 2u);
  EXPECT_TRUE(first->met);
}

TEST(PollerTargets, OneTargetsFailureLeavesTheOthersUpAndCountsDiscoveryErrors) {
  SnapshotStore store(BuildInfo{"t", "t"});
  TargetSource* broken = nullptr;
  TargetSource* tower = nullptr;
  Poller poller(
      {std::chrono::minutes{5}, [] { return Clock::time_point{}; }, std::chrono::hours{1}},
      [&](RequestObserver&) -> std::unique_ptr<UsageSource> {
        std::vector<std::unique_ptr<UsageSource>> targets;
        auto good = std::make_unique<TargetSource>("good", std::vector<std::string>{"acc-1"}, 4);
        auto bad = std::make_unique<TargetSource>("bad", std::vector<std::string>{"acc-2"}, 4);
        auto parent = std::make_unique<TargetSource>("tower", std::vector<std::string>{"acc-3"}, 4);
        broken = bad.get();
        tower = parent.get();
        targets.push_back(std::move(good));
        targets.push_back(std::move(bad));
        targets.push_back(std::move(parent));
        return std::make_unique<MultiTargetSource>(std::move(targets));
      },
      store);
  broken->failing = true;
  tower->discovery_error = SourceError(ErrorReason::server_error, "503");
  poller.poll_once({});
  poller.poll_once({});
  const auto snapshot = store.snapshot();
  EXPECT_EQ(snapshot->targets.at("good").up, true);
  EXPECT_EQ(snapshot->targets.at("bad").up, false);
  // Discovery failed, its last list still fetched: reached through its account.
  EXPECT_EQ(snapshot->targets.at("tower").up, true);
  EXPECT_EQ(snapshot->targets.at("tower").discovery_errors.at(ErrorReason::server_error), 2u);
  EXPECT_TRUE(snapshot->accounts.at("acc-1").up);
  EXPECT_FALSE(snapshot->accounts.at("acc-2").up);
  EXPECT_EQ(snapshot->accounts.at("acc-2").target, "bad");
  EXPECT_EQ(snapshot->accounts.at("acc-1").name, "name of acc-1");
  EXPECT_EQ(snapshot->source_up, true);
  EXPECT_TRUE(snapshot->last_cycle_duration_seconds);
  const std::string text = store.exposition()->text;
  EXPECT_NE(text.find("scalr_exporter_target_up{target=\"bad\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("scalr_account_info{account_id=\"acc-1\",account_name=\"name of acc-1\","
                      "target=\"good\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("scalr_exporter_discovery_errors_total{target=\"tower\",reason="
                      "\"server_error\"} 2\n"),
            std::string::npos);
}

}  // namespace
}  // namespace scalr_usage

namespace scalr_usage {
namespace {

class UnlistableSource final : public UsageSource {
 public:
  std::vector<std::string> accounts(const Period&, std::stop_token) override {
    throw SourceError(ErrorReason::database, "down");
  }
  AccountUsage fetch(const std::string&, const Period&, std::stop_token) override {
    throw SourceError(ErrorReason::database, "down");
  }
};

// A reload onto another shard, while the source cannot list: the accounts of the old shard that
// are not the new one's leave at once instead of showing as down until a listing succeeds.
TEST(PollerTargets, ANewShardDropsTheAccountsItDoesNotOwn) {
  SnapshotStore store(BuildInfo{"t", "t"});
  Snapshot before;
  std::vector<std::string> all;
  for (int i = 0; i < 16; ++i) all.push_back("acc-" + std::to_string(i));
  for (const auto& id : all) before.accounts[id].up = true;
  store.publish(before);
  Poller::Options options{std::chrono::minutes{5}};
  options.shard = ShardSpec{1, 2};
  Poller poller(
      options, [&](RequestObserver&) { return std::make_unique<UnlistableSource>(); }, store);
  poller.poll_once({});
  const auto owned = owned_accounts(ShardSpec{1, 2}, all);
  ASSERT_FALSE(owned.empty());
  ASSERT_LT(owned.size(), all.size());
  std::vector<std::string> left;
  for (const auto& [id, state] : store.snapshot()->accounts) {
    left.push_back(id);
    EXPECT_FALSE(state.up) << id;
  }
  std::sort(left.begin(), left.end());
  std::vector<std::string> expected = owned;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(left, expected);
}

}  // namespace
}  // namespace scalr_usage
