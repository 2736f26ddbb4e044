#pragma once
// The content of a billing report, computed once from the usage model and then rendered into the
// formats of reports/formats.h. Everything here is a plain value: the renderers are pure functions
// of a Report, so the same Report always renders to the same bytes.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chargeback/rules.h"
#include "model/period.h"
#include "model/usage.h"

namespace scalr_usage {

// config `billing:`. A plan exists when included_runs > 0 ("0 = no plan"); without one the reports
// carry no plan figures and every cost is 0, whatever overage_price says.
struct BillingPlan {
  std::uint64_t included_runs = 0;  // runs prepaid per period
  double overage_price = 0;         // price of each run beyond included_runs, in `currency`
  std::string currency = "USD";
};

bool has_plan(const BillingPlan& plan);

// overage_price as an integer number of millionths of the currency unit. Money is integer from
// here on, so that 0.99 * 3 is 2.97 and not 2.9699999999999998. Throws std::invalid_argument for
// a negative, non-finite or absurd (> 1,000,000 per run) price.
std::uint64_t price_micros(double price);

// amount * micros / 1,000,000 rounded half up to cents (1/100 of the currency unit; every currency
// is taken to have 2 minor digits). Exact: the product is formed in 128 bits. Throws
// std::overflow_error when the cents do not fit in 64 bits.
std::uint64_t cost_cents(std::uint64_t quantity, std::uint64_t unit_price_micros);

// Splits `amount` into parts proportional to `weights` whose sum is exactly `amount` (largest
// remainder / Hamilton method): everyone gets floor(amount * w / W), then the units left over go
// one each to the largest remainders, ties to the larger weight, then to the earlier index. All
// zero weights (or an empty list) with amount > 0 throws std::invalid_argument: there is no one
// to give it to.
std::vector<std::uint64_t> allocate_largest_remainder(std::uint64_t amount,
                                                      const std::vector<std::uint64_t>& weights);

// A part's share of the account total as a fraction 0..1; 0 when the total is 0. Not clamped: the
// account total is Scalr's own figure, not the sum of the parts, so inconsistent data shows.
double share_of(std::uint64_t part, std::uint64_t total);

struct EnvironmentRow {
  std::string id;
  std::string name;  // empty when unknown
  UsageCounts usage;
  double runs_share = 0;
  double run_seconds_share = 0;
};

struct WorkspaceRow {
  std::string id;
  std::string name;  // empty when unknown
  std::optional<std::string> environment_id;
  std::optional<std::string> environment_name;
  UsageCounts usage;
  double runs_share = 0;
  double run_seconds_share = 0;
  // The workspace's chargeback label values, in Report::chargeback_labels order (ChargebackRules::
  // classify); empty when chargeback is off. Last, so positional initialisers may leave it out.
  ChargebackValues chargeback{};
};

// The runs of an account charged to one tuple of chargeback label values: its workspaces with
// those values and, for the tuple with every label "", also the runs of the account's total on no
// workspace (Scalr counts deleted workspaces), so that the groups add up to the account's total
// as FOCUS's rows do.
struct ChargebackGroup {
  ChargebackValues labels;  // in Report::chargeback_labels order
  UsageCounts usage;
  double runs_share = 0;  // of the account's runs, as a workspace's
  double run_seconds_share = 0;
  // The group's part of the account's overage cost: allocated over the groups by runs, in whole
  // cents, with allocate_largest_remainder (the groups sum to the overage exactly). nullopt
  // without a plan.
  std::optional<std::uint64_t> overage_cost_cents;
};

struct DayRow {
  std::chrono::year_month_day date;
  UsageCounts usage;
};

// The current period against the previous one.
struct UsageChange {
  Period previous_period;
  UsageCounts previous;
  std::int64_t runs_delta = 0;  // current - previous
  std::int64_t run_seconds_delta = 0;
  // (current - previous) / previous; nullopt when previous is 0 (no meaningful ratio).
  std::optional<double> runs_relative;
  std::optional<double> run_seconds_relative;
};

struct PlanUsage {
  std::uint64_t included_runs = 0;
  std::uint64_t runs_over_plan = 0;        // max(0, runs - included_runs)
  std::uint64_t overage_price_micros = 0;  // per run, see price_micros()
  std::uint64_t overage_cost_cents = 0;    // runs_over_plan * price, rounded half up to cents
  std::string currency;
};

struct AccountReport {
  std::string account_id;
  std::string account_name;  // empty when the source does not know it
  Period period;
  UsageCounts total;  // the account's own total (not the sum of its workspaces)
  double run_hours = 0;
  std::vector<EnvironmentRow> environments;  // by id
  std::vector<WorkspaceRow> workspaces;      // by id
  std::vector<WorkspaceRow> top_workspaces;  // by runs desc, run seconds desc, id asc
  std::vector<DayRow> daily;                 // every day of the period, days without runs as 0
  std::optional<UsageChange> change;         // nullopt without a previous period
  std::optional<PlanUsage> plan;             // nullopt without a plan
  // By runs desc, run seconds desc, label values asc; empty when chargeback is off.
  std::vector<ChargebackGroup> chargeback;
};

struct Report {
  std::string generated_at;  // RFC 3339
  std::string schedule;      // the schedule that produced it (cron text), free form
  Period period;
  std::vector<AccountReport> accounts;
  BillingPlan plan;
  // The chargeback labels (ChargebackRules::labels()); empty when chargeback is off, and then the
  // renderers write nothing about chargeback. Last, so positional initialisers may leave it out.
  std::vector<std::string> chargeback_labels{};
};

// Builds the report of one account. `previous` (nullable) is the same account's usage in the
// period before; it must be the same account. top_n limits top_workspaces; workspaces with neither
// runs nor run seconds are never "top". With enabled `rules`, every workspace is classified and
// the account's runs and overage are allocated to chargeback groups (AccountReport::chargeback).
// Throws std::invalid_argument on an empty or overlong period (more than 3660 days), a previous
// usage of another account, or an invalid price.
AccountReport build_account_report(const AccountUsage& current, const AccountUsage* previous,
                                   const BillingPlan& plan, const ChargebackRules& rules,
                                   std::size_t top_n = 10);
// Without chargeback.
AccountReport build_account_report(const AccountUsage& current, const AccountUsage* previous,
                                   const BillingPlan& plan, std::size_t top_n = 10);

// "scalr-usage_<account>_<period_key><extension>", the extension of the format's row in
// kReportFormatTable (reports/formats.h), e.g. ".focus.csv" for focus. Account id and period key
// are reduced to [A-Za-z0-9._-] (anything else becomes '_', so no path separators; the fixed
// prefix means never a hidden file or "..") and to at most 100 characters each; an empty one
// becomes "unknown". Scalr ids (acc-xxxx) pass unchanged; two ids differing only in unsafe
// characters would share a name. Throws std::invalid_argument for an unknown format.
std::string report_file_name(const std::string& account_id, const std::string& period_key,
                             std::string_view format);

}  // namespace scalr_usage
