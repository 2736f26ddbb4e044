#pragma once
// The email channel as a row of the channel table (delivery/registry/registry.h);
// delivery/channel_module.h says what each piece is for. Its shared section is reports.smtp, the
// relay every schedule's `email:` sends through.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "delivery/channel_module.h"
#include "delivery/email/email_config.h"
#include "delivery/email/smtp_config.h"

namespace scalr_usage {

struct EmailModule {
  using Section = EmailSection;
  using Config = EmailConfig;
  using SharedSection = std::optional<SmtpConfig>;  // reports.smtp as written
  using Shared = std::optional<SmtpConfig>;         // with its password read
  static constexpr std::string_view kName = "email";
  static constexpr std::string_view kSharedKey = "smtp";

  static void parse(const ConfigNode& node, Section& section) {
    parse_email_section(node, section);
  }
  static void parse_shared(const ConfigNode& node, SharedSection& section) {
    section = parse_smtp_section(node);
  }
  // used_by: the first schedule's `email:` key, "" when no schedule sends email.
  static Shared finish_shared(SharedSection section, std::string_view used_by,
                              const Environment& env);
  static Config finish(Section section, const Shared& /*shared*/, const ReportSchedule& schedule,
                       std::string_view /*key*/, const Environment& /*env*/) {
    return finish_email(std::move(section), schedule.formats);
  }
  static std::unique_ptr<DeliveryChannel> make(const Config& config, const Shared& shared);
  // Recipients and attachments; the relay and its user are on the reports.smtp line.
  static std::vector<std::pair<std::string, std::string>> log_fields(const Config& config);
};

static_assert(ChannelModule<EmailModule>);

}  // namespace scalr_usage
