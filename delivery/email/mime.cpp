#include "delivery/email/mime.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>

#include "util/fnv1a.h"
#include "util/text.h"

namespace scalr_usage {

namespace {

using namespace std::chrono;

constexpr std::string_view kCrlf = "\r\n";
constexpr std::size_t kMaxHeaderLine = 78;  // RFC 5322's "should"
// An encoded word is at most 75 characters; "=?UTF-8?B?" and "?=" leave 63, so 45 bytes.
constexpr std::size_t kWordBytes = 45;

bool is_ascii_text(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x80 && !is_control(c);
  });
}

std::string hex16(std::uint64_t value) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) out[static_cast<std::size_t>(i)] = kDigits[value & 15];
  return out;
}

std::string crlf_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') continue;
    if (text[i] == '\n') {
      out += kCrlf;
    } else {
      out.push_back(text[i]);
    }
  }
  if (!out.ends_with(kCrlf)) out += kCrlf;
  return out;
}

// "To: a@b, c@d", folded before an address that would pass 78 columns.
std::string address_header(std::string_view name, const std::vector<MailAddress>& addresses) {
  std::string out(name);
  out += ":";
  std::size_t column = out.size();
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const std::string value = address_header_value(addresses[i]);
    const std::string_view separator = i + 1 < addresses.size() ? "," : "";
    if (i > 0 && column + 1 + value.size() + separator.size() > kMaxHeaderLine) {
      out += kCrlf;
      column = 0;
    }
    out += " " + value;
    out += separator;
    column += 1 + value.size() + separator.size();
  }
  return out + std::string(kCrlf);
}

std::string subject_header(std::string_view subject) {
  const bool plain = is_ascii_text(subject) && subject.size() + 9 <= kMaxHeaderLine;
  return "Subject: " + (plain ? std::string(subject) : encode_header_words(subject)) +
         std::string(kCrlf);
}

// filename="x.csv", or RFC 2231's filename*=UTF-8''x%C3%A9.csv when quoting cannot carry it.
std::string file_name_parameter(std::string_view key, std::string_view file_name) {
  if (is_ascii_text(file_name) && file_name.find_first_of("\"\\") == std::string_view::npos) {
    return std::string(key) + "=\"" + std::string(file_name) + "\"";
  }
  static constexpr std::string_view kDigits = "0123456789ABCDEF";
  std::string out = std::string(key) + "*=UTF-8''";
  for (const char c : file_name) {
    if (is_alnum(c) || c == '.' || c == '-' || c == '_') {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += {'%', kDigits[byte >> 4], kDigits[byte & 15]};
    }
  }
  return out;
}

std::string base64_part(std::string_view headers, std::string_view bytes) {
  std::string part(headers);
  part += "Content-Transfer-Encoding: base64\r\n\r\n";
  part += base64_encode(bytes);
  part += kCrlf;
  return part;
}

std::string text_part(std::string_view text) {
  const std::string body = crlf_lines(text);
  const std::string type = "Content-Type: text/plain; charset=utf-8\r\n";
  const bool seven_bit = std::all_of(body.begin(), body.end(),
                                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!seven_bit) return base64_part(type, body);
  return type + "Content-Transfer-Encoding: 7bit\r\n\r\n" + body;
}

std::string alternative_part(const MailMessage& message, const std::string& boundary) {
  std::string out = "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
  out += "--" + boundary + "\r\n" + text_part(message.text);
  if (message.html) {
    out += "--" + boundary + "\r\n";
    out += base64_part("Content-Type: text/html; charset=utf-8\r\n", *message.html);
  }
  return out + "--" + boundary + "--\r\n";
}

std::string attachment_part(const MailAttachment& attachment) {
  const std::string headers = "Content-Type: " + attachment.content_type + "; " +
                              file_name_parameter("name", attachment.file_name) +
                              "\r\nContent-Disposition: attachment; " +
                              file_name_parameter("filename", attachment.file_name) + "\r\n";
  return base64_part(headers, attachment.bytes);
}

}  // namespace

std::string base64_encode(std::string_view bytes, std::size_t line_length) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string flat;
  flat.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t chunk = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      chunk = (chunk << 8) | (j < n ? static_cast<unsigned char>(bytes[i + j]) : 0u);
    }
    for (std::size_t j = 0; j < 4; ++j) {
      flat.push_back(j <= n ? kAlphabet[(chunk >> (18 - 6 * j)) & 63] : '=');
    }
  }
  if (line_length == 0 || flat.size() <= line_length) return flat;
  std::string out;
  out.reserve(flat.size() + flat.size() / line_length * 2);
  for (std::size_t i = 0; i < flat.size(); i += line_length) {
    if (i > 0) out += kCrlf;
    out.append(flat, i, line_length);
  }
  return out;
}

std::string encode_header_words(std::string_view utf8) {
  std::string out;
  std::size_t start = 0;
  while (start < utf8.size()) {
    std::size_t end = std::min(start + kWordBytes, utf8.size());
    // Back off to a character's first byte: a continuation byte is 10xxxxxx.
    while (end < utf8.size() && end > start + 1 &&
           (static_cast<unsigned char>(utf8[end]) & 0xC0) == 0x80) {
      --end;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64_encode(utf8.substr(start, end - start), 0) + "?=";
    start = end;
  }
  return out;
}

std::string format_mail_date(Seconds t) {
  static constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                            "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = floor<std::chrono::days>(t);
  const year_month_day date{day};
  const hh_mm_ss time{t - day};
  const auto two = [](long long v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  return std::string(kDays[weekday{day}.c_encoding()]) + ", " +
         two(static_cast<unsigned>(date.day())) + " " +
         std::string(kMonths[static_cast<unsigned>(date.month()) - 1]) + " " +
         std::to_string(static_cast<int>(date.year())) + " " + two(time.hours().count()) + ":" +
         two(time.minutes().count()) + ":" + two(time.seconds().count()) + " +0000";
}

std::string message_id(const MailMessage& message) {
  const std::string& from = message.from.address;
  const std::string domain = from.substr(from.rfind('@') + 1);
  return "<" + hex16(fnv1a_64(message.seed)) + "." +
         std::to_string(message.date.time_since_epoch().count()) + "@" + domain + ">";
}

std::string content_type_of_format(std::string_view format) {
  if (format == "json") return "application/json";
  if (format == "html") return "text/html; charset=utf-8";
  return "text/csv; charset=utf-8";  // csv and focus (FOCUS is CSV); header=present is implied
}

std::string render_mime(const MailMessage& message) {
  const std::string seed = hex16(fnv1a_64("boundary:" + message.seed));
  const std::string mixed = "=_sue_mixed_" + seed;
  const std::string alternative = "=_sue_alt_" + seed;
  std::string out = "Date: " + format_mail_date(message.date) + "\r\n";
  out += address_header("From", {message.from});
  out += address_header("To", message.to);
  if (!message.cc.empty()) out += address_header("Cc", message.cc);
  out += subject_header(message.subject);
  out += "Message-ID: " + message_id(message) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: multipart/mixed; boundary=\"" + mixed + "\"\r\n\r\n";
  out += "This is a MIME message; the report is in the parts below.\r\n";
  out += "--" + mixed + "\r\n" + alternative_part(message, alternative);
  for (const MailAttachment& attachment : message.attachments) {
    out += "--" + mixed + "\r\n" + attachment_part(attachment);
  }
  return out + "--" + mixed + "--\r\n";
}

}  // namespace scalr_usage
