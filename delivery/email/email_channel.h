#pragma once
// The email channel: one message per schedule, account and period, sent through reports.smtp.

#include <stop_token>
#include <string>
#include <string_view>
#include <variant>

#include "delivery/channel.h"
#include "delivery/email/email_config.h"
#include "delivery/email/mime.h"
#include "delivery/email/smtp_config.h"

namespace scalr_usage {

// The message for report, its files read now (they may have been written by a process that has
// since restarted): the HTML report as the HTML body when the schedule writes one, the formats
// of email.attach as attachments. A file that is gone or unreadable is a failed DeliveryResult
// naming it (retrying cannot bring it back). Pure but for reading the files.
std::variant<MailMessage, DeliveryResult> compose_email(const SmtpConfig& smtp,
                                                        const EmailConfig& email,
                                                        const WrittenReport& report, Seconds now,
                                                        std::string seed);

class EmailChannel final : public DeliveryChannel {
 public:
  EmailChannel(SmtpConfig smtp, EmailConfig email)
      : smtp_(std::move(smtp)), email_(std::move(email)) {}
  std::string_view kind() const override { return "email"; }
  DeliveryResult deliver(const WrittenReport& report, std::stop_token stop) override;

 private:
  SmtpConfig smtp_;
  EmailConfig email_;
};

}  // namespace scalr_usage
