#include "collectors/scalr_api/page_reader.h"

#include <climits>
#include <stdexcept>

#include "model/period.h"

namespace scalr_usage::jsonapi_detail {

using json = nlohmann::json;

std::string truncate_utf8(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  text += "...";
  return text;
}

std::string describe(const json& value) {
  switch (value.type()) {
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::discarded:
      return "a value nested too deeply";  // the workspace reader drops those
    default:
      return truncate_utf8(value.dump(-1, ' ', false, json::error_handler_t::replace), 40);
  }
}

[[noreturn]] void reject(const std::string& path, std::string_view expected) {
  throw SourceError(ErrorReason::bad_response, path + ": " + std::string(expected));
}

[[noreturn]] void reject(const std::string& path, std::string_view expected, const json& got) {
  throw SourceError(ErrorReason::bad_response,
                    path + ": " + std::string(expected) + ", got " + describe(got));
}

std::optional<int> next_page_of(const std::optional<int>& next_page,
                                const std::optional<int>& total_pages, int page, int pages_left,
                                int max_pages, const std::string& context, std::string_view what) {
  if (!next_page) return std::nullopt;
  if (*next_page <= page) {
    throw SourceError(ErrorReason::bad_response,
                      context + "pagination loop: next-page is " + std::to_string(*next_page));
  }
  if (pages_left <= 0 || (total_pages && *total_pages - page > pages_left)) {
    throw SourceError(ErrorReason::too_large, context + "more than " + std::to_string(max_pages) +
                                                  " pages " + std::string(what) +
                                                  " (scalr.max_pages)");
  }
  return next_page;
}

namespace {

constexpr std::string_view kUsageType = "usage-statistics";

}  // namespace

UsagePage PageReader::take() && {
  if (error_) throw *error_;
  if (!data_seen_) reject("data", "missing, expected an array");
  return std::move(page_);
}

bool PageReader::parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                             const nlohmann::detail::exception& error) {
  // parse_error for malformed text, out_of_range for a number beyond double such as 1e400.
  // error.what() names the byte offset and the problem, which tells a truncated body apart.
  throw SourceError(ErrorReason::bad_response, "response is not valid JSON (" +
                                                   std::to_string(body_size_) +
                                                   " bytes): " + truncate_utf8(error.what(), 200));
}

std::string PageReader::frame_path() const {
  std::string path;
  for (const Frame& frame : frames_) path += frame.segment;
  return path;
}

std::string PageReader::segment_for_slot() const {
  const Frame& top = frames_.back();
  if (top.role == Role::data) return "[" + std::to_string(top.next_index) + "]";
  return frames_.size() == 1 ? top.key : "." + top.key;
}

std::optional<PageReader::Role> PageReader::container_role() const {
  if (frames_.empty()) return Role::document;
  const Frame& top = frames_.back();
  const std::string& key = top.key;
  switch (top.role) {
    case Role::document:
      if (key == "data") return Role::data;
      if (key == "meta") return Role::meta;
      return std::nullopt;
    case Role::data:
      return Role::item;
    case Role::item:
      if (key == "attributes") return Role::attributes;
      if (key == "relationships") return Role::relationships;
      return std::nullopt;
    case Role::relationships:
      if (key == "account") return Role::account;
      return std::nullopt;
    case Role::account:
      if (key == "data") return Role::account_data;
      return std::nullopt;
    case Role::meta:
      if (key == "pagination") return Role::pagination;
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::string PageReader::Field::expected() const {
  switch (target.index()) {
    case 0:
      return "expected a string or null";
    case 1:
      return "expected a non-negative integer";
    default:
      return "expected an integer >= " + std::to_string(minimum) + " or null";
  }
}

std::optional<PageReader::Field> PageReader::field_at_slot() {
  const Frame& top = frames_.back();
  const std::string& key = top.key;
  switch (top.role) {
    case Role::item:
      if (key == "type") return Field{&item_.type};
      break;
    case Role::attributes:
      if (key == "breakdown-id") return Field{&item_.breakdown_id};
      if (key == "breakdown-name") return Field{&item_.breakdown_name};
      if (key == "date") return Field{&item_.date};
      if (key == "runs-count") return Field{&item_.runs_count};
      if (key == "runs-seconds") return Field{&item_.runs_seconds};
      break;
    case Role::account_data:
      if (key == "type") return Field{&item_.account_type};
      if (key == "id") return Field{&item_.account_id};
      break;
    case Role::pagination:
      if (key == "next-page") return Field{&page_.next_page, 1};
      if (key == "total-pages") return Field{&page_.total_pages, 0};
      break;
    default:
      break;
  }
  return std::nullopt;
}

void PageReader::store(const Field& field, const Scalar& scalar) {
  const bool is_null = scalar.value.is_null();
  // nlohmann reads every non-negative integer literal as unsigned; negative ones as signed and
  // anything with a fraction or exponent as float, all of which are wrong for a count.
  const std::optional<std::uint64_t>& number = scalar.unsigned_value;
  bool valid = true;
  if (auto* const* text = std::get_if<0>(&field.target)) {
    valid = is_null || scalar.text != nullptr;
    if (valid) **text = is_null ? std::nullopt : std::optional<std::string>(*scalar.text);
  } else if (auto* const* count = std::get_if<1>(&field.target)) {
    valid = is_null || number.has_value();
    if (valid) **count = number;
  } else {
    auto* page = std::get<2>(field.target);
    valid = is_null ||
            (number && *number >= field.minimum && *number <= static_cast<std::uint64_t>(INT_MAX));
    if (valid) *page = is_null ? std::nullopt : std::optional<int>(static_cast<int>(*number));
  }
  if (!valid) reject(slot_path(), field.expected(), scalar.value);
}

std::string_view PageReader::expected_container(Role role) {
  switch (role) {
    case Role::document:
      return "expected a JSON:API document (an object)";
    case Role::data:
      return "expected an array";
    default:
      return "expected an object";
  }
}

bool PageReader::start(Kind kind) {
  if (skip_depth_ > 0) {
    ++skip_depth_;
    return true;
  }
  const char* const got = kind == Kind::array ? ", got an array" : ", got an object";
  const std::optional<Role> role = container_role();
  if (!role) {
    if (const auto field = field_at_slot()) reject(slot_path(), field->expected() + got);
    skip_depth_ = 1;
    return true;
  }
  const bool wanted_kind = (*role == Role::data) == (kind == Kind::array);
  if (!wanted_kind) {
    reject(frames_.empty() ? "$" : slot_path(), std::string(expected_container(*role)) + got);
  }
  std::string segment = frames_.empty() ? std::string() : segment_for_slot();
  if (!frames_.empty() && frames_.back().role == Role::data) ++frames_.back().next_index;
  switch (*role) {
    case Role::data:
      data_seen_ = true;
      page_.items.clear();
      break;
    case Role::item:
      item_ = ItemParts{};
      break;
    case Role::attributes:  // a repeated key replaces the earlier value, as in a DOM
      item_.attributes = true;
      item_.breakdown_id.reset();
      item_.breakdown_name.reset();
      item_.date.reset();
      item_.runs_count.reset();
      item_.runs_seconds.reset();
      break;
    case Role::account_data:
      item_.account_data = true;
      item_.account_type.reset();
      item_.account_id.reset();
      break;
    case Role::pagination:
      page_.next_page.reset();
      page_.total_pages.reset();
      break;
    default:
      break;
  }
  frames_.push_back(Frame{*role, std::move(segment), {}, 0});
  return true;
}

bool PageReader::end() {
  if (skip_depth_ > 0) {
    --skip_depth_;
    return true;
  }
  if (frames_.back().role == Role::item) finish_item();
  frames_.pop_back();
  return true;
}

bool PageReader::scalar_value(const Scalar& scalar) {
  if (skip_depth_ > 0) return true;
  if (frames_.empty()) {
    reject("$", "expected a JSON:API document (an object)", scalar.value);
  }
  if (const std::optional<Role> role = container_role()) {
    // A container was wanted; null counts as absent (a missing data or attributes is reported
    // where its parent ends), except for an item of data.
    if (!scalar.value.is_null() || *role == Role::item) {
      reject(slot_path(), expected_container(*role), scalar.value);
    }
    if (*role == Role::data) {
      data_seen_ = false;
      page_.items.clear();
    }
    if (*role == Role::attributes) item_.attributes = false;
    if (*role == Role::account_data || *role == Role::account) item_.account_data = false;
    return true;
  }
  if (const auto field = field_at_slot()) store(*field, scalar);
  return true;
}

void PageReader::finish_item() {
  const std::string path = frame_path();
  if (!item_.type || *item_.type != kUsageType) {
    reject(path + ".type", "expected \"usage-statistics\", got " +
                               (item_.type ? "\"" + truncate_utf8(*item_.type, 40) + "\""
                                           : std::string("nothing")));
  }
  const std::string attributes_path = path + ".attributes";
  if (!item_.attributes) reject(attributes_path, "missing, expected an object");
  UsageItem result;
  if (item_.account_data) {
    const std::string data_path = path + ".relationships.account.data";
    if (item_.account_type && *item_.account_type != "accounts") {
      reject(data_path + ".type", "expected \"accounts\", got \"" + *item_.account_type + "\"");
    }
    if (!item_.account_id || item_.account_id->empty()) {
      reject(data_path + ".id", "missing, expected an account id");
    }
    result.account_id = std::move(*item_.account_id);
  }
  result.breakdown_id = std::move(item_.breakdown_id);
  result.breakdown_name = std::move(item_.breakdown_name);
  if (item_.date) {
    try {
      result.date = parse_date(*item_.date);
    } catch (const std::invalid_argument&) {
      reject(attributes_path + ".date",
             "expected a YYYY-MM-DD date, got \"" + truncate_utf8(*item_.date, 40) + "\"");
    }
  }
  if (!item_.runs_count) {
    reject(attributes_path + ".runs-count", "missing, expected a non-negative integer");
  }
  if (!item_.runs_seconds) {
    reject(attributes_path + ".runs-seconds", "missing, expected a non-negative integer");
  }
  result.runs_count = *item_.runs_count;
  result.runs_seconds = *item_.runs_seconds;
  page_.items.push_back(std::move(result));
}

}  // namespace scalr_usage::jsonapi_detail
