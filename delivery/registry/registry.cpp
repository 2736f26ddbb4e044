#include "delivery/registry/registry.h"

#include <utility>

#include "config/error.h"

namespace scalr_usage {

namespace {

using Indices = std::make_index_sequence<Channels::kSize>;
template <std::size_t I>
using ModuleAt = std::tuple_element_t<I, Channels::Rows>;

template <std::size_t... I>
std::vector<ConfigField> schedule_fields(DeliverySections& sections, std::size_t index,
                                         std::index_sequence<I...>) {
  if (sections.schedules.size() <= index) sections.schedules.resize(index + 1);
  return {ConfigField{ModuleAt<I>::kName, [&sections, index](const ConfigNode& v) {
                        auto& section = std::get<I>(sections.schedules[index]);
                        section.emplace();
                        ModuleAt<I>::parse(v, *section);
                      }}...};
}

template <std::size_t I>
void add_shared_field(DeliverySections& sections, std::vector<ConfigField>& fields) {
  if constexpr (!ModuleAt<I>::kSharedKey.empty()) {
    fields.push_back({ModuleAt<I>::kSharedKey, [&sections](const ConfigNode& v) {
                        ModuleAt<I>::parse_shared(v, std::get<I>(sections.shared));
                      }});
  }
}

template <std::size_t... I>
void add_shared_fields(DeliverySections& sections, std::vector<ConfigField>& fields,
                       std::index_sequence<I...>) {
  (add_shared_field<I>(sections, fields), ...);
}

std::string channel_key(std::size_t schedule, std::string_view name) {
  return "reports.schedules[" + std::to_string(schedule) + "]." + std::string(name);
}

// The first schedule naming row I, "" when none does: the shared section is required only then.
template <std::size_t I>
std::string first_user(const DeliverySections& sections) {
  for (std::size_t i = 0; i < sections.schedules.size(); ++i) {
    if (std::get<I>(sections.schedules[i])) return channel_key(i, ModuleAt<I>::kName);
  }
  return {};
}

template <std::size_t... I>
Channels::Shared finish_shared(DeliverySections& sections, const Environment& env,
                               std::index_sequence<I...>) {
  return Channels::Shared{ModuleAt<I>::finish_shared(std::move(std::get<I>(sections.shared)),
                                                     first_user<I>(sections), env)...};
}

template <std::size_t I>
void finish_channel(Channels::ScheduleSections& written, const Channels::Shared& shared,
                    const ReportSchedule& schedule, std::size_t index, const Environment& env,
                    std::vector<ChannelConfig>& out) {
  if (auto& section = std::get<I>(written)) {
    out.emplace_back(std::in_place_index<I>,
                     ModuleAt<I>::finish(std::move(*section), std::get<I>(shared), schedule,
                                         channel_key(index, ModuleAt<I>::kName), env));
  }
}

template <std::size_t... I>
std::vector<ChannelConfig> finish_schedule(Channels::ScheduleSections& written,
                                           const Channels::Shared& shared,
                                           const ReportSchedule& schedule, std::size_t index,
                                           const Environment& env, std::index_sequence<I...>) {
  std::vector<ChannelConfig> out;
  (finish_channel<I>(written, shared, schedule, index, env, out), ...);
  return out;
}

}  // namespace

const std::vector<ChannelConfig>& DeliveryConfig::channels_of(std::string_view schedule) const {
  static const std::vector<ChannelConfig> kNone;
  for (const ScheduleChannels& entry : schedules) {
    if (entry.schedule == schedule) return entry.channels;
  }
  return kNone;
}

ReportsSectionHooks delivery_section_hooks(DeliverySections& sections) {
  ReportsSectionHooks hooks;
  hooks.fields.push_back({"delivery_retry_for", [&sections](const ConfigNode& v) {
                            sections.retry_for = v.duration(std::chrono::minutes{1});
                          }});
  add_shared_fields(sections, hooks.fields, Indices{});
  hooks.schedule_fields = [&sections](std::size_t index) {
    return schedule_fields(sections, index, Indices{});
  };
  return hooks;
}

DeliveryConfig finish_delivery(DeliverySections sections, const ReportsConfig& reports,
                               const Environment& env) {
  DeliveryConfig delivery;
  if (sections.retry_for) delivery.retry_for = *sections.retry_for;
  delivery.shared = finish_shared(sections, env, Indices{});
  for (std::size_t i = 0; i < sections.schedules.size() && i < reports.schedules.size(); ++i) {
    std::vector<ChannelConfig> channels = finish_schedule(sections.schedules[i], delivery.shared,
                                                          reports.schedules[i], i, env, Indices{});
    if (!channels.empty()) {
      delivery.schedules.push_back({reports.schedules[i].name, std::move(channels)});
    }
  }
  return delivery;
}

std::string_view channel_name(const ChannelConfig& config) {
  return Channels::kNames[config.index()];
}

std::unique_ptr<DeliveryChannel> make_channel(const ChannelConfig& config,
                                              const DeliveryConfig& delivery) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    std::unique_ptr<DeliveryChannel> channel;
    ((config.index() == I
          ? void(channel = ModuleAt<I>::make(std::get<I>(config), std::get<I>(delivery.shared)))
          : void()),
     ...);
    return channel;
  }
  (Indices{});
}

std::vector<std::pair<std::string, std::string>> channel_log_fields(const ChannelConfig& config) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    std::vector<std::pair<std::string, std::string>> fields;
    ((config.index() == I ? void(fields = ModuleAt<I>::log_fields(std::get<I>(config))) : void()),
     ...);
    return fields;
  }
  (Indices{});
}

}  // namespace scalr_usage
