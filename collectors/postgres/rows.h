#pragma once
// The rows of the query, as PostgresSource (collectors/postgres/postgres_source.h) reads them a
// cursor batch at a time: the columns every query must return, and each row checked and summed
// into its account's aggregator. Every problem names postgres.query, and a row's its row and
// column.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/postgres/config.h"
#include "collectors/postgres/queries.h"
#include "model/aggregate.h"
#include "model/period.h"
#include "pq/messages.h"  // one_line
#include "util/text.h"

namespace pqxx {
class result;
}  // namespace pqxx

namespace scalr_usage {

inline constexpr std::string_view kQueryKey = "postgres.query";

// Parses an unsigned whole number as PostgreSQL prints an integer or numeric: digits, optionally
// followed by a fraction of zeros ("42", "42.000"). Anything else (negative, fractional, too large)
// is nullopt. Exposed for tests.
std::optional<std::uint64_t> parse_whole_number(std::string_view text);

// Which of kRequiredColumns are not among columns, in kRequiredColumns order. Exposed for tests.
std::vector<std::string> missing_columns(std::span<const std::string> columns);

std::vector<std::string> column_names(const pqxx::result& result);

// Throws make_error(message) when a required column is missing or ambiguous.
template <typename MakeError>
void check_columns(const pqxx::result& result, MakeError make_error) {
  const std::vector<std::string> names = column_names(result);
  const std::vector<std::string> missing = missing_columns(names);
  if (!missing.empty()) {
    throw make_error(std::string(kQueryKey) + ": missing column(s) " + join(missing, ", ") +
                     " (the query must return " + join(postgres_sql::kRequiredColumns, ", ") + ")");
  }
  for (const std::string_view column : postgres_sql::kRequiredColumns) {
    const auto count = std::count(names.begin(), names.end(), column);
    if (count > 1) {
      throw make_error(std::string(kQueryKey) + ": column " + std::string(column) + " appears " +
                       std::to_string(count) + " times");
    }
  }
}

// The sums of one read, by account id.
using Aggregators = std::map<std::string, AccountAggregator>;

// Adds the rows of one batch of the cursor, the first of which is row first_row + 1 of the
// result, to the aggregators of their accounts; with config.accounts set, rows of other accounts
// are skipped unchecked. Throws SourceError: bad_response for a row of the wrong shape, too_large
// for an id or name longer than config.max_label_length.
void read_rows(const pqxx::result& batch, std::size_t first_row, const PostgresConfig& config,
               const Period& period, Aggregators& sums);

}  // namespace scalr_usage
