#pragma once
// A schedule's `email:` key: who gets the message, its subject, and which of the schedule's
// report files are attached.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/node.h"
#include "delivery/email/mail_address.h"

namespace scalr_usage {

inline constexpr std::string_view kDefaultEmailSubject =
    "Scalr usage {period} \xE2\x80\x94 {account}";

struct EmailConfig {
  std::vector<MailAddress> to;  // at least one
  std::vector<MailAddress> cc;
  // {period} {account} (the name, else the id) {account_id} {schedule}; {{ and }} are braces.
  std::string subject = std::string(kDefaultEmailSubject);
  // Formats of the schedule whose files are attached, in the order given. Without `attach`,
  // every format of the schedule but html (which is the message's HTML body when written).
  std::vector<std::string> attach;
};

// The key as written: everything checked that does not need the schedule's formats.
struct EmailSection {
  std::string path;  // "reports.schedules[0].email"
  EmailConfig config;
  // `attach` as written, each with its key path; nullopt when the key is absent.
  std::optional<std::vector<std::pair<std::string, std::string>>> attach = std::nullopt;
};

// node is the value of reports.schedules[i].email. Throws ConfigError naming the key.
void parse_email_section(const ConfigNode& node, EmailSection& section);
// Checks `attach` against the schedule's formats and fills its default. Throws ConfigError
// naming the item ("reports.schedules[0].email.attach[1]: \"pdf\" is not one of ...").
EmailConfig finish_email(EmailSection section, const std::vector<std::string>& formats);

struct SubjectValues {
  std::string_view period;  // period_key: "2026-11"
  std::string_view account_name;
  std::string_view account_id;
  std::string_view schedule;
};

// Throws std::invalid_argument for an unknown placeholder, a lone brace or a control character.
void check_subject_template(std::string_view subject);
// The subject with its placeholders filled. Control characters in the values (an account name
// is data) become spaces, so no value can end the header.
std::string expand_subject(std::string_view subject, const SubjectValues& values);

}  // namespace scalr_usage
