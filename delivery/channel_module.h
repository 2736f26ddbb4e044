#pragma once
// What a delivery channel module provides: one row of the channel table
// (delivery/registry/registry.h), the way a source is a row of collectors/registry. A channel is
// its folder delivery/<name>/ (one CMake library, `sue_channel(...)` in CMakeLists.txt) with a
// module type, delivery/webhook/module.h being a complete example:
//
// | piece | what |
// | --- | --- |
// | `kName` | the key under a schedule (`webhook:`) and the `channel` label of |
// |         | scalr_exporter_report_deliveries_total |
// | `Section`, `parse` | its per-schedule section as written (keys and types, ConfigError naming |
// |                    | the key: `reports.schedules[0].webhook.format: ...`) |
// | `Config`, `finish` | the section finished: required keys, secrets read (config/files.h) |
// | `kSharedKey`, `SharedSection`, `parse_shared`, `Shared`, `finish_shared` | an optional |
// |   section of `reports:` every schedule's channel shares (email: `reports.smtp`); `kSharedKey` |
// |   empty and NoSharedSection/NoShared when there is none. finish_shared gets the key path of |
// |   the first schedule using the channel ("" when none does), so it can require the section |
// |   only then. reports/ never knows these keys: the table hands them to its parser as hooks. |
// | `make` | a new DeliveryChannel from the schedule's Config and the shared part |
// | `log_fields` | what the start line says of a schedule's channel (never a secret) |

#include <concepts>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/environment.h"
#include "config/node.h"
#include "delivery/channel.h"
#include "reports/config.h"  // ReportSchedule

namespace scalr_usage {

// The shared part of a channel that has none.
struct NoSharedSection {};
struct NoShared {};

template <typename M>
concept ChannelModule = std::movable<typename M::Config> &&
    std::default_initializable<typename M::Section> &&
    std::default_initializable<typename M::SharedSection> && std::movable<typename M::Shared> &&
    requires(const ConfigNode& node, typename M::Section section,
             typename M::SharedSection shared_section, const typename M::Shared& shared,
             const typename M::Config& config, const ReportSchedule& schedule,
             const Environment& env, std::string_view key) {
  { M::kName } -> std::convertible_to<std::string_view>;
  { M::kSharedKey } -> std::convertible_to<std::string_view>;
  M::parse(node, section);
  M::parse_shared(node, shared_section);
  { M::finish_shared(std::move(shared_section), key, env) } -> std::same_as<typename M::Shared>;
  // key: the schedule's channel key path, "reports.schedules[0].webhook"; schedule: the schedule
  // itself (email checks `attach` against its formats).
  { M::finish(std::move(section), shared, schedule, key, env) } -> std::same_as<typename M::Config>;
  { M::make(config, shared) } -> std::same_as<std::unique_ptr<DeliveryChannel>>;
  { M::log_fields(config) } -> std::same_as<std::vector<std::pair<std::string, std::string>>>;
};

}  // namespace scalr_usage
