#include "reports/config.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <stdexcept>

#include "config/files.h"    // non_empty_path
#include "reports/render.h"  // kReportFormats
#include "util/text.h"

namespace scalr_usage {

namespace {

// billing.overage_price: a plain decimal number; money is integer millionths from here on
// (price_micros), so anything price_micros refuses is refused here, where the key can be named.
double overage_price(const std::string& text) {
  double price = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), price);
  bool valid = error == std::errc() && end == text.data() + text.size();
  if (valid) {
    try {
      price_micros(price);
    } catch (const std::invalid_argument&) {
      valid = false;
    }
  }
  if (!valid) {
    throw std::invalid_argument("want a price from 0 to 1000000 like 0.99, got " +
                                quote_for_message(text));
  }
  return price;
}

// ISO 4217 style: the renderers print it next to every amount and in the FOCUS BillingCurrency.
std::string currency_code(const std::string& text) {
  if (text.size() != 3 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    throw std::invalid_argument("want 3 uppercase letters like USD or EUR, got " +
                                quote_for_message(text));
  }
  return text;
}

// A schedule's name becomes a directory name and a state file key, so it is kept to characters
// that are safe in both and cannot be "." or "..".
std::string schedule_name(const std::string& text) {
  const bool valid = !text.empty() && text.size() <= 64 &&
                     std::all_of(text.begin(), text.end(),
                                 [](char c) { return is_alnum(c) || c == '_' || c == '-'; });
  if (!valid) {
    throw std::invalid_argument("want a name of 1 to 64 letters, digits, _ or -, got " +
                                quote_for_message(text));
  }
  return text;
}

void report_format(const std::string& format) {
  if (std::find(kReportFormats.begin(), kReportFormats.end(), format) == kReportFormats.end()) {
    throw std::invalid_argument("unknown format " + quote_for_message(format) + " (want " +
                                report_format_choices() + ")");
  }
}

// The daemon runs with / as its working directory under systemd; a relative path would silently
// depend on where it was started.
std::filesystem::path absolute_directory(const std::string& text) {
  if (text.empty() || text.front() != '/') {
    throw std::invalid_argument("want an absolute directory path, got " + quote_for_message(text));
  }
  return std::filesystem::path(text).lexically_normal();
}

ReportSchedule parse_schedule(const ConfigNode& item, const std::vector<ReportSchedule>& earlier,
                              std::vector<ConfigField> more_fields) {
  std::optional<std::string> name;
  std::optional<CronExpression> cron;
  std::optional<PeriodKind> period;
  std::vector<std::string> formats(kReportFormats.begin(), kReportFormats.end());
  std::vector<ConfigField> fields = {
      {"name",
       [&](const ConfigNode& v) {
         name = v.parsed("a schedule name", schedule_name);
         for (const ReportSchedule& other : earlier) {
           if (other.name == *name) v.fail("duplicate schedule name " + quote_for_message(*name));
         }
       }},
      {"cron",
       [&](const ConfigNode& v) {
         cron = v.parsed("a cron expression like \"0 6 1 * *\"", &CronExpression::parse);
       }},
      {"period",
       [&](const ConfigNode& v) { period = v.parsed("a report period", &parse_period_kind); }},
      {"formats",
       [&](const ConfigNode& v) {
         formats = v.unique_words("a list of formats", EmptyList::refused, report_format);
       }},
  };
  fields.insert(fields.end(), more_fields.begin(), more_fields.end());
  item.walk(fields);
  if (!name) item.fail_at(item.path() + ".name", "required (e.g. monthly)");
  if (!cron) item.fail_at(item.path() + ".cron", "required (e.g. \"0 6 1 * *\")");
  if (!period) {
    item.fail_at(item.path() + ".period",
                 "required (previous_month, month_to_date or previous_day)");
  }
  return ReportSchedule{std::move(*name), std::move(*cron), *period, std::move(formats)};
}

// A lock key is only hashed (leader_election/), so any one-line text works; the bound keeps a
// pasted file from becoming one.
std::string lock_key(const std::string& text) {
  if (text.empty() || text.size() > 256) {
    throw std::invalid_argument("want 1 to 256 characters, got " + quote_for_message(text));
  }
  return text;
}

LeaderElectionConfig parse_leader_election(const ConfigNode& section) {
  LeaderElectionConfig election;
  section.walk({
      {"dsn", [&](const ConfigNode& v) { election.dsn_value = v.text("a connection string"); }},
      {"dsn_file",
       [&](const ConfigNode& v) { election.dsn_file = v.parsed("a file path", non_empty_path); }},
      {"dsn_credential",
       [&](const ConfigNode& v) { election.dsn_credential = v.text("a credential name"); }},
      {"lock_key",
       [&](const ConfigNode& v) { election.lock_key = v.parsed("a lock key", lock_key); }},
  });
  return election;
}

}  // namespace

void parse_reports_section(const ConfigNode& section, ReportsConfig& reports,
                           const ReportsSectionHooks& hooks) {
  std::vector<ConfigField> fields = {
      {"output_dir",
       [&](const ConfigNode& v) {
         reports.output_dir = v.parsed("a directory path", absolute_directory);
       }},
      {"schedules",
       [&](const ConfigNode& v) {
         for (const ConfigNode& item : v.items("a list of schedules", EmptyList::allowed)) {
           std::vector<ConfigField> more;
           if (hooks.schedule_fields) more = hooks.schedule_fields(reports.schedules.size());
           reports.schedules.push_back(parse_schedule(item, reports.schedules, std::move(more)));
         }
       }},
      {"keep", [&](const ConfigNode& v) { reports.keep = static_cast<int>(v.integer(1, 100000)); }},
      {"leader_election",
       [&](const ConfigNode& v) { reports.leader_election = parse_leader_election(v); }},
  };
  fields.insert(fields.end(), hooks.fields.begin(), hooks.fields.end());
  section.walk(fields);
}

void parse_billing_section(const ConfigNode& section, BillingPlan& billing) {
  section.walk({
      {"included_runs",
       [&](const ConfigNode& v) {
         billing.included_runs = static_cast<std::uint64_t>(v.integer(0));
       }},
      {"overage_price",
       [&](const ConfigNode& v) {
         billing.overage_price = v.parsed("a price like 0.99", overage_price);
       }},
      {"currency",
       [&](const ConfigNode& v) { billing.currency = v.parsed("a currency code", currency_code); }},
  });
}

}  // namespace scalr_usage
