#include "delivery/email/module.h"

#include "config/error.h"
#include "delivery/email/email_channel.h"
#include "util/text.h"

namespace scalr_usage {

EmailModule::Shared EmailModule::finish_shared(SharedSection section, std::string_view used_by,
                                               const Environment& env) {
  if (!section) {
    if (!used_by.empty()) {
      fail_config(used_by, "needs reports.smtp, the relay to send through (url, from)");
    }
    return std::nullopt;
  }
  // Read even when no schedule sends email yet: a configured relay's password must work.
  finish_smtp(*section, env);
  return section;
}

std::unique_ptr<DeliveryChannel> EmailModule::make(const Config& config, const Shared& shared) {
  // finish_shared refused `email:` without reports.smtp, so shared is set here.
  return std::make_unique<EmailChannel>(shared.value(), config);
}

std::vector<std::pair<std::string, std::string>> EmailModule::log_fields(const Config& config) {
  std::vector<std::string> to;
  for (const MailAddress& address : config.to) to.push_back(address.address);
  for (const MailAddress& address : config.cc) to.push_back(address.address);
  return {{"email_to", join(to, ",")},
          {"email_attach", config.attach.empty() ? "none" : join(config.attach, ",")}};
}

}  // namespace scalr_usage
