#include "metrics/snapshot_collector.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <utility>

#include "metrics/family_writer.h"
#include "metrics/names.h"
#include "model/error_reason.h"
#include "util/time.h"  // unix_seconds

namespace scalr_usage {

namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = FamilyWriter::Labels;

constexpr const char* kCachedNote = " Polled from the source in the background and cached.";

Labels workspace_labels(const std::string& account_id, const WorkspaceUsage& ws) {
  Labels labels{{"account_id", account_id}};
  if (ws.environment_id) labels.push_back({"environment_id", *ws.environment_id});
  if (ws.environment_name) labels.push_back({"environment_name", *ws.environment_name});
  labels.push_back({"workspace_id", ws.id});
  labels.push_back({"workspace_name", ws.name});
  return labels;
}

// f(account_id, usage) for every account with usage.
template <typename F>
void for_each_usage(const Snapshot& snapshot, F f) {
  for (const auto& [account_id, state] : snapshot.accounts) {
    if (state.usage) f(account_id, *state.usage);
  }
}

// The runs and run-seconds counters of one level (account, environment, workspace), written from
// the same walk over the level, so their HELP texts and samples cannot drift apart.
// visit(emit) calls emit(labels, counts) for every item of the level.
template <typename Visit>
void write_usage_level(FamilyWriter& out, const char* runs_name, const char* run_seconds_name,
                       const std::string& level, Visit visit) {
  out.begin(runs_name,
            "Runs finished in the current billing period so far, per " + level + "." + kCachedNote,
            MetricType::Counter);
  visit([&](Labels labels, const UsageCounts& usage) {
    out.sample(std::move(labels), static_cast<double>(usage.runs));
  });
  out.begin(
      run_seconds_name,
      "Run time in the current billing period so far, per " + level + ", in seconds." + kCachedNote,
      MetricType::Counter);
  visit([&](Labels labels, const UsageCounts& usage) {
    out.sample(std::move(labels), static_cast<double>(usage.run_seconds));
  });
}

// Collects the batches back into whole families.
class ModelSink final : public FamilySink {
 public:
  void write(MetricFamily batch, bool first) override {
    if (first) {
      families_.push_back(std::move(batch));
      return;
    }
    auto& metrics = families_.back().metric;
    std::move(batch.metric.begin(), batch.metric.end(), std::back_inserter(metrics));
  }
  std::vector<MetricFamily> take() && { return std::move(families_); }

 private:
  std::vector<MetricFamily> families_;
};

Labels account_labels(const std::string& account_id) { return Labels{{"account_id", account_id}}; }

// The runs and run-seconds counters per account, environment and workspace.
void write_usage_families(FamilyWriter& out, const Snapshot& snapshot) {
  using namespace metric_names;
  write_usage_level(out, kAccountRuns, kAccountRunSeconds, "account", [&](auto emit) {
    for_each_usage(snapshot, [&](const std::string& account_id, const AccountUsage& usage) {
      emit(account_labels(account_id), usage.total);
    });
  });
  write_usage_level(out, kEnvironmentRuns, kEnvironmentRunSeconds, "environment", [&](auto emit) {
    for_each_usage(snapshot, [&](const std::string& account_id, const AccountUsage& usage) {
      for (const EnvironmentUsage& env : usage.environments) {
        emit(Labels{{"account_id", account_id},
                    {"environment_id", env.id},
                    {"environment_name", env.name}},
             env.usage);
      }
    });
  });
  write_usage_level(out, kWorkspaceRuns, kWorkspaceRunSeconds, "workspace", [&](auto emit) {
    for_each_usage(snapshot, [&](const std::string& account_id, const AccountUsage& usage) {
      for (const WorkspaceUsage& ws : usage.workspaces) {
        emit(workspace_labels(account_id, ws), ws.usage);
      }
    });
  });
}

// The chargeback labels of every workspace with usage, as an info metric: the usage series keep
// their label sets, and a query joins them (`* on (account_id, workspace_id) group_left(team)`).
// Only with a chargeback: section, which gives at least one label.
void write_chargeback_family(FamilyWriter& out, const Snapshot& snapshot) {
  if (snapshot.chargeback_labels.empty()) return;
  out.begin(metric_names::kWorkspaceChargebackInfo,
            "The chargeback labels the chargeback: rules give the workspace (empty when no rule "
            "or default sets one); the value is always 1. Join on account_id and workspace_id.",
            MetricType::Gauge);
  for (const auto& [account_id, state] : snapshot.accounts) {
    for (const auto& [workspace_id, values] : state.chargeback) {
      Labels labels{{"account_id", account_id}, {"workspace_id", workspace_id}};
      for (std::size_t i = 0; i < snapshot.chargeback_labels.size() && i < values.size(); ++i) {
        labels.push_back({snapshot.chargeback_labels[i], values[i]});
      }
      out.sample(std::move(labels), 1);
    }
  }
}

// The billing period the usage counters cover, per account with usage.
void write_period_families(FamilyWriter& out, const Snapshot& snapshot) {
  using namespace metric_names;
  out.begin(kPeriodStart,
            "Start of the billing period the usage values cover (inclusive), as a Unix timestamp.",
            MetricType::Gauge);
  for_each_usage(snapshot, [&](const std::string& account_id, const AccountUsage& usage) {
    out.sample(account_labels(account_id), unix_seconds(usage.period.start));
  });
  out.begin(kPeriodEnd,
            "End of the billing period the usage values cover (exclusive), as a Unix timestamp.",
            MetricType::Gauge);
  for_each_usage(snapshot, [&](const std::string& account_id, const AccountUsage& usage) {
    out.sample(account_labels(account_id), unix_seconds(usage.period.end));
  });
}

// The account's name and target: in the scrape's health block and in write_usage_metrics.
void write_account_info_family(FamilyWriter& out, const Snapshot& snapshot) {
  out.begin(metric_names::kAccountInfo,
            "The account's name and the target it is polled through; the value is always 1. The "
            "name is empty while unknown.",
            MetricType::Gauge);
  for (const auto& [account_id, state] : snapshot.accounts) {
    out.sample({{"account_id", account_id}, {"account_name", state.name}, {"target", state.target}},
               1);
  }
}

// How the polls went: per account (up, last success, last duration, errors by reason) and for
// the source as a whole.
void write_account_health_families(FamilyWriter& out, const Snapshot& snapshot) {
  using namespace metric_names;
  out.begin(kUp, "1 if the last poll of the account succeeded, 0 otherwise.", MetricType::Gauge);
  for (const auto& [account_id, state] : snapshot.accounts) {
    out.sample(account_labels(account_id), state.up ? 1 : 0);
  }
  write_account_info_family(out, snapshot);
  out.begin(kSourceUp,
            "1 if the last poll cycle reached the usage source (it listed the accounts and fetched "
            "at least one, or had none to fetch), 0 otherwise.",
            MetricType::Gauge);
  if (snapshot.source_up) out.sample({}, *snapshot.source_up ? 1 : 0);
  out.begin(kLastSuccess, "Unix time of the last successful poll of the account.",
            MetricType::Gauge);
  for (const auto& [account_id, state] : snapshot.accounts) {
    if (state.last_success_unix_seconds) {
      out.sample(account_labels(account_id), *state.last_success_unix_seconds);
    }
  }
  out.begin(kLastPollDuration,
            "Duration of the last poll of the account, successful or not, in seconds.",
            MetricType::Gauge);
  for (const auto& [account_id, state] : snapshot.accounts) {
    if (state.last_poll_duration_seconds) {
      out.sample(account_labels(account_id), *state.last_poll_duration_seconds);
    }
  }
  out.begin(kPollErrors, "Failed polls of an account since start, by reason.", MetricType::Counter);
  for (const auto& [account_id, state] : snapshot.accounts) {
    for (const ErrorReason reason : kCountedErrorReasons) {
      const auto it = snapshot.poll_errors.find({account_id, reason});
      out.sample({{"account_id", account_id}, {"reason", std::string(to_string(reason))}},
                 it == snapshot.poll_errors.end() ? 0.0 : static_cast<double>(it->second));
    }
  }
}

// Failed workspace listings per enriching target and reason, the poller's and the report runs'
// together (they share the listing).
void write_enrichment_errors(FamilyWriter& out, const Snapshot& snapshot,
                             const ReportStatus& reports) {
  out.begin(metric_names::kEnrichmentErrors,
            "Failed workspace listings of a target (workspace enrichment: environments and tags) "
            "since start, by reason; usage is still exported, without them.",
            MetricType::Counter);
  for (const auto& [target, state] : snapshot.targets) {
    if (!state.enriches) continue;
    const auto from_reports = reports.enrichment_errors.find(target);
    for (const ErrorReason reason : kCountedErrorReasons) {
      std::uint64_t count = 0;
      if (const auto it = state.enrichment_errors.find(reason);
          it != state.enrichment_errors.end()) {
        count += it->second;
      }
      if (from_reports != reports.enrichment_errors.end()) {
        if (const auto it = from_reports->second.find(reason); it != from_reports->second.end()) {
          count += it->second;
        }
      }
      out.sample({{"target", target}, {"reason", std::string(to_string(reason))}},
                 static_cast<double>(count));
    }
  }
}

// Per target (a Scalr URL with its token; the database): reached or not, discovery and
// enrichment errors; and the poll cycle as a whole.
void write_target_families(FamilyWriter& out, const Snapshot& snapshot,
                           const ReportStatus& reports) {
  using namespace metric_names;
  out.begin(kTargetUp,
            "1 if the last poll cycle reached the target (its discovery or at least one of its "
            "accounts succeeded), 0 otherwise.",
            MetricType::Gauge);
  for (const auto& [target, state] : snapshot.targets) {
    if (state.up) out.sample({{"target", target}}, *state.up ? 1 : 0);
  }
  out.begin(kDiscoveryErrors,
            "Failed listings of a target's accounts (control-tower discovery) since start, by "
            "reason; the last list stays polled.",
            MetricType::Counter);
  for (const auto& [target, state] : snapshot.targets) {
    if (!state.discovers) continue;
    for (const ErrorReason reason : kCountedErrorReasons) {
      const auto it = state.discovery_errors.find(reason);
      out.sample({{"target", target}, {"reason", std::string(to_string(reason))}},
                 it == state.discovery_errors.end() ? 0.0 : static_cast<double>(it->second));
    }
  }
  write_enrichment_errors(out, snapshot, reports);
  out.begin(kPollCycleDuration, "Duration of the last complete poll cycle, in seconds.",
            MetricType::Gauge);
  if (snapshot.last_cycle_duration_seconds) out.sample({}, *snapshot.last_cycle_duration_seconds);
}

// The exporter's own state: API responses (polls and report runs), build, configuration loads.
void write_exporter_families(FamilyWriter& out, const Snapshot& snapshot, const BuildInfo& build,
                             const ReportStatus& reports, const ConfigStatus& config) {
  using namespace metric_names;
  out.begin(kApiRequests,
            "HTTP responses received from the Scalr API since start, by target and status code.",
            MetricType::Counter);
  // The report runs call the same API with their own source; one count tells the whole load.
  RequestStatsByTarget responses = snapshot.api_requests;
  responses += reports.api_requests;
  for (const auto& [target, stats] : responses) {
    for (const auto& [code, count] : stats.by_code) {
      out.sample({{"target", target}, {"code", std::to_string(code)}}, static_cast<double>(count));
    }
  }
  out.begin(kApiRequestDuration,
            "Duration of the Scalr API requests that got a response, per target, in seconds.",
            MetricType::Histogram);
  for (const auto& [target, stats] : responses) out.histogram({{"target", target}}, stats);
  out.begin(kBuildInfo, "Build information of the exporter; the value is always 1.",
            MetricType::Gauge);
  out.sample({{"version", build.version}, {"revision", build.revision}}, 1);
  out.begin(kShardInfo,
            "The shard this exporter polls, index out of count (fnv1a_64(account id) mod count); "
            "index 0 of 1 when not sharded. The value is always 1.",
            MetricType::Gauge);
  out.sample({{"index", std::to_string(config.shard.index)},
              {"count", std::to_string(config.shard.count)}},
             1);
  out.begin(kConfigReloadSuccessful,
            "1 if the last configuration load (start or SIGHUP) succeeded, else 0.",
            MetricType::Gauge);
  out.sample({}, config.last_reload_successful ? 1 : 0);
  out.begin(kConfigReloadSuccessTimestamp, "Unix time of the last successful configuration load.",
            MetricType::Gauge);
  out.sample({}, config.last_reload_success_unix_seconds);
}

// Billing and scheduled reports: the plan's included runs per account, report errors and
// successes per schedule.
void write_report_families(FamilyWriter& out, const Snapshot& snapshot,
                           const ReportStatus& reports) {
  using namespace metric_names;
  out.begin(kIncludedRuns,
            "Runs included per billing period by the configured plan (billing.included_runs).",
            MetricType::Gauge);
  if (reports.included_runs) {
    for (const auto& [account_id, state] : snapshot.accounts) {
      out.sample(account_labels(account_id), static_cast<double>(*reports.included_runs));
    }
  }
  out.begin(kReportErrors, "Failed attempts to write a scheduled report since start, per schedule.",
            MetricType::Counter);
  for (const auto& [schedule, status] : reports.schedules) {
    out.sample({{"schedule", schedule}}, static_cast<double>(status.errors));
  }
  out.begin(kReportLastSuccess,
            "Unix time the schedule's last report was written completely (every account and "
            "format).",
            MetricType::Gauge);
  for (const auto& [schedule, status] : reports.schedules) {
    if (status.last_success_unix_seconds) {
      out.sample({{"schedule", schedule}}, *status.last_success_unix_seconds);
    }
  }
  out.begin(kReportDeliveries,
            "Deliveries of scheduled reports (one per schedule, account, period and channel) "
            "since start, by schedule, channel and result: sent, or failed for good.",
            MetricType::Counter);
  for (const auto& [schedule, status] : reports.schedules) {
    for (const auto& [channel, counts] : status.deliveries) {
      out.sample({{"schedule", schedule}, {"channel", channel}, {"result", "sent"}},
                 static_cast<double>(counts.sent));
      out.sample({{"schedule", schedule}, {"channel", channel}, {"result", "failed"}},
                 static_cast<double>(counts.failed));
    }
  }
  // Both absent without reports.leader_election.
  out.begin(kReportLeader,
            "1 if this replica holds the report leadership (reports.leader_election) and writes "
            "the scheduled reports, else 0.",
            MetricType::Gauge);
  if (reports.leader) out.sample({}, *reports.leader ? 1 : 0);
  out.begin(kReportLeaderErrors,
            "Failures of the report leader election's PostgreSQL connection since start, by "
            "reason.",
            MetricType::Counter);
  for (const auto& [reason, count] : reports.leader_errors) {
    out.sample({{"reason", reason}}, static_cast<double>(count));
  }
}

}  // namespace

void write_metrics(const Snapshot& snapshot, const BuildInfo& build, const ReportStatus& reports,
                   const ConfigStatus& config, FamilySink& sink, std::size_t batch_samples) {
  FamilyWriter out(sink, batch_samples);
  // This order is the order of the exposition: keep it, the golden files pin it.
  write_usage_families(out, snapshot);
  write_chargeback_family(out, snapshot);
  write_period_families(out, snapshot);
  write_account_health_families(out, snapshot);
  write_target_families(out, snapshot, reports);
  write_exporter_families(out, snapshot, build, reports, config);
  write_report_families(out, snapshot, reports);
  out.end();
}

void write_usage_metrics(const Snapshot& snapshot, FamilySink& sink, std::size_t batch_samples) {
  FamilyWriter out(sink, batch_samples);
  write_usage_families(out, snapshot);
  write_chargeback_family(out, snapshot);
  write_account_info_family(out, snapshot);
  out.end();
}

std::vector<MetricFamily> collect_metrics(const Snapshot& snapshot, const BuildInfo& build,
                                          const ReportStatus& reports, const ConfigStatus& config) {
  ModelSink sink;
  write_metrics(snapshot, build, reports, config, sink);
  return std::move(sink).take();
}

}  // namespace scalr_usage
