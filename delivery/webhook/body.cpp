#include "delivery/webhook/body.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <optional>

#include "reports/render_util.h"     // money, fixed
#include "reports/schedule_state.h"  // period_key

namespace scalr_usage {

namespace {

using nlohmann::json;
using render_detail::fixed;
using render_detail::money;
using render_detail::signed_int;

double hours(std::uint64_t seconds) { return static_cast<double>(seconds) / 3600.0; }

json period_json(const Period& period, const std::string& key) {
  return {
      {"start", format_rfc3339(period.start)}, {"end", format_rfc3339(period.end)}, {"key", key}};
}

// (current - previous) / previous; nullopt when there is nothing to compare with.
std::optional<double> relative(std::uint64_t current, std::uint64_t previous) {
  if (previous == 0) return std::nullopt;
  return (static_cast<double>(current) - static_cast<double>(previous)) /
         static_cast<double>(previous);
}

json optional_number(std::optional<double> value) { return value ? json(*value) : json(nullptr); }

std::int64_t delta(std::uint64_t current, std::uint64_t previous) {
  return static_cast<std::int64_t>(current) - static_cast<std::int64_t>(previous);
}

std::string base_name(const ReportFile& file) { return file.path.filename().string(); }

std::string display_name(const ReportSummary& summary) {
  if (summary.account_name.empty()) return summary.account_id;
  return summary.account_name + " (" + summary.account_id + ")";
}

std::string percent(double fraction) {
  return (fraction > 0 ? "+" : "") + fixed(fraction * 100.0, 1) + "%";
}

// "+2 runs (+25.0%) vs 2026-10", or nullopt without a comparison.
std::optional<std::string> change_line(const ReportSummary& s) {
  if (!s.previous || !s.previous_period) return std::nullopt;
  std::string line = signed_int(delta(s.usage.runs, s.previous->runs)) + " runs";
  if (const auto r = relative(s.usage.runs, s.previous->runs)) line += " (" + percent(*r) + ")";
  return line + " vs " + period_key(*s.previous_period);
}

std::optional<std::string> overage_line(const ReportSummary& s) {
  if (!s.overage_cost_cents) return std::nullopt;
  return money(*s.overage_cost_cents) + " " + s.currency;
}

json mrkdwn_field(const std::string& title, const std::string& value) {
  return {{"type", "mrkdwn"}, {"text", "*" + title + "*\n" + value}};
}

}  // namespace

std::string webhook_json_body(const WrittenReport& report) {
  const ReportSummary& s = report.summary;
  json body = {
      {"schedule", report.schedule},
      {"period", period_json(s.period, s.period_key)},
      {"account", {{"id", s.account_id}, {"name", s.account_name}}},
      {"usage",
       {{"runs", s.usage.runs},
        {"run_seconds", s.usage.run_seconds},
        {"run_hours", hours(s.usage.run_seconds)}}},
      {"previous", nullptr},
      {"change", nullptr},
      {"overage_cost", nullptr},
      {"files", json::array()},
  };
  if (s.previous && s.previous_period) {
    body["previous"] =
        json{{"period", period_json(*s.previous_period, period_key(*s.previous_period))},
             {"runs", s.previous->runs},
             {"run_seconds", s.previous->run_seconds},
             {"run_hours", hours(s.previous->run_seconds)}};
    body["change"] = json{
        {"runs", delta(s.usage.runs, s.previous->runs)},
        {"run_seconds", delta(s.usage.run_seconds, s.previous->run_seconds)},
        {"run_hours", hours(s.usage.run_seconds) - hours(s.previous->run_seconds)},
        {"runs_relative", optional_number(relative(s.usage.runs, s.previous->runs))},
        {"run_seconds_relative",
         optional_number(relative(s.usage.run_seconds, s.previous->run_seconds))},
    };
  }
  if (s.overage_cost_cents) {
    body["overage_cost"] = json{{"cents", *s.overage_cost_cents},
                                {"amount", money(*s.overage_cost_cents)},
                                {"currency", s.currency}};
  }
  for (const ReportFile& file : report.files) {
    body["files"].push_back({{"format", file.format}, {"name", base_name(file)}});
  }
  return body.dump();
}

std::string webhook_slack_body(const WrittenReport& report) {
  const ReportSummary& s = report.summary;
  const std::string run_hours = fixed(hours(s.usage.run_seconds), 2);
  std::string text = "Scalr usage " + s.period_key + " for " + display_name(s) + ": " +
                     std::to_string(s.usage.runs) + " runs, " + run_hours + " run hours";
  json fields = json::array(
      {mrkdwn_field("Runs", std::to_string(s.usage.runs)), mrkdwn_field("Run hours", run_hours)});
  if (const auto change = change_line(s)) {
    text += ", " + *change;
    fields.push_back(mrkdwn_field("Change", *change));
  }
  if (const auto overage = overage_line(s)) {
    text += ", overage " + *overage;
    fields.push_back(mrkdwn_field("Overage cost", *overage));
  }
  std::string header = "Scalr usage " + s.period_key + ": " + display_name(s);
  if (header.size() > 150) header = header.substr(0, 147) + "...";  // Slack's header limit
  json blocks = json::array({
      {{"type", "header"}, {"text", {{"type", "plain_text"}, {"text", header}}}},
      {{"type", "section"}, {"fields", fields}},
  });
  std::string files;
  for (const ReportFile& file : report.files)
    files += (files.empty() ? "" : ", ") + base_name(file);
  if (!files.empty()) {
    blocks.push_back(
        {{"type", "context"},
         {"elements", json::array({{{"type", "mrkdwn"},
                                    {"text", "Schedule " + report.schedule + ": " + files}}})}});
  }
  return json{{"text", text}, {"blocks", blocks}}.dump();
}

std::string webhook_body(const WrittenReport& report, WebhookFormat format) {
  return format == WebhookFormat::slack ? webhook_slack_body(report) : webhook_json_body(report);
}

}  // namespace scalr_usage
