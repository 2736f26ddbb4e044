// FinOps FOCUS 1.2 cost and usage rows, as CSV (RFC 4180, same quoting and formula guard as the
// CSV report).
//
// Granularity. FOCUS wants one row per charge with the finest charge period the provider has. The
// model has per-day figures only for the whole account and per-workspace figures only for the whole
// period, so splitting a workspace's runs over days would be invented data. One row per workspace
// per billing period is what the data supports: ChargePeriodStart/End = BillingPeriodStart/End =
// the report period, [start, end) in UTC. Workspaces without any runs or run time have no charge
// and no row. When the account total exceeds the sum of its workspaces (Scalr's account figure
// also counts workspaces deleted since), the difference is one more row without a resource, so
// that ConsumedQuantity adds up to the account's runs and the overage has somewhere to go.
//
// Costs. Runs are the unit (ConsumedUnit = PricingUnit = "Runs", quantities = runs). With a plan,
// the included runs are prepaid and only runs beyond them are billed, at overage_price per run:
//  - ListUnitPrice = ContractedUnitPrice = overage_price, and ListCost = ContractedCost =
//    runs * price (rounded to cents per row), as FOCUS requires (ListUnitPrice x PricingQuantity;
//    no negotiated terms, so contracted = list). This is what the runs would cost without the plan.
//  - BilledCost = EffectiveCost = the row's part of the account's overage cost. The overage is a
//    property of the account (runs over the plan), not of any workspace, so it is allocated to the
//    rows in proportion to their runs. Rounding each row's share to cents would make the column
//    sum differ from the invoice by a few cents; instead the allocation is done in integer cents
//    with the largest remainder method (allocate_largest_remainder), which gives every row its
//    floor share and hands the leftover cents to the largest fractional parts, so BilledCost sums
//    exactly to the account's overage cost and no row is off by a cent or more.
//  - The plan's own fee is not known to the exporter and has no row.
// Without a plan every cost and unit price is 0: there is no price to apply.
//
// Columns: the FOCUS columns in alphabetical order, then custom ones, all prefixed x_ as FOCUS
// requires of provider-specific columns. Nulls are empty fields. BillingAccountName is the
// account's name when the source knows it, else its id.
//
// Chargeback. With a `chargeback:` section, the FOCUS Tags column (in its alphabetical place,
// after SubAccountName) holds each row's chargeback labels as a JSON object, every label in the
// configured order, "" when unset; the row without a resource has them all "" (it belongs to the
// all-empty chargeback group, see reports/report_chargeback.cpp). BilledCost is then allocated in
// two steps, both by runs with the largest remainder in cents: the account's overage to the
// chargeback groups (AccountReport::chargeback, the figures of the other formats), then each
// group's part to its rows. So summing BilledCost by Tags gives exactly the groups' overage cost,
// and the column still sums exactly to the account's overage; a row may differ by a cent from
// the one-step allocation used without chargeback (x_CostAllocationMethod says which).

#include <array>
#include <nlohmann/json.hpp>
#include <string_view>

#include "reports/render.h"
#include "reports/render_util.h"
#include "reports/report_chargeback.h"  // unattributed_usage

namespace scalr_usage {

using namespace render_detail;

namespace {

constexpr std::array<std::string_view, 40> kColumns = {"BilledCost",
                                                       "BillingAccountId",
                                                       "BillingAccountName",
                                                       "BillingCurrency",
                                                       "BillingPeriodEnd",
                                                       "BillingPeriodStart",
                                                       "ChargeCategory",
                                                       "ChargeClass",
                                                       "ChargeDescription",
                                                       "ChargeFrequency",
                                                       "ChargePeriodEnd",
                                                       "ChargePeriodStart",
                                                       "ConsumedQuantity",
                                                       "ConsumedUnit",
                                                       "ContractedCost",
                                                       "ContractedUnitPrice",
                                                       "EffectiveCost",
                                                       "InvoiceIssuerName",
                                                       "ListCost",
                                                       "ListUnitPrice",
                                                       "PricingCategory",
                                                       "PricingQuantity",
                                                       "PricingUnit",
                                                       "ProviderName",
                                                       "PublisherName",
                                                       "ResourceId",
                                                       "ResourceName",
                                                       "ResourceType",
                                                       "ServiceCategory",
                                                       "ServiceName",
                                                       "ServiceSubcategory",
                                                       "SubAccountId",
                                                       "SubAccountName",
                                                       "x_AccountIncludedRuns",
                                                       "x_AccountRunsOverPlan",
                                                       "x_CostAllocationMethod",
                                                       "x_EnvironmentId",
                                                       "x_EnvironmentName",
                                                       "x_RunHours",
                                                       "x_RunSeconds"};

// Where Tags goes when chargeback is on: its alphabetical place, before x_AccountIncludedRuns.
constexpr std::size_t kTagsColumn = 33;
static_assert(kColumns[kTagsColumn - 1] == "SubAccountName");

constexpr std::string_view kOneStep = "ProportionalToRunsLargestRemainderCents";
constexpr std::string_view kTwoSteps = "ProportionalToRunsLargestRemainderCentsPerChargebackGroup";

// One charge row before money: a workspace, or the account's unattributed remainder.
struct Charge {
  std::string workspace_id;  // empty for the remainder
  std::string workspace_name;
  std::string environment_id;
  std::string environment_name;
  UsageCounts usage;
  ChargebackValues labels{};  // with chargeback: the workspace's, all "" for the remainder
};

std::vector<Charge> charges_of(const AccountReport& account, std::size_t label_count) {
  std::vector<Charge> charges;
  for (const WorkspaceRow& ws : account.workspaces) {
    if (ws.usage.runs == 0 && ws.usage.run_seconds == 0) continue;
    charges.push_back(Charge{ws.id, ws.name, ws.environment_id.value_or(""),
                             ws.environment_name.value_or(""), ws.usage, ws.chargeback});
  }
  const UsageCounts rest = report_detail::unattributed_usage(account);
  if (rest.runs > 0 || rest.run_seconds > 0) {
    charges.push_back(Charge{"", "", "", "", rest, ChargebackValues(label_count)});
  }
  return charges;
}

// The Tags cell: {"label": "value", ...} in label order. Invalid UTF-8 in a value becomes U+FFFD
// rather than failing the report.
std::string tags_json(const std::vector<std::string>& labels, const ChargebackValues& values) {
  nlohmann::ordered_json tags = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    tags[labels[i]] = i < values.size() ? values[i] : std::string();
  }
  return tags.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string description(const AccountReport& account, const Charge& charge) {
  std::string text = charge.workspace_id.empty()
                         ? "Scalr runs not attributed to a workspace (e.g. deleted workspaces)"
                         : "Scalr runs of the workspace";
  if (account.plan) {
    text += "; " + std::to_string(account.plan->included_runs) + " runs included per period, " +
            decimal_micros(account.plan->overage_price_micros) + " " + account.plan->currency +
            " per run beyond; the account's overage cost is allocated to workspaces by runs";
    if (!account.chargeback.empty()) text += ", through their chargeback groups";
  } else {
    text += "; no billing plan configured, costs not computed";
  }
  return text;
}

// What every row of one account shares: the period, the plan's price and currency, the name and
// the chargeback labels (empty: no Tags column).
struct AccountTerms {
  std::string start;  // RFC 3339
  std::string end;
  std::uint64_t price_micros = 0;
  std::string currency;
  std::string name;  // BillingAccountName
  const std::vector<std::string>& labels;
};

// One charge's row, its fields in the order of kColumns (the comments name them). billed_cents is
// the charge's part of the account's overage cost.
std::string charge_row(const AccountReport& account, const AccountTerms& terms, const Charge& c,
                       std::uint64_t billed_cents) {
  const std::string runs = std::to_string(c.usage.runs);
  const std::string list_cost = money(cost_cents(c.usage.runs, terms.price_micros));
  const bool resource = !c.workspace_id.empty();
  const bool tags = !terms.labels.empty();
  std::vector<std::string> fields({
      money(billed_cents),                                           // BilledCost
      csv_text(account.account_id),                                  // BillingAccountId
      csv_text(terms.name),                                          // BillingAccountName
      csv_text(terms.currency),                                      // BillingCurrency
      terms.end,                                                     // BillingPeriodEnd
      terms.start,                                                   // BillingPeriodStart
      "Usage",                                                       // ChargeCategory
      "",                                                            // ChargeClass
      csv_text(description(account, c)),                             // ChargeDescription
      "Usage-Based",                                                 // ChargeFrequency
      terms.end,                                                     // ChargePeriodEnd
      terms.start,                                                   // ChargePeriodStart
      runs,                                                          // ConsumedQuantity
      "Runs",                                                        // ConsumedUnit
      list_cost,                                                     // ContractedCost
      decimal_micros(terms.price_micros),                            // ContractedUnitPrice
      money(billed_cents),                                           // EffectiveCost
      "Scalr",                                                       // InvoiceIssuerName
      list_cost,                                                     // ListCost
      decimal_micros(terms.price_micros),                            // ListUnitPrice
      "Standard",                                                    // PricingCategory
      runs,                                                          // PricingQuantity
      "Runs",                                                        // PricingUnit
      "Scalr",                                                       // ProviderName
      "Scalr",                                                       // PublisherName
      csv_text(c.workspace_id),                                      // ResourceId
      csv_text(c.workspace_name),                                    // ResourceName
      resource ? "Workspace" : "",                                   // ResourceType
      "Developer Tools",                                             // ServiceCategory
      "Scalr",                                                       // ServiceName
      "Continuous Integration and Deployment",                       // ServiceSubcategory
      csv_text(c.environment_id),                                    // SubAccountId
      csv_text(c.environment_id.empty() ? "" : c.environment_name),  // SubAccountName
      account.plan ? std::to_string(account.plan->included_runs) : "",
      account.plan ? std::to_string(account.plan->runs_over_plan) : "",
      std::string(account.plan ? (tags ? kTwoSteps : kOneStep) : "None"),
      csv_text(c.environment_id),
      csv_text(c.environment_name),
      fixed(static_cast<double>(c.usage.run_seconds) / 3600, 4),
      std::to_string(c.usage.run_seconds),
  });
  if (tags) {
    fields.insert(fields.begin() + kTagsColumn, csv_text(tags_json(terms.labels, c.labels)));
  }
  return csv_row(fields);
}

// Each charge's part of the account's overage, in cents: over all charges by runs, or, with
// chargeback, each group's part (the model's) over the group's charges by runs.
std::vector<std::uint64_t> billed_cents(const AccountReport& account,
                                        const std::vector<Charge>& charges, bool by_group) {
  const std::uint64_t overage = account.plan ? account.plan->overage_cost_cents : 0;
  std::vector<std::uint64_t> weights;
  for (const Charge& charge : charges) weights.push_back(charge.usage.runs);
  // Overage > 0 means runs > included >= 1, so some row has runs and the weights are not all 0.
  if (!by_group) return allocate_largest_remainder(overage, weights);

  std::vector<std::uint64_t> billed(charges.size(), 0);
  for (const ChargebackGroup& group : account.chargeback) {
    std::vector<std::size_t> members;
    std::vector<std::uint64_t> member_weights;
    for (std::size_t i = 0; i < charges.size(); ++i) {
      if (charges[i].labels == group.labels) {
        members.push_back(i);
        member_weights.push_back(weights[i]);
      }
    }
    // A group's cents are > 0 only when it has runs, which are on its rows (the remainder's in
    // the all-empty group), so member_weights are not all 0 then.
    const std::vector<std::uint64_t> parts =
        allocate_largest_remainder(group.overage_cost_cents.value_or(0), member_weights);
    for (std::size_t k = 0; k < members.size(); ++k) billed[members[k]] = parts[k];
  }
  return billed;
}

// Appends the rows of one account's charges, its overage cost allocated over them by runs.
void append_account_rows(std::string& out, const Report& report, const AccountReport& account) {
  const std::vector<std::string>& labels = report.chargeback_labels;
  const std::vector<Charge> charges = charges_of(account, labels.size());
  const AccountTerms terms{format_rfc3339(account.period.start),
                           format_rfc3339(account.period.end),
                           account.plan ? account.plan->overage_price_micros : 0,
                           account.plan ? account.plan->currency : report.plan.currency,
                           account.account_name.empty() ? account.account_id : account.account_name,
                           labels};
  const std::vector<std::uint64_t> billed =
      billed_cents(account, charges, !labels.empty() && !account.chargeback.empty());
  for (std::size_t i = 0; i < charges.size(); ++i) {
    out += charge_row(account, terms, charges[i], billed[i]);
  }
}

}  // namespace

std::string render_focus(const Report& report) {
  std::vector<std::string> header;
  for (const std::string_view name : kColumns) header.push_back(csv_field(name));
  if (!report.chargeback_labels.empty()) {
    header.insert(header.begin() + kTagsColumn, "Tags");
  }
  std::string out = csv_row(header);
  for (const AccountReport* account : accounts_by_id(report)) {
    append_account_rows(out, report, *account);
  }
  return out;
}

}  // namespace scalr_usage
