#include "delivery/email/email_config.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <stdexcept>

#include "config/error.h"

#include "util/text.h"

namespace scalr_usage {

namespace {

constexpr std::size_t kMaxRecipients = 100;  // RFC 5321's minimum a server must accept
constexpr std::size_t kMaxSubjectBytes = 500;

std::optional<std::string_view> placeholder_value(std::string_view name,
                                                  const SubjectValues& values) {
  if (name == "period") return values.period;
  if (name == "account") {
    return values.account_name.empty() ? values.account_id : values.account_name;
  }
  if (name == "account_id") return values.account_id;
  if (name == "schedule") return values.schedule;
  return std::nullopt;
}

// Walks the template once: calls literal(text) and placeholder(name) in order.
template <typename Literal, typename Placeholder>
void walk_template(std::string_view subject, Literal literal, Placeholder placeholder) {
  for (std::size_t i = 0; i < subject.size(); ++i) {
    const char c = subject[i];
    if ((c == '{' || c == '}') && i + 1 < subject.size() && subject[i + 1] == c) {
      literal(std::string_view(&subject[i], 1));
      ++i;
    } else if (c == '{') {
      const std::size_t close = subject.find('}', i);
      if (close == std::string_view::npos)
        throw std::invalid_argument("unclosed { (write {{ for a brace)");
      placeholder(subject.substr(i + 1, close - i - 1));
      i = close;
    } else if (c == '}') {
      throw std::invalid_argument("lone } (write }} for a brace)");
    } else {
      literal(std::string_view(&subject[i], 1));
    }
  }
}

std::vector<MailAddress> addresses(const ConfigNode& node, EmptyList empty) {
  std::vector<MailAddress> out;
  for (const ConfigNode& item : node.items("a list of mail addresses", empty)) {
    MailAddress address = item.parsed("a mail address", parse_mail_address);
    const bool repeated = std::any_of(out.begin(), out.end(), [&](const MailAddress& other) {
      return to_lower(other.address) == to_lower(address.address);
    });
    if (repeated) item.fail(quote_for_message(address.address) + " is listed twice");
    out.push_back(std::move(address));
  }
  return out;
}

std::string subject_text(const std::string& text) {
  if (text.size() > kMaxSubjectBytes) throw std::invalid_argument("longer than 500 bytes");
  check_subject_template(text);
  return text;
}

}  // namespace

void check_subject_template(std::string_view subject) {
  // CR and LF would end the Subject header and start one of the writer's choosing.
  if (has_control(subject))
    throw std::invalid_argument("contains control characters (CR, LF, ...)");
  const SubjectValues none{};
  walk_template(
      subject, [](std::string_view) {},
      [&](std::string_view name) {
        if (!placeholder_value(name, none)) {
          throw std::invalid_argument("unknown placeholder {" + std::string(name) +
                                      "} (want {period}, {account}, {account_id} or {schedule})");
        }
      });
}

std::string expand_subject(std::string_view subject, const SubjectValues& values) {
  std::string out;
  walk_template(
      subject, [&](std::string_view text) { out += text; },
      [&](std::string_view name) { out += placeholder_value(name, values).value_or(""); });
  std::replace_if(out.begin(), out.end(), is_control, ' ');
  return out;
}

void parse_email_section(const ConfigNode& node, EmailSection& section) {
  section.path = node.path();
  EmailConfig& email = section.config;
  bool has_to = false;
  node.walk({
      {"to",
       [&](const ConfigNode& v) {
         email.to = addresses(v, EmptyList::refused);
         has_to = true;
       }},
      {"cc", [&](const ConfigNode& v) { email.cc = addresses(v, EmptyList::or_null); }},
      {"subject",
       [&](const ConfigNode& v) { email.subject = v.parsed("a subject line", subject_text); }},
      {"attach",
       [&](const ConfigNode& v) {
         const std::vector<std::string> words =
             v.unique_words("a list of report formats", EmptyList::or_null);
         section.attach.emplace();
         for (std::size_t i = 0; i < words.size(); ++i) {
           section.attach->emplace_back(words[i], v.path() + "[" + std::to_string(i) + "]");
         }
       }},
  });
  if (!has_to) node.fail_at(section.path + ".to", "required: at least one recipient");
  for (const MailAddress& cc : email.cc) {
    const bool in_to = std::any_of(email.to.begin(), email.to.end(), [&](const MailAddress& to) {
      return to_lower(to.address) == to_lower(cc.address);
    });
    if (in_to) node.fail_at(section.path + ".cc", quote_for_message(cc.address) + " is also in to");
  }
  if (email.to.size() + email.cc.size() > kMaxRecipients) {
    node.fail_at(section.path + ".to", "more than 100 recipients in to and cc");
  }
}

EmailConfig finish_email(EmailSection section, const std::vector<std::string>& formats) {
  EmailConfig email = std::move(section.config);
  email.attach.clear();
  if (!section.attach) {
    std::copy_if(formats.begin(), formats.end(), std::back_inserter(email.attach),
                 [](const std::string& format) { return format != "html"; });
    return email;
  }
  for (auto& [format, key] : *section.attach) {
    if (std::find(formats.begin(), formats.end(), format) == formats.end()) {
      fail_config(key, quote_for_message(format) + " is not one of this schedule's formats (" +
                           join(formats, ", ") + ")");
    }
    email.attach.push_back(std::move(format));
  }
  return email;
}

}  // namespace scalr_usage
