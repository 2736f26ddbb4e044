#include "collectors/postgres/rows.h"

#include <pqxx/pqxx>

#include <array>
#include <charconv>
#include <chrono>
#include <stdexcept>

#include "collectors/source.h"

namespace scalr_usage {

namespace {

// Where each of kRequiredColumns is in a batch, in kRequiredColumns order.
using ColumnIndex = std::array<pqxx::row::size_type, postgres_sql::kRequiredColumns.size()>;

ColumnIndex column_index(const pqxx::result& batch) {
  ColumnIndex index{};
  for (std::size_t i = 0; i < index.size(); ++i) {
    index[i] = batch.column_number(std::string(postgres_sql::kRequiredColumns[i]));
  }
  return index;
}

// One row of a batch, read column by column. Every problem names the row, counted from 1 over the
// whole result rather than the batch, and the column.
class RowReader {
 public:
  RowReader(const pqxx::row& row, std::size_t row_number, const ColumnIndex& index,
            const PostgresConfig& config)
      : row_(row), row_number_(row_number), index_(index), config_(config) {}

  // Whether the row is outside config.accounts, when that is set: not this exporter's business,
  // well-formed or not. With a filter, the account id is checked first (not null, not empty).
  bool outside_filter() const {
    if (config_.accounts.empty()) return false;
    const pqxx::field field = at(account);
    if (field.is_null()) throw fail(account, "is null");
    if (field.size() == 0) throw fail(account, "is empty");
    const std::string_view account_id(field.c_str(), field.size());
    return std::find(config_.accounts.begin(), config_.accounts.end(), account_id) ==
           config_.accounts.end();
  }

  // The whole row into parsed, whose strings keep their buffers from the row before.
  void read(WorkspaceDayRow& parsed) const {
    id(account, parsed.account_id);
    id(environment, parsed.environment_id);
    name(environment_name, parsed.environment_name);
    id(workspace, parsed.workspace_id);
    name(workspace_name, parsed.workspace_name);
    parsed.date = day(date);
    parsed.runs = count(runs);
    parsed.run_seconds = count(seconds);
  }

 private:
  // In kRequiredColumns order.
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

  pqxx::field at(Column column) const { return row_[index_[column]]; }

  SourceError fail(Column column, const std::string& problem) const {
    return SourceError(ErrorReason::bad_response,
                       std::string(kQueryKey) + ": row " + std::to_string(row_number_) + ": " +
                           std::string(postgres_sql::kRequiredColumns[column]) + " " + problem);
  }

  // Ids and names become labels: bounded before they are even copied.
  void check_length(Column column, const pqxx::field& field) const {
    check_label_length(std::string_view(field.c_str(), field.size()), config_.max_label_length,
                       std::string(kQueryKey) + ": row " + std::to_string(row_number_) + ": " +
                           std::string(postgres_sql::kRequiredColumns[column]),
                       "postgres.max_label_length");
  }

  void id(Column column, std::string& out) const {
    const pqxx::field field = at(column);
    if (field.is_null()) throw fail(column, "is null");
    if (field.size() == 0) throw fail(column, "is empty");
    check_length(column, field);
    out.assign(field.c_str(), field.size());
  }

  void name(Column column, std::string& out) const {
    const pqxx::field field = at(column);
    if (field.is_null()) return out.clear();
    check_length(column, field);
    out.assign(field.c_str(), field.size());
  }

  std::uint64_t count(Column column) const {
    const pqxx::field field = at(column);
    if (field.is_null()) throw fail(column, "is null");
    const std::string_view text(field.c_str(), field.size());
    const auto value = parse_whole_number(text);
    if (!value) {
      throw fail(column, "is " + one_line(text.substr(0, 40)) +
                             ", want a whole number of at least 0 (cast with ::bigint)");
    }
    return *value;
  }

  std::chrono::year_month_day day(Column column) const {
    const pqxx::field field = at(column);
    if (field.is_null()) throw fail(column, "is null");
    std::string_view text(field.c_str(), field.size());
    // A timestamp counts for its day; the transaction's TimeZone is UTC, so that is a UTC day.
    if (text.size() > 10 && text[10] == ' ') text = text.substr(0, 10);
    try {
      return parse_date(std::string(text));
    } catch (const std::invalid_argument&) {
      throw fail(column, "is " + one_line(text.substr(0, 40)) + ", want a date");
    }
  }

  const pqxx::row& row_;
  const std::size_t row_number_;
  const ColumnIndex& index_;
  const PostgresConfig& config_;
};

}  // namespace

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
  const ColumnIndex index = column_index(batch);
  // One row object for the whole batch: assigning to its strings reuses their buffers.
  WorkspaceDayRow parsed;
  for (pqxx::result::size_type n = 0; n < batch.size(); ++n) {
    const pqxx::row row = batch[n];
    const RowReader reader(row, first_row + n + 1, index, config);
    if (reader.outside_filter()) continue;
    reader.read(parsed);
    auto aggregator = sums.find(parsed.account_id);
    if (aggregator == sums.end()) {
      aggregator = sums.try_emplace(parsed.account_id, parsed.account_id, period).first;
    }
    aggregator->second.add(parsed);
  }
}

}  // namespace scalr_usage
