// reports.smtp and a schedule's email: (delivery/email/smtp_config.h, email_config.h): every
// error names its key, and the password never shows.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/error.h"
#include "delivery/email/email_config.h"
#include "delivery/email/smtp_config.h"
#include "test_files.h"

namespace scalr_usage {
namespace {

using test_files::TempDir;
using test_files::write_text;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const std::vector<std::string> kCsvHtml = {"csv", "html"};

SmtpConfig smtp_of(const std::string& yaml, const Environment& env = {}) {
  const ConfigNode root = ConfigNode::parse_document(yaml, "config.file");
  SmtpConfig smtp;
  root.walk(
      {{"reports", [&](const ConfigNode& reports) {
          reports.walk({{"smtp", [&](const ConfigNode& v) { smtp = parse_smtp_section(v); }}});
        }}});
  finish_smtp(smtp, env);
  return smtp;
}

// An email: key under reports.schedules[0], as the channel table hands it over.
EmailConfig email_of(const std::string& yaml, const std::vector<std::string>& formats = kCsvHtml) {
  const ConfigNode root =
      ConfigNode::parse_document("reports:\n  schedules:\n  - email:\n" + yaml, "config.file");
  EmailSection section;
  root.walk({{"reports", [&](const ConfigNode& reports) {
                reports.walk({{"schedules", [&](const ConfigNode& list) {
                                 list.items("a list")[0].walk({{"email", [&](const ConfigNode& v) {
                                                                  parse_email_section(v, section);
                                                                }}});
                               }}});
              }}});
  return finish_email(std::move(section), formats);
}

template <typename F>
std::string error_of(F parse) {
  try {
    parse();
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "no error";
}

std::string smtp_error(const std::string& yaml, const Environment& env = {}) {
  return error_of([&] { smtp_of(yaml, env); });
}
std::string email_error(const std::string& yaml,
                        const std::vector<std::string>& formats = kCsvHtml) {
  return error_of([&] { email_of(yaml, formats); });
}

const std::string kRelay =
    "reports:\n  smtp:\n    url: smtp://Mail.Example.com:587\n    from: reports@example.com\n";

TEST(SmtpConfig, MinimalRelayHasSafeDefaults) {
  const SmtpConfig smtp = smtp_of(kRelay);
  EXPECT_EQ(smtp.url, "smtp://mail.example.com:587");
  EXPECT_FALSE(smtp.implicit_tls);
  EXPECT_TRUE(smtp.require_tls);
  EXPECT_EQ(smtp.from.address, "reports@example.com");
  EXPECT_FALSE(smtp.username);
  EXPECT_EQ(smtp.timeout, std::chrono::minutes{1});
  EXPECT_TRUE(smtp_of("reports:\n  smtp:\n    url: smtps://mail.example.com\n    from: a@b.c\n")
                  .implicit_tls);
}

TEST(SmtpConfig, ErrorsNameTheKey) {
  EXPECT_THAT(smtp_error("reports:\n  smtp:\n    url: http://x\n    from: a@b.c\n"),
              StartsWith("reports.smtp.url: want smtp:// or smtps://"));
  EXPECT_THAT(smtp_error("reports:\n  smtp:\n    url: smtp://user:secret@x\n    from: a@b.c\n"),
              AllOf(StartsWith("reports.smtp.url: must not contain credentials"),
                    Not(HasSubstr("secret"))));
  EXPECT_THAT(smtp_error("reports:\n  smtp:\n    from: a@b.c\n"),
              StartsWith("reports.smtp.url: required"));
  EXPECT_THAT(smtp_error("reports:\n  smtp:\n    url: smtp://x\n"),
              StartsWith("reports.smtp.from: required"));
  EXPECT_THAT(smtp_error("reports:\n  smtp:\n    url: smtp://x\n    from: not-an-address\n"),
              StartsWith("reports.smtp.from: want an address like name@example.com"));
  EXPECT_THAT(smtp_error(kRelay + "    password_file: /x\n"),
              StartsWith("reports.smtp.password_file: a password needs reports.smtp.username"));
  EXPECT_THAT(
      smtp_error(kRelay + "    username: u\n    require_tls: false\n"),
      StartsWith(
          "reports.smtp.require_tls: false with a username would send the password in the clear"));
  EXPECT_THAT(smtp_error(kRelay + "    timeout: 0s\n"), StartsWith("reports.smtp.timeout:"));
  EXPECT_THAT(smtp_error(kRelay + "    ca_file: /nonexistent/ca.pem\n"),
              StartsWith("reports.smtp.ca_file: cannot read /nonexistent/ca.pem"));
  EXPECT_THAT(smtp_error(kRelay + "    pasword_file: /x\n"),
              StartsWith("reports.smtp.pasword_file: unknown key"));
}

TEST(SmtpConfig, PasswordFromFileCredentialOrEnvironmentAndNeverInAMessage) {
  const TempDir dir;
  write_text(dir.path() / "pw", "s3cret-pass\n");
  const std::string with_user = kRelay + "    username: reports\n";
  SmtpConfig smtp =
      smtp_of(with_user + "    password_file: " + (dir.path() / "pw").string() + "\n");
  EXPECT_EQ(smtp.password.reveal(), "s3cret-pass");
  EXPECT_EQ(smtp.password_origin, "password_file " + (dir.path() / "pw").string());
  smtp = smtp_of(with_user + "    password_credential: pw\n",
                 {{"CREDENTIALS_DIRECTORY", dir.path().string()}});
  EXPECT_EQ(smtp.password.reveal(), "s3cret-pass");
  smtp = smtp_of(with_user, {{std::string(kSmtpPasswordEnv), "from-env"}});
  EXPECT_EQ(smtp.password.reveal(), "from-env");
  EXPECT_EQ(smtp.password_origin, "env SCALR_USAGE_SMTP_PASSWORD");
  // Without a username the variable is not needed, and not read.
  EXPECT_TRUE(smtp_of(kRelay, {{std::string(kSmtpPasswordEnv), "x"}}).password.empty());

  EXPECT_THAT(smtp_error(with_user),
              StartsWith("reports.smtp.password_file: required with reports.smtp.username"));
  EXPECT_THAT(
      smtp_error(with_user + "    password_credential: pw\n"),
      StartsWith(
          "reports.smtp.password_credential: names credential \"pw\" but CREDENTIALS_DIRECTORY"));
  write_text(dir.path() / "bad", "line1\nsecret-part\n");
  const std::string bad =
      smtp_error(with_user + "    password_file: " + (dir.path() / "bad").string() + "\n");
  EXPECT_THAT(bad, StartsWith("reports.smtp.password_file: password in password_file"));
  EXPECT_THAT(bad, Not(HasSubstr("secret-part")));
}

TEST(EmailConfig, FullSectionAndDefaults) {
  const EmailConfig email = email_of(
      "      to: [finance@example.com, \"Jane Doe <jane@example.org>\"]\n"
      "      cc: [audit@example.net]\n      subject: \"{schedule}: {account_id} {period}\"\n"
      "      attach: [csv, html]\n");
  ASSERT_EQ(email.to.size(), 2u);
  EXPECT_EQ(email.to[1], (MailAddress{"Jane Doe", "jane@example.org"}));
  EXPECT_EQ(email.cc, (std::vector<MailAddress>{{"", "audit@example.net"}}));
  EXPECT_EQ(email.attach, kCsvHtml);
  // Without attach: every format but html, which is the body.
  const EmailConfig defaults =
      email_of("      to: [a@example.com]\n", {"csv", "json", "html", "focus"});
  EXPECT_EQ(defaults.attach, (std::vector<std::string>{"csv", "json", "focus"}));
  EXPECT_EQ(defaults.subject, kDefaultEmailSubject);
  EXPECT_TRUE(email_of("      to: [a@example.com]\n      attach: []\n").attach.empty());
}

TEST(EmailConfig, ErrorsNameTheKey) {
  EXPECT_EQ(email_error("      to: [a@example.com]\n      attach: [csv, pdf]\n"),
            "reports.schedules[0].email.attach[1]: \"pdf\" is not one of this schedule's formats "
            "(csv, html)");
  EXPECT_THAT(email_error("      cc: [a@example.com]\n"),
              StartsWith("reports.schedules[0].email.to: required"));
  EXPECT_THAT(email_error("      to: []\n"),
              StartsWith("reports.schedules[0].email.to: want a list"));
  EXPECT_THAT(
      email_error("      to: [a@example.com, nobody]\n"),
      StartsWith("reports.schedules[0].email.to[1]: want an address like name@example.com"));
  EXPECT_THAT(email_error("      to: [a@-bad-.com]\n"),
              StartsWith("reports.schedules[0].email.to[0]: domain"));
  EXPECT_THAT(email_error("      to: [\"a b@example.com\"]\n"),
              StartsWith("reports.schedules[0].email.to[0]:"));
  EXPECT_THAT(email_error("      to: [a@example.com, A@Example.com]\n"),
              StartsWith("reports.schedules[0].email.to[1]: \"A@Example.com\" is listed twice"));
  EXPECT_THAT(email_error("      to: [a@example.com]\n      cc: [a@example.com]\n"),
              StartsWith("reports.schedules[0].email.cc: \"a@example.com\" is also in to"));
  EXPECT_THAT(email_error("      to: [a@example.com]\n      subject: \"{month}\"\n"),
              StartsWith("reports.schedules[0].email.subject: unknown placeholder {month}"));
  EXPECT_THAT(email_error("      to: [a@example.com]\n      bcc: [b@example.com]\n"),
              StartsWith("reports.schedules[0].email.bcc: unknown key"));
}

TEST(EmailConfig, NoLineBreakReachesAHeader) {
  // Header injection: a CR or LF in any header value would start a header of the writer's choice.
  for (const std::string& yaml :
       {std::string("      to: [a@example.com]\n      subject: \"hi\\r\\nBcc: x@evil.example\"\n"),
        std::string("      to: [\"a@example.com\\r\\nBcc: x@evil.example\"]\n"),
        std::string("      to: [\"Name\\n <a@example.com>\"]\n")}) {
    EXPECT_THAT(email_error(yaml), StartsWith("reports.schedules[0].email.")) << yaml;
  }
  EXPECT_THROW(parse_mail_address("a@example.com\r\nBcc: x@evil.example"), std::invalid_argument);
  EXPECT_THROW(check_subject_template("a\nb"), std::invalid_argument);
  EXPECT_THAT(
      smtp_error("reports:\n  smtp:\n    url: smtp://x\n    from: \"a@b.c\\r\\nBcc: x@y.z\"\n"),
      StartsWith("reports.smtp.from:"));
}

TEST(EmailSubject, Placeholders) {
  const SubjectValues values{"2026-11", "Acme Corp", "acc-1", "monthly"};
  EXPECT_EQ(expand_subject("{schedule} {period} {account} ({account_id}) {{x}}", values),
            "monthly 2026-11 Acme Corp (acc-1) {x}");
  // {account} is the id when the name is unknown.
  EXPECT_EQ(expand_subject("{account}", {"2026-11", "", "acc-1", "m"}), "acc-1");
  // An account name is data: its line breaks become spaces rather than a header.
  EXPECT_EQ(expand_subject("{account}", {"p", "Evil\r\nBcc: x@y.z", "acc-1", "m"}),
            "Evil  Bcc: x@y.z");
  EXPECT_THROW(check_subject_template("{period"), std::invalid_argument);
  EXPECT_THROW(check_subject_template("period}"), std::invalid_argument);
  EXPECT_NO_THROW(check_subject_template(kDefaultEmailSubject));
}

}  // namespace
}  // namespace scalr_usage
