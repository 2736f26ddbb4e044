#include "pq/dsn.h"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <memory>

#include "util/text.h"  // is_space (libpq's isspace() set), to_lower

namespace scalr_usage {

namespace {

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && to_lower(text.substr(0, prefix.size())) == prefix;
}

// Where a password value sits in the DSN text, and how to spell it once decoded.
struct PasswordSpan {
  std::size_t begin = 0;  // of the value as written (quotes included)
  std::size_t end = 0;
  std::string decoded;  // unquoted and unescaped, or percent-decoded
};

struct ParsedSpans {
  bool complete = true;  // false: the text is malformed and the spans may miss a password
  std::vector<PasswordSpan> passwords;
};

// The key=value form, tokenised the way libpq's conninfo_parse() does: keys up to '=' or space,
// values either single-quoted or up to the next space, with backslash escaping the next character
// in both. Keys are compared ignoring case, which libpq does not do, to err on the side of hiding.
ParsedSpans key_value_spans(std::string_view dsn) {
  ParsedSpans result;
  std::size_t i = 0;
  const std::size_t n = dsn.size();
  while (true) {
    while (i < n && is_space(dsn[i])) ++i;
    if (i >= n) return result;
    const std::size_t key_begin = i;
    while (i < n && dsn[i] != '=' && !is_space(dsn[i])) ++i;
    const std::string key = to_lower(dsn.substr(key_begin, i - key_begin));
    while (i < n && is_space(dsn[i])) ++i;
    if (i >= n || dsn[i] != '=') {
      result.complete = false;
      return result;
    }
    ++i;
    while (i < n && is_space(dsn[i])) ++i;
    PasswordSpan span;
    span.begin = i;
    if (i < n && dsn[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < n) {
        if (dsn[i] == '\\' && i + 1 < n) {
          span.decoded += dsn[i + 1];
          i += 2;
        } else if (dsn[i] == '\'') {
          ++i;
          closed = true;
          break;
        } else {
          span.decoded += dsn[i++];
        }
      }
      if (!closed) {
        result.complete = false;
        return result;
      }
    } else {
      while (i < n && !is_space(dsn[i])) {
        if (dsn[i] == '\\' && i + 1 < n) ++i;
        span.decoded += dsn[i++];
      }
    }
    span.end = i;
    if (key == "password") result.passwords.push_back(std::move(span));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

constexpr std::array kUriPrefixes = {std::string_view("postgresql://"),
                                     std::string_view("postgres://")};

// The URI form: the password of the user-info part and any password= query parameter. A password
// written with a raw '@', '/' or '?' is malformed for libpq, but is still found here: the user
// info is taken to end at the last '@' before the query, or at the last '@' at all when that
// leaves none (a '?' inside the password).
ParsedSpans uri_spans(std::string_view dsn, std::size_t authority_begin) {
  ParsedSpans result;
  const std::size_t query = dsn.find('?', authority_begin);
  std::size_t at = dsn.rfind('@', query);
  if (at == std::string_view::npos || at < authority_begin) at = dsn.rfind('@');
  if (at != std::string_view::npos && at >= authority_begin) {
    const std::size_t colon = dsn.find(':', authority_begin);
    if (colon != std::string_view::npos && colon < at && colon + 1 < at) {
      result.passwords.push_back(
          PasswordSpan{colon + 1, at, percent_decode(dsn.substr(colon + 1, at - colon - 1))});
    }
  } else {
    at = authority_begin;
  }
  std::size_t param = dsn.find('?', at);
  while (param != std::string_view::npos) {
    const std::size_t begin = param + 1;
    const std::size_t end = std::min(dsn.find('&', begin), dsn.size());
    const std::size_t equals = dsn.find('=', begin);
    if (equals != std::string_view::npos && equals < end &&
        to_lower(percent_decode(dsn.substr(begin, equals - begin))) == "password" &&
        equals + 1 < end) {
      result.passwords.push_back(
          PasswordSpan{equals + 1, end, percent_decode(dsn.substr(equals + 1, end - equals - 1))});
    }
    param = end < dsn.size() ? end : std::string_view::npos;
  }
  return result;
}

ParsedSpans password_spans(std::string_view dsn) {
  std::size_t start = 0;
  while (start < dsn.size() && is_space(dsn[start])) ++start;
  for (const std::string_view prefix : kUriPrefixes) {
    if (starts_with_ignoring_case(dsn.substr(start), prefix)) {
      return uri_spans(dsn, start + prefix.size());
    }
  }
  return key_value_spans(dsn);
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
    text.replace(at, from.size(), to);
    at += to.size();
  }
}

std::string quote_value(std::string_view value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

using OptionsPtr = std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)>;
using ErrorPtr = std::unique_ptr<char, decltype(&PQfreemem)>;

}  // namespace

std::string redact_dsn(std::string_view dsn) {
  const ParsedSpans parsed = password_spans(dsn);
  if (!parsed.complete) {
    // Unparseable: whatever follows the first mention of a password may be one.
    const std::size_t password = to_lower(dsn).find("password");
    if (password == std::string::npos) return std::string(dsn);
    return std::string(dsn.substr(0, password)) + "password=" + std::string(kRedacted);
  }
  std::string out;
  std::size_t copied = 0;
  for (const PasswordSpan& span : parsed.passwords) {
    out.append(dsn.substr(copied, span.begin - copied));
    out.append(kRedacted);
    copied = span.end;
  }
  out.append(dsn.substr(copied));
  return out;
}

DsnScrubber::DsnScrubber(std::string_view dsn) {
  const ParsedSpans parsed = password_spans(dsn);
  for (const PasswordSpan& span : parsed.passwords) {
    const std::string_view raw = dsn.substr(span.begin, span.end - span.begin);
    secrets_.emplace_back(raw);
    secrets_.push_back(span.decoded);
    // libpq ends a URI's user info at the first '@', so a password with a raw '@' is split: the
    // rest becomes the host name, and "could not translate host name" would show it.
    for (std::size_t at = raw.find('@'); at != std::string_view::npos; at = raw.find('@', at + 1)) {
      secrets_.emplace_back(raw.substr(0, at));
      secrets_.emplace_back(raw.substr(at + 1));
    }
  }
  // libpq's own reading is the one that reaches the server, so it is hidden too.
  char* error = nullptr;
  const OptionsPtr options(PQconninfoParse(std::string(dsn).c_str(), &error), &PQconninfoFree);
  const ErrorPtr error_guard(error, &PQfreemem);
  for (const PQconninfoOption* option = options.get(); option && option->keyword; ++option) {
    if (option->val != nullptr && std::string_view(option->keyword) == "password") {
      secrets_.emplace_back(option->val);
    }
  }
  if (!parsed.complete) {
    // The spans may have missed a password; hide everything after the first mention of one.
    const std::size_t password = to_lower(dsn).find("password");
    if (password != std::string::npos) {
      std::string_view rest = dsn.substr(password + 8);
      while (!rest.empty() &&
             (is_space(rest.front()) || rest.front() == '=' || rest.front() == '\'')) {
        rest.remove_prefix(1);
      }
      secrets_.emplace_back(rest);
      std::string_view word = rest.substr(0, std::min(rest.size(), rest.find_first_of(" \t\n'")));
      secrets_.emplace_back(word);
    }
  }
  std::erase_if(secrets_, [](const std::string& secret) { return secret.empty(); });
  std::sort(secrets_.begin(), secrets_.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  secrets_.erase(std::unique(secrets_.begin(), secrets_.end()), secrets_.end());
}

std::string DsnScrubber::operator()(std::string_view text) const {
  std::string out(text);
  for (const std::string& secret : secrets_) replace_all(out, secret, kRedacted);
  return out;
}

DsnOptions parse_dsn(std::string_view dsn) {
  char* error = nullptr;
  const OptionsPtr options(PQconninfoParse(std::string(dsn).c_str(), &error), &PQconninfoFree);
  const ErrorPtr error_guard(error, &PQfreemem);
  if (!options) {
    std::string reason = error != nullptr ? error : "out of memory";
    while (!reason.empty() && is_space(reason.back())) reason.pop_back();
    throw std::invalid_argument(DsnScrubber(dsn)(reason));
  }
  DsnOptions result;
  for (const PQconninfoOption* option = options.get(); option->keyword; ++option) {
    if (option->val != nullptr) result.emplace_back(option->keyword, option->val);
  }
  return result;
}

std::string effective_conninfo(std::string_view dsn, std::span<const ConninfoDefault> overrides) {
  DsnOptions options = parse_dsn(dsn);
  const auto set = [&](std::string_view keyword) {
    return std::any_of(options.begin(), options.end(),
                       [&](const auto& option) { return option.first == keyword; });
  };
  static constexpr std::array<ConninfoDefault, 5> kDefaults = {{
      {"connect_timeout", "10"},
      {"keepalives_idle", "30"},
      {"keepalives_interval", "10"},
      {"keepalives_count", "3"},
      {"fallback_application_name", "scalr-usage-exporter"},
  }};
  for (const ConninfoDefault& setting : overrides) {
    if (!set(setting.first)) options.emplace_back(setting.first, setting.second);
  }
  for (const auto& [keyword, value] : kDefaults) {
    if (!set(keyword)) options.emplace_back(keyword, value);
  }
  std::string conninfo;
  for (const auto& [keyword, value] : options) {
    if (!conninfo.empty()) conninfo += ' ';
    conninfo += keyword + "=" + quote_value(value);
  }
  return conninfo;
}

}  // namespace scalr_usage
