#include "reports/schedule_state.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "reports/atomic_file.h"
#include "util/text.h"  // quote_for_message

namespace scalr_usage {

using namespace std::chrono;
using nlohmann::json;

namespace {

// Bumped only for incompatible changes; an older daemon then refuses a newer file instead of
// misreading it.
constexpr int kStateVersion = 1;

constexpr std::string_view kPeriodKinds = "previous_month, month_to_date or previous_day";

std::string describe(const std::filesystem::path& file) {
  return "state file \"" + file.string() + "\"";
}

// Strict RFC 3339 in the one spelling format_rfc3339 writes; anything else is a corrupt file.
sys_seconds parse_time(const char* key, const std::string& text) {
  unsigned hour = 0;
  unsigned minute = 0;
  unsigned second = 0;
  int consumed = 0;
  std::optional<sys_seconds> t;
  if (text.size() == 20 &&
      std::sscanf(text.c_str() + 10, "T%2u:%2u:%2uZ%n", &hour, &minute, &second, &consumed) == 3 &&
      consumed == 10 && hour < 24 && minute < 60 && second < 60) {
    try {
      t = sys_seconds{sys_days{parse_date(text.substr(0, 10))}} + hours{hour} + minutes{minute} +
          seconds{second};
    } catch (const std::invalid_argument&) {
      // reported below
    }
  }
  // The round trip rejects every other spelling (offsets, fractions, missing zero padding).
  if (!t || format_rfc3339(*t) != text) {
    throw std::invalid_argument(
        std::string("\"") + key +
        "\" is not a UTC time (want e.g. 2026-11-01T06:00:00Z): " + quote_for_message(text));
  }
  return *t;
}

const json& member(const json& object, const char* key, json::value_t type, const char* want) {
  const auto it = object.find(key);
  if (it == object.end()) throw std::invalid_argument(std::string("missing \"") + key + "\"");
  if (it->type() != type) {
    throw std::invalid_argument(std::string("\"") + key + "\" must be " + want);
  }
  return *it;
}

ScheduleState::Entry parse_entry(const json& value) {
  if (!value.is_object()) throw std::invalid_argument("must be an object");
  ScheduleState::Entry entry;
  entry.period_key = member(value, "period", json::value_t::string, "a string").get<std::string>();
  if (entry.period_key.empty()) throw std::invalid_argument("\"period\" must not be empty");
  entry.fire_time =
      parse_time("fire_time",
                 member(value, "fire_time", json::value_t::string, "a string").get<std::string>());
  entry.written_at =
      parse_time("written_at",
                 member(value, "written_at", json::value_t::string, "a string").get<std::string>());
  return entry;
}

// "deliveries" (absent in files written before delivery existed): one object per delivery.
void parse_deliveries(const json& document, std::map<DeliveryKey, StoredDelivery>& out) {
  const auto list = document.find("deliveries");
  if (list == document.end()) return;
  if (!list->is_array()) throw std::invalid_argument("\"deliveries\" must be an array");
  for (const json& item : *list) {
    if (!item.is_object()) throw std::invalid_argument("a delivery must be an object");
    const auto text = [&](const char* key) {
      std::string value = member(item, key, json::value_t::string, "a string").get<std::string>();
      if (value.empty())
        throw std::invalid_argument(std::string("delivery \"") + key + "\" is empty");
      return value;
    };
    DeliveryKey key{text("schedule"), text("account"), text("period"), text("channel")};
    const bool finished =
        member(item, "finished", json::value_t::boolean, "true or false").get<bool>();
    const json& record = member(item, "record", json::value_t::object, "an object");
    out.insert_or_assign(std::move(key), StoredDelivery{finished, record.dump()});
  }
}

json deliveries_json(const std::map<DeliveryKey, StoredDelivery>& deliveries) {
  json list = json::array();
  for (const auto& [key, delivery] : deliveries) {
    list.push_back({{"schedule", key.schedule},
                    {"account", key.account},
                    {"period", key.period_key},
                    {"channel", key.channel},
                    {"finished", delivery.finished},
                    {"record", json::parse(delivery.record)}});
  }
  return list;
}

}  // namespace

std::string_view to_string(PeriodKind kind) {
  switch (kind) {
    case PeriodKind::previous_month:
      return "previous_month";
    case PeriodKind::month_to_date:
      return "month_to_date";
    case PeriodKind::previous_day:
      return "previous_day";
  }
  return "unknown";
}

PeriodKind parse_period_kind(std::string_view text) {
  for (const PeriodKind kind :
       {PeriodKind::previous_month, PeriodKind::month_to_date, PeriodKind::previous_day}) {
    if (text == to_string(kind)) return kind;
  }
  throw std::invalid_argument("unknown report period " + quote_for_message(text) + " (want " +
                              std::string(kPeriodKinds) + ")");
}

Period period_for(PeriodKind kind, sys_seconds fire_time) {
  const sys_days fire_day = floor<std::chrono::days>(fire_time);
  const sys_days day_before = fire_day - std::chrono::days{1};
  switch (kind) {
    case PeriodKind::previous_month:
      return month_before(fire_time);
    case PeriodKind::month_to_date:
      return Period{month_containing(sys_seconds{day_before}).start, sys_seconds{fire_day}};
    case PeriodKind::previous_day:
      return days(year_month_day{day_before}, year_month_day{day_before});
  }
  throw std::invalid_argument("unknown report period kind");
}

std::string period_key(const Period& period) {
  if (period.end <= period.start) {
    throw std::invalid_argument("empty period " + format_rfc3339(period.start) + ".." +
                                format_rfc3339(period.end));
  }
  if (month_containing(period.start) == period) {
    const year_month_day first{floor<std::chrono::days>(period.start)};
    return format_date(first).substr(0, 7);  // "YYYY-MM"
  }
  const year_month_day first{floor<std::chrono::days>(period.start)};
  const year_month_day last{ceil<std::chrono::days>(period.end) - std::chrono::days{1}};
  if (first == last) return format_date(first);
  return format_date(first) + ".." + format_date(last);
}

ScheduleState ScheduleState::load(const std::filesystem::path& file) {
  ScheduleState state(file);
  std::error_code status_error;
  const std::filesystem::file_status status = std::filesystem::status(file, status_error);
  if (status.type() == std::filesystem::file_type::not_found) return state;  // first start
  if (status_error) {
    throw ScheduleStateError("cannot read " + describe(file) + ": " + status_error.message());
  }
  if (status.type() != std::filesystem::file_type::regular) {
    throw ScheduleStateError(describe(file) + " is not a regular file");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw ScheduleStateError("cannot read " + describe(file) + ": " +
                             std::generic_category().message(errno));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  if (in.bad()) throw ScheduleStateError("cannot read " + describe(file));

  try {
    const json document = json::parse(contents.str());
    if (!document.is_object()) throw std::invalid_argument("must be a JSON object");
    const auto version = document.find("version");
    if (version == document.end()) throw std::invalid_argument("missing \"version\"");
    if (!version->is_number_integer()) {
      throw std::invalid_argument("\"version\" must be an integer");
    }
    if (version->get<std::int64_t>() != kStateVersion) {
      throw std::invalid_argument("unsupported version " + version->dump() +
                                  " (this daemon reads " + std::to_string(kStateVersion) + ")");
    }
    const json& schedules = member(document, "schedules", json::value_t::object, "an object");
    for (const auto& [name, value] : schedules.items()) {
      try {
        state.entries_.emplace(name, parse_entry(value));
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("schedule " + quote_for_message(name) + ": " + e.what());
      }
    }
    parse_deliveries(document, state.deliveries_);
  } catch (const json::exception& e) {
    throw ScheduleStateError(describe(file) + " is not valid JSON: " + e.what());
  } catch (const std::invalid_argument& e) {
    throw ScheduleStateError(describe(file) + " is corrupt: " + e.what());
  }
  return state;
}

void ScheduleState::save() const {
  json schedules = json::object();
  for (const auto& [name, entry] : entries_) {
    schedules[name] = {{"period", entry.period_key},
                       {"fire_time", format_rfc3339(entry.fire_time)},
                       {"written_at", format_rfc3339(entry.written_at)}};
  }
  json document = {{"version", kStateVersion}, {"schedules", schedules}};
  // Only when there are any, so a daemon without delivery writes the file it always wrote.
  if (!deliveries_.empty()) document["deliveries"] = deliveries_json(deliveries_);
  write_file_atomically(file_, document.dump(2) + "\n");
}

std::optional<std::string> ScheduleState::last_written(const std::string& schedule) const {
  const auto it = entries_.find(schedule);
  if (it == entries_.end()) return std::nullopt;
  return it->second.period_key;
}

std::optional<ScheduleState::Entry> ScheduleState::last_entry(const std::string& schedule) const {
  const auto it = entries_.find(schedule);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void ScheduleState::mark_written(const DueReport& report, sys_seconds written_at) {
  mark_written(report.schedule, report.period_key, report.fire_time, written_at);
}

void ScheduleState::mark_written(const std::string& schedule, const std::string& period_key,
                                 sys_seconds fire_time, sys_seconds written_at) {
  entries_.insert_or_assign(schedule, Entry{period_key, fire_time, written_at});
}

void ScheduleState::put_delivery(const DeliveryKey& key, StoredDelivery delivery) {
  deliveries_.insert_or_assign(key, std::move(delivery));
}

std::vector<DeliveryKey> ScheduleState::prune_deliveries(const std::string& schedule,
                                                         const std::string& period_key) {
  std::vector<DeliveryKey> forgotten;
  for (auto it = deliveries_.begin(); it != deliveries_.end();) {
    if (it->first.schedule == schedule && it->first.period_key < period_key &&
        it->second.finished) {
      forgotten.push_back(it->first);
      it = deliveries_.erase(it);
    } else {
      ++it;
    }
  }
  return forgotten;
}

std::vector<DueReport> due_reports(const std::vector<ScheduleSpec>& specs,
                                   const ScheduleState& state, sys_seconds last_check,
                                   sys_seconds now) {
  std::vector<DueReport> due;
  for (const ScheduleSpec& spec : specs) {
    // Only the latest fire time: older missed ones are superseded, never written as a burst.
    const std::optional<sys_seconds> fire = spec.cron.previous_at_or_before(now);
    if (!fire) continue;
    const Period period = period_for(spec.period, *fire);
    std::string key = period_key(period);
    if (const auto last = state.last_entry(spec.name)) {
      if (last->period_key == key) continue;
      // Never back to an older fire time than the one last written: after a clock step backwards,
      // or a schedule edited to fire earlier, that older period was most likely written already.
      if (*fire <= last->fire_time) continue;
    }
    due.push_back(DueReport{spec.name, *fire, period, std::move(key), *fire <= last_check});
  }
  return due;
}

std::optional<sys_seconds> next_wakeup(const std::vector<ScheduleSpec>& specs, sys_seconds now) {
  std::optional<sys_seconds> earliest;
  for (const ScheduleSpec& spec : specs) {
    const std::optional<sys_seconds> next = spec.cron.next_after(now);
    if (next && (!earliest || *next < *earliest)) earliest = next;
  }
  return earliest;
}

}  // namespace scalr_usage
