#pragma once
// The chargeback groups of an account report (internal to reports/; AccountReport::chargeback).

#include <cstddef>
#include <vector>

#include "reports/report.h"

namespace scalr_usage::report_detail {

// The account's usage on no workspace: its total minus its workspaces' sum, per field, never
// below 0 (Scalr's total also counts workspaces deleted since; more in the workspaces than in the
// total is inconsistent data, which the shares show). FOCUS gives it a row without a resource,
// the chargeback groups the all-"" tuple.
UsageCounts unattributed_usage(const AccountReport& account);

// The groups of `account`, whose workspaces already carry their chargeback values (label_count of
// them each) and whose total and plan are set: one group per distinct tuple of values, the
// account's runs on no workspace added to the all-"" tuple, the overage allocated by runs.
std::vector<ChargebackGroup> chargeback_groups(const AccountReport& account,
                                               std::size_t label_count);

}  // namespace scalr_usage::report_detail
