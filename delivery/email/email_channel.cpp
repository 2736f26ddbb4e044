#include "delivery/email/email_channel.h"

#include <algorithm>
#include <random>

#include "delivery/email/smtp_client.h"
#include "delivery/email/summary_text.h"
#include "util/read_file.h"

namespace scalr_usage {

namespace {

// Far above any report a relay takes (most refuse more than 25 to 50 MiB per message), small
// enough that a runaway file cannot exhaust memory.
constexpr std::size_t kMaxFileBytes = 64 << 20;

DeliveryResult failed(std::string reason) {
  return DeliveryResult{DeliveryOutcome::failed, std::move(reason)};
}

const ReportFile* file_of(const WrittenReport& report, std::string_view format) {
  const auto found = std::find_if(report.files.begin(), report.files.end(),
                                  [&](const ReportFile& file) { return file.format == format; });
  return found == report.files.end() ? nullptr : &*found;
}

// The file's bytes, or why not.
std::variant<std::string, DeliveryResult> read_report_file(const WrittenReport& report,
                                                           std::string_view format) {
  const ReportFile* file = file_of(report, format);
  if (file == nullptr) {
    return failed("no " + std::string(format) + " file was written for this report");
  }
  auto content = read_file_prefix(file->path.string(), kMaxFileBytes);
  if (const auto* error = std::get_if<ReadFileError>(&content)) {
    return failed("report file " + file->path.string() + " cannot be read: " + error->reason);
  }
  if (std::get<std::string>(content).size() > kMaxFileBytes) {
    return failed("report file " + file->path.string() + " is larger than 64 MiB");
  }
  return std::get<std::string>(std::move(content));
}

// 128 random bits (four draws of 32): a Message-ID and boundaries no other message shares.
std::string random_seed() {
  std::random_device device;
  std::string seed;
  for (int i = 0; i < 4; ++i) seed += std::to_string(device()) + "-";
  return seed;
}

}  // namespace

std::variant<MailMessage, DeliveryResult> compose_email(const SmtpConfig& smtp,
                                                        const EmailConfig& email,
                                                        const WrittenReport& report, Seconds now,
                                                        std::string seed) {
  const ReportSummary& summary = report.summary;
  MailMessage message;
  message.from = smtp.from;
  message.to = email.to;
  message.cc = email.cc;
  message.subject = expand_subject(
      email.subject,
      SubjectValues{summary.period_key, summary.account_name, summary.account_id, report.schedule});
  message.date = now;
  message.seed = std::move(seed);
  if (file_of(report, "html") != nullptr) {
    auto html = read_report_file(report, "html");
    if (auto* result = std::get_if<DeliveryResult>(&html)) return std::move(*result);
    message.html = std::get<std::string>(std::move(html));
  }
  std::vector<std::string> attached;
  for (const std::string& format : email.attach) {
    auto bytes = read_report_file(report, format);
    if (auto* result = std::get_if<DeliveryResult>(&bytes)) return std::move(*result);
    const std::string name = file_of(report, format)->path.filename().string();
    message.attachments.push_back(
        {name, content_type_of_format(format), std::get<std::string>(std::move(bytes))});
    attached.push_back(name);
  }
  message.text = summary_text(report, attached, message.html.has_value());
  return message;
}

DeliveryResult EmailChannel::deliver(const WrittenReport& report, std::stop_token stop) {
  const Seconds now = std::chrono::floor<std::chrono::seconds>(Clock::now());
  const std::string seed = report.schedule + "/" + report.summary.account_id + "/" +
                           report.summary.period_key + "/" + random_seed();
  auto composed = compose_email(smtp_, email_, report, now, seed);
  if (auto* result = std::get_if<DeliveryResult>(&composed)) return std::move(*result);
  const MailMessage& message = std::get<MailMessage>(composed);
  SmtpEnvelope envelope{smtp_.from.address, {}};
  for (const MailAddress& to : message.to) envelope.recipients.push_back(to.address);
  for (const MailAddress& cc : message.cc) envelope.recipients.push_back(cc.address);
  return send_smtp(smtp_, envelope, render_mime(message), std::move(stop));
}

}  // namespace scalr_usage
