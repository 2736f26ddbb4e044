#pragma once
// Every metric name the exporter exposes, in one place. Usage values are period-to-date totals that
// reset when a billing period starts, hence counters (counter-reset semantics).

namespace scalr_usage::metric_names {

inline constexpr const char* kAccountRuns = "scalr_account_runs_total";
inline constexpr const char* kAccountRunSeconds = "scalr_account_run_seconds_total";
inline constexpr const char* kEnvironmentRuns = "scalr_environment_runs_total";
inline constexpr const char* kEnvironmentRunSeconds = "scalr_environment_run_seconds_total";
inline constexpr const char* kWorkspaceRuns = "scalr_workspace_runs_total";
inline constexpr const char* kWorkspaceRunSeconds = "scalr_workspace_run_seconds_total";
inline constexpr const char* kPeriodStart = "scalr_billing_period_start_timestamp_seconds";
inline constexpr const char* kPeriodEnd = "scalr_billing_period_end_timestamp_seconds";
inline constexpr const char* kUp = "scalr_up";
inline constexpr const char* kSourceUp = "scalr_exporter_source_up";
inline constexpr const char* kLastSuccess = "scalr_exporter_last_success_timestamp_seconds";
inline constexpr const char* kLastPollDuration = "scalr_exporter_last_poll_duration_seconds";
inline constexpr const char* kPollErrors = "scalr_exporter_poll_errors_total";
inline constexpr const char* kApiRequests = "scalr_exporter_api_requests_total";
inline constexpr const char* kApiRequestDuration = "scalr_exporter_api_request_duration_seconds";
inline constexpr const char* kAccountInfo = "scalr_account_info";
inline constexpr const char* kWorkspaceChargebackInfo = "scalr_workspace_chargeback_info";
inline constexpr const char* kTargetUp = "scalr_exporter_target_up";
inline constexpr const char* kDiscoveryErrors = "scalr_exporter_discovery_errors_total";
inline constexpr const char* kEnrichmentErrors = "scalr_exporter_enrichment_errors_total";
inline constexpr const char* kPollCycleDuration = "scalr_exporter_poll_cycle_duration_seconds";
inline constexpr const char* kBuildInfo = "scalr_exporter_build_info";
inline constexpr const char* kShardInfo = "scalr_exporter_shard_info";
inline constexpr const char* kIncludedRuns = "scalr_account_included_runs";
inline constexpr const char* kReportErrors = "scalr_exporter_report_errors_total";
inline constexpr const char* kReportLastSuccess =
    "scalr_exporter_report_last_success_timestamp_seconds";
inline constexpr const char* kReportDeliveries = "scalr_exporter_report_deliveries_total";
inline constexpr const char* kReportLeader = "scalr_exporter_report_leader";
inline constexpr const char* kReportLeaderErrors = "scalr_exporter_report_leader_errors_total";

inline constexpr const char* kConfigReloadSuccessful =
    "scalr_exporter_config_last_reload_successful";
inline constexpr const char* kConfigReloadSuccessTimestamp =
    "scalr_exporter_config_last_reload_success_timestamp_seconds";

}  // namespace scalr_usage::metric_names
