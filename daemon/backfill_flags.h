#pragma once
// The values of the backfill command's flags, for the flag table of daemon/cli.cpp. Each throws
// std::invalid_argument saying what it wants; the table adds the flag's name.

#include <chrono>
#include <string>

#include "daemon/cli.h"

namespace scalr_usage {

// --from, --to: a day YYYY-MM-DD.
std::chrono::year_month_day parse_backfill_day(const std::string& value);
// --max-days: a whole number of days, at least 1.
int parse_backfill_max_days(const std::string& value);
// --label NAME=VALUE, appended to backfill.labels; the name is checked against the series' own
// labels when the command runs (backfill/backfill.h, check_extra_labels).
void add_backfill_label(BackfillOptions& backfill, const std::string& value);

}  // namespace scalr_usage
