// The email channel's pieces that need no server: what an SMTP outcome means
// (delivery/email/smtp_client.h), the message composed from the written files and the summary
// text (delivery/email/email_channel.h, summary_text.h). The SMTP exchange itself is tested
// against a real server in tests/integration/test_delivery_email.py.

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <variant>

#include "delivery/email/email_channel.h"
#include "delivery/email/smtp_client.h"
#include "delivery/email/summary_text.h"
#include "test_files.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;
using test_files::TempDir;
using test_files::write_text;
using ::testing::HasSubstr;

DeliveryResult classify(int curl_code, long response, std::string reply = "",
                        std::string error = "curl error") {
  return classify_smtp(SmtpTransferEnd{curl_code, response, std::move(reply), std::move(error)});
}

TEST(SmtpOutcome, RepliesAndTransportErrors) {
  EXPECT_EQ(classify(CURLE_OK, 250, "250 2.0.0 Ok: queued").outcome, DeliveryOutcome::sent);
  // A temporary reply is retried, its code and text in the reason.
  const DeliveryResult later = classify(CURLE_WEIRD_SERVER_REPLY, 451, "451 4.3.0 try later");
  EXPECT_EQ(later.outcome, DeliveryOutcome::retry);
  EXPECT_EQ(later.reason, "SMTP 451 4.3.0 try later");
  EXPECT_EQ(classify(CURLE_LOGIN_DENIED, 454, "454 4.7.0 auth unavailable").outcome,
            DeliveryOutcome::retry);
  // A permanent one is not: a refused mailbox, a message too large, credentials refused.
  const DeliveryResult refused = classify(CURLE_SEND_ERROR, 550, "550 5.1.1 no such user");
  EXPECT_EQ(refused.outcome, DeliveryOutcome::failed);
  EXPECT_EQ(refused.reason, "SMTP 550 5.1.1 no such user");
  EXPECT_EQ(classify(CURLE_WEIRD_SERVER_REPLY, 552, "552 too big").outcome,
            DeliveryOutcome::failed);
  EXPECT_EQ(classify(CURLE_LOGIN_DENIED, 535, "535 5.7.8 bad credentials").outcome,
            DeliveryOutcome::failed);
  // Without a reply line libcurl's message stands in.
  EXPECT_EQ(classify(CURLE_SEND_ERROR, 550, "", "RCPT failed: 550").reason,
            "SMTP 550 (RCPT failed: 550)");
  // The network may recover; a certificate or a missing STARTTLS needs a configuration change.
  EXPECT_EQ(classify(CURLE_COULDNT_CONNECT, 0).outcome, DeliveryOutcome::retry);
  EXPECT_EQ(classify(CURLE_OPERATION_TIMEDOUT, 250).outcome, DeliveryOutcome::retry);
  EXPECT_EQ(classify(CURLE_SSL_CONNECT_ERROR, 0).outcome, DeliveryOutcome::retry);
  EXPECT_EQ(classify(CURLE_GOT_NOTHING, 0).outcome, DeliveryOutcome::retry);
  EXPECT_EQ(classify(CURLE_PEER_FAILED_VERIFICATION, 0).outcome, DeliveryOutcome::failed);
  EXPECT_EQ(classify(CURLE_USE_SSL_FAILED, 250, "250 HELP").outcome, DeliveryOutcome::failed);
  EXPECT_EQ(classify(CURLE_ABORTED_BY_CALLBACK, 0).outcome, DeliveryOutcome::retry);
}

TEST(SmtpOutcome, TheDecidingReplyIsNotQuitsBye) {
  const std::vector<std::string> replies = {"250 OK", "550 5.1.1 no such user", "221 Bye"};
  EXPECT_EQ(deciding_reply(replies, 550), "550 5.1.1 no such user");
  EXPECT_EQ(deciding_reply(replies, 0), "221 Bye");
  EXPECT_EQ(deciding_reply({}, 451), "");
}

TEST(SmtpOutcome, RefusedConnectionIsARetryNamingTheCause) {
  SmtpConfig smtp;
  smtp.url = "smtp://127.0.0.1:1";  // nothing listens on port 1
  smtp.from = {"", "a@example.com"};
  smtp.timeout = seconds{5};
  const DeliveryResult result =
      send_smtp(smtp, {"a@example.com", {"b@example.com"}}, "Subject: x\r\n\r\nx\r\n", {});
  EXPECT_EQ(result.outcome, DeliveryOutcome::retry);
  EXPECT_THAT(result.reason, HasSubstr("onnect"));
}

struct Written {
  TempDir dir;
  WrittenReport report;
  Written() {
    report.schedule = "monthly";
    ReportSummary& s = report.summary;
    s.account_id = "acc-1";
    s.account_name = "Acme";
    s.period = {sys_days{year{2026} / November / 1}, sys_days{year{2026} / December / 1}};
    s.period_key = "2026-11";
    s.usage = {12, 9000};  // 2.5 hours
    s.previous_period =
        Period{sys_days{year{2026} / October / 1}, sys_days{year{2026} / November / 1}};
    s.previous = UsageCounts{8, 10800};  // 3 hours
    s.overage_cost_cents = 1205;
    s.currency = "USD";
    for (const std::string format : {"csv", "html", "focus"}) {
      const auto path = dir.path() / ("acc-1-2026-11." + format);
      write_text(path, format + " bytes\n");
      report.files.push_back({format, path});
    }
  }
};

TEST(EmailCompose, HtmlBodyAttachmentsInAttachOrderAndTheSummary) {
  const Written w;
  SmtpConfig smtp;
  smtp.from = {"", "reports@example.com"};
  EmailConfig email;
  email.to = {{"", "finance@example.com"}};
  email.attach = {"focus", "csv"};
  const auto composed =
      compose_email(smtp, email, w.report, sys_days{year{2026} / December / 1}, "s");
  ASSERT_TRUE(std::holds_alternative<MailMessage>(composed));
  const MailMessage& m = std::get<MailMessage>(composed);
  EXPECT_EQ(m.subject, "Scalr usage 2026-11 \xE2\x80\x94 Acme");
  EXPECT_EQ(m.html, "html bytes\n");
  ASSERT_EQ(m.attachments.size(), 2u);
  EXPECT_EQ(m.attachments[0],
            (MailAttachment{"acc-1-2026-11.focus", "text/csv; charset=utf-8", "focus bytes\n"}));
  EXPECT_EQ(m.attachments[1].file_name, "acc-1-2026-11.csv");
  EXPECT_THAT(m.text, HasSubstr("Account: Acme (acc-1)\n"));
  EXPECT_THAT(m.text, HasSubstr("Period: 2026-11 (2026-11-01 to 2026-11-30, UTC)\n"));
  EXPECT_THAT(m.text, HasSubstr("Runs: 12\nRun hours: 2.50\n"));
  EXPECT_THAT(m.text, HasSubstr("Previous period: 2026-10-01 to 2026-10-31\n"));
  EXPECT_THAT(m.text, HasSubstr("Change in runs: +4 (+50.0%)\n"));          // (12 - 8) / 8
  EXPECT_THAT(m.text, HasSubstr("Change in run hours: -0.50 (-16.7%)\n"));  // (2.5 - 3) / 3
  EXPECT_THAT(m.text, HasSubstr("Overage: 12.05 USD\n"));
  EXPECT_THAT(m.text, HasSubstr("Attached: acc-1-2026-11.focus, acc-1-2026-11.csv\n"));
}

TEST(EmailCompose, WithoutHtmlOrPreviousPeriodOrPlan) {
  Written w;
  w.report.files.erase(w.report.files.begin() + 1);
  w.report.summary.previous.reset();
  w.report.summary.previous_period.reset();
  w.report.summary.overage_cost_cents.reset();
  w.report.summary.usage.runs = 0;
  EmailConfig email;
  email.attach = {"csv"};
  const auto m = std::get<MailMessage>(compose_email({}, email, w.report, Seconds{}, "s"));
  EXPECT_FALSE(m.html);
  EXPECT_THAT(m.text, HasSubstr("Runs: 0\n"));
  EXPECT_THAT(m.text, ::testing::Not(HasSubstr("Change")));
  EXPECT_THAT(m.text, ::testing::Not(HasSubstr("Overage")));
}

TEST(EmailCompose, AFileThatIsGoneFailsNamingIt) {
  const Written w;
  std::filesystem::remove(w.report.files[0].path);
  EmailConfig email;
  email.attach = {"csv"};
  const auto composed = compose_email({}, email, w.report, Seconds{}, "s");
  ASSERT_TRUE(std::holds_alternative<DeliveryResult>(composed));
  const DeliveryResult& result = std::get<DeliveryResult>(composed);
  EXPECT_EQ(result.outcome, DeliveryOutcome::failed);
  EXPECT_THAT(result.reason, HasSubstr(w.report.files[0].path.string()));
}

}  // namespace
}  // namespace scalr_usage
