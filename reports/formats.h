#pragma once
// The report formats, one row each in kReportFormatTable. Everything else that knows about formats
// is derived from that table: the --format help and error text, the config's `formats:` check and
// default, report_file_name, render_report and the retention of old reports. A new format is its
// renderer (reports/render_<name>.cpp, in CMakeLists.txt's source list), declared below, and one
// row in the table.

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "reports/report.h"

#include "util/text.h"

namespace scalr_usage {

// Report renderers: each a pure function of a Report, deterministic to the byte (accounts by id,
// rows in report order, numbers formatted with std::to_chars, so neither the locale nor the
// platform's printf changes the output). What each format contains is documented in README.md
// ("Reports") and, for JSON, in docs/report.schema.json.

// RFC 4180 CSV, one row per account, environment and workspace (README.md, "Reports").
std::string render_csv(const Report& report);
// The whole report as one JSON document (docs/report.schema.json).
std::string render_json(const Report& report);
// One self-contained HTML5 page: no scripts, no external assets, inline SVG charts.
std::string render_html(const Report& report);
// FinOps FOCUS 1.2 cost and usage rows as CSV, one row per workspace per billing period.
std::string render_focus(const Report& report);

struct ReportFormat {
  std::string_view name;       // as --format and a schedule's `formats:` spell it
  std::string_view extension;  // ends the report's file name, dot included
  std::string (*render)(const Report&);
};

// Every format, in the order reports are written when a schedule does not choose.
inline constexpr std::array kReportFormatTable = std::to_array<ReportFormat>({
    {"csv", ".csv", &render_csv},
    {"json", ".json", &render_json},
    {"html", ".html", &render_html},
    {"focus", ".focus.csv", &render_focus},
});

// The names alone, in table order.
inline constexpr std::array<std::string_view, kReportFormatTable.size()> kReportFormats = [] {
  std::array<std::string_view, kReportFormatTable.size()> names{};
  for (std::size_t i = 0; i < names.size(); ++i) names[i] = kReportFormatTable[i].name;
  return names;
}();

// The extensions, longest first: a file name is matched against them in this order, so one that
// ends another (".csv" ends ".focus.csv") is tried after it.
inline constexpr std::array<std::string_view, kReportFormatTable.size()>
    kReportExtensionsLongestFirst = [] {
      std::array<std::string_view, kReportFormatTable.size()> extensions{};
      for (std::size_t i = 0; i < extensions.size(); ++i) {
        extensions[i] = kReportFormatTable[i].extension;
      }
      std::sort(extensions.begin(), extensions.end(), [](std::string_view a, std::string_view b) {
        return a.size() != b.size() ? a.size() > b.size() : a < b;
      });
      return extensions;
    }();

// A row that breaks the table's promises does not compile: names and extensions non-empty and
// distinct, every extension starting with a dot.
static_assert([] {
  for (std::size_t i = 0; i < kReportFormatTable.size(); ++i) {
    const ReportFormat& row = kReportFormatTable[i];
    if (row.name.empty() || row.extension.size() < 2 || row.extension.front() != '.' ||
        row.render == nullptr) {
      return false;
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (kReportFormatTable[j].name == row.name) return false;
      if (kReportFormatTable[j].extension == row.extension) return false;
    }
  }
  return true;
}());

// The row of the format called `name`; nullptr when there is none.
constexpr const ReportFormat* find_report_format(std::string_view name) {
  for (const ReportFormat& format : kReportFormatTable) {
    if (format.name == name) return &format;
  }
  return nullptr;
}

// The report extension `file_name` ends with, the longest when several do (".focus.csv", not
// ".csv"); empty when it ends with none.
constexpr std::string_view report_extension_of(std::string_view file_name) {
  for (const std::string_view extension : kReportExtensionsLongestFirst) {
    if (file_name.ends_with(extension)) return extension;
  }
  return {};
}

// The names for people, in table order: "csv, json, html or focus".
inline std::string report_format_choices() { return join_alternatives(kReportFormats); }

// How many formats there are, in words, for help that says "all four".
inline constexpr std::string_view kReportFormatCount = [] {
  constexpr std::array<std::string_view, 13> kWords = {"zero", "one",    "two",   "three", "four",
                                                       "five", "six",    "seven", "eight", "nine",
                                                       "ten",  "eleven", "twelve"};
  static_assert(kReportFormatTable.size() < kWords.size(), "spell out more numbers");
  return kWords[kReportFormatTable.size()];
}();

}  // namespace scalr_usage
