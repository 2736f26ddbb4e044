#include "collectors/postgres/rows.h"

#include <pqxx/pqxx>

#include <array>
#include <charconv>
#include <chrono>
#include <stdexcept>

#include "collectors/source.h"

namespace scalr_usage {

std::string one_line(std::string_view text) {
  std::string out;
  bool pending_space = false;
  for (const char c : text) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += is_control(c) ? ' ' : c;
  }
  return out;
}

std::optional<std::uint64_t> parse_whole_number(std::string_view text) {
  const std::size_t point = text.find('.');
  const std::string_view whole = text.substr(0, point);
  if (point != std::string_view::npos) {
    const std::string_view fraction = text.substr(point + 1);
    if (!std::all_of(fraction.begin(), fraction.end(), [](char c) { return c == '0'; })) {
      return std::nullopt;
    }
  }
  if (whole.empty() ||
      !std::all_of(whole.begin(), whole.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(whole.data(), whole.data() + whole.size(), value);
  if (error != std::errc() || end != whole.data() + whole.size()) return std::nullopt;
  return value;
}

std::vector<std::string> missing_columns(std::span<const std::string> columns) {
  std::vector<std::string> missing;
  for (const std::string_view required : postgres_sql::kRequiredColumns) {
    if (std::find(columns.begin(), columns.end(), required) == columns.end()) {
      missing.emplace_back(required);
    }
  }
  return missing;
}

std::vector<std::string> column_names(const pqxx::result& result) {
  std::vector<std::string> names;
  for (pqxx::row::size_type i = 0; i < result.columns(); ++i) {
    names.emplace_back(result.column_name(i));
  }
  return names;
}

void read_rows(const pqxx::result& batch, std::size_t first_row, const PostgresConfig& config,
               const Period& period, Aggregators& sums) {
  std::array<pqxx::row::size_type, postgres_sql::kRequiredColumns.size()> index{};
  for (std::size_t i = 0; i < index.size(); ++i) {
    index[i] = batch.column_number(std::string(postgres_sql::kRequiredColumns[i]));
  }
  enum Column {
    account,
    environment,
    environment_name,
    workspace,
    workspace_name,
    date,
    runs,
    seconds
  };

  // One row object for the whole batch: assigning to its strings reuses their buffers.
  WorkspaceDayRow parsed;
  for (pqxx::result::size_type n = 0; n < batch.size(); ++n) {
    const pqxx::row row = batch[n];
    const std::size_t row_number = first_row + n + 1;
    const auto fail = [&](Column column, const std::string& problem) {
      return SourceError(ErrorReason::bad_response,
                         std::string(kQueryKey) + ": row " + std::to_string(row_number) + ": " +
                             std::string(postgres_sql::kRequiredColumns[column]) + " " + problem);
    };
    // Ids and names become labels: bounded before they are even copied.
    const auto check_length = [&](Column column, const pqxx::field& field) {
      check_label_length(std::string_view(field.c_str(), field.size()), config.max_label_length,
                         std::string(kQueryKey) + ": row " + std::to_string(row_number) + ": " +
                             std::string(postgres_sql::kRequiredColumns[column]),
                         "postgres.max_label_length");
    };
    const auto id = [&](Column column, std::string& out) {
      const pqxx::field field = row[index[column]];
      if (field.is_null()) throw fail(column, "is null");
      if (field.size() == 0) throw fail(column, "is empty");
      check_length(column, field);
      out.assign(field.c_str(), field.size());
    };
    const auto name = [&](Column column, std::string& out) {
      const pqxx::field field = row[index[column]];
      if (field.is_null()) return out.clear();
      check_length(column, field);
      out.assign(field.c_str(), field.size());
    };
    const auto count = [&](Column column) {
      const pqxx::field field = row[index[column]];
      if (field.is_null()) throw fail(column, "is null");
      const std::string_view text(field.c_str(), field.size());
      const auto value = parse_whole_number(text);
      if (!value) {
        throw fail(column, "is " + one_line(text.substr(0, 40)) +
                               ", want a whole number of at least 0 (cast with ::bigint)");
      }
      return *value;
    };

    if (const pqxx::field field = row[index[account]]; !config.accounts.empty()) {
      if (field.is_null()) throw fail(account, "is null");
      if (field.size() == 0) throw fail(account, "is empty");
      const std::string_view account_id(field.c_str(), field.size());
      if (std::find(config.accounts.begin(), config.accounts.end(), account_id) ==
          config.accounts.end()) {
        continue;  // outside the filter, so not this exporter's business, well-formed or not
      }
    }
    id(account, parsed.account_id);
    id(environment, parsed.environment_id);
    name(environment_name, parsed.environment_name);
    id(workspace, parsed.workspace_id);
    name(workspace_name, parsed.workspace_name);
    {
      const pqxx::field field = row[index[date]];
      if (field.is_null()) throw fail(date, "is null");
      std::string_view text(field.c_str(), field.size());
      // A timestamp counts for its day; the transaction's TimeZone is UTC, so that is a UTC day.
      if (text.size() > 10 && text[10] == ' ') text = text.substr(0, 10);
      try {
        parsed.date = parse_date(std::string(text));
      } catch (const std::invalid_argument&) {
        throw fail(date, "is " + one_line(text.substr(0, 40)) + ", want a date");
      }
    }
    parsed.runs = count(runs);
    parsed.run_seconds = count(seconds);
    auto aggregator = sums.find(parsed.account_id);
    if (aggregator == sums.end()) {
      aggregator = sums.try_emplace(parsed.account_id, parsed.account_id, period).first;
    }
    aggregator->second.add(parsed);
  }
}

}  // namespace scalr_usage
