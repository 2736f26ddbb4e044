#include "delivery/email/summary_text.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>

#include "util/text.h"

namespace scalr_usage {

namespace {

using namespace std::chrono;

// v with `precision` decimals, locale-free, never "-0.00".
std::string fixed(double v, int precision) {
  std::array<char, 64> buf{};
  const auto result =
      std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed, precision);
  std::string text(buf.data(), result.ptr);
  if (text.front() == '-' && text.find_first_not_of("-0.") == std::string::npos) text.erase(0, 1);
  return text;
}

std::string hours(std::uint64_t run_seconds) {
  return fixed(static_cast<double>(run_seconds) / 3600, 2);
}

// "2026-10-01 to 2026-10-31": the inclusive days of a [start, end) period.
std::string days_of(const Period& period) {
  const year_month_day first{floor<std::chrono::days>(period.start)};
  const year_month_day last{floor<std::chrono::days>(period.end - seconds{1})};
  return format_date(first) + " to " + format_date(last);
}

// "+12 (+3.4%)", "-3 (-50.0%)", "+5 (n/a)" when there was nothing before.
std::string change(double current, double previous, const std::string& delta) {
  std::string relative = "n/a";
  if (previous != 0) {
    const double ratio = (current - previous) / previous * 100;
    relative = (ratio > 0 ? "+" : "") + fixed(ratio, 1) + "%";
  }
  return delta + " (" + relative + ")";
}

std::string signed_text(std::string text) {
  return text.front() == '-' || text == "0" ? text : "+" + text;
}

std::string change_lines(const ReportSummary& summary) {
  if (!summary.previous || !summary.previous_period) return "";
  const UsageCounts& now = summary.usage;
  const UsageCounts& before = *summary.previous;
  const auto runs_delta =
      static_cast<std::int64_t>(now.runs) - static_cast<std::int64_t>(before.runs);
  const double hours_delta =
      (static_cast<double>(now.run_seconds) - static_cast<double>(before.run_seconds)) / 3600;
  std::string hours_text = fixed(hours_delta, 2);
  if (hours_text.find_first_not_of("0.") != std::string::npos && hours_text.front() != '-') {
    hours_text.insert(0, "+");
  }
  return "\nPrevious period: " + days_of(*summary.previous_period) +
         "\nPrevious runs: " + std::to_string(before.runs) +
         "\nPrevious run hours: " + hours(before.run_seconds) + "\nChange in runs: " +
         change(static_cast<double>(now.runs), static_cast<double>(before.runs),
                signed_text(std::to_string(runs_delta))) +
         "\nChange in run hours: " +
         change(static_cast<double>(now.run_seconds), static_cast<double>(before.run_seconds),
                hours_text) +
         "\n";
}

std::string money(std::uint64_t cents) {
  const std::uint64_t rest = cents % 100;
  return std::to_string(cents / 100) + (rest < 10 ? ".0" : ".") + std::to_string(rest);
}

}  // namespace

std::string summary_text(const WrittenReport& report, const std::vector<std::string>& attached,
                         bool html_body) {
  const ReportSummary& summary = report.summary;
  std::string account = summary.account_id;
  if (!summary.account_name.empty())
    account = summary.account_name + " (" + summary.account_id + ")";
  std::replace_if(account.begin(), account.end(), is_control, ' ');  // names are data
  std::string text = "Scalr usage report \"" + report.schedule + "\"\n\n";
  text += "Account: " + account + "\n";
  text += "Period: " + summary.period_key + " (" + days_of(summary.period) + ", UTC)\n";
  text += "Runs: " + std::to_string(summary.usage.runs) + "\n";
  text += "Run hours: " + hours(summary.usage.run_seconds) + "\n";
  text += change_lines(summary);
  if (summary.overage_cost_cents) {
    text += "\nOverage: " + money(*summary.overage_cost_cents) + " " + summary.currency + "\n";
  }
  if (!attached.empty()) text += "\nAttached: " + join(attached, ", ") + "\n";
  if (html_body) text += "\nThe full report is the HTML part of this message.\n";
  text += "\nRun hours are run seconds / 3600. Sent by scalr-usage-exporter.\n";
  return text;
}

}  // namespace scalr_usage
