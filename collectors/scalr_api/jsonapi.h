#pragma once
// Parsing of one page of GET /api/iacp/v3/usage-statistics (JSON:API), strictly: anything that is
// not the documented shape is rejected with the JSON path that is wrong, because silently
// misreading billing data is worse than reporting an error.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scalr_usage {

// One row of the response. A row is usage on one date (or over the whole period when total=true)
// for one breakdown resource (or the whole account without breakdown_by).
struct UsageItem {
  std::string account_id;  // relationships.account.data.id; empty when the server left it null
  std::optional<std::string> breakdown_id;
  std::optional<std::string> breakdown_name;
  std::optional<std::chrono::year_month_day> date;
  std::uint64_t runs_count = 0;
  std::uint64_t runs_seconds = 0;
};

struct UsagePage {
  std::vector<UsageItem> items;
  std::optional<int> next_page;    // meta.pagination.next-page; nullopt = last page
  std::optional<int> total_pages;  // meta.pagination.total-pages, when given
};

// Throws SourceError(bad_response) with a message that starts with the offending path, e.g.
// "data[3].attributes.runs-count: expected a non-negative integer, got -1".
UsagePage parse_usage_page(std::string_view body);

// A short single-line description of an error response body, for logs and error messages:
// JSON:API errors become "404 Not Found: Account not found; ..."; anything else becomes its first
// line. At most about 300 characters, never cut inside a UTF-8 sequence.
std::string error_summary(std::string_view body);

}  // namespace scalr_usage
