#include "collectors/scalr_api/scalr_api_source.h"

#include <civetweb.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "loopback_server.h"
#include "model/period.h"

namespace scalr_usage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------
// A scripted HttpTransport: records every request and answers through a handler.

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/vnd.api+json";
  std::optional<std::string> retry_after = std::nullopt;
  // When set, get() throws SourceError with this reason instead of answering.
  std::optional<ErrorReason> transport_error = std::nullopt;
};

class FakeTransport final : public HttpTransport {
 public:
  using Handler = std::function<Reply(const HttpRequest&)>;
  explicit FakeTransport(Handler handler) : handler_(std::move(handler)) {}

  HttpResponse get(const HttpRequest& request, std::stop_token) override {
    // The account's name lookup (breakdown_by=account, once per account) is kept apart, so the
    // usage requests of a fetch are exactly `requests`.
    const bool name_lookup = request.url.find("breakdown_by=account") != std::string::npos;
    (name_lookup ? name_requests : requests).push_back(request);
    const Reply reply = handler_(request);
    if (reply.transport_error) throw SourceError(*reply.transport_error, "scripted failure");
    return HttpResponse{reply.status, reply.body, reply.content_type, reply.retry_after};
  }

  std::vector<HttpRequest> requests;
  std::vector<HttpRequest> name_requests;

 private:
  Handler handler_;
};

class RecordingObserver final : public RequestObserver {
 public:
  void on_response(std::string_view target, int http_status, double seconds) override {
    const std::lock_guard lock(mutex);
    targets.emplace_back(target);
    statuses.push_back(http_status);
    EXPECT_GE(seconds, 0.0);
  }
  std::mutex mutex;
  std::vector<std::string> targets;
  std::vector<int> statuses;
};

struct Row {
  std::optional<std::string> breakdown_id;
  std::optional<std::string> breakdown_name;
  std::optional<std::string> date;
  std::uint64_t runs = 0;
  std::uint64_t seconds = 0;
  std::string account = "acc-1";
};

std::string page_body(const std::vector<Row>& rows, std::optional<int> next_page = std::nullopt,
                      std::optional<int> total_pages = std::nullopt) {
  json data = json::array();
  for (const auto& row : rows) {
    const auto or_null = [](const std::optional<std::string>& v) -> json {
      return v ? json(*v) : json(nullptr);
    };
    data.push_back({{"type", "usage-statistics"},
                    {"id", "x"},
                    {"links", nullptr},
                    {"attributes",
                     {{"breakdown-id", or_null(row.breakdown_id)},
                      {"breakdown-name", or_null(row.breakdown_name)},
                      {"date", or_null(row.date)},
                      {"runs-count", row.runs},
                      {"runs-seconds", row.seconds}}},
                    {"relationships",
                     {{"account", {{"data", {{"id", row.account}, {"type", "accounts"}}}}}}}});
  }
  return json{{"data", data},
              {"meta",
               {{"pagination",
                 {{"next-page", next_page ? json(*next_page) : json(nullptr)},
                  {"total-pages", total_pages ? json(*total_pages) : json(nullptr)}}}}}}
      .dump();
}

// The value of one query parameter of a URL this client built ("" when absent).
std::string query_param(const std::string& url, const std::string& encoded_name) {
  const auto key = encoded_name + "=";
  for (auto pos = url.find('?'); pos != std::string::npos; pos = url.find('&', pos + 1)) {
    if (url.compare(pos + 1, key.size(), key) == 0) {
      const auto begin = pos + 1 + key.size();
      return url.substr(begin, url.find('&', begin) - begin);
    }
  }
  return "";
}
std::string breakdown_of(const HttpRequest& r) { return query_param(r.url, "breakdown_by"); }
int page_of(const HttpRequest& r) { return std::stoi(query_param(r.url, "page%5Bnumber%5D")); }

ScalrTarget test_target() {
  ScalrTarget target;
  target.url = "https://example.scalr.io";
  target.token = Secret("tok-s3cr3t");
  target.token_origin = "test";
  target.accounts = {"acc-1", "acc-2"};
  target.retry.max_attempts = 3;
  target.retry.initial_backoff = 1000ms;
  target.retry.max_backoff = 30000ms;
  // The usage requests alone (enrichment's listing: test_workspace_enrichment.cpp).
  target.enrich_workspaces = false;
  return target;
}

const Period kOctober = days(2026y / 10 / 1, 2026y / 10 / 31);

// A source over a FakeTransport, with a sleeper that records instead of sleeping.
struct Harness {
  explicit Harness(FakeTransport::Handler handler, ScalrTarget target = test_target(),
                   bool with_observer = true) {
    auto fake = std::make_unique<FakeTransport>(std::move(handler));
    transport = fake.get();
    source = std::make_unique<ScalrApiSource>(
        std::move(target), std::move(fake), with_observer ? &observer : nullptr,
        [this](milliseconds d, std::stop_token) {
          sleeps.push_back(d);
          return sleeper_result;
        },
        [] { return 0.5; });
  }

  AccountUsage fetch(std::stop_token stop = {}) { return source->fetch("acc-1", kOctober, stop); }

  // Runs fetch and returns the SourceError it must throw.
  SourceError fetch_error(std::stop_token stop = {}) {
    try {
      (void)fetch(stop);
    } catch (const SourceError& e) {
      return e;
    }
    ADD_FAILURE() << "fetch did not throw";
    return SourceError(ErrorReason::database, "no error");
  }

  RecordingObserver observer;
  FakeTransport* transport = nullptr;  // owned by source
  std::unique_ptr<ScalrApiSource> source;
  std::vector<milliseconds> sleeps;
  bool sleeper_result = true;
};

Reply ok(std::string body) { return Reply{200, std::move(body)}; }
Reply empty_page(const HttpRequest&) { return ok(page_body({})); }

// ---------------------------------------------------------------------------------------------

TEST(ScalrApiSource, AccountsAreTheConfiguredOnes) {
  Harness h(empty_page);
  EXPECT_THAT(h.source->accounts(kOctober, {}), ElementsAre("acc-1", "acc-2"));
  EXPECT_TRUE(h.transport->requests.empty());
}

TEST(ScalrApiSource, SendsExactUrlsAndHeaders) {
  ScalrTarget target = test_target();
  target.timeout = 1234ms;
  target.max_response_bytes = 4096;
  target.ca_file = "/etc/ssl/extra.pem";
  target.page_size = 50;
  Harness h(empty_page, target);
  (void)h.fetch();

  const std::string base =
      "https://example.scalr.io/api/iacp/v3/usage-statistics"
      "?filter%5Baccount%5D=acc-1"
      "&filter%5Bdate%5D=between%3A2026-10-01T00%3A00%3A00Z%2C2026-10-31T23%3A59%3A59Z";
  ASSERT_EQ(h.transport->requests.size(), 3u);
  EXPECT_EQ(h.transport->requests[0].url, base + "&page%5Bsize%5D=50&page%5Bnumber%5D=1");
  EXPECT_EQ(h.transport->requests[1].url,
            base + "&breakdown_by=environment&total=true&page%5Bsize%5D=50&page%5Bnumber%5D=1");
  EXPECT_EQ(h.transport->requests[2].url,
            base + "&breakdown_by=workspace&total=true&page%5Bsize%5D=50&page%5Bnumber%5D=1");
  for (const auto& request : h.transport->requests) {
    EXPECT_THAT(request.headers,
                ElementsAre("Authorization: Bearer tok-s3cr3t", "Accept: application/vnd.api+json",
                            "Prefer: profile=preview"));
    EXPECT_EQ(request.timeout, 1234ms);
    EXPECT_EQ(request.max_body_bytes, 4096u);
    EXPECT_EQ(request.ca_file, "/etc/ssl/extra.pem");
  }
}

TEST(ScalrApiSource, PreferOmittedWhenProfileEmptyAndTrailingSlashIgnored) {
  ScalrTarget target = test_target();
  target.prefer_profile = "";
  target.url = "http://127.0.0.1:8080/scalr/";
  Harness h(empty_page, target);
  (void)h.fetch();
  ASSERT_EQ(h.transport->requests.size(), 3u);
  EXPECT_THAT(h.transport->requests[0].headers,
              ElementsAre("Authorization: Bearer tok-s3cr3t", "Accept: application/vnd.api+json"));
  EXPECT_THAT(h.transport->requests[0].url,
              ::testing::StartsWith("http://127.0.0.1:8080/scalr/api/iacp/v3/usage-statistics?"));
}

TEST(ScalrApiSource, BetweenFilterEndsOneSecondBeforeThePeriod) {
  Harness h(empty_page);
  (void)h.source->fetch("acc-1", days(2026y / 2 / 1, 2026y / 2 / 28), {});
  EXPECT_EQ(query_param(h.transport->requests[0].url, "filter%5Bdate%5D"),
            "between%3A2026-02-01T00%3A00%3A00Z%2C2026-02-28T23%3A59%3A59Z");
}

TEST(ScalrApiSource, UrlEncode) {
  EXPECT_EQ(url_encode("filter[date]"), "filter%5Bdate%5D");
  EXPECT_EQ(url_encode("a-b_c.d~e"), "a-b_c.d~e");
  EXPECT_EQ(url_encode("a b&c=d/e?+%"), "a%20b%26c%3Dd%2Fe%3F%2B%25");
  EXPECT_EQ(url_encode("\xC3\xA9"), "%C3%A9");
}

TEST(ScalrApiSource, AggregatesAllThreeSequencesAcrossPages) {
  Harness h([](const HttpRequest& r) -> Reply {
    const std::string breakdown = breakdown_of(r);
    const int page = page_of(r);
    if (breakdown.empty()) {
      // Daily rows over two pages, out of order, one date twice (the sum is what counts).
      if (page == 1) {
        return ok(page_body({{{}, {}, "2026-10-05", 2, 20}, {{}, {}, "2026-10-01", 1, 10}}, 2, 2));
      }
      return ok(page_body({{{}, {}, "2026-10-05", 3, 30}}, std::nullopt, 2));
    }
    if (breakdown == "environment") {
      // As if total=true were ignored: several rows per environment, one without a name.
      if (page == 1) {
        return ok(page_body(
            {{"env-b", "Prod", "2026-10-01", 1, 10}, {"env-a", std::nullopt, "2026-10-01", 1, 5}},
            3));
      }
      return ok(page_body({{"env-b", "Prod", "2026-10-05", 5, 50}}));
    }
    return ok(page_body(
        {{"ws-2", "api", std::nullopt, 4, 40}, {"ws-1", "network", std::nullopt, 2, 20}}));
  });
  const AccountUsage usage = h.fetch();

  EXPECT_EQ(usage.account_id, "acc-1");
  EXPECT_EQ(usage.period, kOctober);
  EXPECT_EQ(usage.total, (UsageCounts{6, 60}));
  ASSERT_EQ(usage.daily.size(), 2u);
  EXPECT_EQ(usage.daily[0].date, 2026y / 10 / 1);
  EXPECT_EQ(usage.daily[0].usage, (UsageCounts{1, 10}));
  EXPECT_EQ(usage.daily[1].date, 2026y / 10 / 5);
  EXPECT_EQ(usage.daily[1].usage, (UsageCounts{5, 50}));

  ASSERT_EQ(usage.environments.size(), 2u);
  EXPECT_EQ(usage.environments[0].id, "env-a");
  EXPECT_EQ(usage.environments[0].name, "");
  EXPECT_EQ(usage.environments[0].usage, (UsageCounts{1, 5}));
  EXPECT_EQ(usage.environments[1].id, "env-b");
  EXPECT_EQ(usage.environments[1].name, "Prod");
  EXPECT_EQ(usage.environments[1].usage, (UsageCounts{6, 60}));

  ASSERT_EQ(usage.workspaces.size(), 2u);
  EXPECT_EQ(usage.workspaces[0].id, "ws-1");
  EXPECT_EQ(usage.workspaces[0].name, "network");
  EXPECT_EQ(usage.workspaces[0].usage, (UsageCounts{2, 20}));
  EXPECT_EQ(usage.workspaces[0].environment_id, std::nullopt);
  EXPECT_EQ(usage.workspaces[1].id, "ws-2");

  // Page numbers follow next-page, including a jump (environment: 1 then 3).
  std::vector<std::pair<std::string, int>> pages;
  for (const auto& r : h.transport->requests) pages.emplace_back(breakdown_of(r), page_of(r));
  EXPECT_THAT(pages, ElementsAre(std::pair{std::string(), 1}, std::pair{std::string(), 2},
                                 std::pair{std::string("environment"), 1},
                                 std::pair{std::string("environment"), 3},
                                 std::pair{std::string("workspace"), 1}));
}

TEST(ScalrApiSource, AccountTotalComesFromTheUnbrokenDownRequest) {
  Harness h([](const HttpRequest& r) -> Reply {
    if (breakdown_of(r).empty()) return ok(page_body({{{}, {}, std::nullopt, 10, 100}}));
    return ok(page_body({{"x-1", "one", std::nullopt, 1, 1}}));
  });
  const AccountUsage usage = h.fetch();
  EXPECT_EQ(usage.total, (UsageCounts{10, 100}));
  EXPECT_TRUE(usage.daily.empty());  // a row without a date belongs to no day
}

TEST(ScalrApiSource, PaginationLoopIsRejected) {
  for (const int next : {1, 2}) {  // page 2 says next-page 1 (backwards) or 2 (repeat)
    Harness h(
        [next](const HttpRequest& r) { return ok(page_body({}, page_of(r) == 1 ? 2 : next)); });
    const SourceError error = h.fetch_error();
    EXPECT_EQ(error.reason(), ErrorReason::bad_response);
    EXPECT_THAT(error.what(), HasSubstr("pagination loop"));
    EXPECT_EQ(h.transport->requests.size(), 2u);
  }
}

TEST(ScalrApiSource, MorePagesThanMaxPagesIsTooLarge) {
  ScalrTarget target = test_target();
  target.max_pages = 3;
  Harness h([](const HttpRequest& r) { return ok(page_body({}, page_of(r) + 1)); }, target);
  const SourceError error = h.fetch_error();
  EXPECT_EQ(error.reason(), ErrorReason::too_large);
  EXPECT_THAT(error.what(), HasSubstr("more than 3 pages"));
  EXPECT_EQ(h.transport->requests.size(), 3u);
}

// The budget is per account and poll, shared by its three request sequences: 3 pages each is
// exactly 9, and 8 is one too few (the third sequence fails on its last page).
TEST(ScalrApiSource, MaxPagesCountsEveryPageOfTheAccountsPoll) {
  const auto three_pages = [](const HttpRequest& r) {
    const int page = page_of(r);
    return ok(
        page_body({{"id", "n", {}, 1, 1}}, page < 3 ? std::optional(page + 1) : std::nullopt));
  };
  ScalrTarget target = test_target();
  target.max_pages = 9;
  Harness exact(three_pages, target);
  EXPECT_EQ(exact.fetch().workspaces.at(0).usage, (UsageCounts{3, 3}));
  EXPECT_EQ(exact.transport->requests.size(), 9u);
  // The next poll has a fresh budget.
  EXPECT_EQ(exact.fetch().workspaces.at(0).usage, (UsageCounts{3, 3}));

  target.max_pages = 8;
  Harness short_by_one(three_pages, target);
  const SourceError error = short_by_one.fetch_error();
  EXPECT_EQ(error.reason(), ErrorReason::too_large);
  EXPECT_THAT(error.what(), HasSubstr("more than 8 pages for one account in one poll"));
  EXPECT_EQ(short_by_one.transport->requests.size(), 8u);
}

TEST(ScalrApiSource, TotalPagesOverMaxPagesFailsOnTheFirstPage) {
  ScalrTarget target = test_target();
  target.max_pages = 3;
  Harness h([](const HttpRequest&) { return ok(page_body({}, 2, 50)); }, target);
  EXPECT_EQ(h.fetch_error().reason(), ErrorReason::too_large);
  EXPECT_EQ(h.transport->requests.size(), 1u);
}

TEST(ScalrApiSource, ClientErrorsAreNotRetried) {
  const std::pair<int, ErrorReason> cases[] = {{401, ErrorReason::unauthorized},
                                               {403, ErrorReason::forbidden},
                                               {404, ErrorReason::not_found},
                                               {400, ErrorReason::client_error},
                                               {422, ErrorReason::client_error}};
  for (const auto& [status, reason] : cases) {
    Harness h([status = status](const HttpRequest&) {
      return Reply{status, R"({"errors":[{"status":")" + std::to_string(status) +
                               R"(","title":"Nope","detail":"Token has no accounts:billing"}]})"};
    });
    const SourceError error = h.fetch_error();
    EXPECT_EQ(error.reason(), reason) << status;
    EXPECT_THAT(error.what(), HasSubstr("HTTP " + std::to_string(status)));
    EXPECT_THAT(error.what(), HasSubstr("acc-1"));
    EXPECT_THAT(error.what(), HasSubstr("Nope: Token has no accounts:billing"));
    EXPECT_THAT(error.what(), Not(HasSubstr("tok-s3cr3t")));
    EXPECT_EQ(h.transport->requests.size(), 1u) << status;
    EXPECT_TRUE(h.sleeps.empty());
    EXPECT_THAT(h.observer.statuses, ElementsAre(status));
  }
}

TEST(ScalrApiSource, RateLimitedThenSuccessWaitsRetryAfter) {
  int calls = 0;
  Harness h([&calls](const HttpRequest&) {
    if (++calls == 1) return Reply{429, "slow down", "text/plain", "7"};
    return ok(page_body({}));
  });
  (void)h.fetch();
  EXPECT_THAT(h.sleeps, ElementsAre(7000ms));
  EXPECT_EQ(h.transport->requests.size(), 4u);  // 429 + 200, then the two breakdowns
  EXPECT_EQ(h.transport->requests[0].url, h.transport->requests[1].url);
  // The last 200 is the account's name lookup, which the empty pages leave unanswered.
  EXPECT_THAT(h.observer.statuses, ElementsAre(429, 200, 200, 200, 200));
  EXPECT_EQ(h.transport->name_requests.size(), 1u);
}

TEST(ScalrApiSource, ServerErrorsExhaustAttempts) {
  Harness h([](const HttpRequest&) { return Reply{500, "oops", "text/plain"}; });
  const SourceError error = h.fetch_error();
  EXPECT_EQ(error.reason(), ErrorReason::server_error);
  EXPECT_THAT(error.what(), HasSubstr("HTTP 500"));
  EXPECT_THAT(error.what(), HasSubstr("oops"));
  EXPECT_THAT(error.what(), HasSubstr("3 attempts"));
  EXPECT_EQ(h.transport->requests.size(), 3u);  // max_attempts
  // Backoff with jitter 0.5: 1000ms -> 750ms, 2000ms -> 1500ms.
  EXPECT_THAT(h.sleeps, ElementsAre(750ms, 1500ms));
  EXPECT_THAT(h.observer.statuses, ElementsAre(500, 500, 500));
}

TEST(ScalrApiSource, PersistentRateLimitEndsAsRateLimited) {
  Harness h([](const HttpRequest&) { return Reply{429, "", "", "garbage"}; });
  EXPECT_EQ(h.fetch_error().reason(), ErrorReason::rate_limited);
  EXPECT_EQ(h.transport->requests.size(), 3u);
  EXPECT_THAT(h.sleeps, ElementsAre(750ms, 1500ms));  // unparsable Retry-After: normal backoff
}

TEST(ScalrApiSource, TransportFailuresAreRetried) {
  for (const ErrorReason reason : {ErrorReason::timeout, ErrorReason::connection}) {
    int calls = 0;
    Harness h([&calls, reason](const HttpRequest&) {
      Reply reply = ok(page_body({{"id-1", "name", "2026-10-02", 1, 1}}));
      if (++calls <= 2) reply.transport_error = reason;
      return reply;
    });
    EXPECT_EQ(h.fetch().total, (UsageCounts{1, 1}));
    EXPECT_EQ(h.transport->requests.size(), 5u);
    EXPECT_EQ(h.sleeps.size(), 2u);
    // The fourth is the name lookup, which finds no row of acc-1.
    EXPECT_THAT(h.observer.statuses, ElementsAre(200, 200, 200, 200));

    Harness always([reason](const HttpRequest&) {
      Reply reply;
      reply.transport_error = reason;
      return reply;
    });
    const SourceError error = always.fetch_error();
    EXPECT_EQ(error.reason(), reason);
    EXPECT_THAT(error.what(), HasSubstr("scripted failure"));
    EXPECT_EQ(always.transport->requests.size(), 3u);
  }
}

TEST(ScalrApiSource, CancelledAndTooLargeFromTransportAreNotRetried) {
  for (const ErrorReason reason : {ErrorReason::cancelled, ErrorReason::too_large}) {
    Harness h([reason](const HttpRequest&) {
      Reply reply;
      reply.transport_error = reason;
      return reply;
    });
    EXPECT_EQ(h.fetch_error().reason(), reason);
    EXPECT_EQ(h.transport->requests.size(), 1u);
    EXPECT_TRUE(h.sleeps.empty());
  }
}

TEST(ScalrApiSource, StopBeforeFetchSendsNothing) {
  Harness h(empty_page);
  std::stop_source stop;
  stop.request_stop();
  EXPECT_EQ(h.fetch_error(stop.get_token()).reason(), ErrorReason::cancelled);
  EXPECT_TRUE(h.transport->requests.empty());
}

TEST(ScalrApiSource, SleeperInterruptedMeansCancelled) {
  Harness h([](const HttpRequest&) { return Reply{503, ""}; });
  h.sleeper_result = false;
  EXPECT_EQ(h.fetch_error().reason(), ErrorReason::cancelled);
  EXPECT_EQ(h.transport->requests.size(), 1u);
}

TEST(ScalrApiSource, StopDuringRealBackoffReturnsPromptly) {
  ScalrTarget target = test_target();
  target.retry.initial_backoff = 60000ms;
  target.retry.max_backoff = 60000ms;
  auto fake = std::make_unique<FakeTransport>([](const HttpRequest&) { return Reply{503, ""}; });
  ScalrApiSource source(target, std::move(fake), nullptr, &sleep_unless_stopped,
                        [] { return 0.0; });

  std::stop_source stop;
  std::jthread stopper([&stop] {
    std::this_thread::sleep_for(50ms);
    stop.request_stop();
  });
  const auto started = std::chrono::steady_clock::now();
  try {
    (void)source.fetch("acc-1", kOctober, stop.get_token());
    ADD_FAILURE() << "fetch did not throw";
  } catch (const SourceError& e) {
    EXPECT_EQ(e.reason(), ErrorReason::cancelled);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST(ScalrApiSource, RealSleeperSleepsWhenNotStopped) {
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(sleep_unless_stopped(20ms, {}));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 20ms);
}

TEST(ScalrApiSource, SuccessMustBeJson) {
  for (const char* type : {"text/html", "", "application/xml", "application/jsonx"}) {
    Harness h([type](const HttpRequest&) { return Reply{200, "<html></html>", type}; });
    const SourceError error = h.fetch_error();
    EXPECT_EQ(error.reason(), ErrorReason::bad_response) << type;
    EXPECT_THAT(error.what(), HasSubstr("content type"));
    EXPECT_EQ(h.transport->requests.size(), 1u);
  }
  for (const char* type : {"application/json; charset=utf-8", "Application/VND.API+JSON",
                           " application/vnd.api+json ;ext=x"}) {
    Harness h([type](const HttpRequest&) { return Reply{200, page_body({}), type}; });
    EXPECT_NO_THROW((void)h.fetch()) << type;
  }
}

TEST(ScalrApiSource, MalformedPageNamesSequencePageAndPath) {
  Harness h([](const HttpRequest& r) {
    if (breakdown_of(r) == "workspace") return ok(R"({"data": [{"type": "nope"}]})");
    return ok(page_body({}));
  });
  const SourceError error = h.fetch_error();
  EXPECT_EQ(error.reason(), ErrorReason::bad_response);
  EXPECT_THAT(error.what(), HasSubstr("breakdown_by=workspace page 1 for account acc-1"));
  EXPECT_THAT(error.what(), HasSubstr("data[0].type"));
}

TEST(ScalrApiSource, RowsOfAnotherAccountAreRejected) {
  Harness h([](const HttpRequest&) {
    Row row{{}, {}, "2026-10-01", 1, 1};
    row.account = "acc-other";
    return ok(page_body({row}));
  });
  const SourceError error = h.fetch_error();
  EXPECT_EQ(error.reason(), ErrorReason::bad_response);
  EXPECT_THAT(error.what(), HasSubstr("acc-other"));
}

TEST(ScalrApiSource, BreakdownRowsNeedAnId) {
  Harness h([](const HttpRequest& r) {
    if (breakdown_of(r) == "environment") return ok(page_body({{{}, "n", {}, 1, 1}}));
    return ok(page_body({}));
  });
  const SourceError error = h.fetch_error();
  EXPECT_EQ(error.reason(), ErrorReason::bad_response);
  EXPECT_THAT(error.what(), HasSubstr("breakdown-id: null"));
}

TEST(ScalrApiSource, LabelsOverMaxLabelLengthAreTooLargeAndNamed) {
  ScalrTarget target = test_target();
  target.max_label_length = 8;
  for (const std::string breakdown : {"environment", "workspace"}) {
    for (const bool long_id : {false, true}) {
      const std::string too_long(9, 'x');
      Harness h(
          [&](const HttpRequest& r) {
            if (breakdown_of(r) != breakdown) return ok(page_body({}));
            Row row{long_id ? too_long : "ws-1", long_id ? "name" : too_long, {}, 1, 1};
            return ok(page_body({{"ws-0", "exactly8", {}, 1, 1}, row}));
          },
          target);
      const SourceError error = h.fetch_error();
      EXPECT_EQ(error.reason(), ErrorReason::too_large);
      const std::string field = long_id ? "breakdown-id" : "breakdown-name";
      EXPECT_THAT(error.what(),
                  HasSubstr("breakdown_by=" + breakdown + " page 1 for account acc-1"));
      EXPECT_THAT(error.what(), HasSubstr("data[1].attributes." + field +
                                          ": 9 bytes, longer than scalr.max_label_length (8)"));
      EXPECT_THAT(error.what(), Not(HasSubstr(too_long)));  // the value itself is not echoed
    }
  }
}

TEST(ScalrApiSource, LabelsAtMaxLabelLengthAndUnusedNamesAreFine) {
  ScalrTarget target = test_target();
  target.max_label_length = 8;
  Harness h(
      [](const HttpRequest& r) {
        // The unbroken-down rows' names are never labels, so their length does not matter.
        if (breakdown_of(r).empty()) {
          return ok(page_body({{{}, std::string(100, 'n'), "2026-10-01", 2, 3}}));
        }
        return ok(page_body({{"12345678", "87654321", {}, 2, 3}}));
      },
      target);
  const AccountUsage usage = h.fetch();
  EXPECT_EQ(usage.total.runs, 2u);
  ASSERT_EQ(usage.workspaces.size(), 1u);
  EXPECT_EQ(usage.workspaces[0].name, "87654321");
}

// A proxy that echoes request headers in its error page must not get the token into a message.
TEST(ScalrApiSource, TokenEchoedByTheServerIsRedacted) {
  const std::vector<Reply> replies = {
      Reply{502, "<html>Bad gateway. Request: Authorization: Bearer tok-s3cr3t</html>",
            "text/html"},
      Reply{401, R"({"errors":[{"status":"401","detail":"token tok-s3cr3t, again tok-s3cr3t"}]})"},
      Reply{200, page_body({}), "text/plain; echo=tok-s3cr3t"},
      Reply{200, R"({"data": [{"type": "tok-s3cr3t"}]})"},
  };
  for (const Reply& reply : replies) {
    ScalrTarget target = test_target();
    target.retry.max_attempts = 1;
    Harness h([&](const HttpRequest&) { return reply; }, target);
    const SourceError error = h.fetch_error();
    EXPECT_THAT(error.what(), Not(HasSubstr("s3cr3t"))) << error.what();
    EXPECT_THAT(error.what(), HasSubstr("xxxxx")) << error.what();
  }
}

TEST(ScalrApiSource, ObserverSeesEveryStatusAndMayBeNull) {
  int calls = 0;
  const auto script = [&calls](const HttpRequest&) {
    ++calls;
    if (calls == 1) return Reply{503, ""};
    if (calls == 2) return Reply{429, ""};
    return ok(page_body({}));
  };
  Harness h(script);
  (void)h.fetch();
  EXPECT_THAT(h.observer.statuses, ElementsAre(503, 429, 200, 200, 200, 200));

  calls = 0;
  Harness without(script, test_target(), /*with_observer=*/false);
  EXPECT_NO_THROW((void)without.fetch());
}

// ---------------------------------------------------------------------------------------------
// CurlTransport against a real CivetWeb server on loopback.

using loopback_server::closed_port;
using loopback_server::send_reply;

int json_handler(mg_connection* conn, void*) {
  // Echo what the client sent, so the test sees the request headers.
  const char* auth = mg_get_header(conn, "Authorization");
  const char* encoding = mg_get_header(conn, "Accept-Encoding");
  const char* agent = mg_get_header(conn, "User-Agent");
  const json body = {
      {"auth", auth ? auth : ""},
      {"encoding", encoding ? encoding : ""},
      {"agent", agent ? agent : ""},
      {"query",
       mg_get_request_info(conn)->query_string ? mg_get_request_info(conn)->query_string : ""}};
  return send_reply(conn, 200, "OK", "Content-Type: application/vnd.api+json\r\n", body.dump());
}

int limited_handler(mg_connection* conn, void*) {
  return send_reply(conn, 429, "Too Many Requests",
                    "Content-Type: application/vnd.api+json\r\nRetry-After: 3\r\n",
                    R"({"errors":[{"status":"429"}]})");
}

std::string gzip(const std::string& data) {
  z_stream stream{};
  // windowBits 15 + 16: a gzip wrapper rather than zlib's.
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return {};
  }
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return rc == Z_STREAM_END ? out : std::string();
}

int gzip_handler(mg_connection* conn, void*) {
  return send_reply(conn, 200, "OK", "Content-Type: application/json\r\nContent-Encoding: gzip\r\n",
                    gzip(std::string(64 << 10, 'z')));
}

int big_handler(mg_connection* conn, void*) {
  return send_reply(conn, 200, "OK", "Content-Type: application/json\r\n",
                    std::string(64 << 10, 'x'));
}

// No Content-Length: the body's size is known only as it arrives, and it never ends on its own
// (1 GiB), so only a bound enforced while streaming stops it.
int endless_handler(mg_connection* conn, void*) {
  mg_printf(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n");
  const std::string block(64 << 10, 'x');
  for (int i = 0; i < (1 << 14); ++i) {
    if (mg_write(conn, block.data(), block.size()) <= 0) break;  // the client hung up
  }
  return 200;
}

// Holds its response until the test releases it, to keep a request in flight for as long as needed.
struct Gate {
  std::mutex mutex;
  std::condition_variable released_cv;
  bool released = false;

  void release() {
    {
      const std::lock_guard lock(mutex);
      released = true;
    }
    released_cv.notify_all();
  }
};

int gated_handler(mg_connection* conn, void* data) {
  auto& gate = *static_cast<Gate*>(data);
  {
    std::unique_lock lock(gate.mutex);
    gate.released_cv.wait_for(lock, 5s, [&gate] { return gate.released; });
  }
  return send_reply(conn, 200, "OK", "Content-Type: application/json\r\n", "{}");
}

class ScalrApiCurlTransport : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = loopback_server::start(4);
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(server_.get_deleter().port, 0);
    mg_set_request_handler(server_.get(), "/json", json_handler, nullptr);
    mg_set_request_handler(server_.get(), "/limited", limited_handler, nullptr);
    mg_set_request_handler(server_.get(), "/big", big_handler, nullptr);
    mg_set_request_handler(server_.get(), "/endless", endless_handler, nullptr);
    mg_set_request_handler(server_.get(), "/gzip", gzip_handler, nullptr);
    mg_set_request_handler(server_.get(), "/gated", gated_handler, &gate_);
    base_ = loopback_server::base_url(server_);
  }

  HttpRequest request(const std::string& path) const {
    HttpRequest r;
    r.url = base_ + path;
    r.headers = {"Authorization: Bearer tok-s3cr3t", "Accept: application/vnd.api+json"};
    r.timeout = 2000ms;
    r.max_body_bytes = 1 << 20;
    return r;
  }

  SourceError get_error(const HttpRequest& r, std::stop_token stop = {}) {
    try {
      (void)transport_.get(r, stop);
    } catch (const SourceError& e) {
      return e;
    }
    ADD_FAILURE() << "get did not throw";
    return SourceError(ErrorReason::database, "no error");
  }

  void TearDown() override { gate_.release(); }

  Gate gate_;  // declared before server_, so it outlives the server's handler threads
  loopback_server::Server server_;
  std::string base_;
  CurlTransport transport_;
};

TEST_F(ScalrApiCurlTransport, GetsBodyStatusAndContentType) {
  const HttpResponse response = transport_.get(request("/json?a=%5B1%5D"), {});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/vnd.api+json");
  EXPECT_EQ(response.retry_after, std::nullopt);
  const json body = json::parse(response.body);
  EXPECT_EQ(body["auth"], "Bearer tok-s3cr3t");
  EXPECT_THAT(body["encoding"].get<std::string>(), HasSubstr("gzip"));
  EXPECT_THAT(body["agent"].get<std::string>(), HasSubstr("scalr-usage-exporter/"));
  EXPECT_EQ(body["query"], "a=%5B1%5D");

  // The handle is reused for the next request.
  EXPECT_EQ(transport_.get(request("/json"), {}).status, 200);
}

TEST_F(ScalrApiCurlTransport, ErrorStatusWithRetryAfter) {
  const HttpResponse response = transport_.get(request("/limited"), {});
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.retry_after, "3");
  EXPECT_EQ(response.body, R"({"errors":[{"status":"429"}]})");
}

TEST_F(ScalrApiCurlTransport, BodyOverLimitIsTooLarge) {
  HttpRequest r = request("/big");
  r.max_body_bytes = 1000;
  const SourceError error = get_error(r);
  EXPECT_EQ(error.reason(), ErrorReason::too_large);
  EXPECT_THAT(error.what(), HasSubstr("1000 bytes"));

  r.max_body_bytes = 64 << 10;  // exactly the body size is fine
  EXPECT_EQ(transport_.get(r, {}).body.size(), 64u << 10);
}

TEST_F(ScalrApiCurlTransport, BodyWithoutLengthIsCutOffAtTheLimit) {
  HttpRequest r = request("/endless");
  r.max_body_bytes = 256 << 10;
  r.timeout = 10000ms;
  const SourceError error = get_error(r);
  EXPECT_EQ(error.reason(), ErrorReason::too_large);
  EXPECT_THAT(error.what(), HasSubstr(std::to_string(256 << 10) + " bytes"));
}

TEST_F(ScalrApiCurlTransport, GzipBodyIsDecodedAndLimitedAfterDecoding) {
  HttpRequest r = request("/gzip");
  EXPECT_EQ(transport_.get(r, {}).body, std::string(64 << 10, 'z'));
  // The compressed body is tiny; the limit is on what it expands to.
  r.max_body_bytes = 4096;
  EXPECT_EQ(get_error(r).reason(), ErrorReason::too_large);
}

TEST_F(ScalrApiCurlTransport, SlowServerTimesOut) {
  HttpRequest r = request("/gated");
  r.timeout = 100ms;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(get_error(r).reason(), ErrorReason::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 350ms);
}

TEST_F(ScalrApiCurlTransport, StopRequestedIsCancelled) {
  std::stop_source stop;
  stop.request_stop();
  EXPECT_EQ(get_error(request("/json"), stop.get_token()).reason(), ErrorReason::cancelled);
}

TEST_F(ScalrApiCurlTransport, StopDuringSlowResponseIsCancelled) {
  std::stop_source stop;
  std::jthread stopper([&stop] {
    std::this_thread::sleep_for(50ms);
    stop.request_stop();
  });
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(get_error(request("/gated"), stop.get_token()).reason(), ErrorReason::cancelled);
  // libcurl runs the progress callback at least about once a second while waiting.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1000ms);
}

TEST_F(ScalrApiCurlTransport, ConnectionRefusedIsConnection) {
  const int port = closed_port();
  ASSERT_NE(port, 0);
  HttpRequest r = request("/json");
  r.url = "http://127.0.0.1:" + std::to_string(port) + "/json";
  const SourceError error = get_error(r);
  EXPECT_EQ(error.reason(), ErrorReason::connection);
  EXPECT_THAT(error.what(), Not(HasSubstr("tok-s3cr3t")));
  EXPECT_THAT(error.what(), HasSubstr(std::to_string(port)));  // curl's own error text
}

}  // namespace
}  // namespace scalr_usage
