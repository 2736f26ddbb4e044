#include "metrics/snapshot_collector.h"

#include <chrono>
#include <deque>
#include <map>

#include "collectors/source.h"
#include "metrics/names.h"

namespace scalr_usage {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

constexpr const char* kCachedNote = " Polled from the source in the background and cached.";

// Families are appended in a fixed order and each is filled in one place, which keeps HELP and TYPE
// next to the name and makes the output stable for diffs.
class FamilyBuilder {
 public:
  MetricFamily& add(const char* name, std::string help, MetricType type) {
    families_.push_back(MetricFamily{name, std::move(help), type, {}});
    return families_.back();
  }
  // Families without samples are left out: an empty HELP/TYPE block only confuses readers.
  std::vector<MetricFamily> take() && {
    std::vector<MetricFamily> result;
    for (auto& family : families_) {
      if (!family.metric.empty()) result.push_back(std::move(family));
    }
    return result;
  }

 private:
  std::deque<MetricFamily> families_;  // a deque keeps the references add() returned valid
};

void add_sample(MetricFamily& family, Labels labels, double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

double unix_seconds(Seconds t) { return static_cast<double>(t.time_since_epoch().count()); }

Labels workspace_labels(const std::string& account_id, const WorkspaceUsage& ws) {
  Labels labels{{"account_id", account_id}};
  if (ws.environment_id) labels.push_back({"environment_id", *ws.environment_id});
  if (ws.environment_name) labels.push_back({"environment_name", *ws.environment_name});
  labels.push_back({"workspace_id", ws.id});
  labels.push_back({"workspace_name", ws.name});
  return labels;
}

// The runs and run-seconds counters of one level (account, environment, workspace), declared and
// filled together so their HELP texts and samples cannot drift apart.
struct UsageFamilies {
  MetricFamily& runs;
  MetricFamily& run_seconds;

  void add(const Labels& labels, const UsageCounts& usage) {
    add_sample(runs, labels, static_cast<double>(usage.runs));
    add_sample(run_seconds, labels, static_cast<double>(usage.run_seconds));
  }
};

UsageFamilies add_usage_families(FamilyBuilder& out, const char* runs_name,
                                 const char* run_seconds_name, const std::string& level) {
  MetricFamily& runs = out.add(
      runs_name,
      "Runs finished in the current billing period so far, per " + level + "." + kCachedNote,
      MetricType::Counter);
  MetricFamily& run_seconds = out.add(
      run_seconds_name,
      "Run time in the current billing period so far, per " + level + ", in seconds." + kCachedNote,
      MetricType::Counter);
  return {runs, run_seconds};
}

}  // namespace

std::vector<MetricFamily> collect_metrics(const Snapshot& snapshot, const BuildInfo& build,
                                          const ReportStatus& reports, const ConfigStatus& config) {
  using namespace metric_names;
  FamilyBuilder out;
  UsageFamilies account_usage =
      add_usage_families(out, kAccountRuns, kAccountRunSeconds, "account");
  UsageFamilies env_usage =
      add_usage_families(out, kEnvironmentRuns, kEnvironmentRunSeconds, "environment");
  UsageFamilies ws_usage =
      add_usage_families(out, kWorkspaceRuns, kWorkspaceRunSeconds, "workspace");
  auto& period_start = out.add(kPeriodStart,
                               "Start of the billing period the usage values cover (inclusive), "
                               "as a Unix timestamp.",
                               MetricType::Gauge);
  auto& period_end = out.add(kPeriodEnd,
                             "End of the billing period the usage values cover (exclusive), as "
                             "a Unix timestamp.",
                             MetricType::Gauge);
  auto& up =
      out.add(kUp, "1 if the last poll of the account succeeded, 0 otherwise.", MetricType::Gauge);
  auto& source_up =
      out.add(kSourceUp,
              "1 if the last poll cycle reached the usage source (it listed the "
              "accounts and fetched at least one, or had none to fetch), 0 otherwise.",
              MetricType::Gauge);
  auto& last_success = out.add(
      kLastSuccess, "Unix time of the last successful poll of the account.", MetricType::Gauge);
  auto& last_duration = out.add(
      kLastPollDuration, "Duration of the last poll of the account, successful or not, in seconds.",
      MetricType::Gauge);
  auto& poll_errors = out.add(kPollErrors, "Failed polls of an account since start, by reason.",
                              MetricType::Counter);
  auto& api_requests = out.add(
      kApiRequests, "HTTP responses received from the Scalr API since start, by status code.",
      MetricType::Counter);
  auto& build_info = out.add(
      kBuildInfo, "Build information of the exporter; the value is always 1.", MetricType::Gauge);
  auto& reload_ok = out.add(kConfigReloadSuccessful,
                            "1 if the last configuration load (start or SIGHUP) succeeded, else 0.",
                            MetricType::Gauge);
  auto& reload_time =
      out.add(kConfigReloadSuccessTimestamp, "Unix time of the last successful configuration load.",
              MetricType::Gauge);
  auto& included_runs =
      out.add(kIncludedRuns,
              "Runs included per billing period by the configured plan (billing.included_runs).",
              MetricType::Gauge);
  auto& report_errors = out.add(
      kReportErrors, "Failed attempts to write a scheduled report since start, per schedule.",
      MetricType::Counter);
  auto& report_last_success =
      out.add(kReportLastSuccess,
              "Unix time the schedule's last report was written completely (every account and "
              "format).",
              MetricType::Gauge);

  for (const auto& [account_id, state] : snapshot.accounts) {
    const Labels account{{"account_id", account_id}};
    add_sample(up, account, state.up ? 1 : 0);
    if (reports.included_runs) {
      add_sample(included_runs, account, static_cast<double>(*reports.included_runs));
    }
    if (state.last_success_unix_seconds) {
      add_sample(last_success, account, *state.last_success_unix_seconds);
    }
    if (state.last_poll_duration_seconds) {
      add_sample(last_duration, account, *state.last_poll_duration_seconds);
    }
    for (const ErrorReason reason : kCountedErrorReasons) {
      const std::string reason_name{to_string(reason)};
      const auto it = snapshot.poll_errors.find({account_id, reason_name});
      add_sample(poll_errors, {{"account_id", account_id}, {"reason", reason_name}},
                 it == snapshot.poll_errors.end() ? 0.0 : static_cast<double>(it->second));
    }
    if (!state.usage) continue;
    const AccountUsage& usage = *state.usage;
    account_usage.add(account, usage.total);
    add_sample(period_start, account, unix_seconds(usage.period.start));
    add_sample(period_end, account, unix_seconds(usage.period.end));
    for (const EnvironmentUsage& env : usage.environments) {
      const Labels labels{
          {"account_id", account_id}, {"environment_id", env.id}, {"environment_name", env.name}};
      env_usage.add(labels, env.usage);
    }
    for (const WorkspaceUsage& ws : usage.workspaces) {
      const Labels labels = workspace_labels(account_id, ws);
      ws_usage.add(labels, ws.usage);
    }
  }
  if (snapshot.source_up) add_sample(source_up, {}, *snapshot.source_up ? 1 : 0);
  // The report runs call the same API with their own source; one count tells the whole load.
  std::map<int, std::uint64_t> responses = snapshot.api_requests;
  for (const auto& [code, count] : reports.api_requests) responses[code] += count;
  for (const auto& [code, count] : responses) {
    add_sample(api_requests, {{"code", std::to_string(code)}}, static_cast<double>(count));
  }
  add_sample(build_info, {{"version", build.version}, {"revision", build.revision}}, 1);
  add_sample(reload_ok, {}, config.last_reload_successful ? 1 : 0);
  add_sample(reload_time, {}, config.last_reload_success_unix_seconds);
  for (const auto& [schedule, status] : reports.schedules) {
    const Labels labels{{"schedule", schedule}};
    add_sample(report_errors, labels, static_cast<double>(status.errors));
    if (status.last_success_unix_seconds) {
      add_sample(report_last_success, labels, *status.last_success_unix_seconds);
    }
  }
  return std::move(out).take();
}

}  // namespace scalr_usage
