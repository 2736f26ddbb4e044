#pragma once
// Text and number helpers of the HTML report (internal to reports/), shared by render_html.cpp and
// render_html_chargeback.cpp.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "reports/render_util.h"

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

}  // namespace scalr_usage::render_detail::html
