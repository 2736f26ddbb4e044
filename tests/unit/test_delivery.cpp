// Delivery: the retry rules (a fake clock), the record round trip through the schedule state, the
// dispatcher's exactly-once behaviour against a store, the webhook config and its bodies.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "daemon/config_file.h"
#include "delivery/delivery_record.h"
#include "delivery/dispatcher.h"
#include "delivery/webhook/body.h"
#include "delivery/webhook/config.h"
#include "delivery/webhook/webhook_channel.h"
#include "test_files.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;
using nlohmann::json;
using test_files::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const sys_seconds kT0 = sys_days{2026y / 12 / 1} + hours{6};

WrittenReport sample_report(const std::string& account = "acc-1") {
  ReportSummary s;
  s.account_id = account;
  s.account_name = "Acme";
  s.period = Period{sys_days{2026y / 11 / 1}, sys_days{2026y / 12 / 1}};
  s.period_key = "2026-11";
  s.usage = UsageCounts{125, 7200};
  s.previous_period = Period{sys_days{2026y / 10 / 1}, sys_days{2026y / 11 / 1}};
  s.previous = UsageCounts{100, 3600};
  s.overage_cost_cents = 2475;
  s.currency = "USD";
  return WrittenReport{"monthly",
                       s,
                       {{"csv", "/out/monthly/scalr-usage_" + account + "_2026-11.csv"},
                        {"json", "/out/monthly/scalr-usage_" + account + "_2026-11.json"}}};
}

// --- retry rules -------------------------------------------------------------------------------

TEST(DeliveryRetry, BacksOffDoublingToTheCapAndHonoursRetryAfter) {
  const DeliveryRetryPolicy policy{seconds{30}, minutes{2}, hours{6}};
  DeliveryRecord r = new_delivery(sample_report(), "webhook", kT0);
  EXPECT_TRUE(is_due(r, kT0));
  const DeliveryResult retry{DeliveryOutcome::retry, "HTTP 503"};
  r = after_attempt(r, retry, kT0, policy);
  EXPECT_EQ(r.status, DeliveryStatus::pending);
  EXPECT_EQ(r.next_attempt, kT0 + seconds{30});
  EXPECT_FALSE(is_due(r, kT0 + seconds{29}));
  r = after_attempt(r, retry, kT0 + seconds{30}, policy);
  EXPECT_EQ(r.next_attempt, kT0 + seconds{90});  // 60 s later
  r = after_attempt(r, retry, kT0 + seconds{90}, policy);
  EXPECT_EQ(r.next_attempt, kT0 + seconds{210});  // 120 s: the cap
  r = after_attempt(r, retry, kT0 + seconds{210}, policy);
  EXPECT_EQ(r.next_attempt, kT0 + seconds{330});  // still the cap
  // Retry-After longer than the backoff wins.
  r = after_attempt(r, DeliveryResult{DeliveryOutcome::retry, "HTTP 429", seconds{600}},
                    kT0 + seconds{330}, policy);
  EXPECT_EQ(r.next_attempt, kT0 + seconds{930});
  EXPECT_EQ(r.attempts, 5);
  EXPECT_EQ(r.first_attempt, kT0);
  EXPECT_EQ(r.last_error, "HTTP 429");
}

TEST(DeliveryRetry, GivesUpAtTheDeadlineAfterOneLastAttemptThere) {
  const DeliveryRetryPolicy policy{seconds{30}, hours{1}, minutes{10}};
  DeliveryRecord r = new_delivery(sample_report(), "webhook", kT0);
  const DeliveryResult retry{DeliveryOutcome::retry, "connection refused"};
  r = after_attempt(r, retry, kT0, policy);
  r = after_attempt(r, DeliveryResult{DeliveryOutcome::retry, "x", hours{2}}, kT0 + seconds{30},
                    policy);
  EXPECT_EQ(r.next_attempt, kT0 + minutes{10});  // not past the deadline
  r = after_attempt(r, retry, kT0 + minutes{10}, policy);
  EXPECT_EQ(r.status, DeliveryStatus::failed);
  EXPECT_EQ(r.finished_at, kT0 + minutes{10});
  EXPECT_FALSE(is_due(r, kT0 + hours{10}));
}

TEST(DeliveryRetry, PermanentFailureAndSuccessFinishAtOnce) {
  const DeliveryRetryPolicy policy;
  const DeliveryRecord failed = after_attempt(new_delivery(sample_report(), "webhook", kT0),
                                              {DeliveryOutcome::failed, "HTTP 404"}, kT0, policy);
  EXPECT_EQ(failed.status, DeliveryStatus::failed);
  EXPECT_EQ(failed.attempts, 1);
  const DeliveryRecord sent = after_attempt(new_delivery(sample_report(), "webhook", kT0),
                                            {DeliveryOutcome::sent, "HTTP 200"}, kT0, policy);
  EXPECT_EQ(sent.status, DeliveryStatus::sent);
  EXPECT_TRUE(sent.last_error.empty());
}

// --- records in the state ----------------------------------------------------------------------

TEST(DeliveryRecordState, RoundTripsThroughTheStateFile) {
  const TempDir dir;
  const auto file = dir.path() / ".state.json";
  DeliveryRecord r = after_attempt(new_delivery(sample_report(), "webhook", kT0),
                                   {DeliveryOutcome::retry, "HTTP 503"}, kT0, {});
  ScheduleState state(file);
  state.mark_written("monthly", "2026-11", kT0, kT0);
  state.put_delivery(r.key(), encode_delivery(r));
  state.save();
  const ScheduleState loaded = ScheduleState::load(file);
  ASSERT_EQ(loaded.deliveries().size(), 1u);
  const auto& [key, stored] = *loaded.deliveries().begin();
  EXPECT_EQ(key, (DeliveryKey{"monthly", "acc-1", "2026-11", "webhook"}));
  EXPECT_FALSE(stored.finished);
  EXPECT_EQ(decode_delivery(stored), r);
}

TEST(DeliveryRecordState, AStateFileWithoutDeliveriesStillLoads) {
  const TempDir dir;
  const auto file = dir.path() / ".state.json";
  test_files::write_text(
      file, R"({"version": 1, "schedules": {"monthly": {"period": "2026-10",)"
            R"( "fire_time": "2026-11-01T06:00:00Z", "written_at": "2026-11-01T06:00:05Z"}}})");
  const ScheduleState state = ScheduleState::load(file);
  EXPECT_EQ(state.last_written("monthly"), "2026-10");
  EXPECT_TRUE(state.deliveries().empty());
}

TEST(DeliveryRecordState, PruneForgetsOnlyFinishedDeliveriesOfOlderPeriods) {
  ScheduleState state{std::filesystem::path{}};
  state.put_delivery({"monthly", "a", "2026-10", "webhook"}, {true, "{}"});
  state.put_delivery({"monthly", "b", "2026-10", "webhook"}, {false, "{}"});
  state.put_delivery({"monthly", "a", "2026-11", "webhook"}, {true, "{}"});
  state.put_delivery({"daily", "a", "2026-10", "webhook"}, {true, "{}"});
  const auto forgotten = state.prune_deliveries("monthly", "2026-11");
  EXPECT_EQ(forgotten, (std::vector<DeliveryKey>{{"monthly", "a", "2026-10", "webhook"}}));
  EXPECT_EQ(state.deliveries().size(), 3u);
}

// --- the dispatcher ----------------------------------------------------------------------------

class FakeChannel final : public DeliveryChannel {
 public:
  std::string_view kind() const override { return "webhook"; }
  DeliveryResult deliver(const WrittenReport& report, std::stop_token) override {
    delivered.push_back(report.summary.account_id);
    if (script.empty()) return {DeliveryOutcome::sent, "HTTP 200"};
    DeliveryResult next = script.front();
    script.erase(script.begin());
    return next;
  }
  std::vector<DeliveryResult> script;
  std::vector<std::string> delivered;
};

// A store like the leader's table: what it records is what the next leader loads.
class MemoryStore final : public ScheduleStore {
 public:
  std::optional<LeadershipStatus> leadership() const override { return std::nullopt; }
  std::optional<ScheduleState> load() override { return state; }
  std::optional<std::stop_token> begin_write() override { return std::stop_token{}; }
  void mark_written(const DueReport& report, sys_seconds at) override {
    state.mark_written(report, at);
  }
  void record_delivery(const DeliveryKey& key, const StoredDelivery& delivery) override {
    if (fail_records) throw ScheduleStateError("no longer the leader");
    state.put_delivery(key, delivery);
    ++records;
  }
  void prune_deliveries(const std::string& schedule, const std::string& key) override {
    state.prune_deliveries(schedule, key);
  }
  ScheduleState state{std::filesystem::path{}};
  bool fail_records = false;
  int records = 0;
};

struct DispatcherFixture {
  sys_seconds now = kT0;
  FakeChannel channel;
  MemoryStore store;
  DeliveryDispatcher dispatcher{
      DeliveryRetryPolicy{seconds{30}, minutes{30}, hours{6}},
      [this](std::string_view, std::string_view name) -> DeliveryChannel* {
        return name == "webhook" ? &channel : nullptr;
      },
      [this] { return now; }};
};

TEST(DeliveryDispatcher, SendsOnceAndANewLeaderWithTheTableSendsNothing) {
  DispatcherFixture f;
  ScheduleState state = *f.store.load();
  f.dispatcher.enqueue(state, f.store, sample_report("acc-1"), {"webhook"});
  f.dispatcher.enqueue(state, f.store, sample_report("acc-2"), {"webhook"});
  f.dispatcher.enqueue(state, f.store, sample_report("acc-1"), {"webhook"});  // queued already
  const auto finished = f.dispatcher.attempt_due(state, f.store, {});
  EXPECT_EQ(f.channel.delivered, (std::vector<std::string>{"acc-1", "acc-2"}));
  ASSERT_EQ(finished.size(), 2u);
  EXPECT_EQ(finished[0].status, DeliveryStatus::sent);
  EXPECT_EQ(DeliveryDispatcher::next_due(state), std::nullopt);

  // The next leader loads the table: nothing is due, nothing sent, even re-queued.
  FakeChannel other;
  DeliveryDispatcher next_leader(
      {}, [&](std::string_view, std::string_view) -> DeliveryChannel* { return &other; },
      [&] { return f.now + hours{1}; });
  ScheduleState loaded = *f.store.load();
  next_leader.enqueue(loaded, f.store, sample_report("acc-1"), {"webhook"});
  EXPECT_TRUE(next_leader.attempt_due(loaded, f.store, {}).empty());
  EXPECT_TRUE(other.delivered.empty());
}

TEST(DeliveryDispatcher, RetriesWhenDueAndContinuesAfterARestart) {
  DispatcherFixture f;
  f.channel.script = {{DeliveryOutcome::retry, "HTTP 503", seconds{1}}};
  ScheduleState state = *f.store.load();
  f.dispatcher.enqueue(state, f.store, sample_report(), {"webhook"});
  EXPECT_TRUE(f.dispatcher.attempt_due(state, f.store, {}).empty());
  EXPECT_EQ(DeliveryDispatcher::next_due(state), kT0 + seconds{30});
  f.now = kT0 + seconds{29};
  EXPECT_TRUE(f.dispatcher.attempt_due(state, f.store, {}).empty());
  EXPECT_EQ(f.channel.delivered.size(), 1u);  // not due yet: no attempt
  // A restart: the state comes back from the store, and the retry happens when due.
  ScheduleState reloaded = *f.store.load();
  f.now = kT0 + seconds{30};
  const auto finished = f.dispatcher.attempt_due(reloaded, f.store, {});
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].status, DeliveryStatus::sent);
  EXPECT_EQ(f.channel.delivered.size(), 2u);
}

TEST(DeliveryDispatcher, ShutdownLeavesTheDeliveryPendingAndUncounted) {
  DispatcherFixture f;
  f.channel.script = {{DeliveryOutcome::retry, "shutting down"}};
  ScheduleState state = *f.store.load();
  f.dispatcher.enqueue(state, f.store, sample_report(), {"webhook"});
  std::stop_source stop;
  stop.request_stop();
  EXPECT_TRUE(f.dispatcher.attempt_due(state, f.store, stop.get_token()).empty());
  const DeliveryRecord r = decode_delivery(state.deliveries().begin()->second);
  EXPECT_EQ(r.attempts, 0);
  EXPECT_EQ(r.status, DeliveryStatus::pending);
}

// --- webhook config and bodies -----------------------------------------------------------------

std::string reports_yaml(const std::string& webhook) {
  return "scalr:\n  url: https://example.scalr.io\n  accounts: [acc-1]\n"
         "reports:\n  output_dir: /tmp/r\n  schedules:\n"
         "    - name: monthly\n      cron: \"0 6 1 * *\"\n      period: previous_month\n"
         "      webhook:\n" +
         webhook;
}

std::string config_error(const std::string& yaml) {
  try {
    parse_config(yaml, {{"SCALR_TOKEN", "tok"}});
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "accepted";
}

TEST(WebhookConfig, ErrorsNameTheKeyAndNeverTheUrl) {
  EXPECT_THAT(config_error(reports_yaml("        url: https://h/x\n        format: teams\n")),
              StartsWith("reports.schedules[0].webhook.format: "));
  EXPECT_THAT(config_error(reports_yaml("        format: json\n")),
              StartsWith("reports.schedules[0].webhook.url: required"));
  const std::string bad = config_error(reports_yaml("        url: ftp://h/s3cret\n"));
  EXPECT_THAT(bad, StartsWith("reports.schedules[0].webhook.url: "));
  EXPECT_THAT(bad, Not(HasSubstr("s3cret")));
  EXPECT_THAT(config_error(reports_yaml("        url: https://h/x\n        urls: y\n")),
              StartsWith("reports.schedules[0].webhook.urls: unknown key"));
  const TempDir dir;
  const auto file = dir.path() / "url";
  test_files::write_text(file, "https://hooks.example.com/services/T/B/s3cret\n");
  const Config config = parse_config(reports_yaml("        url_file: " + file.string() + "\n"),
                                     {{"SCALR_TOKEN", "tok"}});
  ASSERT_EQ(config.delivery.schedules.size(), 1u);
  const auto& webhook = std::get<WebhookConfig>(config.delivery.schedules[0].channels.at(0));
  EXPECT_EQ(webhook.url.reveal(), "https://hooks.example.com/services/T/B/s3cret");
  EXPECT_EQ(webhook.shown_url, "https://hooks.example.com");
  EXPECT_EQ(config.delivery.retry_for, hours{6});
}

TEST(WebhookConfig, UrlFromACredentialAndTheRetryWindow) {
  const TempDir dir;
  test_files::write_text(dir.path() / "hook", "https://hooks.slack.com/services/T/B/s3cret\n");
  const std::string yaml = reports_yaml("        url_credential: hook\n        format: slack\n") +
                           "  delivery_retry_for: 90m\n";
  const Config config =
      parse_config(yaml, {{"SCALR_TOKEN", "tok"}, {"CREDENTIALS_DIRECTORY", dir.path().string()}});
  const auto& webhook = std::get<WebhookConfig>(config.delivery.schedules[0].channels.at(0));
  EXPECT_EQ(webhook.url.reveal(), "https://hooks.slack.com/services/T/B/s3cret");
  EXPECT_EQ(webhook.format, WebhookFormat::slack);
  EXPECT_EQ(webhook.url_origin, "credential hook");
  EXPECT_EQ(config.delivery.retry_for, minutes{90});
  EXPECT_THAT(
      config_error(reports_yaml("        url: https://h/x\n") + "  delivery_retry_for: 10s\n"),
      StartsWith("reports.delivery_retry_for: "));
  EXPECT_THAT(config_error(reports_yaml("        url: https://h/x\n        url_file: /x\n")),
              StartsWith("reports.schedules[0].webhook.url_file: set only one of"));
}

TEST(WebhookConfig, ShownUrlDropsPathQueryAndCredentials) {
  EXPECT_EQ(shown_webhook_url("https://u:p@h.example:8443/a?b#c"), "https://h.example:8443");
  EXPECT_EQ(shown_webhook_url("http://127.0.0.1:80/x"), "http://127.0.0.1:80");
  EXPECT_THROW(shown_webhook_url("https:///x"), std::invalid_argument);
}

TEST(WebhookResult, ClassifiesStatuses) {
  EXPECT_EQ(webhook_result(204, "").outcome, DeliveryOutcome::sent);
  EXPECT_EQ(webhook_result(404, "").outcome, DeliveryOutcome::failed);
  EXPECT_EQ(webhook_result(302, "").outcome, DeliveryOutcome::failed);
  const DeliveryResult limited = webhook_result(429, "120");
  EXPECT_EQ(limited.outcome, DeliveryOutcome::retry);
  EXPECT_EQ(limited.retry_after, seconds{120});
  EXPECT_EQ(webhook_result(503, "").retry_after, std::nullopt);
}

TEST(WebhookBody, JsonCarriesTheFiguresAndBaseNames) {
  const json body = json::parse(webhook_json_body(sample_report()));
  EXPECT_EQ(body["schedule"], "monthly");
  EXPECT_EQ(body["period"], (json{{"start", "2026-11-01T00:00:00Z"},
                                  {"end", "2026-12-01T00:00:00Z"},
                                  {"key", "2026-11"}}));
  EXPECT_EQ(body["account"], (json{{"id", "acc-1"}, {"name", "Acme"}}));
  EXPECT_EQ(body["usage"]["runs"], 125);
  EXPECT_DOUBLE_EQ(body["usage"]["run_hours"].get<double>(), 2.0);
  EXPECT_EQ(body["previous"]["period"]["key"], "2026-10");
  EXPECT_EQ(body["change"]["runs"], 25);
  EXPECT_EQ(body["change"]["run_seconds"], 3600);
  EXPECT_DOUBLE_EQ(body["change"]["runs_relative"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(body["change"]["run_seconds_relative"].get<double>(), 1.0);
  EXPECT_EQ(body["overage_cost"],
            (json{{"cents", 2475}, {"amount", "24.75"}, {"currency", "USD"}}));
  EXPECT_EQ(body["files"][1],
            (json{{"format", "json"}, {"name", "scalr-usage_acc-1_2026-11.json"}}));
}

TEST(WebhookBody, JsonWithoutPlanOrComparisonHasNulls) {
  WrittenReport report = sample_report();
  report.summary.previous.reset();
  report.summary.previous_period.reset();
  report.summary.overage_cost_cents.reset();
  const json body = json::parse(webhook_json_body(report));
  EXPECT_TRUE(body["previous"].is_null());
  EXPECT_TRUE(body["change"].is_null());
  EXPECT_TRUE(body["overage_cost"].is_null());
}

TEST(WebhookBody, SlackHasTextAndBlocks) {
  const json body = json::parse(webhook_slack_body(sample_report()));
  EXPECT_EQ(body["text"],
            "Scalr usage 2026-11 for Acme (acc-1): 125 runs, 2.00 run hours, +25 runs (+25.0%) vs "
            "2026-10, overage 24.75 USD");
  EXPECT_EQ(body["blocks"][0]["type"], "header");
  EXPECT_EQ(body["blocks"][0]["text"]["text"], "Scalr usage 2026-11: Acme (acc-1)");
  EXPECT_EQ(body["blocks"][1]["fields"][0]["text"], "*Runs*\n125");
  EXPECT_EQ(body["blocks"][1]["fields"][3]["text"], "*Overage cost*\n24.75 USD");
  EXPECT_EQ(body["blocks"][2]["elements"][0]["text"],
            "Schedule monthly: scalr-usage_acc-1_2026-11.csv, scalr-usage_acc-1_2026-11.json");
}

}  // namespace
}  // namespace scalr_usage
