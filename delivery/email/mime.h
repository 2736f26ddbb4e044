#pragma once
// The message an email delivery sends, as bytes: pure and deterministic given its date and a
// seed (the Message-ID and the boundaries derive from the seed), so a test compares it exactly.
//
//   multipart/mixed
//   ├── multipart/alternative
//   │   ├── text/plain   the summary (7bit when ASCII, else base64)
//   │   └── text/html    the HTML report, when the schedule writes one (base64)
//   └── attachments      Content-Disposition: attachment; filename="..." (base64)
//
// CRLF line ends throughout; base64 in lines of 76 characters (RFC 2045). The boundaries start
// with "=_", which occurs neither in base64 nor in the text we write.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/email/mail_address.h"
#include "model/period.h"

namespace scalr_usage {

struct MailAttachment {
  std::string file_name;     // shown to the reader; the report file's own name
  std::string content_type;  // "text/csv; charset=utf-8", ...
  std::string bytes;

  friend bool operator==(const MailAttachment&, const MailAttachment&) = default;
};

struct MailMessage {
  MailAddress from;
  std::vector<MailAddress> to;
  std::vector<MailAddress> cc;
  std::string subject;  // UTF-8, one line
  Seconds date;
  // Any text; the Message-ID and the boundaries are derived from it (FNV-1a), so two messages
  // with different seeds never share them. The channel uses random bytes.
  std::string seed;
  std::string text;                 // the text/plain alternative, UTF-8, "\n" line ends
  std::optional<std::string> html;  // the text/html alternative, as written
  std::vector<MailAttachment> attachments;
};

// RFC 4648 base64 in lines of at most line_length characters separated by CRLF (no CRLF after
// the last); line_length 0 means one line.
std::string base64_encode(std::string_view bytes, std::size_t line_length = 76);

// A header's UTF-8 text as RFC 2047 "B" encoded words of at most 75 characters, folded with
// CRLF SP between them; never splits a UTF-8 character.
std::string encode_header_words(std::string_view utf8);

// "Fri, 04 Dec 2026 19:57:12 +0000" (RFC 5322 section 3.3, always UTC).
std::string format_mail_date(Seconds t);

// "<16 hex digits>.<unix time>@<domain of from>".
std::string message_id(const MailMessage& message);

// The MIME type an attachment of the report format gets: FOCUS is CSV.
std::string content_type_of_format(std::string_view format);

// The whole message, headers and body, CRLF line ends, ready for SMTP DATA (libcurl does the
// dot-stuffing).
std::string render_mime(const MailMessage& message);

}  // namespace scalr_usage
