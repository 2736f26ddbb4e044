#pragma once
// Mail addresses as a configuration writes them ("finance@example.com" or
// "Finance <finance@example.com>") and as a message header shows them. Checked when the
// configuration is read, so a typo fails at start and never as an SMTP 5xx at the end of a month.

#include <string>
#include <string_view>

namespace scalr_usage {

struct MailAddress {
  std::string display_name;  // UTF-8, may be empty
  std::string address;       // local@domain, ASCII

  friend bool operator==(const MailAddress&, const MailAddress&) = default;
};

// Throws std::invalid_argument saying what is wrong. Accepts `local@domain` or
// `Display Name <local@domain>`: a dot-atom-ish local part of printable ASCII without specials,
// a domain of letters, digits and hyphens in dot-separated labels (or an [IP literal]); no
// control characters anywhere (CR/LF would inject headers); at most 254 bytes of address.
MailAddress parse_mail_address(std::string_view text);

// For a From/To/Cc header: "a@b", "Name <a@b>", "\"Doe, J.\" <a@b>", or an RFC 2047 encoded
// name for a non-ASCII display name.
std::string address_header_value(const MailAddress& address);

}  // namespace scalr_usage
