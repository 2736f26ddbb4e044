#pragma once
// Formatting shared by the report renderers (internal to reports/). Everything is locale-free:
// std::to_chars and integer arithmetic only, so a process that calls setlocale() still writes
// "0.5" and never "0,5".

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "reports/report.h"

namespace scalr_usage::render_detail {

// v with exactly `precision` decimals; never "-0.00" (a tiny negative rounds to plain zero).
inline std::string fixed(double v, int precision) {
  if (!std::isfinite(v)) v = 0;  // cannot happen with the report's values; keep output parseable
  std::array<char, 512> buf{};
  const auto result =
      std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed, precision);
  std::string text(buf.data(), result.ptr);
  if (!text.empty() && text.front() == '-' && text.find_first_not_of("-0.") == std::string::npos) {
    text.erase(0, 1);
  }
  return text;
}

// 1234 -> "12.34", 5 -> "0.05".
inline std::string money(std::uint64_t cents) {
  const std::uint64_t rest = cents % 100;
  return std::to_string(cents / 100) + (rest < 10 ? ".0" : ".") + std::to_string(rest);
}

// A price in millionths as a plain decimal with at least 2 decimals: 990000 -> "0.99",
// 5000 -> "0.005", 1000000 -> "1.00".
inline std::string decimal_micros(std::uint64_t micros) {
  std::string fraction = std::to_string(micros % 1'000'000);
  fraction.insert(0, 6 - fraction.size(), '0');
  while (fraction.size() > 2 && fraction.back() == '0') fraction.pop_back();
  return std::to_string(micros / 1'000'000) + "." + fraction;
}

// "+12", "-3", "0".
inline std::string signed_int(std::int64_t v) { return (v > 0 ? "+" : "") + std::to_string(v); }

// RFC 4180: a field with a comma, a double quote, CR or LF is quoted, its quotes doubled.
inline std::string csv_field(std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(value);
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// A text field (id, name, currency) for a CSV that people open in spreadsheets. Excel, LibreOffice
// and Google Sheets evaluate a cell that starts with = + - @ (and TAB/CR, which some strip first)
// as a formula, so a workspace named "=HYPERLINK(...)" would run on opening (CSV injection, see
// OWASP). Such a value gets a leading apostrophe, which spreadsheets show as a text marker; the
// price is that a program reading the CSV sees the apostrophe too. Numeric columns are never
// changed (a negative change must stay a number).
inline std::string csv_text(std::string_view value) {
  if (!value.empty() &&
      std::string_view("=+-@\t\r").find(value.front()) != std::string_view::npos) {
    return csv_field("'" + std::string(value));
  }
  return csv_field(value);
}

inline std::string csv_row(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line.push_back(',');
    line += fields[i];
  }
  line += "\r\n";
  return line;
}

// The accounts in id order, whatever order the caller collected them in.
inline std::vector<const AccountReport*> accounts_by_id(const Report& report) {
  std::vector<const AccountReport*> accounts;
  for (const AccountReport& account : report.accounts) accounts.push_back(&account);
  std::stable_sort(
      accounts.begin(), accounts.end(),
      [](const AccountReport* a, const AccountReport* b) { return a->account_id < b->account_id; });
  return accounts;
}

}  // namespace scalr_usage::render_detail
