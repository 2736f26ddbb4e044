#include "delivery/email/smtp_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <memory>
#include <new>
#include <vector>

#include "util/http_get.h"  // make_curl_easy, make_curl_slist
#include "util/text.h"

namespace scalr_usage {

namespace {

constexpr std::size_t kMaxReasonBytes = 200;
// QUIT's "221 Bye" follows the reply that decided; a few lines are enough to find that one.
constexpr std::size_t kKeptReplies = 4;
constexpr std::chrono::milliseconds kMaxConnectTimeout{std::chrono::seconds{30}};

// What the callbacks share with the transfer: the message going out, the last reply coming in,
// and the stop request.
struct Transfer {
  std::string_view message;
  std::size_t sent = 0;
  std::vector<std::string> replies;  // the last few final reply lines, oldest first
  std::stop_token stop;
};

size_t read_message(char* buffer, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t n = std::min(size * count, transfer.message.size() - transfer.sent);
  std::copy_n(transfer.message.data() + transfer.sent, n, buffer);
  transfer.sent += n;
  return n;
}

// Only the server's replies (CURLINFO_HEADER_IN) are kept: what the client sends includes AUTH,
// whose argument is the password.
int keep_last_reply(CURL*, curl_infotype type, char* data, size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN) return 0;
  auto& transfer = *static_cast<Transfer*>(user);
  std::string_view text(data, size);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  // One reply line per call in practice; keep the last should several come together.
  if (const std::size_t newline = text.rfind('\n'); newline != std::string_view::npos) {
    text.remove_prefix(newline + 1);
  }
  std::string line(text);
  std::replace_if(line.begin(), line.end(), is_control, ' ');
  if (line.size() > kMaxReasonBytes) line.resize(kMaxReasonBytes);
  // "250-SIZE ..." continuation lines of EHLO say nothing; the final line of a reply has a space.
  if (line.size() >= 4 && line[3] == '-') return 0;
  if (transfer.replies.size() == kKeptReplies) transfer.replies.erase(transfer.replies.begin());
  transfer.replies.push_back(std::move(line));
  return 0;
}

int abort_on_stop(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->stop.stop_requested() ? 1 : 0;
}

long use_ssl(const SmtpConfig& smtp) {
  return smtp.implicit_tls || smtp.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY;
}

void set_options(CURL* easy, const SmtpConfig& smtp, const SmtpEnvelope& envelope,
                 curl_slist* recipients, Transfer& transfer, char* error_buffer) {
  curl_easy_setopt(easy, CURLOPT_URL, smtp.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(easy, CURLOPT_USE_SSL, use_ssl(smtp));
  if (!smtp.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, smtp.ca_file.c_str());
  if (smtp.username) {
    curl_easy_setopt(easy, CURLOPT_USERNAME, smtp.username->c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD, smtp.password.reveal().c_str());
  }
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(smtp.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(smtp.timeout, kMaxConnectTimeout).count()));
  curl_easy_setopt(easy, CURLOPT_MAIL_FROM, ("<" + envelope.from + ">").c_str());
  curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, recipients);
  curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE,
                   static_cast<curl_off_t>(transfer.message.size()));
  curl_easy_setopt(easy, CURLOPT_READFUNCTION, &read_message);
  curl_easy_setopt(easy, CURLOPT_READDATA, &transfer);
  // The debug callback sees the replies only with VERBOSE on; it keeps the last one for the
  // reason and writes nothing anywhere.
  curl_easy_setopt(easy, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, &keep_last_reply);
  curl_easy_setopt(easy, CURLOPT_DEBUGDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &abort_on_stop);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &transfer);
}

bool is_permanent_transport_error(int code) {
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_USE_SSL_FAILED:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_LOGIN_DENIED:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string deciding_reply(const std::vector<std::string>& replies, long code) {
  const std::string prefix = std::to_string(code);
  for (auto reply = replies.rbegin(); reply != replies.rend(); ++reply) {
    if (reply->starts_with(prefix)) return *reply;
  }
  return replies.empty() ? std::string() : replies.back();
}

DeliveryResult classify_smtp(const SmtpTransferEnd& end) {
  if (end.curl_code == CURLE_OK) return {DeliveryOutcome::sent, "SMTP " + end.last_reply};
  if (end.response_code >= 400 && end.response_code < 600) {
    // The reply line starts with its code; libcurl's own message when none was kept.
    std::string reply = end.last_reply.starts_with(std::to_string(end.response_code))
                            ? end.last_reply
                            : std::to_string(end.response_code) + " (" + end.curl_error + ")";
    return {end.response_code < 500 ? DeliveryOutcome::retry : DeliveryOutcome::failed,
            "SMTP " + reply};
  }
  if (end.curl_code == CURLE_ABORTED_BY_CALLBACK) {
    return {DeliveryOutcome::retry, "stopped before the message was sent"};
  }
  return {is_permanent_transport_error(end.curl_code) ? DeliveryOutcome::failed
                                                      : DeliveryOutcome::retry,
          end.curl_error};
}

DeliveryResult send_smtp(const SmtpConfig& smtp, const SmtpEnvelope& envelope,
                         const std::string& message, std::stop_token stop) {
  const CurlEasy handle = make_curl_easy();
  CURL* easy = handle.get();
  CurlSlist recipients;
  try {
    std::vector<std::string> paths;
    for (const std::string& recipient : envelope.recipients) paths.push_back("<" + recipient + ">");
    recipients = make_curl_slist(paths);
  } catch (const std::bad_alloc&) {
    return {DeliveryOutcome::retry, "out of memory listing recipients"};
  }
  Transfer transfer{message, 0, {}, std::move(stop)};
  std::array<char, CURL_ERROR_SIZE> error_buffer{};
  set_options(easy, smtp, envelope, recipients.get(), transfer, error_buffer.data());
  const CURLcode code = curl_easy_perform(easy);
  SmtpTransferEnd end;
  end.curl_code = code;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &end.response_code);
  end.last_reply = deciding_reply(transfer.replies, end.response_code);
  end.curl_error = error_buffer[0] != '\0' ? std::string(error_buffer.data())
                                           : std::string(curl_easy_strerror(code));
  std::replace_if(end.curl_error.begin(), end.curl_error.end(), is_control, ' ');
  return classify_smtp(end);
}

}  // namespace scalr_usage
