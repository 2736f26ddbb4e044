#pragma once
// A small MIME reader for the email tests, written from RFC 2045/2046 independently of the
// writer (delivery/email/mime.cpp): headers, multipart bodies and base64.

#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace scalr_usage::email_test {

inline std::string base64_decode(std::string_view text) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (const char c : text) {
    int value = -1;
    if (c >= 'A' && c <= 'Z') value = c - 'A';
    if (c >= 'a' && c <= 'z') value = c - 'a' + 26;
    if (c >= '0' && c <= '9') value = c - '0' + 52;
    if (c == '+') value = 62;
    if (c == '/') value = 63;
    if (c == '=' || c == '\r' || c == '\n') continue;
    if (value < 0) throw std::invalid_argument("not base64: " + std::string(1, c));
    buffer = (buffer << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

struct Entity {
  std::map<std::string, std::string> headers;  // names lowered, folding undone
  std::string body;                            // raw, as between the blank line and the end
};

inline std::string lowered(std::string text) {
  for (char& c : text) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return text;
}

inline Entity parse_entity(std::string_view raw) {
  const std::size_t blank = raw.find("\r\n\r\n");
  if (blank == std::string_view::npos) throw std::invalid_argument("no blank line");
  Entity entity;
  std::string name;
  std::size_t start = 0;
  const std::string_view head = raw.substr(0, blank + 2);
  while (start < head.size()) {
    const std::size_t end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, end - start);
    start = end + 2;
    if (line.front() == ' ' || line.front() == '\t') {
      entity.headers[name] += std::string(line);  // unfolding: drop the CRLF only
      continue;
    }
    const std::size_t colon = line.find(':');
    name = lowered(std::string(line.substr(0, colon)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    entity.headers[name] = std::string(value);
  }
  entity.body = std::string(raw.substr(blank + 4));
  return entity;
}

// The parameter of a header value: boundary="x" -> x.
inline std::string parameter(const std::string& value, const std::string& name) {
  const std::size_t at = value.find(name + "=");
  if (at == std::string::npos) return "";
  std::size_t start = at + name.size() + 1;
  if (value[start] == '"') {
    const std::size_t end = value.find('"', start + 1);
    return value.substr(start + 1, end - start - 1);
  }
  const std::size_t end = value.find(';', start);
  return value.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The parts of a multipart body, per RFC 2046 section 5.1.1: delimiter lines are CRLF "--"
// boundary, and the CRLF before a delimiter belongs to it.
inline std::vector<Entity> parts(const Entity& multipart) {
  const std::string boundary = parameter(multipart.headers.at("content-type"), "boundary");
  const std::string delimiter = "\r\n--" + boundary;
  const std::string body = "\r\n" + multipart.body;
  std::vector<Entity> out;
  std::size_t at = body.find(delimiter);
  while (at != std::string::npos) {
    const std::size_t line_end = body.find("\r\n", at + delimiter.size());
    if (body.compare(at + delimiter.size(), 2, "--") == 0) break;  // the close delimiter
    const std::size_t next = body.find(delimiter, line_end);
    if (next == std::string::npos) throw std::invalid_argument("no close delimiter");
    out.push_back(parse_entity(std::string_view(body).substr(line_end + 2, next - line_end - 2)));
    at = next;
  }
  return out;
}

}  // namespace scalr_usage::email_test
