#include "delivery/delivery_record.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace scalr_usage {

using nlohmann::json;
using std::chrono::seconds;
using std::chrono::sys_seconds;

namespace {

std::int64_t unix_seconds(sys_seconds t) { return t.time_since_epoch().count(); }
sys_seconds from_unix(std::int64_t s) { return sys_seconds{seconds{s}}; }

std::string_view status_name(DeliveryStatus status) {
  switch (status) {
    case DeliveryStatus::sent:
      return "sent";
    case DeliveryStatus::failed:
      return "failed";
    case DeliveryStatus::pending:
      break;
  }
  return "pending";
}

DeliveryStatus parse_status(const std::string& text) {
  for (const DeliveryStatus s :
       {DeliveryStatus::pending, DeliveryStatus::sent, DeliveryStatus::failed}) {
    if (text == status_name(s)) return s;
  }
  throw std::invalid_argument("unknown delivery status \"" + text + "\"");
}

json period_json(const Period& period) {
  return json::array({unix_seconds(period.start), unix_seconds(period.end)});
}

Period parse_period(const json& value) {
  return Period{from_unix(value.at(0).get<std::int64_t>()),
                from_unix(value.at(1).get<std::int64_t>())};
}

json usage_json(const UsageCounts& usage) { return json::array({usage.runs, usage.run_seconds}); }

UsageCounts parse_usage(const json& value) {
  return UsageCounts{value.at(0).get<std::uint64_t>(), value.at(1).get<std::uint64_t>()};
}

json summary_json(const ReportSummary& s) {
  json out = {{"account_id", s.account_id},      {"account_name", s.account_name},
              {"period", period_json(s.period)}, {"period_key", s.period_key},
              {"usage", usage_json(s.usage)},    {"currency", s.currency}};
  if (s.previous_period) out["previous_period"] = period_json(*s.previous_period);
  if (s.previous) out["previous"] = usage_json(*s.previous);
  if (s.overage_cost_cents) out["overage_cost_cents"] = *s.overage_cost_cents;
  return out;
}

ReportSummary parse_summary(const json& v) {
  ReportSummary s;
  s.account_id = v.at("account_id").get<std::string>();
  s.account_name = v.at("account_name").get<std::string>();
  s.period = parse_period(v.at("period"));
  s.period_key = v.at("period_key").get<std::string>();
  s.usage = parse_usage(v.at("usage"));
  s.currency = v.at("currency").get<std::string>();
  if (v.contains("previous_period")) s.previous_period = parse_period(v.at("previous_period"));
  if (v.contains("previous")) s.previous = parse_usage(v.at("previous"));
  if (v.contains("overage_cost_cents")) {
    s.overage_cost_cents = v.at("overage_cost_cents").get<std::uint64_t>();
  }
  return s;
}

}  // namespace

DeliveryKey DeliveryRecord::key() const {
  return DeliveryKey{report.schedule, report.summary.account_id, report.summary.period_key,
                     channel};
}

DeliveryRecord new_delivery(const WrittenReport& report, const std::string& channel,
                            sys_seconds now) {
  DeliveryRecord record;
  record.report = report;
  record.channel = channel;
  record.next_attempt = now;
  return record;
}

StoredDelivery encode_delivery(const DeliveryRecord& r) {
  json files = json::array();
  for (const ReportFile& file : r.report.files) {
    files.push_back({{"format", file.format}, {"path", file.path.string()}});
  }
  json out = {{"schedule", r.report.schedule},
              {"channel", r.channel},
              {"summary", summary_json(r.report.summary)},
              {"files", files},
              {"status", status_name(r.status)},
              {"attempts", r.attempts},
              {"next_attempt", unix_seconds(r.next_attempt)},
              {"last_error", r.last_error}};
  if (r.first_attempt) out["first_attempt"] = unix_seconds(*r.first_attempt);
  if (r.finished_at) out["finished_at"] = unix_seconds(*r.finished_at);
  return StoredDelivery{r.status != DeliveryStatus::pending, out.dump()};
}

DeliveryRecord decode_delivery(const StoredDelivery& stored) {
  try {
    const json v = json::parse(stored.record);
    DeliveryRecord r;
    r.report.schedule = v.at("schedule").get<std::string>();
    r.channel = v.at("channel").get<std::string>();
    r.report.summary = parse_summary(v.at("summary"));
    for (const json& file : v.at("files")) {
      r.report.files.push_back(
          {file.at("format").get<std::string>(), file.at("path").get<std::string>()});
    }
    r.status = parse_status(v.at("status").get<std::string>());
    r.attempts = v.at("attempts").get<int>();
    r.next_attempt = from_unix(v.at("next_attempt").get<std::int64_t>());
    r.last_error = v.at("last_error").get<std::string>();
    if (v.contains("first_attempt"))
      r.first_attempt = from_unix(v.at("first_attempt").get<std::int64_t>());
    if (v.contains("finished_at"))
      r.finished_at = from_unix(v.at("finished_at").get<std::int64_t>());
    return r;
  } catch (const json::exception& error) {
    throw std::invalid_argument(std::string("unreadable delivery record: ") + error.what());
  }
}

DeliveryRecord after_attempt(DeliveryRecord record, const DeliveryResult& result, sys_seconds now,
                             const DeliveryRetryPolicy& policy) {
  if (!record.first_attempt) record.first_attempt = now;
  ++record.attempts;
  if (result.outcome == DeliveryOutcome::sent) {
    record.status = DeliveryStatus::sent;
    record.finished_at = now;
    record.last_error.clear();
    return record;
  }
  record.last_error = result.reason;
  const sys_seconds deadline = *record.first_attempt + policy.retry_for;
  if (result.outcome == DeliveryOutcome::failed || now >= deadline) {
    record.status = DeliveryStatus::failed;
    record.finished_at = now;
    return record;
  }
  // Doubling stops at the cap, so a long run of attempts cannot overflow.
  seconds wait = std::max(policy.initial, seconds{1});
  for (int i = 1; i < record.attempts && wait < policy.max; ++i) wait *= 2;
  wait = std::min(wait, std::max(policy.max, seconds{1}));
  if (result.retry_after) wait = std::max(wait, *result.retry_after);
  record.next_attempt = std::min(now + wait, deadline);
  return record;
}

bool is_due(const DeliveryRecord& record, sys_seconds now) {
  return record.status == DeliveryStatus::pending && record.next_attempt <= now;
}

}  // namespace scalr_usage
