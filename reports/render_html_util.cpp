#include "reports/render_html_util.h"

#include <algorithm>

namespace scalr_usage::render_detail::html {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates, nothing above
// U+10FFFF), or 0 when the byte there does not start one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) low = 0xA0;
    if (b0 == 0xED) high = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) low = 0x90;
    if (b0 == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

std::string text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const bool c1_control = n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0;
    if (n == 1) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        case '\t':
        case '\n':
        case '\r':
          out.push_back(static_cast<char>(c));
          break;
        default:
          if (c < 0x20 || c == 0x7F) {
            out += kReplacement;
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
    } else if (c1_control) {
      out += kReplacement;
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string shorten(std::string_view s, std::size_t max_chars) {
  std::size_t i = 0;
  std::size_t chars = 0;
  while (i < s.size() && chars < max_chars) {
    const std::size_t n = utf8_sequence(s, i);
    i += n == 0 ? 1 : n;
    ++chars;
  }
  if (i >= s.size()) return std::string(s);
  return std::string(s.substr(0, i)) + "\xE2\x80\xA6";
}

void bar_chart(std::string& out, std::string_view css_class, std::string_view aria_label,
               const std::vector<Bar>& bars) {
  constexpr double kWidth = 760, kLabel = 250, kBarMax = 420, kRow = 22;
  const double height = kRow * static_cast<double>(bars.size()) + 8;
  std::uint64_t max_value = 0;
  for (const Bar& bar : bars) max_value = std::max(max_value, bar.value);
  const double scale = max_value == 0 ? 0 : kBarMax / static_cast<double>(max_value);

  out += "<figure>\n<svg class=\"chart " + std::string(css_class) + "\" viewBox=\"0 0 " +
         coord(kWidth) + " " + coord(height) + "\" width=\"" + coord(kWidth) + "\" height=\"" +
         coord(height) + "\" role=\"img\" aria-label=\"" + std::string(aria_label) + "\">\n";
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const Bar& bar = bars[i];
    const double y = 4 + kRow * static_cast<double>(i);
    const double w = static_cast<double>(bar.value) * scale;
    out += "<g><title>" + bar.title_html + "</title>\n";
    out += "<text x=\"" + coord(kLabel - 8) + "\" y=\"" + coord(y + 15) +
           "\" text-anchor=\"end\">" + text(shorten(bar.label, 36)) + "</text>\n";
    out += "<rect class=\"bar\" x=\"" + coord(kLabel) + "\" y=\"" + coord(y + 3) + "\" width=\"" +
           coord(w) + "\" height=\"" + coord(kRow - 6) + "\"/>\n";
    out += "<text x=\"" + coord(kLabel + w + 6) + "\" y=\"" + coord(y + 15) + "\">" +
           std::to_string(bar.value) + "</text>\n</g>\n";
  }
  out += "</svg>\n";
}

}  // namespace scalr_usage::render_detail::html
