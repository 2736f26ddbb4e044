#include "delivery/summary.h"

#include "reports/schedule_state.h"  // period_key

namespace scalr_usage {

ReportSummary report_summary(const AccountReport& report) {
  ReportSummary summary;
  summary.account_id = report.account_id;
  summary.account_name = report.account_name;
  summary.period = report.period;
  summary.period_key = period_key(report.period);
  summary.usage = report.total;
  if (report.change) {
    summary.previous_period = report.change->previous_period;
    summary.previous = report.change->previous;
  }
  if (report.plan) {
    summary.overage_cost_cents = report.plan->overage_cost_cents;
    summary.currency = report.plan->currency;
  }
  return summary;
}

}  // namespace scalr_usage
