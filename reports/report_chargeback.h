#pragma once
// The chargeback groups of an account report (internal to reports/; AccountReport::chargeback).

#include <cstddef>
#include <vector>

#include "reports/report.h"

namespace scalr_usage::report_detail {

// The groups of `account`, whose workspaces already carry their chargeback values (label_count of
// them each) and whose total and plan are set: one group per distinct tuple of values, the
// account's runs on no workspace added to the all-"" tuple, the overage allocated by runs.
std::vector<ChargebackGroup> chargeback_groups(const AccountReport& account,
                                               std::size_t label_count);

}  // namespace scalr_usage::report_detail
