#include "daemon/backfill_flags.h"

#include <exception>
#include <stdexcept>

#include "util/text.h"  // quote_for_message

namespace scalr_usage {

// A day of --from or --to.
std::chrono::year_month_day parse_backfill_day(const std::string& value) {
  try {
    return parse_date(value);
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("want a day YYYY-MM-DD, got " + quote_for_message(value));
  }
}

// --label NAME=VALUE; the name is checked against the series' own labels by the command.
void add_backfill_label(BackfillOptions& backfill, const std::string& value) {
  const std::size_t equals = value.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw std::invalid_argument("want NAME=VALUE, got " + quote_for_message(value));
  }
  backfill.labels.emplace_back(value.substr(0, equals), value.substr(equals + 1));
}

// --max-days: a whole number of days, at least 1.
int parse_backfill_max_days(const std::string& value) {
  std::size_t end = 0;
  int days = 0;
  try {
    days = std::stoi(value, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  if (end != value.size() || days < 1) {
    throw std::invalid_argument("want a whole number of days >= 1, got " +
                                quote_for_message(value));
  }
  return days;
}

}  // namespace scalr_usage
