#pragma once
// The webhook channel as a row of the channel table (delivery/registry/registry.h);
// delivery/channel_module.h says what each piece is for.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "delivery/channel_module.h"
#include "delivery/webhook/config.h"

namespace scalr_usage {

struct WebhookModule {
  using Section = WebhookSection;
  using Config = WebhookConfig;
  using SharedSection = NoSharedSection;
  using Shared = NoShared;
  static constexpr std::string_view kName = "webhook";
  static constexpr std::string_view kSharedKey = "";  // nothing under `reports:`

  static void parse(const ConfigNode& node, Section& section) {
    parse_webhook_section(node, section);
  }
  static void parse_shared(const ConfigNode& /*node*/, SharedSection& /*section*/) {}
  static Shared finish_shared(SharedSection /*section*/, std::string_view /*used_by*/,
                              const Environment& /*env*/) {
    return {};
  }
  static Config finish(Section section, const Shared& /*shared*/,
                       const ReportSchedule& /*schedule*/, std::string_view key,
                       const Environment& env) {
    return finish_webhook(std::move(section), key, env);
  }
  static std::unique_ptr<DeliveryChannel> make(const Config& config, const Shared& shared);
  // scheme://host only: the rest of a webhook URL is as secret as a token.
  static std::vector<std::pair<std::string, std::string>> log_fields(const Config& config) {
    return {{"webhook", config.shown_url},
            {"webhook_format", std::string(to_string(config.format))}};
  }
};

static_assert(ChannelModule<WebhookModule>);

}  // namespace scalr_usage
