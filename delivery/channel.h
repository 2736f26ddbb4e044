#pragma once
// Delivery of scheduled reports to people: after a schedule has written an account's files for a
// period, each channel the schedule names (`email:`, `webhook:`) delivers them, once per
// schedule, account and period. The scheduler owns when and how often (retry with backoff on
// `retry`, recorded with the schedule state so a restart or a new leader does not send twice); a
// channel only makes one attempt and says how it went.
//
// A channel is a module in its own folder, delivery/<name>/ (one CMake library), plus one row in
// the channel table; it sees the report only as this summary and the files on disk, so a
// delivery that outlives the process that wrote the files (pending across a restart) needs no
// source.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "model/period.h"
#include "model/usage.h"

namespace scalr_usage {

// One file a schedule wrote for the account and period.
struct ReportFile {
  std::string format;  // a name from kReportFormats: "csv", "json", "html", "focus"
  std::filesystem::path path;

  friend bool operator==(const ReportFile&, const ReportFile&) = default;
};

// The figures of one account's report that a message carries, the same as the files have them
// (reports/report.h AccountReport). A small value, so it can be kept with a pending delivery.
struct ReportSummary {
  std::string account_id;
  std::string account_name;  // empty when unknown
  Period period;
  std::string period_key;  // period_key(period): "2026-11", "2026-11-26", ...
  UsageCounts usage;       // the account's total
  // The period before and its usage; nullopt when the report has no comparison.
  std::optional<Period> previous_period;
  std::optional<UsageCounts> previous;
  // Without a billing plan nullopt; else the overage cost in cents of `currency`.
  std::optional<std::uint64_t> overage_cost_cents;
  std::string currency;

  friend bool operator==(const ReportSummary&, const ReportSummary&) = default;
};

// What a channel delivers: one account's report of one period, written.
struct WrittenReport {
  std::string schedule;  // the schedule's name
  ReportSummary summary;
  std::vector<ReportFile> files;  // in the schedule's format order

  friend bool operator==(const WrittenReport&, const WrittenReport&) = default;
};

enum class DeliveryOutcome {
  sent,
  retry,   // transient: SMTP 4xx, a connection error or timeout, HTTP 429 or 5xx
  failed,  // permanent: SMTP 5xx, HTTP 4xx other than 429, a report file that is gone
};

struct DeliveryResult {
  DeliveryOutcome outcome = DeliveryOutcome::sent;
  // One line for the log and for telling failures apart ("SMTP 451 4.3.0 try later",
  // "HTTP 404", "connection refused"); never a password, token or secret URL.
  std::string reason;
  // The receiver's own hint (HTTP Retry-After); the scheduler waits at least this long.
  std::optional<std::chrono::seconds> retry_after = std::nullopt;
};

class DeliveryChannel {
 public:
  virtual ~DeliveryChannel() = default;
  // "email", "webhook": the `channel` label of scalr_exporter_report_deliveries_total and the
  // key under a schedule.
  virtual std::string_view kind() const = 0;
  // One attempt, blocking, on the report scheduler's thread. Returns retry promptly once stop is
  // requested. Never throws for a failed delivery; the result says how it went.
  virtual DeliveryResult deliver(const WrittenReport& report, std::stop_token stop) = 0;
};

}  // namespace scalr_usage
