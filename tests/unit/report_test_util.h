#pragma once
// Helpers of the report tests: an RFC 4180 reader written here (so the renderers are checked
// against an independent parser), exact number readers and whole-file reads.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace scalr_usage::report_test {

// A minimal RFC 4180 reader: records end with CRLF, fields may be quoted, "" in quotes is one
// quote. Throws on a bare CR or LF outside quotes, a stray quote, or a last record without CRLF.

using CsvRows = std::vector<std::vector<std::string>>;

inline CsvRows parse_csv(const std::string& text) {
  CsvRows rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  bool was_quoted = false;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          i += 2;
          continue;
        }
        quoted = false;
        ++i;
        if (i < text.size() && text[i] != ',' && text[i] != '\r') {
          throw std::runtime_error("text after closing quote");
        }
        continue;
      }
      field.push_back(c);
      ++i;
      continue;
    }
    if (c == '"') {
      if (!field.empty() || was_quoted) throw std::runtime_error("quote inside unquoted field");
      quoted = was_quoted = true;
      ++i;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
      was_quoted = false;
      ++i;
    } else if (c == '\r') {
      if (i + 1 >= text.size() || text[i + 1] != '\n') throw std::runtime_error("bare CR");
      row.push_back(field);
      rows.push_back(row);
      field.clear();
      row.clear();
      was_quoted = false;
      i += 2;
    } else if (c == '\n') {
      throw std::runtime_error("bare LF outside quotes");
    } else {
      field.push_back(c);
      ++i;
    }
  }
  if (quoted) throw std::runtime_error("unterminated quote");
  if (!field.empty() || !row.empty()) throw std::runtime_error("last record without CRLF");
  return rows;
}

// Rows as column name -> value, checking every row has the header's width.
inline std::vector<std::map<std::string, std::string>> csv_records(
    const std::string& text, std::vector<std::string>* header) {
  const CsvRows rows = parse_csv(text);
  EXPECT_FALSE(rows.empty());
  if (rows.empty()) return {};
  if (header != nullptr) *header = rows[0];
  std::vector<std::map<std::string, std::string>> records;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    EXPECT_EQ(rows[r].size(), rows[0].size()) << "row " << r;
    std::map<std::string, std::string> record;
    for (std::size_t c = 0; c < rows[0].size() && c < rows[r].size(); ++c) {
      record[rows[0][c]] = rows[r][c];
    }
    records.push_back(record);
  }
  return records;
}

inline std::uint64_t to_u64(const std::string& s) {
  EXPECT_TRUE(!s.empty() &&
              std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; }))
      << "'" << s << "'";
  return std::stoull(s);
}

// "12.34" -> 1234, read digit by digit (no floating point); exactly two decimals required.
inline std::uint64_t to_cents(const std::string& s) {
  static const std::regex money(R"(^([0-9]+)\.([0-9]{2})$)");
  std::smatch m;
  EXPECT_TRUE(std::regex_match(s, m, money)) << "'" << s << "'";
  if (m.empty()) return 0;
  return std::stoull(m[1].str()) * 100 + std::stoull(m[2].str());
}

inline double to_double(const std::string& s) {
  static const std::regex number(R"(^-?[0-9]+\.[0-9]+$)");
  EXPECT_TRUE(std::regex_match(s, number)) << "'" << s << "'";
  return std::stod(s);
}

// What a spreadsheet-safe CSV cell of a name must look like (the documented formula guard).
inline std::string guarded(const std::string& name) {
  if (!name.empty() && std::string("=+-@\t\r").find(name[0]) != std::string::npos) {
    return "'" + name;
  }
  return name;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Golden files: `actual` must equal the file's bytes. With SUE_UPDATE_GOLDEN=1 in the environment
// the file is written first, so a deliberate change is one run and a reviewed diff.
inline void expect_golden_bytes(const std::filesystem::path& path, const std::string& actual) {
  if (const char* update = std::getenv("SUE_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing; SUE_UPDATE_GOLDEN=1 writes it";
  EXPECT_EQ(read_file(path), actual) << "output differs from " << path;
}

}  // namespace scalr_usage::report_test
