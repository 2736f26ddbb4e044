#pragma once
// The table of delivery channels. The config loader, the report scheduler and --check-config
// reach channels only through the functions below, which visit this table, so a channel is one
// folder under delivery/ with a module type (delivery/channel_module.h; delivery/webhook/module.h
// is a complete example) plus one row here and one `sue_channel(...)` line in CMakeLists.txt.

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "config/environment.h"
#include "delivery/channel_module.h"
#include "delivery/email/module.h"
#include "delivery/webhook/module.h"
#include "reports/config.h"

namespace scalr_usage {

template <ChannelModule... Modules>
struct ChannelTable {
  using Config = std::variant<typename Modules::Config...>;
  // One schedule's channel sections as written; a channel the schedule does not name is nullopt.
  using ScheduleSections = std::tuple<std::optional<typename Modules::Section>...>;
  using SharedSections = std::tuple<typename Modules::SharedSection...>;
  using Shared = std::tuple<typename Modules::Shared...>;
  using Rows = std::tuple<Modules...>;
  static constexpr std::size_t kSize = sizeof...(Modules);
  static constexpr std::array<std::string_view, kSize> kNames = {Modules::kName...};
};

// The table: one row per channel, in the order a schedule's channels are tried.
using Channels = ChannelTable<WebhookModule, EmailModule>;

// One schedule's channel, finished: exactly one of the modules' configurations.
using ChannelConfig = Channels::Config;

struct ScheduleChannels {
  std::string schedule;
  std::vector<ChannelConfig> channels;  // in table order
};

// Everything delivery reads from `reports:`.
struct DeliveryConfig {
  // reports.delivery_retry_for: how long after its first attempt a delivery is retried.
  std::chrono::milliseconds retry_for{std::chrono::hours{6}};
  std::vector<ScheduleChannels> schedules;  // the schedules that name a channel
  Channels::Shared shared;                  // the channels' `reports:` sections, finished

  // Empty for a schedule without channels.
  const std::vector<ChannelConfig>& channels_of(std::string_view schedule) const;
};

// The channel keys as written, filled while reports/ parses its section.
struct DeliverySections {
  std::vector<Channels::ScheduleSections> schedules;  // by index in reports.schedules
  Channels::SharedSections shared;
  std::optional<std::chrono::milliseconds> retry_for;
};

// The hooks that make reports/ hand the channel keys to their modules (reports/config.h).
// sections must outlive the parse.
ReportsSectionHooks delivery_section_hooks(DeliverySections& sections);
// Required keys and secrets of every configured channel. Throws ConfigError naming the key.
DeliveryConfig finish_delivery(DeliverySections sections, const ReportsConfig& reports,
                               const Environment& env);

std::string_view channel_name(const ChannelConfig& config);
// A new channel for one schedule's configured channel.
std::unique_ptr<DeliveryChannel> make_channel(const ChannelConfig& config,
                                              const DeliveryConfig& delivery);
// Safe to log: never a password or secret URL.
std::vector<std::pair<std::string, std::string>> channel_log_fields(const ChannelConfig& config);

}  // namespace scalr_usage
