#pragma once
// Report renderers: each a pure function of a Report, deterministic to the byte (accounts by id,
// rows in report order, numbers formatted with std::to_chars, so neither the locale nor the
// platform's printf changes the output). What each format contains is documented in README.md
// ("Reports") and, for JSON, in docs/report.schema.json.

#include <array>
#include <string>
#include <string_view>

#include "reports/report.h"

namespace scalr_usage {

// Every format, in the order reports are written when a schedule does not choose.
inline constexpr std::array<std::string_view, 4> kReportFormats = {"csv", "json", "html", "focus"};

// "schema_version" of render_json; bump it on any incompatible change to the JSON shape.
inline constexpr int kReportJsonSchemaVersion = 1;

// RFC 4180 CSV, one row per account, environment and workspace (README.md, "Reports").
std::string render_csv(const Report& report);
// The whole report as one JSON document (docs/report.schema.json).
std::string render_json(const Report& report);
// One self-contained HTML5 page: no scripts, no external assets, inline SVG charts.
std::string render_html(const Report& report);
// FinOps FOCUS 1.2 cost and usage rows as CSV, one row per workspace per billing period.
std::string render_focus(const Report& report);

// Dispatches on the format name csv | json | html | focus (the names report_file_name takes);
// throws std::invalid_argument for any other.
std::string render_report(const Report& report, std::string_view format);

}  // namespace scalr_usage
