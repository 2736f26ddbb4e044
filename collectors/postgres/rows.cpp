#include "collectors/postgres/rows.h"

#include <pqxx/pqxx>

#include <array>
#include <charconv>
#include <chrono>
#include <stdexcept>

#include "collectors/source.h"

namespace scalr_usage {

namespace {

// Every column the rows are read from: kRequiredColumns, then kOptionalColumns.
constexpr std::size_t kColumnCount =
    postgres_sql::kRequiredColumns.size() + postgres_sql::kOptionalColumns.size();

// In kRequiredColumns order, then kOptionalColumns order.
enum Column {
  account,
  environment,
  environment_name,
  workspace,
  workspace_name,
  date,
  runs,
  seconds,
  account_name,
  workspace_tags
};
static_assert(workspace_tags + 1 == kColumnCount);

std::string_view name_of(Column column) {
  const std::size_t n = column;
  return n < postgres_sql::kRequiredColumns.size()
             ? postgres_sql::kRequiredColumns[n]
             : postgres_sql::kOptionalColumns[n - postgres_sql::kRequiredColumns.size()];
}

// Where each column is in a batch; nullopt for an optional column the query does not return.
using ColumnIndex = std::array<std::optional<pqxx::row::size_type>, kColumnCount>;

std::optional<pqxx::row::size_type> find_column(const pqxx::result& result, std::string_view name) {
  for (pqxx::row::size_type i = 0; i < result.columns(); ++i) {
    if (name == result.column_name(i)) return i;
  }
  return std::nullopt;
}

ColumnIndex column_index(const pqxx::result& batch) {
  ColumnIndex index{};
  for (std::size_t i = 0; i < index.size(); ++i) {
    index[i] = find_column(batch, name_of(static_cast<Column>(i)));
  }
  return index;
}

// The array types whose elements PostgreSQL prints as plain strings: text[], varchar[], bpchar[]
// and name[] (pg_type's fixed OIDs). A text column, json or jsonb would be read wrongly.
constexpr std::array<std::uint32_t, 4> kTextArrayTypes = {1009, 1015, 1014, 1003};

// The usual mistakes, by name; any other type by its OID (SELECT 'N'::regtype names it).
std::string type_name(std::uint32_t oid) {
  switch (oid) {
    case 25:
      return "text";
    case 1043:
      return "varchar";
    case 114:
      return "json";
    case 3802:
      return "jsonb";
    default:
      return "the type with OID " + std::to_string(oid);
  }
}

// Reads an array's elements: one dimension only, NULL and empty elements dropped (neither is a tag
// name), sorted and unique.
std::optional<std::vector<std::string>> read_tag_array(pqxx::array_parser parser) {
  std::vector<std::string> tags;
  int depth = 0;
  for (;;) {
    auto [juncture, value] = parser.get_next();
    switch (juncture) {
      case pqxx::array_parser::row_start:
        if (++depth > 1) return std::nullopt;
        break;
      case pqxx::array_parser::row_end:
        --depth;
        break;
      case pqxx::array_parser::null_value:
        break;
      case pqxx::array_parser::string_value:
        if (depth != 1) return std::nullopt;
        if (!value.empty()) tags.push_back(std::move(value));
        break;
      case pqxx::array_parser::done:
        if (depth != 0) return std::nullopt;
        std::sort(tags.begin(), tags.end());
        tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
        return tags;
    }
  }
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
    name(account_name, parsed.account_name);
    tags(parsed.workspace_tags);
  }

 private:
  // Only for a column the batch has: every required one, an optional one after index_ says so.
  pqxx::field at(Column column) const { return row_[*index_[column]]; }

  SourceError fail(Column column, const std::string& problem) const {
    return SourceError(ErrorReason::bad_response, std::string(kQueryKey) + ": row " +
                                                      std::to_string(row_number_) + ": " +
                                                      std::string(name_of(column)) + " " + problem);
  }

  // Ids, names and tags become labels: bounded before they are even copied.
  void check_length(Column column, std::string_view value) const {
    check_label_length(value, config_.max_label_length,
                       std::string(kQueryKey) + ": row " + std::to_string(row_number_) + ": " +
                           std::string(name_of(column)),
                       "postgres.max_label_length");
  }

  void id(Column column, std::string& out) const {
    const pqxx::field field = at(column);
    if (field.is_null()) throw fail(column, "is null");
    if (field.size() == 0) throw fail(column, "is empty");
    check_length(column, std::string_view(field.c_str(), field.size()));
    out.assign(field.c_str(), field.size());
  }

  // A name, or "" when NULL or when the query has no such (optional) column.
  void name(Column column, std::string& out) const {
    if (!index_[column]) return out.clear();
    const pqxx::field field = at(column);
    if (field.is_null()) return out.clear();
    check_length(column, std::string_view(field.c_str(), field.size()));
    out.assign(field.c_str(), field.size());
  }

  void tags(std::optional<std::vector<std::string>>& out) const {
    out.reset();
    if (!index_[workspace_tags]) return;
    const pqxx::field field = at(workspace_tags);
    if (field.is_null()) return;
    try {
      out = read_tag_array(field.as_array());
    } catch (const std::exception&) {  // libpqxx's parser on text it cannot read
      out.reset();
    }
    if (!out) {
      throw fail(workspace_tags, "is " + one_line(std::string_view(field.c_str()).substr(0, 40)) +
                                     ", want a one-dimensional array of tag names");
    }
    for (const std::string& tag : *out) check_length(workspace_tags, tag);
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

std::optional<std::string> column_problem(std::span<const std::string> names,
                                          std::optional<std::uint32_t> workspace_tags_type) {
  const std::vector<std::string> missing = missing_columns(names);
  if (!missing.empty()) {
    return std::string(kQueryKey) + ": missing column(s) " + join(missing, ", ") +
           " (the query must return " + join(postgres_sql::kRequiredColumns, ", ") + ")";
  }
  for (std::size_t i = 0; i < kColumnCount; ++i) {
    const std::string_view column = name_of(static_cast<Column>(i));
    const auto count = std::count(names.begin(), names.end(), column);
    if (count > 1) {
      return std::string(kQueryKey) + ": column " + std::string(column) + " appears " +
             std::to_string(count) + " times";
    }
  }
  if (workspace_tags_type && std::find(kTextArrayTypes.begin(), kTextArrayTypes.end(),
                                       *workspace_tags_type) == kTextArrayTypes.end()) {
    return std::string(kQueryKey) + ": column workspace_tags is " +
           type_name(*workspace_tags_type) +
           ", want an array of tag names (text[]; cast with ::text[])";
  }
  return std::nullopt;
}

std::optional<std::vector<std::string>> parse_tag_array(const std::string& text) {
  try {
    return read_tag_array(pqxx::array_parser(text.c_str(), pqxx::internal::encoding_group::UTF8));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::vector<std::string> column_names(const pqxx::result& result) {
  std::vector<std::string> names;
  for (pqxx::row::size_type i = 0; i < result.columns(); ++i) {
    names.emplace_back(result.column_name(i));
  }
  return names;
}

std::optional<std::string> column_problem(const pqxx::result& result) {
  std::optional<std::uint32_t> tags_type;
  // A duplicated workspace_tags is reported as such, whichever of its types is checked here.
  if (const auto tags = find_column(result, name_of(workspace_tags))) {
    tags_type = result.column_type(*tags);
  }
  return column_problem(column_names(result), tags_type);
}

void read_rows(const pqxx::result& batch, std::size_t first_row, const PostgresConfig& config,
               const Period& period, Aggregators& sums) {
  const ColumnIndex index = column_index(batch);  // check_columns vouched for the required ones
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
