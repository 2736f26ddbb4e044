#pragma once
// A channel's view of one account's report: the figures of AccountReport a message carries.

#include <string>
#include <vector>

#include "delivery/channel.h"
#include "reports/report.h"

namespace scalr_usage {

ReportSummary report_summary(const AccountReport& report);

}  // namespace scalr_usage
