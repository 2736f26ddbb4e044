#pragma once
// Rendering a Report in one of the formats of reports/formats.h, where the renderers are declared
// next to the table of formats.

#include <string>
#include <string_view>

#include "reports/formats.h"
#include "reports/report.h"

namespace scalr_usage {

// "schema_version" of render_json; bump it on any incompatible change to the JSON shape.
inline constexpr int kReportJsonSchemaVersion = 1;

// Dispatches on the format name (a name of kReportFormatTable, the names report_file_name takes);
// throws std::invalid_argument for any other.
std::string render_report(const Report& report, std::string_view format);

}  // namespace scalr_usage
