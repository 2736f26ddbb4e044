#pragma once
// One SMTP submission with libcurl, and what its outcome means for the delivery: sent, retry
// (the relay or the network may recover) or failed (retrying cannot help).

#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/channel.h"
#include "delivery/email/smtp_config.h"

namespace scalr_usage {

struct SmtpEnvelope {
  std::string from;                     // MAIL FROM
  std::vector<std::string> recipients;  // RCPT TO: to and cc (no Bcc)
};

// What one libcurl transfer ended with, enough to classify it without curl.h.
struct SmtpTransferEnd {
  int curl_code = 0;       // CURLcode
  long response_code = 0;  // CURLINFO_RESPONSE_CODE: the last SMTP reply code, 0 when none
  std::string last_reply;  // the last reply line the server sent ("451 4.3.0 try later")
  std::string curl_error;  // CURLOPT_ERRORBUFFER, else curl_easy_strerror
};

// Of the last few reply lines of a session (oldest first), the one that decided: the last that
// starts with code (CURLINFO_RESPONSE_CODE), since QUIT's "221 Bye" may follow it; else the last.
std::string deciding_reply(const std::vector<std::string>& replies, long code);

// sent on CURLE_OK. A 4xx reply: retry; a 5xx reply (550 mailbox, 552 too large, 535
// authentication rejected): failed. Without a reply: connection, timeout and TLS handshake
// errors retry; a certificate that does not verify, an unreadable CA file or a server that does
// not offer the STARTTLS require_tls asks for: failed, since only a configuration change fixes
// them. The reason carries the reply's code and text or libcurl's error, never the password.
DeliveryResult classify_smtp(const SmtpTransferEnd& end);

// Submits message (render_mime's bytes) through smtp.url. Blocking for at most smtp.timeout;
// returns retry promptly once stop is requested.
DeliveryResult send_smtp(const SmtpConfig& smtp, const SmtpEnvelope& envelope,
                         const std::string& message, std::stop_token stop);

}  // namespace scalr_usage
