#include "reports/report.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <stdexcept>

#include "reports/render.h"
#include "reports/report_chargeback.h"
#include "util/text.h"  // is_alnum

namespace scalr_usage {

using namespace std::chrono;

namespace {

// GCC/Clang's 128-bit integer: products of two 64-bit amounts must not wrap. __extension__ keeps
// -Wpedantic quiet about the non-standard type.
__extension__ typedef unsigned __int128 U128;

// A report of a 10-year period would list 3660 days; anything longer is a bug upstream, not a
// report anyone wants, and would only make a huge daily list.
constexpr auto kMaxPeriod = std::chrono::days{3660};

std::int64_t delta(std::uint64_t current, std::uint64_t previous) {
  // Counts are far below 2^63 (runs and seconds of one account in one period).
  return static_cast<std::int64_t>(current) - static_cast<std::int64_t>(previous);
}

std::optional<double> relative(std::uint64_t current, std::uint64_t previous) {
  if (previous == 0) return std::nullopt;
  return static_cast<double>(delta(current, previous)) / static_cast<double>(previous);
}

std::vector<DayRow> every_day(const Period& period, const std::vector<DailyUsage>& daily) {
  // Keyed by the day number so that duplicates (should a source repeat a day) add up.
  std::map<sys_days, UsageCounts> by_day;
  for (const DailyUsage& d : daily) {
    if (d.date.ok()) by_day[sys_days{d.date}] += d.usage;
  }
  std::vector<DayRow> rows;
  // Days outside the period are left out: the period defines the report, and the sources ask for
  // exactly that period, so such a day would be a source bug, not usage of this period.
  for (sys_days day = floor<std::chrono::days>(period.start); day < period.end;
       day += std::chrono::days{1}) {
    const auto it = by_day.find(day);
    rows.push_back(DayRow{year_month_day{day}, it == by_day.end() ? UsageCounts{} : it->second});
  }
  return rows;
}

std::string sanitize_file_part(const std::string& text) {
  constexpr std::size_t kMaxLength = 100;
  std::string out;
  for (const char c : text.substr(0, kMaxLength)) {
    const bool safe = is_alnum(c) || c == '-' || c == '_' || c == '.';
    out.push_back(safe ? c : '_');
  }
  return out.empty() ? "unknown" : out;
}

// Throws std::invalid_argument for an empty or overlong period or a previous usage of another
// account (see build_account_report).
void check_report_input(const AccountUsage& current, const AccountUsage* previous) {
  if (current.period.end <= current.period.start) {
    throw std::invalid_argument("empty report period for account " + current.account_id);
  }
  if (current.period.end - current.period.start > kMaxPeriod) {
    throw std::invalid_argument("report period longer than 3660 days for account " +
                                current.account_id);
  }
  if (previous != nullptr && previous->account_id != current.account_id) {
    throw std::invalid_argument("previous usage of account " + previous->account_id +
                                " given for account " + current.account_id);
  }
}

// The model promises id order; sorting again costs little and makes the output order a property
// of the report rather than of whichever source built the usage.
std::vector<EnvironmentRow> environment_rows(const AccountUsage& current) {
  std::vector<EnvironmentRow> rows;
  for (const EnvironmentUsage& env : current.environments) {
    rows.push_back(EnvironmentRow{env.id, env.name, env.usage,
                                  share_of(env.usage.runs, current.total.runs),
                                  share_of(env.usage.run_seconds, current.total.run_seconds)});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const EnvironmentRow& a, const EnvironmentRow& b) { return a.id < b.id; });
  return rows;
}

// By id, as environment_rows; classified by the rules when chargeback is on.
std::vector<WorkspaceRow> workspace_rows(const AccountUsage& current,
                                         const ChargebackRules& rules) {
  std::vector<WorkspaceRow> rows;
  for (const WorkspaceUsage& ws : current.workspaces) {
    rows.push_back(WorkspaceRow{
        ws.id, ws.name, ws.environment_id, ws.environment_name, ws.usage,
        share_of(ws.usage.runs, current.total.runs),
        share_of(ws.usage.run_seconds, current.total.run_seconds),
        rules.enabled() ? rules.classify(current.account_id, ws) : ChargebackValues{}});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const WorkspaceRow& a, const WorkspaceRow& b) { return a.id < b.id; });
  return rows;
}

// The top_n workspaces with any runs or run seconds: by runs desc, run seconds desc, id asc.
std::vector<WorkspaceRow> top_workspace_rows(const std::vector<WorkspaceRow>& workspaces,
                                             std::size_t top_n) {
  std::vector<WorkspaceRow> top;
  for (const WorkspaceRow& ws : workspaces) {
    if (ws.usage.runs > 0 || ws.usage.run_seconds > 0) top.push_back(ws);
  }
  std::stable_sort(top.begin(), top.end(), [](const WorkspaceRow& a, const WorkspaceRow& b) {
    if (a.usage.runs != b.usage.runs) return a.usage.runs > b.usage.runs;
    if (a.usage.run_seconds != b.usage.run_seconds) {
      return a.usage.run_seconds > b.usage.run_seconds;
    }
    return a.id < b.id;
  });
  if (top.size() > top_n) top.resize(top_n);
  return top;
}

// The account's current total against its total in the period before.
UsageChange usage_change(const UsageCounts& current, const AccountUsage& previous) {
  return UsageChange{previous.period,
                     previous.total,
                     delta(current.runs, previous.total.runs),
                     delta(current.run_seconds, previous.total.run_seconds),
                     relative(current.runs, previous.total.runs),
                     relative(current.run_seconds, previous.total.run_seconds)};
}

// The plan's figures for an account's total; micros is price_micros(plan.overage_price).
PlanUsage plan_usage(const UsageCounts& total, const BillingPlan& plan, std::uint64_t micros) {
  PlanUsage usage;
  usage.included_runs = plan.included_runs;
  usage.runs_over_plan = total.runs > plan.included_runs ? total.runs - plan.included_runs : 0;
  usage.overage_price_micros = micros;
  usage.overage_cost_cents = cost_cents(usage.runs_over_plan, micros);
  usage.currency = plan.currency;
  return usage;
}

}  // namespace

bool has_plan(const BillingPlan& plan) { return plan.included_runs > 0; }

std::uint64_t price_micros(double price) {
  if (!std::isfinite(price) || price < 0 || price > 1e6) {
    throw std::invalid_argument("billing.overage_price must be between 0 and 1000000");
  }
  return static_cast<std::uint64_t>(std::llround(price * 1e6));
}

std::uint64_t cost_cents(std::uint64_t quantity, std::uint64_t unit_price_micros) {
  // 1 cent = 10,000 micros; adding half a cent first rounds half up.
  const U128 micros = static_cast<U128>(quantity) * unit_price_micros;
  const U128 cents = (micros + 5'000) / 10'000;
  if (cents > std::numeric_limits<std::uint64_t>::max()) {
    throw std::overflow_error("cost does not fit in 64-bit cents");
  }
  return static_cast<std::uint64_t>(cents);
}

std::vector<std::uint64_t> allocate_largest_remainder(std::uint64_t amount,
                                                      const std::vector<std::uint64_t>& weights) {
  std::vector<std::uint64_t> parts(weights.size(), 0);
  U128 total_weight = 0;
  for (const std::uint64_t w : weights) total_weight += w;
  if (total_weight == 0) {
    if (amount == 0) return parts;
    throw std::invalid_argument("cannot allocate a non-zero amount over zero weights");
  }
  std::vector<U128> remainders(weights.size(), 0);
  std::uint64_t given = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const U128 scaled = static_cast<U128>(amount) * weights[i];
    parts[i] = static_cast<std::uint64_t>(scaled / total_weight);
    remainders[i] = scaled % total_weight;
    given += parts[i];
  }
  // Fewer units are left than there are parts (each floor loses less than one), so one each to
  // the front of the order below is enough.
  std::vector<std::size_t> order(weights.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (remainders[a] != remainders[b]) return remainders[a] > remainders[b];
    if (weights[a] != weights[b]) return weights[a] > weights[b];
    return a < b;
  });
  for (std::size_t k = 0; given < amount; ++k, ++given) ++parts[order[k]];
  return parts;
}

double share_of(std::uint64_t part, std::uint64_t total) {
  return total == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(total);
}

AccountReport build_account_report(const AccountUsage& current, const AccountUsage* previous,
                                   const BillingPlan& plan, std::size_t top_n) {
  return build_account_report(current, previous, plan, ChargebackRules{}, top_n);
}

AccountReport build_account_report(const AccountUsage& current, const AccountUsage* previous,
                                   const BillingPlan& plan, const ChargebackRules& rules,
                                   std::size_t top_n) {
  check_report_input(current, previous);
  // Validate the price even without a plan, so that a bad config fails the first report and not
  // the first month someone configures included_runs.
  const std::uint64_t micros = price_micros(plan.overage_price);

  AccountReport report;
  report.account_id = current.account_id;
  report.account_name = current.account_name;
  report.period = current.period;
  report.total = current.total;
  report.run_hours = static_cast<double>(current.total.run_seconds) / 3600.0;
  report.environments = environment_rows(current);
  report.workspaces = workspace_rows(current, rules);
  report.top_workspaces = top_workspace_rows(report.workspaces, top_n);
  report.daily = every_day(current.period, current.daily);
  if (previous != nullptr) report.change = usage_change(current.total, *previous);
  if (has_plan(plan)) report.plan = plan_usage(current.total, plan, micros);
  if (rules.enabled()) {
    report.chargeback = report_detail::chargeback_groups(report, rules.labels().size());
  }
  return report;
}

std::string report_file_name(const std::string& account_id, const std::string& period_key,
                             std::string_view format) {
  const ReportFormat* const row = find_report_format(format);
  if (row == nullptr) throw std::invalid_argument("unknown report format: " + std::string(format));
  return "scalr-usage_" + sanitize_file_part(account_id) + "_" + sanitize_file_part(period_key) +
         std::string(row->extension);
}

std::string render_report(const Report& report, std::string_view format) {
  const ReportFormat* const row = find_report_format(format);
  if (row == nullptr) throw std::invalid_argument("unknown report format: " + std::string(format));
  return row->render(report);
}

}  // namespace scalr_usage
