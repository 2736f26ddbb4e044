#pragma once
// What the exporter knows at one instant: the last good usage of every account plus the health of
// the polls. Built by the poller, published whole, never changed afterwards; the scrape path and
// the report writers hold it as std::shared_ptr<const Snapshot>.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/error_reason.h"
#include "model/request_stats.h"
#include "model/shard.h"
#include "model/usage.h"

namespace scalr_usage {

struct AccountState {
  // The target (a Scalr URL and its token, "postgres" for the database) the account is polled
  // through, and the account's name when the source knows it (else empty).
  std::string target;
  std::string name;
  // Last usage fetched completely; null until the first success. Kept across failed polls.
  std::shared_ptr<const AccountUsage> usage;
  bool up = false;  // the last poll of this account succeeded
  std::optional<double> last_success_unix_seconds;
  std::optional<double> last_poll_duration_seconds;
  std::optional<ErrorReason> last_error_reason;  // unset while up
  // The chargeback label values of each workspace of `usage`, by workspace id, in
  // Snapshot::chargeback_labels order (scalr_workspace_chargeback_info); empty without chargeback.
  std::map<std::string, std::vector<std::string>> chargeback;
};

// One target of the source: a Scalr URL with its token (the PostgreSQL source is one target).
struct TargetState {
  // The last cycle reached it: its discovery or at least one of its accounts succeeded. Unset
  // until a cycle has tried it.
  std::optional<bool> up;
  // It lists its accounts itself (a control tower's discovery, a database), so discovery errors
  // are exported for it.
  bool discovers = false;
  // Monotonic since start: control-tower discoveries that failed, by reason.
  std::map<ErrorReason, std::uint64_t> discovery_errors;
  // It enriches its workspaces (scalr.enrich_workspaces), so enrichment errors are exported for it.
  bool enriches = false;
  // Monotonic since start: failed workspace listings of the poller's fetches, by reason.
  std::map<ErrorReason, std::uint64_t> enrichment_errors;
};

struct Snapshot {
  std::uint64_t generation = 0;  // strictly increasing per publication
  bool first_poll_done = false;  // every account was attempted at least once
  // The last poll cycle reached the source: it listed the accounts and fetched at least one of them
  // (or had none to fetch). Unset until the first cycle has tried.
  std::optional<bool> source_up;
  std::map<std::string, AccountState> accounts;  // by account id
  std::map<std::string, TargetState> targets;    // by target name
  // How long the last complete poll cycle took; unset until one has completed.
  std::optional<double> last_cycle_duration_seconds;
  // Monotonic since start: (account id, reason) -> count, and the HTTP responses per target.
  std::map<std::pair<std::string, ErrorReason>, std::uint64_t> poll_errors;
  RequestStatsByTarget api_requests;
  // The `chargeback:` section's label names; empty when chargeback is off.
  std::vector<std::string> chargeback_labels;
};

// scalr_exporter_report_deliveries_total of one schedule and channel, since start.
struct DeliveryCounts {
  std::uint64_t sent = 0;
  std::uint64_t failed = 0;  // permanent failures and deliveries given up after retrying

  friend bool operator==(const DeliveryCounts&, const DeliveryCounts&) = default;
};

struct ReportScheduleStatus {
  std::uint64_t errors = 0;  // failed attempts since start
  // When the schedule's last report was written (from the state file until one is written).
  std::optional<double> last_success_unix_seconds;
  // By channel ("email", "webhook"): every channel the schedule names, from 0.
  std::map<std::string, DeliveryCounts> deliveries{};
};

// The scheduled reports' side of the exposition, published by the report scheduler only
// (SnapshotStore::publish_report_status), so it and the poller never write the same object.
struct ReportStatus {
  std::map<std::string, ReportScheduleStatus> schedules;  // every configured schedule, by name
  // The report runs' Scalr API responses per target since start; exported added to the poller's.
  RequestStatsByTarget api_requests;
  // The report runs' failed workspace listings per target since start; exported added to the
  // poller's (the listing is shared: whichever source found it due asked, and counted).
  std::map<std::string, std::map<ErrorReason, std::uint64_t>> enrichment_errors;
  // billing.included_runs when a plan is configured (scalr_account_included_runs of every
  // account); the plan is the reports' configuration, hence here.
  std::optional<std::uint64_t> included_runs;
  // reports.leader_election (unset without it, so neither series exists): whether this replica
  // is the one writing the scheduled reports, and the leader connection's failures since start by
  // reason (leader_election/postgres_leadership.h lists the reasons).
  std::optional<bool> leader;
  std::map<std::string, std::uint64_t> leader_errors;
};

// The configuration's side: published by the main thread only, on start and on every SIGHUP.
struct ConfigStatus {
  bool last_reload_successful = true;
  double last_reload_success_unix_seconds = 0;  // start counts as the first successful load
  ShardSpec shard{};  // the running configuration's shard (scalr_exporter_shard_info)
};

}  // namespace scalr_usage
