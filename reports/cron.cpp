#include "reports/cron.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include "util/text.h"

namespace scalr_usage {

using namespace std::chrono;

namespace {

// What one of the five fields accepts.
struct FieldSpec {
  std::string_view name;
  int min;
  int max;
  int star_max;  // where `*` and `a/n` stop: max, except 6 for day-of-week (Sunday once)
  std::span<const std::string_view> names;  // names[i] means min + i; empty when none
};

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                       "THU", "FRI", "SAT"};

constexpr FieldSpec kMinute{"minute", 0, 59, 59, {}};
constexpr FieldSpec kHour{"hour", 0, 23, 23, {}};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, 31, {}};
constexpr FieldSpec kMonth{"month", 1, 12, 12, kMonthNames};
constexpr FieldSpec kDayOfWeek{"day-of-week", 0, 7, 6, kDayNames};

struct Macro {
  std::string_view name;
  std::string_view expansion;
};
constexpr std::array<Macro, 7> kMacros = {{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

// The calendar arithmetic below is exact for these years; outside them nothing fires, which keeps
// absurd inputs (e.g. the largest sys_seconds) away from integer overflow.
constexpr year kFirstSupportedYear{1900};
constexpr year kLastSupportedYear{9000};

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t end = text.find(separator, begin);
    parts.push_back(text.substr(begin, end == std::string_view::npos ? end : end - begin));
    if (end == std::string_view::npos) return parts;
    begin = end + 1;
  }
}

std::vector<std::string_view> split_whitespace(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && is_space(text[pos])) ++pos;
    const std::size_t begin = pos;
    while (pos < text.size() && !is_space(text[pos])) ++pos;
    if (pos > begin) parts.push_back(text.substr(begin, pos - begin));
  }
  return parts;
}

[[noreturn]] void fail(const FieldSpec& field, const std::string& what) {
  throw std::invalid_argument("cron field '" + std::string(field.name) + "': " + what);
}

std::string range_text(int lo, int hi) { return std::to_string(lo) + "-" + std::to_string(hi); }

// Digits only; anything longer than a few digits is out of range anyway, and capping the value
// avoids overflow on inputs like 99999999999.
std::optional<int> parse_digits(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = std::min(value * 10 + (c - '0'), 1'000'000);
  }
  return value;
}

int parse_value(const FieldSpec& field, std::string_view text, std::string_view element) {
  if (text.empty()) fail(field, "missing value in " + quote_for_message(element));
  if (const auto number = parse_digits(text)) {
    if (*number < field.min || *number > field.max) {
      // The text as written: the parsed value is capped for huge inputs.
      fail(field, std::string(text) + " is out of range " + range_text(field.min, field.max));
    }
    return *number;
  }
  if (!field.names.empty() && std::isalpha(static_cast<unsigned char>(text.front()))) {
    const std::string wanted = upper(text);
    for (std::size_t i = 0; i < field.names.size(); ++i) {
      if (field.names[i] == wanted) return field.min + static_cast<int>(i);
    }
    fail(field, "unknown name " + quote_for_message(text) + " (want " +
                    std::string(field.names.front()) + "-" + std::string(field.names.back()) + ")");
  }
  fail(field, quote_for_message(text) + " is not a number");
}

int parse_step(const FieldSpec& field, std::string_view text, std::string_view element) {
  if (text.empty()) fail(field, "missing step after '/' in " + quote_for_message(element));
  const auto step = parse_digits(text);
  if (!step) fail(field, "step " + quote_for_message(text) + " is not a number");
  if (*step == 0) fail(field, "step 0 in " + quote_for_message(element) + " must be at least 1");
  const int span = field.star_max - field.min + 1;
  if (*step > span) {
    fail(field, "step " + std::to_string(*step) + " is out of range " + range_text(1, span));
  }
  return *step;
}

// One list element: `*`, `a`, `a-b`, `*/n`, `a-b/n` or `a/n`. Bit i of the result is value i.
std::uint64_t parse_element(const FieldSpec& field, std::string_view element) {
  std::string_view base = element;
  std::optional<int> step;
  if (const std::size_t slash = element.find('/'); slash != std::string_view::npos) {
    base = element.substr(0, slash);
    step = parse_step(field, element.substr(slash + 1), element);
  }

  int lo = 0;
  int hi = 0;
  if (base == "*") {
    lo = field.min;
    hi = field.star_max;
  } else if (const std::size_t dash = base.find('-'); dash != std::string_view::npos) {
    lo = parse_value(field, base.substr(0, dash), element);
    hi = parse_value(field, base.substr(dash + 1), element);
    if (hi < lo) {
      std::string hint;
      if (&field == &kDayOfWeek && hi == 0) hint = " (Sunday at the end of a range is 7)";
      fail(field, "range " + quote_for_message(base) + " is reversed" + hint);
    }
  } else {
    lo = parse_value(field, base, element);
    hi = step ? field.star_max : lo;
    // "6/2" in day-of-week would otherwise be an empty range from 7 onwards.
    if (hi < lo) hi = lo;
  }

  std::uint64_t bits = 0;
  for (int value = lo; value <= hi; value += step.value_or(1)) bits |= std::uint64_t{1} << value;
  return bits;
}

std::uint64_t parse_field(const FieldSpec& field, std::string_view text) {
  std::uint64_t bits = 0;
  for (const std::string_view element : split(text, ',')) {
    if (element.empty()) fail(field, "empty list element in " + quote_for_message(text));
    bits |= parse_element(field, element);
  }
  return bits;
}

template <std::size_t N>
std::bitset<N> to_bitset(std::uint64_t bits) {
  return std::bitset<N>(bits);
}

// The first set bit at or after from, or -1.
template <std::size_t N>
int next_set(const std::bitset<N>& bits, int from) {
  for (int i = std::max(from, 0); i < static_cast<int>(N); ++i) {
    if (bits[static_cast<std::size_t>(i)]) return i;
  }
  return -1;
}

// The last set bit at or before from, or -1.
template <std::size_t N>
int previous_set(const std::bitset<N>& bits, int from) {
  for (int i = std::min(from, static_cast<int>(N) - 1); i >= 0; --i) {
    if (bits[static_cast<std::size_t>(i)]) return i;
  }
  return -1;
}

// A minute split into the calendar parts the search walks.
struct MinuteParts {
  sys_days day;
  year_month_day ymd;
  int hour;
  int minute;
};

MinuteParts split_minute(sys_seconds t) {
  const sys_days day = floor<days>(t);
  const auto since_midnight = floor<minutes>(t - day);
  return MinuteParts{day, year_month_day{day}, static_cast<int>(since_midnight.count() / 60),
                     static_cast<int>(since_midnight.count() % 60)};
}

bool supported(sys_seconds t) {
  constexpr sys_seconds kFirst{sys_days{kFirstSupportedYear / January / 1}};
  constexpr sys_seconds kEnd{sys_days{kLastSupportedYear / January / 1}};
  return t >= kFirst && t < kEnd;
}

sys_seconds fire_time(year_month_day day, int hour, int minute) {
  return sys_seconds{sys_days{day}} + hours{hour} + minutes{minute};
}

}  // namespace

CronExpression CronExpression::parse(std::string_view text) {
  const std::string_view trimmed = trim(text);
  if (trimmed.empty()) throw std::invalid_argument("empty cron expression");

  std::string_view fields_text = trimmed;
  if (trimmed.front() == '@') {
    const std::string name = to_lower(trimmed);
    const Macro* found = nullptr;
    for (const Macro& macro : kMacros) {
      if (macro.name == name) found = &macro;
    }
    if (found == nullptr) {
      throw std::invalid_argument(
          "unknown cron macro " + quote_for_message(trimmed) +
          " (want @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)");
    }
    fields_text = found->expansion;
  }

  const std::vector<std::string_view> fields = split_whitespace(fields_text);
  if (fields.size() != 5) {
    throw std::invalid_argument("cron expression " + quote_for_message(trimmed) + " has " +
                                std::to_string(fields.size()) +
                                " fields, want 5 (minute hour day-of-month month day-of-week)");
  }

  CronExpression cron;
  cron.minutes_ = to_bitset<60>(parse_field(kMinute, fields[0]));
  cron.hours_ = to_bitset<24>(parse_field(kHour, fields[1]));
  cron.days_of_month_ = to_bitset<32>(parse_field(kDayOfMonth, fields[2]));
  cron.months_ = to_bitset<13>(parse_field(kMonth, fields[3]));
  std::uint64_t days_of_week = parse_field(kDayOfWeek, fields[4]);
  if ((days_of_week & (std::uint64_t{1} << 7)) != 0) days_of_week |= 1;  // 7 is Sunday too
  cron.days_of_week_ = to_bitset<7>(days_of_week);
  cron.day_of_month_unrestricted_ = fields[2].front() == '*';
  cron.day_of_week_unrestricted_ = fields[4].front() == '*';
  cron.text_ = std::string(trimmed);
  return cron;
}

bool CronExpression::day_matches(year_month_day day) const {
  const bool by_month_day = days_of_month_[static_cast<unsigned>(day.day())];
  const bool by_week_day = days_of_week_[weekday{sys_days{day}}.c_encoding()];
  if (day_of_month_unrestricted_ || day_of_week_unrestricted_) return by_month_day && by_week_day;
  return by_month_day || by_week_day;
}

bool CronExpression::matches(sys_seconds t) const {
  if (!supported(t) || floor<minutes>(t) != t) return false;
  const MinuteParts parts = split_minute(t);
  return months_[static_cast<unsigned>(parts.ymd.month())] && day_matches(parts.ymd) &&
         hours_[static_cast<std::size_t>(parts.hour)] &&
         minutes_[static_cast<std::size_t>(parts.minute)];
}

// Walks months, then days, then hours, then minutes, skipping whole units that cannot match, so
// even an impossible schedule costs at most one weekday check per day of the horizon.
std::optional<sys_seconds> CronExpression::next_after(sys_seconds t) const {
  if (!supported(t)) return std::nullopt;
  const MinuteParts start = split_minute(floor<minutes>(t) + minutes{1});
  const year_month start_month = start.ymd.year() / start.ymd.month();
  const year last_year = start.ymd.year() + years{kSearchHorizonYears};

  for (year_month ym = start_month; ym.year() <= last_year; ym += months{1}) {
    if (!months_[static_cast<unsigned>(ym.month())]) continue;
    const unsigned first_day = ym == start_month ? static_cast<unsigned>(start.ymd.day()) : 1;
    const unsigned last_day = static_cast<unsigned>((ym / last).day());
    for (unsigned d = first_day; d <= last_day; ++d) {
      const year_month_day ymd = ym / day{d};
      if (!day_matches(ymd)) continue;
      const bool start_day = sys_days{ymd} == start.day;
      for (int h = next_set(hours_, start_day ? start.hour : 0); h >= 0;
           h = next_set(hours_, h + 1)) {
        const bool start_hour = start_day && h == start.hour;
        const int m = next_set(minutes_, start_hour ? start.minute : 0);
        if (m >= 0) return fire_time(ymd, h, m);
      }
    }
  }
  return std::nullopt;
}

// The mirror image of next_after: the same walk, backwards.
std::optional<sys_seconds> CronExpression::previous_at_or_before(sys_seconds t) const {
  if (!supported(t)) return std::nullopt;
  const MinuteParts start = split_minute(floor<minutes>(t));
  const year_month start_month = start.ymd.year() / start.ymd.month();
  const year first_year = start.ymd.year() - years{kSearchHorizonYears};

  for (year_month ym = start_month; ym.year() >= first_year; ym -= months{1}) {
    if (!months_[static_cast<unsigned>(ym.month())]) continue;
    const unsigned last_day = ym == start_month ? static_cast<unsigned>(start.ymd.day())
                                                : static_cast<unsigned>((ym / last).day());
    for (unsigned d = last_day; d >= 1; --d) {
      const year_month_day ymd = ym / day{d};
      if (!day_matches(ymd)) continue;
      const bool start_day = sys_days{ymd} == start.day;
      for (int h = previous_set(hours_, start_day ? start.hour : 23); h >= 0;
           h = previous_set(hours_, h - 1)) {
        const bool start_hour = start_day && h == start.hour;
        const int m = previous_set(minutes_, start_hour ? start.minute : 59);
        if (m >= 0) return fire_time(ymd, h, m);
      }
    }
  }
  return std::nullopt;
}

}  // namespace scalr_usage
