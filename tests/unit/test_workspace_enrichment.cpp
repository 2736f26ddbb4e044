// Workspace enrichment of the Scalr API source: the workspace listing's parser, the per-target
// cache (at most one listing per account and enrich_interval, shared between sources, last good
// directory kept), and how usage is filled in, never failed, by it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "collectors/scalr_api/scalr_api_source.h"
#include "collectors/scalr_api/target_cache.h"
#include "collectors/scalr_api/workspace_directory.h"
#include "daemon/poller.h"
#include "metrics/snapshot_collector.h"
#include "model/period.h"

namespace scalr_usage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using json = nlohmann::json;
using namespace std::chrono_literals;

const Period kOctober = days(std::chrono::year{2026} / 10 / 1, std::chrono::year{2026} / 10 / 31);
constexpr const char* kToken = "tok-ENRICH-s3cr3t";

// ---- the listing's documents ----------------------------------------------------------------

struct Ws {
  std::string id;
  std::string name;
  std::string env;  // "" : environment.data null
  std::vector<std::string> tag_ids;
};

json workspace_item(const Ws& ws) {
  json tags = json::array();
  for (const auto& id : ws.tag_ids) tags.push_back({{"type", "tags"}, {"id", id}});
  return {{"type", "workspaces"},
          {"id", ws.id},
          // Attributes and relationships the directory does not read, nested like Scalr's.
          {"attributes",
           {{"name", ws.name},
            {"auto-apply", false},
            {"hooks", {{"pre-plan", "echo"}, {"deep", {{"a", {{"b", {{"c", {1, 2}}}}}}}}}},
            {"vcs-repo", nullptr}}},
          {"relationships",
           {{"environment",
             {{"data",
               ws.env.empty() ? json(nullptr) : json{{"type", "environments"}, {"id", ws.env}}}}},
            {"tags", {{"data", tags}}},
            {"created-by", {{"data", {{"type", "users"}, {"id", "user-1"}}}}}}},
          {"links", {{"self", "/api/iacp/v3/workspaces/" + ws.id}}}};
}

std::string listing_body(const std::vector<Ws>& workspaces, const json& included,
                         std::optional<int> next_page = std::nullopt) {
  json data = json::array();
  for (const auto& ws : workspaces) data.push_back(workspace_item(ws));
  return json{{"data", data},
              {"included", included},
              {"meta",
               {{"pagination",
                 {{"current-page", 1},
                  {"next-page", next_page ? json(*next_page) : json(nullptr)},
                  {"total-count", workspaces.size()}}}}}}
      .dump();
}

json environment(const std::string& id, const std::string& name) {
  return {{"type", "environments"}, {"id", id}, {"attributes", {{"name", name}, {"cost", 1}}}};
}
json tag(const std::string& id, const std::string& name) {
  return {{"type", "tags"}, {"id", id}, {"attributes", {{"name", name}}}};
}

std::string error_of(const std::string& body) {
  try {
    (void)parse_workspace_page(body);
  } catch (const SourceError& error) {
    EXPECT_EQ(error.reason(), ErrorReason::bad_response);
    return error.what();
  }
  ADD_FAILURE() << "accepted: " << body;
  return "";
}

TEST(WorkspaceListing, ResolvesEnvironmentsAndTagsFromIncluded) {
  const WorkspacePage page = parse_workspace_page(listing_body(
      {{"ws-1", "network", "env-a", {"tag-2", "tag-1", "tag-2"}},
       {"ws-2", "api", "env-b", {}},
       {"ws-3", "orphan", "env-gone", {"tag-unknown"}},
       {"ws-4", "homeless", "", {}}},
      json::array({environment("env-a", "production"),
                   environment("env-b", "team \"alpha\""),
                   tag("tag-1", "team:payments"),
                   tag("tag-2", "cost-center:CC-100"),
                   {{"type", "users"}, {"id", "user-1"}, {"attributes", {{"name", 5}}}}}),
      2));
  ASSERT_EQ(page.workspaces.size(), 4u);
  EXPECT_EQ(page.workspaces[0].first, "ws-1");
  EXPECT_EQ(page.workspaces[0].second,
            (WorkspaceInfo{"network",
                           "env-a",
                           "production",
                           {"cost-center:CC-100", "team:payments"}}));  // sorted, once each
  EXPECT_EQ(page.workspaces[1].second, (WorkspaceInfo{"api", "env-b", "team \"alpha\"", {}}));
  // Related but not included: the relation is known, the name is not; an unnamed tag is left out.
  EXPECT_EQ(page.workspaces[2].second, (WorkspaceInfo{"orphan", "env-gone", "", {}}));
  EXPECT_EQ(page.workspaces[3].second, (WorkspaceInfo{"homeless", "", "", {}}));
  EXPECT_EQ(page.next_page, 2);
}

TEST(WorkspaceListing, AnEmptyLastPageAndNullIncluded) {
  const WorkspacePage page = parse_workspace_page(
      R"({"data":[],"included":null,"meta":{"pagination":{"next-page":null,"total-pages":1}}})");
  EXPECT_TRUE(page.workspaces.empty());
  EXPECT_EQ(page.next_page, std::nullopt);
  EXPECT_EQ(page.total_pages, 1);
}

TEST(WorkspaceListing, WrongShapesAreRejectedWithTheirPath) {
  EXPECT_THAT(error_of("{\"data\": [tru"), StartsWith("response is not valid JSON"));
  EXPECT_THAT(error_of("[]"), StartsWith("$: expected a JSON:API document"));
  EXPECT_THAT(error_of(R"({"meta":{}})"), StartsWith("data: missing, expected an array"));
  EXPECT_THAT(error_of(R"({"data":{}})"), StartsWith("data: expected an array"));
  EXPECT_THAT(error_of(R"({"data":[{"type":"usage-statistics","id":"x","attributes":{}}]})"),
              StartsWith("data[0].type: expected \"workspaces\""));
  EXPECT_THAT(error_of(R"({"data":[{"type":"workspaces","id":7,"attributes":{}}]})"),
              StartsWith("data[0].id: expected a string, got 7"));
  EXPECT_THAT(error_of(R"({"data":[{"type":"workspaces","id":"ws-1"}]})"),
              StartsWith("data[0].attributes: missing"));
  EXPECT_THAT(error_of(R"({"data":[{"type":"workspaces","id":"ws-1","attributes":{"name":[]}}]})"),
              StartsWith("data[0].attributes.name: expected a string or null"));
  EXPECT_THAT(error_of(R"({"data":[{"type":"workspaces","id":"ws-1","attributes":{},
                  "relationships":{"environment":{"data":{"type":"envs","id":"e"}}}}]})"),
              StartsWith("data[0].relationships.environment.data.type: expected \"environments\""));
  EXPECT_THAT(error_of(R"({"data":[{"type":"workspaces","id":"ws-1","attributes":{},
                          "relationships":{"tags":{"data":{"type":"tags","id":"t"}}}}]})"),
              StartsWith("data[0].relationships.tags.data: expected an array"));
  EXPECT_THAT(error_of(R"({"data":[{"type":"workspaces","id":"ws-1","attributes":{},
                          "relationships":{"tags":{"data":[{"type":"tags","id":""}]}}}]})"),
              StartsWith("data[0].relationships.tags.data[0].id: empty"));
  EXPECT_THAT(
      error_of(R"({"data":[],"included":[{"type":"tags","id":"t","attributes":{"name":1}}]})"),
      StartsWith("included[0].attributes.name: expected a string or null, got 1"));
  EXPECT_THAT(error_of(R"({"data":[],"meta":{"pagination":{"next-page":0}}})"),
              StartsWith("meta.pagination.next-page: expected an integer >= 1 or null, got 0"));
}

TEST(WorkspaceListing, DeeplyNestedUnreadValuesAreDroppedNotRejected) {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  const WorkspacePage page = parse_workspace_page(
      R"({"data":[{"type":"workspaces","id":"ws-1","attributes":{"name":"n","x":)" + deep +
      R"(}}],"meta":{"deep":)" + deep + "}}");
  ASSERT_EQ(page.workspaces.size(), 1u);
  EXPECT_EQ(page.workspaces[0].second.name, "n");
}

// ---- the source -----------------------------------------------------------------------------

// Answers usage-statistics with one workspace row each for ws-1 (named), ws-2 (no name) and ws-9
// (deleted: not in the listing), and the workspace listing with `listing` (or `listing_status`).
class EnrichTransport final : public HttpTransport {
 public:
  HttpResponse get(const HttpRequest& request, std::stop_token) override {
    const std::lock_guard lock(mutex);
    if (request.url.find("/api/iacp/v3/workspaces?") != std::string::npos) {
      workspace_urls.push_back(request.url);
      if (stop_on_listing != nullptr) stop_on_listing->request_stop();
      if (listing_status != 200) {
        return {listing_status,
                R"({"errors":[{"status":"403","detail":"echo )" + std::string(kToken) + R"("}]})",
                "application/vnd.api+json",
                {}};
      }
      const bool second = request.url.find("page%5Bnumber%5D=2") != std::string::npos;
      return {200, second ? page_two : page_one, "application/vnd.api+json", {}};
    }
    ++usage_requests;
    json data = json::array();
    if (request.url.find("breakdown_by=account") != std::string::npos) {
      const std::string key = "filter%5Baccount%5D=";
      const auto at = request.url.find(key) + key.size();
      const std::string account = request.url.substr(at, request.url.find('&', at) - at);
      data.push_back({{"type", "usage-statistics"},
                      {"attributes",
                       {{"breakdown-id", account},
                        {"breakdown-name", "Name of " + account},
                        {"runs-count", 6},
                        {"runs-seconds", 90}}}});
    }
    if (request.url.find("breakdown_by=workspace") != std::string::npos) {
      for (const auto& [id, name] : std::map<std::string, json>{
               {"ws-1", "network"}, {"ws-2", nullptr}, {"ws-9", "deleted-one"}}) {
        data.push_back({{"type", "usage-statistics"},
                        {"attributes",
                         {{"breakdown-id", id},
                          {"breakdown-name", name},
                          {"runs-count", 2},
                          {"runs-seconds", 30}}}});
      }
    }
    return {200, json{{"data", data}}.dump(), "application/vnd.api+json", {}};
  }

  std::mutex mutex;
  std::vector<std::string> workspace_urls;
  std::stop_source* stop_on_listing = nullptr;  // requested when the listing is asked for
  int usage_requests = 0;
  int listing_status = 200;
  std::string page_one = listing_body(
      {{"ws-1", "network", "env-a", {"tag-1"}}},
      json::array({environment("env-a", "production"), tag("tag-1", "team:payments")}), 2);
  std::string page_two =
      listing_body({{"ws-2", "from-listing", "env-b", {}}, {"ws-3", "idle", "env-b", {}}},
                   json::array({environment("env-b", "staging")}));
};

class CountingObserver final : public RequestObserver {
 public:
  void on_response(std::string_view, int status, double) override {
    const std::lock_guard lock(mutex);
    ++statuses[status];
  }
  void on_enrichment_error(std::string_view target, ErrorReason reason) override {
    const std::lock_guard lock(mutex);
    errors.emplace_back(std::string(target), reason);
  }
  std::mutex mutex;
  std::map<int, int> statuses;
  std::vector<std::pair<std::string, ErrorReason>> errors;
};

struct FakeClock {
  TargetCache::Clock::time_point now{};
  TargetCache::Now function() {
    return [this] { return now; };
  }
};

ScalrTarget enriching_target(FakeClock& clock) {
  ScalrTarget target;
  target.name = "acme";
  target.url = "https://acme.scalr.io";
  target.token = Secret(kToken);
  target.accounts = {"acc-1", "acc-2"};
  target.retry.max_attempts = 1;
  target.page_size = 25;
  target.cache = std::make_shared<TargetCache>("acme", 1h, clock.function());
  return target;
}

struct Rig {
  explicit Rig(ScalrTarget target) {
    auto fake = std::make_unique<EnrichTransport>();
    transport = fake.get();
    source = std::make_unique<ScalrApiSource>(
        std::move(target), std::move(fake), &observer,
        [](std::chrono::milliseconds, std::stop_token) { return true; }, [] { return 0.0; });
  }
  AccountUsage fetch(const std::string& account = "acc-1", std::stop_token stop = {}) {
    return source->fetch(account, kOctober, stop);
  }
  CountingObserver observer;
  EnrichTransport* transport = nullptr;
  std::unique_ptr<ScalrApiSource> source;
};

const WorkspaceUsage& workspace(const AccountUsage& usage, const std::string& id) {
  for (const auto& ws : usage.workspaces) {
    if (ws.id == id) return ws;
  }
  throw std::logic_error("no workspace " + id);
}

TEST(WorkspaceEnrichment, FillsEnvironmentsTagsAndMissingNamesFromEveryPage) {
  FakeClock clock;
  Rig rig(enriching_target(clock));
  const AccountUsage usage = rig.fetch();
  ASSERT_EQ(rig.transport->workspace_urls.size(), 2u);
  EXPECT_EQ(rig.transport->workspace_urls[0],
            "https://acme.scalr.io/api/iacp/v3/workspaces?filter%5Baccount%5D=acc-1"
            "&include=environment%2Ctags&page%5Bsize%5D=25&page%5Bnumber%5D=1");
  EXPECT_THAT(rig.transport->workspace_urls[1], HasSubstr("&page%5Bnumber%5D=2"));

  const WorkspaceUsage& network = workspace(usage, "ws-1");
  EXPECT_EQ(network.name, "network");
  EXPECT_EQ(network.environment_id, "env-a");
  EXPECT_EQ(network.environment_name, "production");
  EXPECT_THAT(network.tags, ElementsAre("team:payments"));
  const WorkspaceUsage& unnamed = workspace(usage, "ws-2");
  EXPECT_EQ(unnamed.name, "from-listing");  // usage had none
  EXPECT_EQ(unnamed.environment_id, "env-b");
  EXPECT_EQ(unnamed.environment_name, "staging");
  EXPECT_TRUE(unnamed.tags.empty());
  // Deleted: in usage, not in the listing. Empty, not absent, so the label set is the same.
  const WorkspaceUsage& deleted = workspace(usage, "ws-9");
  EXPECT_EQ(deleted.name, "deleted-one");
  EXPECT_EQ(deleted.environment_id, "");
  EXPECT_EQ(deleted.environment_name, "");
  // Usage itself is as the usage API said; the listing's idle ws-3 adds no workspace.
  EXPECT_EQ(usage.workspaces.size(), 3u);
  EXPECT_EQ(network.usage, (UsageCounts{2, 30}));
  // Every response observed, the listing's too: 3 usage + 1 name + 2 listing pages.
  EXPECT_EQ(rig.observer.statuses[200], 6);
  EXPECT_TRUE(rig.observer.errors.empty());
}

TEST(WorkspaceEnrichment, ListsEachAccountAtMostOncePerInterval) {
  FakeClock clock;
  Rig rig(enriching_target(clock));
  (void)rig.fetch("acc-1");
  (void)rig.fetch("acc-2");
  EXPECT_EQ(rig.transport->workspace_urls.size(), 4u);  // two pages per account
  clock.now += 59min;
  (void)rig.fetch("acc-1");
  EXPECT_EQ(workspace(rig.fetch("acc-2"), "ws-1").environment_id, "env-a");  // from the cache
  EXPECT_EQ(rig.transport->workspace_urls.size(), 4u);
  clock.now += 1min;
  (void)rig.fetch("acc-1");
  EXPECT_EQ(rig.transport->workspace_urls.size(), 6u);
}

TEST(WorkspaceEnrichment, AForbiddenListingNeverFailsUsageAndIsCountedOncePerAttempt) {
  FakeClock clock;
  Rig rig(enriching_target(clock));
  rig.transport->listing_status = 403;
  const AccountUsage usage = rig.fetch();
  EXPECT_EQ(workspace(usage, "ws-1").usage, (UsageCounts{2, 30}));
  EXPECT_EQ(usage.workspaces.size(), 3u);
  for (const auto& ws : usage.workspaces) {
    EXPECT_EQ(ws.environment_id, "") << ws.id;  // the same label set as when it works
    EXPECT_EQ(ws.environment_name, "") << ws.id;
  }
  EXPECT_EQ(workspace(usage, "ws-2").name, "");
  ASSERT_EQ(rig.observer.errors.size(), 1u);
  EXPECT_EQ(rig.observer.errors[0],
            (std::pair<std::string, ErrorReason>{"acme", ErrorReason::forbidden}));
  EXPECT_EQ(rig.observer.statuses[403], 1);  // 4xx is not retried
  // Not asked again (nor counted) before the interval has passed since the failure.
  clock.now += 30min;
  (void)rig.fetch();
  EXPECT_EQ(rig.transport->workspace_urls.size(), 1u);
  EXPECT_EQ(rig.observer.errors.size(), 1u);
  clock.now += 30min;
  (void)rig.fetch();
  EXPECT_EQ(rig.transport->workspace_urls.size(), 2u);
  EXPECT_EQ(rig.observer.errors.size(), 2u);
}

TEST(WorkspaceEnrichment, AFailureKeepsTheLastGoodDirectory) {
  FakeClock clock;
  Rig rig(enriching_target(clock));
  (void)rig.fetch();
  rig.transport->listing_status = 500;
  clock.now += 2h;
  const AccountUsage usage = rig.fetch();
  EXPECT_EQ(rig.observer.errors.size(), 1u);
  EXPECT_EQ(rig.observer.errors[0].second, ErrorReason::server_error);
  EXPECT_EQ(workspace(usage, "ws-1").environment_name, "production");
}

TEST(WorkspaceEnrichment, ABadPageIsAnEnrichmentErrorWithoutTheToken) {
  FakeClock clock;
  ScalrTarget target = enriching_target(clock);
  Rig rig(target);
  rig.transport->page_one = R"({"data":[{"type":"workspaces","id":")" + std::string(kToken) +
                            R"(","attributes":{"name":{}}}]})";
  const AccountUsage usage = rig.fetch();
  ASSERT_EQ(rig.observer.errors.size(), 1u);
  EXPECT_EQ(rig.observer.errors[0].second, ErrorReason::bad_response);
  EXPECT_EQ(workspace(usage, "ws-1").environment_id, "");
}

TEST(WorkspaceEnrichment, ALabelLongerThanTheBoundIsTooLarge) {
  FakeClock clock;
  ScalrTarget target = enriching_target(clock);
  target.max_label_length = 12;
  Rig rig(target);
  rig.transport->page_one = listing_body({{"ws-1", "network", "env-a", {}}},
                                         json::array({environment("env-a", "production-eu-1")}));
  const AccountUsage usage = rig.fetch();
  ASSERT_EQ(rig.observer.errors.size(), 1u);
  EXPECT_EQ(rig.observer.errors[0].second, ErrorReason::too_large);
  EXPECT_EQ(workspace(usage, "ws-1").environment_name, "");
}

TEST(WorkspaceEnrichment, DisabledChangesNothing) {
  FakeClock clock;
  ScalrTarget target = enriching_target(clock);
  target.enrich_workspaces = false;
  Rig rig(target);
  const AccountUsage usage = rig.fetch();
  EXPECT_TRUE(rig.transport->workspace_urls.empty());
  for (const auto& ws : usage.workspaces) {
    EXPECT_EQ(ws.environment_id, std::nullopt) << ws.id;
    EXPECT_EQ(ws.environment_name, std::nullopt) << ws.id;
  }
  EXPECT_EQ(workspace(usage, "ws-2").name, "");
  EXPECT_FALSE(rig.source->list(kOctober, {}).at(0).enriches);
}

TEST(WorkspaceEnrichment, SourcesSharingTheTargetCacheListAndNameOnce) {
  FakeClock clock;
  const ScalrTarget target = enriching_target(clock);
  Rig poller(target);
  Rig reports(target);  // the report scheduler's source, from the same configuration
  (void)poller.fetch();
  const AccountUsage usage = reports.fetch();
  EXPECT_EQ(workspace(usage, "ws-1").environment_name, "production");
  EXPECT_TRUE(reports.transport->workspace_urls.empty());
  // Nor does it ask for the account's name again (3 usage requests, no breakdown_by=account).
  EXPECT_EQ(reports.observer.statuses[200], 3);
  EXPECT_EQ(reports.source->list(kOctober, {}).at(0).names.at("acc-1"), "Name of acc-1");
  EXPECT_EQ(usage.account_name, "Name of acc-1");
}

TEST(WorkspaceEnrichment, CancellationDuringTheListingPropagatesAndIsNoAttempt) {
  FakeClock clock;
  Rig rig(enriching_target(clock));
  std::stop_source stop;
  rig.transport->stop_on_listing = &stop;  // stopped after page 1 of the listing
  try {
    (void)rig.fetch("acc-1", stop.get_token());
    ADD_FAILURE() << "fetch did not throw";
  } catch (const SourceError& error) {
    EXPECT_EQ(error.reason(), ErrorReason::cancelled);
  }
  EXPECT_TRUE(rig.observer.errors.empty());  // not an enrichment error
  rig.transport->stop_on_listing = nullptr;
  // Not counted as an attempt: the next fetch lists at once.
  EXPECT_EQ(workspace(rig.fetch("acc-1"), "ws-1").environment_id, "env-a");
  EXPECT_EQ(rig.transport->workspace_urls.size(), 3u);
}

TEST(TargetCacheDirectory, ACallerWaitsForAListingUnderWayInsteadOfSendingItsOwn) {
  FakeClock clock;
  TargetCache cache("acme", 1h, clock.function());
  std::atomic<bool> loading{false};
  std::atomic<bool> release{false};
  std::jthread first([&] {
    (void)cache.directory("acc-1", {}, [&] {
      loading = true;
      while (!release) std::this_thread::sleep_for(1ms);
      return WorkspaceDirectory{{"ws-1", WorkspaceInfo{"n", "env-a", "prod", {}}}};
    });
  });
  while (!loading) std::this_thread::sleep_for(1ms);
  int calls = 0;
  std::jthread releaser([&] {
    std::this_thread::sleep_for(20ms);
    release = true;
  });
  const TargetCache::Lookup lookup = cache.directory("acc-1", {}, [&] {
    ++calls;
    return WorkspaceDirectory{};
  });
  EXPECT_EQ(calls, 0);
  ASSERT_TRUE(lookup.directory);
  EXPECT_EQ(lookup.directory->at("ws-1").environment_name, "prod");

  // A waiter whose stop is requested gives up with cancelled.
  release = false;
  loading = false;
  clock.now += 2h;
  std::jthread again([&] {
    (void)cache.directory("acc-1", {}, [&] {
      loading = true;
      while (!release) std::this_thread::sleep_for(1ms);
      return WorkspaceDirectory{};
    });
  });
  while (!loading) std::this_thread::sleep_for(1ms);
  std::stop_source stop;
  stop.request_stop();
  EXPECT_THROW(
      (void)cache.directory("acc-1", stop.get_token(), [] { return WorkspaceDirectory{}; }),
      SourceError);
  release = true;
}

TEST(TargetCacheNames, LearntNamesAndAnswersAreShared) {
  TargetCache cache("t", 1h);
  EXPECT_FALSE(cache.name_of("acc-1").name);
  EXPECT_FALSE(cache.name_of("acc-1").asked);
  cache.learn_names({{"acc-1", "One"}, {"acc-2", ""}});
  EXPECT_EQ(cache.name_of("acc-1").name, "One");
  EXPECT_FALSE(cache.name_of("acc-2").name);  // an empty name is no name
  int lookups = 0;
  // Known: not looked up.
  EXPECT_EQ(
      cache.account_name("acc-1", {}, [&] { return ++lookups, std::optional<std::string>(); }),
      "One");
  // No answer yet (no runs): asked again next time.
  EXPECT_EQ(
      cache.account_name("acc-3", {}, [&] { return ++lookups, std::optional<std::string>(); }), "");
  EXPECT_FALSE(cache.name_of("acc-3").asked);
  // A refusal is an answer: never asked again.
  EXPECT_EQ(
      cache.account_name("acc-3", {}, [&] { return ++lookups, std::optional<std::string>(""); }),
      "");
  EXPECT_TRUE(cache.name_of("acc-3").asked);
  EXPECT_EQ(
      cache.account_name("acc-3", {}, [&] { return ++lookups, std::optional<std::string>("x"); }),
      "");
  EXPECT_EQ(cache.account_name("acc-4", {},
                               [&] { return ++lookups, std::optional<std::string>("Four"); }),
            "Four");
  EXPECT_EQ(lookups, 3);
  EXPECT_EQ(cache.names(),
            (std::map<std::string, std::string>{{"acc-1", "One"}, {"acc-4", "Four"}}));
}

// ---- the poller and the exposition ---------------------------------------------------------

TEST(WorkspaceEnrichment, ThePollerCountsAndExportsEnrichmentErrorsPerTarget) {
  FakeClock clock;
  SnapshotStore store(BuildInfo{"t", "t"});
  EnrichTransport* transport = nullptr;
  Poller poller(
      {std::chrono::minutes{5}, [] { return Clock::time_point{}; }, std::chrono::hours{1}},
      [&](RequestObserver& observer) -> std::unique_ptr<UsageSource> {
        auto fake = std::make_unique<EnrichTransport>();
        fake->listing_status = 403;
        transport = fake.get();
        return std::make_unique<ScalrApiSource>(
            enriching_target(clock), std::move(fake), &observer,
            [](std::chrono::milliseconds, std::stop_token) { return true; }, [] { return 0.0; });
      },
      store);
  poller.poll_once({});
  poller.poll_once({});  // within the interval: no new listing, no new error
  const auto snapshot = store.snapshot();
  EXPECT_TRUE(snapshot->accounts.at("acc-1").up);
  EXPECT_TRUE(snapshot->targets.at("acme").enriches);
  EXPECT_EQ(snapshot->targets.at("acme").enrichment_errors.at(ErrorReason::forbidden), 2u);
  EXPECT_EQ(transport->workspace_urls.size(), 2u);  // one per account
  const std::string text = store.exposition()->text;
  EXPECT_THAT(text, HasSubstr("scalr_exporter_enrichment_errors_total{target=\"acme\",reason="
                              "\"forbidden\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("scalr_exporter_enrichment_errors_total{target=\"acme\",reason="
                              "\"not_found\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("# HELP scalr_exporter_enrichment_errors_total "));
  EXPECT_THAT(text, HasSubstr("scalr_workspace_runs_total{account_id=\"acc-1\",environment_id=\"\","
                              "environment_name=\"\",workspace_id=\"ws-1\",workspace_name="
                              "\"network\"} 2\n"));
  EXPECT_THAT(text, Not(HasSubstr(kToken)));
}

TEST(WorkspaceEnrichment, ReportRunsErrorsAreExportedWithThePollers) {
  Snapshot snapshot;
  snapshot.targets["acme"].enriches = true;
  snapshot.targets["acme"].enrichment_errors[ErrorReason::not_found] = 2;
  snapshot.targets["other"].enriches = false;
  ReportStatus reports;
  reports.enrichment_errors["acme"][ErrorReason::not_found] = 1;
  reports.enrichment_errors["acme"][ErrorReason::timeout] = 4;
  std::map<std::string, double> values;
  for (const auto& family : collect_metrics(snapshot, BuildInfo{"t", "t"}, reports, {})) {
    if (family.name != "scalr_exporter_enrichment_errors_total") continue;
    for (const auto& metric : family.metric) {
      EXPECT_EQ(metric.label.at(0).value, "acme");  // only targets that enrich
      values[metric.label.at(1).value] = metric.counter.value;
    }
  }
  EXPECT_EQ(values.size(), kCountedErrorReasons.size());
  EXPECT_EQ(values["not_found"], 3);
  EXPECT_EQ(values["timeout"], 4);
  EXPECT_EQ(values["forbidden"], 0);
}

}  // namespace
}  // namespace scalr_usage
