#pragma once
// Every SQL statement the PostgreSQL source sends, in one place. The table the default query reads
// is created by etc/postgres/schema.sql; README.md ("PostgreSQL source") quotes this query and the
// contract a custom one must follow, so keep the three in step.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace scalr_usage::postgres_sql {

// One row per workspace and UTC day with runs, from the raw runs table, for the runs that finished
// in [$1, $2). Names come from the day's latest run that has one, so a rename shows up on the day
// it happened; so do the account's name and the workspace's tags (an empty list is a list: a
// workspace whose tags were all removed). array_agg cannot collect arrays of different lengths,
// so the tags travel through their text form, which casts back to the same text[] exactly.
// sum(bigint) is numeric in PostgreSQL; the source reads either.
inline constexpr std::string_view kDefaultQuery = R"sql(SELECT account_id,
       environment_id,
       (array_agg(environment_name ORDER BY finished_at DESC, run_id DESC)
          FILTER (WHERE environment_name IS NOT NULL))[1] AS environment_name,
       workspace_id,
       (array_agg(workspace_name ORDER BY finished_at DESC, run_id DESC)
          FILTER (WHERE workspace_name IS NOT NULL))[1] AS workspace_name,
       (finished_at AT TIME ZONE 'UTC')::date AS date,
       count(*) AS runs_count,
       sum(duration_seconds) AS runs_seconds,
       (array_agg(account_name ORDER BY finished_at DESC, run_id DESC)
          FILTER (WHERE account_name <> ''))[1] AS account_name,
       (array_agg(workspace_tags::text ORDER BY finished_at DESC, run_id DESC)
          FILTER (WHERE workspace_tags IS NOT NULL))[1]::text[] AS workspace_tags
  FROM scalr_runs
 WHERE finished_at >= $1 AND finished_at < $2
 GROUP BY account_id, environment_id, workspace_id, (finished_at AT TIME ZONE 'UTC')::date)sql";

// The default query before account_name and workspace_tags, for a scalr_runs that etc/postgres/
// schema.sql has not upgraded yet: an exporter upgraded before its database keeps working, without
// account names and tags, instead of failing on columns that do not exist.
inline constexpr std::string_view kDefaultQueryWithoutOptionalColumns = R"sql(SELECT account_id,
       environment_id,
       (array_agg(environment_name ORDER BY finished_at DESC, run_id DESC)
          FILTER (WHERE environment_name IS NOT NULL))[1] AS environment_name,
       workspace_id,
       (array_agg(workspace_name ORDER BY finished_at DESC, run_id DESC)
          FILTER (WHERE workspace_name IS NOT NULL))[1] AS workspace_name,
       (finished_at AT TIME ZONE 'UTC')::date AS date,
       count(*) AS runs_count,
       sum(duration_seconds) AS runs_seconds
  FROM scalr_runs
 WHERE finished_at >= $1 AND finished_at < $2
 GROUP BY account_id, environment_id, workspace_id, (finished_at AT TIME ZONE 'UTC')::date)sql";

// How many of the optional columns the scalr_runs the default query would read has: 2 once
// schema.sql has upgraded it. to_regclass resolves the name through the search_path as the query
// does, and gives NULL (so 0) when there is no such table; pg_attribute is readable by every role.
inline constexpr std::string_view kOptionalColumnsPresent =
    "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('scalr_runs') "
    "AND attname IN ('account_name', 'workspace_tags') AND attnum > 0 AND NOT attisdropped";

// The columns every query must return, in the order errors list them. Other columns are ignored.
inline constexpr std::array<std::string_view, 8> kRequiredColumns = {
    "account_id",     "environment_id", "environment_name", "workspace_id",
    "workspace_name", "date",           "runs_count",       "runs_seconds"};

// The columns a query may return. Without account_name the account's name is unknown (empty);
// without workspace_tags every workspace has no tags. workspace_tags must be a text array (text[],
// varchar[]), since its elements are read as PostgreSQL prints an array.
inline constexpr std::array<std::string_view, 2> kOptionalColumns = {"account_name",
                                                                     "workspace_tags"};

// Runs first in every poll's read-only transaction, with $1 the statement timeout in milliseconds.
// All three settings are transaction-local (set_config(..., true)), so they never outlive the poll.
// TimeZone UTC makes a custom query's finished_at::date or date_trunc() count UTC days whatever the
// server's default, and DateStyle ISO makes dates come back as YYYY-MM-DD.
inline constexpr std::string_view kSessionSettings =
    "SELECT set_config('statement_timeout', $1, true), set_config('TimeZone', 'UTC', true), "
    "set_config('DateStyle', 'ISO, YMD', true)";

// The query as sent: the configured (or default) query as a subquery next to one that fixes the
// types of $1 and $2 to timestamptz. PostgreSQL types parameters where it first meets them, and the
// FROM list is analysed left to right, so the period bounds are timestamptz wherever the query uses
// them, and a query that uses only one of them still takes both. The line break before the closing
// parenthesis keeps a trailing -- comment in the query from swallowing it.
inline std::string wrapped(std::string_view query) {
  return "SELECT sue_rows.* FROM (SELECT $1::timestamptz AS period_start, "
         "$2::timestamptz AS period_end) AS sue_period CROSS JOIN (\n" +
         std::string(query) + "\n) AS sue_rows";
}

// The poll reads the query's rows through a cursor, kFetchRows at a time, instead of as one result:
// a month of a large account is hundreds of thousands of rows, which as one PGresult would be tens
// of megabytes held at once. The cursor lives in the poll's transaction and ends with it.
inline constexpr std::size_t kFetchRows = 5000;
inline std::string declare_cursor(std::string_view query) {
  return "DECLARE sue_usage NO SCROLL CURSOR FOR " + wrapped(query);
}
inline const std::string kFetch = "FETCH FORWARD " + std::to_string(kFetchRows) + " FROM sue_usage";

// Before each FETCH after the first, so that statement_timeout bounds the whole read and not each
// FETCH on its own; $1 is the time left in milliseconds.
inline constexpr std::string_view kStatementTimeout =
    "SELECT set_config('statement_timeout', $1, true)";

// The startup check: the same statement, but LIMIT 0 lets the server plan it and report its columns
// without producing (or waiting for) a single row.
inline std::string column_check(std::string_view query) { return wrapped(query) + " LIMIT 0"; }

}  // namespace scalr_usage::postgres_sql
