#include "delivery/email/mail_address.h"

#include <algorithm>
#include <stdexcept>

#include "delivery/email/mime.h"
#include "util/text.h"

namespace scalr_usage {

namespace {

constexpr std::size_t kMaxAddress = 254;  // RFC 5321's path limit less the angle brackets
constexpr std::size_t kMaxLocal = 64;

// RFC 5322 atext: what an unquoted local part (and a plain display name word) may use.
bool is_atext(char c) {
  return is_alnum(c) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

void check_local(std::string_view local) {
  if (local.empty()) throw std::invalid_argument("empty local part before @");
  if (local.size() > kMaxLocal) throw std::invalid_argument("local part longer than 64 bytes");
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    throw std::invalid_argument("local part starts or ends with a dot, or has two in a row");
  }
  if (!std::all_of(local.begin(), local.end(), [](char c) { return is_atext(c) || c == '.'; })) {
    throw std::invalid_argument(
        "local part has a character outside letters, digits and !#$%&'*+-/=?^_`{|}~.");
  }
}

void check_domain(std::string_view domain) {
  if (domain.empty()) throw std::invalid_argument("empty domain after @");
  if (domain.front() == '[' && domain.back() == ']') {
    const std::string_view literal = domain.substr(1, domain.size() - 2);
    const bool ok = !literal.empty() && std::all_of(literal.begin(), literal.end(), [](char c) {
      return is_alnum(c) || c == '.' || c == ':';
    });
    if (!ok) throw std::invalid_argument("invalid address literal " + quote_for_message(domain));
    return;
  }
  std::size_t start = 0;
  while (start <= domain.size()) {
    const std::size_t dot = std::min(domain.find('.', start), domain.size());
    const std::string_view label = domain.substr(start, dot - start);
    const bool ok =
        !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-' &&
        std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; });
    if (!ok) {
      throw std::invalid_argument("domain " + quote_for_message(domain) +
                                  " is not dot-separated labels of letters, digits and hyphens");
    }
    start = dot + 1;
  }
}

MailAddress bare_address(std::string_view text, std::string display_name) {
  const std::size_t at = text.rfind('@');
  if (at == std::string_view::npos) {
    throw std::invalid_argument("want an address like name@example.com, got " +
                                quote_for_message(text));
  }
  if (text.size() > kMaxAddress) throw std::invalid_argument("address longer than 254 bytes");
  check_local(text.substr(0, at));
  check_domain(text.substr(at + 1));
  return MailAddress{std::move(display_name), std::string(text)};
}

bool plain_phrase(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char c) { return is_atext(c) || c == ' '; });
}

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

}  // namespace

MailAddress parse_mail_address(std::string_view text) {
  // Any control character, CR and LF above all, could end a header and start another.
  if (has_control(text)) throw std::invalid_argument("contains control characters (CR, LF, ...)");
  text = trim(text);
  if (!text.empty() && text.back() == '>') {
    const std::size_t open = text.rfind('<');
    if (open == std::string_view::npos) {
      throw std::invalid_argument("unbalanced <> in " + quote_for_message(text));
    }
    std::string name(trim(text.substr(0, open)));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    }
    if (name.find_first_of("\"\\<>") != std::string::npos) {
      throw std::invalid_argument("display name may not contain \" \\ < or >");
    }
    return bare_address(text.substr(open + 1, text.size() - open - 2), std::move(name));
  }
  if (text.find_first_of("<> \"") != std::string_view::npos) {
    throw std::invalid_argument(
        "want an address like name@example.com or Name <name@example.com>, got " +
        quote_for_message(text));
  }
  return bare_address(text, "");
}

std::string address_header_value(const MailAddress& address) {
  const std::string& name = address.display_name;
  if (name.empty()) return address.address;
  std::string shown;
  if (!is_ascii(name)) {
    shown = encode_header_words(name);
  } else if (plain_phrase(name)) {
    shown = name;
  } else {
    shown = "\"" + name + "\"";  // parse_mail_address refused " and \, so nothing to escape
  }
  return shown + " <" + address.address + ">";
}

}  // namespace scalr_usage
