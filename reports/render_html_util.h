#pragma once
// Text and number helpers of the HTML report (internal to reports/), shared by render_html.cpp and
// render_html_chargeback.cpp.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "reports/render_util.h"
#include "reports/report.h"

namespace scalr_usage::render_detail::html {

// HTML-escaped, valid UTF-8 text. Invalid bytes and control characters (which HTML forbids, except
// TAB, LF and CR) become U+FFFD, as a browser would show them anyway.
std::string text(std::string_view s);

// The first max_chars code points of valid UTF-8 s, with "…" when cut (chart labels only; tables
// always show the whole name).
std::string shorten(std::string_view s, std::size_t max_chars);

inline std::string percent(double fraction) { return fixed(fraction * 100, 1) + "%"; }
inline std::string hours(std::uint64_t seconds) {
  return fixed(static_cast<double>(seconds) / 3600, 2);
}
inline std::string coord(double v) { return fixed(v, 1); }

// One bar of bar_chart: its label as plain text, its tooltip already as HTML, its length.
struct Bar {
  std::string label;
  std::string title_html;
  std::uint64_t value = 0;
};

// Opens a <figure> and writes horizontal bars, one per entry, labelled with the (shortened)
// label and the value; the caller adds the figcaption and closes the figure. css_class is a
// literal of the caller's, aria_label already HTML.
void bar_chart(std::string& out, std::string_view css_class, std::string_view aria_label,
               const std::vector<Bar>& bars);

// "By <first label>": the account's chargeback groups as a chart and a table
// (render_html_chargeback.cpp); nothing when the report has no chargeback labels.
void chargeback_section(std::string& out, const Report& report, const AccountReport& account);

}  // namespace scalr_usage::render_detail::html
