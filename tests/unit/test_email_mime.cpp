// The email channel's message as bytes (delivery/email/mime.h), read back with the independent
// reader of email_test_util.h.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

#include "delivery/email/email_config.h"
#include "delivery/email/mime.h"
#include "email_test_util.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;
using email_test::base64_decode;
using email_test::parse_entity;
using email_test::parts;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kEmDash = "\xE2\x80\x94";

// 2026-12-04 19:57:12 UTC, a Friday.
Seconds friday() {
  return sys_days{year{2026} / December / 4} + hours{19} + minutes{57} + seconds{12};
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(gen() & 0xFF);
  return out;
}

MailMessage example_message() {
  MailMessage m;
  m.from = MailAddress{"Scalr Reports", "reports@example.com"};
  m.to = {MailAddress{"", "finance@example.com"}, MailAddress{"Doe, Jane", "jane@example.org"}};
  m.cc = {MailAddress{"", "audit@example.net"}};
  m.subject = "Scalr usage 2026-11 " + kEmDash + " Acme";
  m.date = friday();
  m.seed = "monthly/acc-1/2026-11/seed";
  m.text = "Runs: 12\nRun hours: 3.50\n";
  m.html = "<!DOCTYPE html>\n<html><body><p>caf\xC3\xA9 report</p></body></html>\n" +
           std::string(300, 'x');
  m.attachments = {{"acc-1-2026-11.csv", "text/csv; charset=utf-8", "a,b\r\n1,2\n"},
                   {"acc-1-2026-11.focus.csv", "text/csv; charset=utf-8", random_bytes(1000, 7)},
                   {"acc-1-2026-11.json", "application/json", "{}"}};
  return m;
}

TEST(EmailBase64, Rfc4648TestVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(EmailBase64, LinesOf76AndRoundTrip) {
  for (const std::size_t size : {0u, 1u, 56u, 57u, 58u, 114u, 1000u, 4099u}) {
    const std::string bytes = random_bytes(size, static_cast<unsigned>(size));
    const std::string encoded = base64_encode(bytes);
    EXPECT_EQ(base64_decode(encoded), bytes) << size;
    std::size_t start = 0;
    while (start < encoded.size()) {
      const std::size_t end = std::min(encoded.find("\r\n", start), encoded.size());
      EXPECT_LE(end - start, 76u);
      // Every line but the last is full: 57 bytes make 76 characters.
      if (end < encoded.size()) {
        EXPECT_EQ(end - start, 76u);
      }
      start = end + 2;
    }
    EXPECT_THAT(encoded, Not(HasSubstr("\n\n")));
  }
}

TEST(EmailHeaders, NonAsciiSubjectIsEncodedWordsThatDecodeBack) {
  const std::string subject = expand_subject(kDefaultEmailSubject, {"2026-11", "", "acc-1", "m"});
  EXPECT_EQ(subject, "Scalr usage 2026-11 " + kEmDash + " acc-1");
  const std::string encoded = encode_header_words(subject);
  ASSERT_THAT(encoded, ::testing::StartsWith("=?UTF-8?B?"));
  // A long subject of two-byte characters: several words, each at most 75 characters, none
  // splitting a character, together the subject again.
  std::string long_subject;
  for (int i = 0; i < 60; ++i) long_subject += "\xC3\xA9";
  for (const std::string& text : {subject, long_subject}) {
    const std::string words = encode_header_words(text);
    std::string decoded;
    std::size_t start = 0;
    while (start < words.size()) {
      std::size_t end = words.find("\r\n ", start);
      if (end == std::string::npos) end = words.size();
      const std::string word = words.substr(start, end - start);
      EXPECT_LE(word.size(), 75u);
      ASSERT_TRUE(word.starts_with("=?UTF-8?B?") && word.ends_with("?=")) << word;
      const std::string chunk = base64_decode(word.substr(10, word.size() - 12));
      EXPECT_NE(static_cast<unsigned char>(chunk.front()) & 0xC0, 0x80u) << "split character";
      decoded += chunk;
      start = end + 3;
    }
    EXPECT_EQ(decoded, text);
  }
}

TEST(EmailHeaders, DateAndAddresses) {
  EXPECT_EQ(format_mail_date(friday()), "Fri, 04 Dec 2026 19:57:12 +0000");
  EXPECT_EQ(format_mail_date(sys_days{year{2027} / January / 31}),
            "Sun, 31 Jan 2027 00:00:00 +0000");
  EXPECT_EQ(address_header_value({"", "a@example.com"}), "a@example.com");
  EXPECT_EQ(address_header_value({"Finance Team", "a@example.com"}),
            "Finance Team <a@example.com>");
  EXPECT_EQ(address_header_value({"Doe, Jane", "a@example.com"}), "\"Doe, Jane\" <a@example.com>");
  EXPECT_EQ(address_header_value({"Zo\xC3\xAB", "a@example.com"}),
            "=?UTF-8?B?Wm/Dqw==?= <a@example.com>");
}

TEST(EmailMime, StructureReadsBackWithEveryPartByteForByte) {
  const MailMessage m = example_message();
  const std::string raw = render_mime(m);
  // CRLF everywhere: no LF without CR before it.
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n') {
      ASSERT_TRUE(i > 0 && raw[i - 1] == '\r') << "bare LF at " << i;
    }
  }
  const email_test::Entity top = parse_entity(raw);
  EXPECT_EQ(top.headers.at("date"), "Fri, 04 Dec 2026 19:57:12 +0000");
  EXPECT_EQ(top.headers.at("from"), "Scalr Reports <reports@example.com>");
  EXPECT_EQ(top.headers.at("to"), "finance@example.com, \"Doe, Jane\" <jane@example.org>");
  EXPECT_EQ(top.headers.at("cc"), "audit@example.net");
  EXPECT_FALSE(top.headers.contains("bcc"));
  EXPECT_EQ(top.headers.at("mime-version"), "1.0");
  EXPECT_THAT(top.headers.at("message-id"),
              ::testing::MatchesRegex("<[0-9a-f]{16}\\.[0-9]+@example\\.com>"));
  const std::string subject = top.headers.at("subject");
  ASSERT_THAT(subject, ::testing::StartsWith("=?UTF-8?B?"));
  EXPECT_EQ(base64_decode(subject.substr(10, subject.size() - 12)), m.subject);
  ASSERT_THAT(top.headers.at("content-type"), ::testing::StartsWith("multipart/mixed;"));

  const auto mixed = parts(top);
  ASSERT_EQ(mixed.size(), 1u + m.attachments.size());
  ASSERT_THAT(mixed[0].headers.at("content-type"), ::testing::StartsWith("multipart/alternative;"));
  const auto alternative = parts(mixed[0]);
  ASSERT_EQ(alternative.size(), 2u);
  EXPECT_EQ(alternative[0].headers.at("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(alternative[0].headers.at("content-transfer-encoding"), "7bit");
  // The CRLF before a delimiter belongs to the delimiter (RFC 2046).
  EXPECT_EQ(alternative[0].body, "Runs: 12\r\nRun hours: 3.50");
  EXPECT_EQ(alternative[1].headers.at("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(alternative[1].headers.at("content-transfer-encoding"), "base64");
  EXPECT_EQ(base64_decode(alternative[1].body), *m.html);
  for (std::size_t i = 0; i < m.attachments.size(); ++i) {
    const email_test::Entity& part = mixed[i + 1];
    const MailAttachment& want = m.attachments[i];
    EXPECT_EQ(part.headers.at("content-disposition"),
              "attachment; filename=\"" + want.file_name + "\"");
    EXPECT_THAT(part.headers.at("content-type"), ::testing::StartsWith(want.content_type + ";"));
    EXPECT_EQ(part.headers.at("content-transfer-encoding"), "base64");
    EXPECT_EQ(base64_decode(part.body), want.bytes) << want.file_name;
  }
}

TEST(EmailMime, DeterministicForDateAndSeedAndBoundariesCannotBeBase64) {
  MailMessage m = example_message();
  const std::string first = render_mime(m);
  EXPECT_EQ(render_mime(m), first);
  const std::string boundary =
      email_test::parameter(parse_entity(first).headers.at("content-type"), "boundary");
  EXPECT_TRUE(boundary.starts_with("=_")) << "'=_' never occurs in base64 or in our 7bit text";
  const std::string id = parse_entity(first).headers.at("message-id");
  m.seed = "another";
  const std::string second = render_mime(m);
  EXPECT_NE(parse_entity(second).headers.at("message-id"), id);
  EXPECT_NE(email_test::parameter(parse_entity(second).headers.at("content-type"), "boundary"),
            boundary);
}

TEST(EmailMime, WithoutHtmlOneAlternativeAndNonAsciiTextIsBase64) {
  MailMessage m = example_message();
  m.html.reset();
  m.attachments.clear();
  m.text = "Account: Caf\xC3\xA9 (acc-1)\nRuns: 1\n";
  const auto alternative = parts(parts(parse_entity(render_mime(m)))[0]);
  ASSERT_EQ(alternative.size(), 1u);
  EXPECT_EQ(alternative[0].headers.at("content-transfer-encoding"), "base64");
  EXPECT_EQ(base64_decode(alternative[0].body), "Account: Caf\xC3\xA9 (acc-1)\r\nRuns: 1\r\n");
}

TEST(EmailMime, AsciiSubjectStaysPlainAndNonAsciiFileNameUsesRfc2231) {
  MailMessage m = example_message();
  m.subject = "Usage 2026-11 acc-1";
  m.attachments = {{"r\xC3\xA9port.csv", "text/csv; charset=utf-8", "x"}};
  const email_test::Entity top = parse_entity(render_mime(m));
  EXPECT_EQ(top.headers.at("subject"), "Usage 2026-11 acc-1");
  EXPECT_EQ(parts(top)[1].headers.at("content-disposition"),
            "attachment; filename*=UTF-8''r%C3%A9port.csv");
}

TEST(EmailMime, ManyRecipientsAreFoldedUnder78ColumnsAndReadBack) {
  MailMessage m = example_message();
  m.to.clear();
  std::string joined;
  for (int i = 0; i < 8; ++i) {
    m.to.push_back({"", "finance-team-" + std::to_string(i) + "@subsidiary.example.com"});
    joined += (i > 0 ? ", " : "") + m.to.back().address;
  }
  const std::string raw = render_mime(m);
  const std::string head = raw.substr(0, raw.find("\r\n\r\n"));
  std::size_t start = 0;
  while (start < head.size()) {
    const std::size_t end = std::min(head.find("\r\n", start), head.size());
    if (head.compare(start, 3, "To:") == 0 || head[start] == ' ') {
      EXPECT_LE(end - start, 78u) << head.substr(start, end - start);
    }
    start = end + 2;
  }
  // Unfolding (dropping each CRLF before a space) gives the list back.
  EXPECT_EQ(parse_entity(raw).headers.at("to"), joined);
}

TEST(EmailMime, ContentTypesOfTheFormats) {
  EXPECT_EQ(content_type_of_format("csv"), "text/csv; charset=utf-8");
  EXPECT_EQ(content_type_of_format("focus"), "text/csv; charset=utf-8");
  EXPECT_EQ(content_type_of_format("json"), "application/json");
  EXPECT_EQ(content_type_of_format("html"), "text/html; charset=utf-8");
}

}  // namespace
}  // namespace scalr_usage
