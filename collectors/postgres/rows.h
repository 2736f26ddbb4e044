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

// What is wrong with a result's columns, if anything: a required column missing, a required or
// optional column appearing more than once, or workspace_tags not a text array. Exposed for tests.
std::optional<std::string> column_problem(std::span<const std::string> names,
                                          std::optional<std::uint32_t> workspace_tags_type);

// The tag names of a workspace_tags value as PostgreSQL prints a text[] in UTF-8 ({a,"b c",NULL}):
// sorted, without duplicates, with NULL elements dropped. nullopt when the text is not a
// one-dimensional array. Exposed for tests; rows are read in the connection's encoding.
std::optional<std::vector<std::string>> parse_tag_array(const std::string& text);

std::vector<std::string> column_names(const pqxx::result& result);

// The problem column_problem finds in result, if any.
std::optional<std::string> column_problem(const pqxx::result& result);

// Throws make_error(message) when the columns are wrong (column_problem).
template <typename MakeError>
void check_columns(const pqxx::result& result, MakeError make_error) {
  if (std::optional<std::string> problem = column_problem(result)) throw make_error(*problem);
}

// The sums of one read, by account id.
using Aggregators = std::map<std::string, AccountAggregator>;

// Adds the rows of one batch of the cursor, the first of which is row first_row + 1 of the
// result, to the aggregators of their accounts; with config.accounts set, rows of other accounts
// are skipped unchecked. Throws SourceError: bad_response for a row of the wrong shape, too_large
// for an id, name or tag longer than config.max_label_length.
void read_rows(const pqxx::result& batch, std::size_t first_row, const PostgresConfig& config,
               const Period& period, Aggregators& sums);

}  // namespace scalr_usage
