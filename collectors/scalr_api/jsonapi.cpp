#include "collectors/scalr_api/jsonapi.h"

#include <algorithm>
#include <climits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <utility>
#include <variant>
#include <vector>

#include "collectors/source.h"
#include "model/period.h"
#include "util/text.h"  // is_control

namespace scalr_usage {

namespace {

using json = nlohmann::json;

constexpr std::string_view kUsageType = "usage-statistics";
constexpr std::size_t kSummaryMax = 300;
// error_summary() shows a JSON body without JSON:API errors as dump() prints it, but dump()
// recurses once per nesting level: a body nested a hundred thousand levels deep (200 KB, well
// within max_response_bytes) overflows the stack. Deeper bodies are shown by their first line.
constexpr int kMaxDumpDepth = 64;
constexpr std::size_t kMaxSummaryParseBytes = 64 * 1024;

// Cuts text to at most max bytes (plus "..."), backing off so no UTF-8 sequence is split.
std::string truncate_utf8(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  text += "...";
  return text;
}

// A short rendering of an unexpected value for an error message; bodies can be large.
std::string describe(const json& value) {
  switch (value.type()) {
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::discarded:
      return "nothing";
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

// nullptr when the key is absent or its value is null: the API uses both for "not applicable".
const json* present(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

// Reads one page while nlohmann's SAX parser walks the body, checking every value against the
// documented shape as it comes and keeping only what a UsageItem needs. A DOM of the body would
// be up to ~20 times its size (a page may be scalr.max_response_bytes, 8 MiB by default); this
// keeps the items and a few strings. Values of unknown keys are skipped, however deep. Errors are
// thrown from the callbacks as SourceError(bad_response), named by the path that is wrong.
class PageReader final : public nlohmann::json_sax<json> {
 public:
  explicit PageReader(std::size_t body_size) : body_size_(body_size) {}

  UsagePage take() && {
    if (error_) throw *error_;
    if (!data_seen_) reject("data", "missing, expected an array");
    return std::move(page_);
  }

  bool null() override {
    return guarded([&] { return scalar_value(Scalar(json())); });
  }
  bool boolean(bool value) override {
    return guarded([&] { return scalar_value(Scalar(json(value))); });
  }
  bool number_integer(number_integer_t value) override {
    return guarded([&] { return scalar_value(Scalar(json(value))); });
  }
  bool number_unsigned(number_unsigned_t value) override {
    return guarded([&] { return scalar_value(Scalar(json(value), nullptr, value)); });
  }
  bool number_float(number_float_t value, const string_t& /*text*/) override {
    return guarded([&] { return scalar_value(Scalar(json(value))); });
  }
  bool string(string_t& value) override {
    return guarded([&] { return scalar_value(Scalar(json(value), &value)); });
  }
  bool binary(binary_t& /*value*/) override {
    return guarded([&] { return scalar_value(Scalar(json("binary"))); });
  }

  bool start_object(std::size_t /*elements*/) override {
    return guarded([&] { return start(Kind::object); });
  }
  bool start_array(std::size_t /*elements*/) override {
    return guarded([&] { return start(Kind::array); });
  }
  bool key(string_t& key) override {
    if (!error_ && skip_depth_ == 0) frames_.back().key = key;
    return true;
  }
  bool end_object() override {
    return guarded([&] { return end(); });
  }
  bool end_array() override {
    return guarded([&] { return end(); });
  }

  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& error) override {
    // parse_error for malformed text, out_of_range for a number beyond double such as 1e400.
    // error.what() names the byte offset and the problem, which tells a truncated body apart.
    throw SourceError(ErrorReason::bad_response,
                      "response is not valid JSON (" + std::to_string(body_size_) +
                          " bytes): " + truncate_utf8(error.what(), 200));
  }

 private:
  // The first shape error is kept and every later event ignored, so that the parser still reads
  // to the end: a body that is not JSON at all (truncated, say) is reported as such first.
  template <typename Event>
  bool guarded(Event event) {
    if (error_) return true;
    try {
      return event();
    } catch (const SourceError& error) {
      error_ = error;
      return true;
    }
  }

  enum class Kind { object, array };
  // What a container is in the document; skipped containers have no frame (skip_depth_).
  enum class Role {
    document,
    data,
    item,
    attributes,
    relationships,
    account,
    account_data,
    meta,
    pagination,
  };
  struct Frame {
    Role role;
    std::string segment;         // how the path reaches it: "data", "[3]", ".attributes"
    std::string key;             // an object's current key
    std::size_t next_index = 0;  // an array's next element
  };
  // A scalar as it came: json for error messages, and the forms the fields take.
  struct Scalar {
    explicit Scalar(json v, const std::string* t = nullptr,
                    std::optional<std::uint64_t> u = std::nullopt)
        : value(std::move(v)), text(t), unsigned_value(u) {}
    json value;
    const std::string* text;
    std::optional<std::uint64_t> unsigned_value;
  };
  // The parts of the current item, filled in as their values come (last one wins, as in a DOM).
  struct ItemParts {
    std::optional<std::string> type;
    bool attributes = false;
    std::optional<std::string> breakdown_id;
    std::optional<std::string> breakdown_name;
    std::optional<std::string> date;
    std::optional<std::uint64_t> runs_count;
    std::optional<std::uint64_t> runs_seconds;
    bool account_data = false;  // relationships.account.data is an object
    std::optional<std::string> account_type;
    std::optional<std::string> account_id;
  };

  // The path of the frames: "data[3].attributes".
  std::string frame_path() const {
    std::string path;
    for (const Frame& frame : frames_) path += frame.segment;
    return path;
  }
  // How the path goes from the top frame to the value the parser is at: "[3]", ".date", "data".
  std::string segment_for_slot() const {
    const Frame& top = frames_.back();
    if (top.role == Role::data) return "[" + std::to_string(top.next_index) + "]";
    return frames_.size() == 1 ? top.key : "." + top.key;
  }
  // The path of the value the parser is at.
  std::string slot_path() const { return frame_path() + segment_for_slot(); }

  // The role a container at the current slot would have; nullopt: not part of the shape (skip).
  // A scalar at the slot is checked by scalar_value().
  std::optional<Role> container_role() const {
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

  // A scalar field of the shape: where its value goes, and so what it must be.
  struct Field {
    std::variant<std::optional<std::string>*, std::optional<std::uint64_t>*, std::optional<int>*>
        target;
    std::uint64_t minimum = 0;  // of a page number

    std::string expected() const {
      switch (target.index()) {
        case 0:
          return "expected a string or null";
        case 1:
          return "expected a non-negative integer";
        default:
          return "expected an integer >= " + std::to_string(minimum) + " or null";
      }
    }
  };

  // The scalar field at the current slot; nullopt when the slot is none (a value to skip).
  std::optional<Field> field_at_slot() {
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

  // Stores scalar in field, or rejects it. null clears the field: absent and null are the same.
  void store(const Field& field, const Scalar& scalar) {
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
      valid = is_null || (number && *number >= field.minimum &&
                          *number <= static_cast<std::uint64_t>(INT_MAX));
      if (valid) *page = is_null ? std::nullopt : std::optional<int>(static_cast<int>(*number));
    }
    if (!valid) reject(slot_path(), field.expected(), scalar.value);
  }

  static std::string_view expected_container(Role role) {
    switch (role) {
      case Role::document:
        return "expected a JSON:API document (an object)";
      case Role::data:
        return "expected an array";
      default:
        return "expected an object";
    }
  }

  bool start(Kind kind) {
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

  bool end() {
    if (skip_depth_ > 0) {
      --skip_depth_;
      return true;
    }
    if (frames_.back().role == Role::item) finish_item();
    frames_.pop_back();
    return true;
  }

  bool scalar_value(const Scalar& scalar) {
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

  // The checks that need the whole item, in the order a reader would look.
  void finish_item() {
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

  const std::size_t body_size_;
  std::optional<SourceError> error_;
  std::vector<Frame> frames_;
  std::size_t skip_depth_ = 0;  // > 0 inside a value that is not part of the shape
  ItemParts item_;
  bool data_seen_ = false;
  UsagePage page_;
};

}  // namespace

UsagePage parse_usage_page(std::string_view body) {
  PageReader reader(body.size());
  json::sax_parse(body.begin(), body.end(), &reader);
  return std::move(reader).take();
}

namespace {

std::string text_of(const json& object, const char* key) {
  const json* value = present(object, key);
  if (value == nullptr) return {};
  if (value->is_string()) return value->get<std::string>();
  if (value->is_number()) return value->dump();  // "status": 404 instead of "404"
  return {};
}

std::string summarize_jsonapi_errors(const json& errors) {
  std::string summary;
  for (const auto& error : errors) {
    if (!error.is_object()) continue;
    std::string head = text_of(error, "status");
    const std::string title = text_of(error, "title");
    if (!title.empty()) head += head.empty() ? title : " " + title;
    const std::string detail = text_of(error, "detail");
    std::string entry = head;
    if (!detail.empty()) entry += entry.empty() ? detail : ": " + detail;
    if (entry.empty()) continue;
    if (!summary.empty()) summary += "; ";
    summary += entry;
    if (summary.size() > kSummaryMax) break;  // the rest would be cut off anyway
  }
  return summary;
}

std::string first_line(std::string_view body) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto begin = body.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  body.remove_prefix(begin);
  body = body.substr(0, body.find_first_of("\r\n"));
  return std::string(body.substr(0, body.find_last_not_of(kSpace) + 1));
}

}  // namespace

std::string error_summary(std::string_view body) {
  std::string summary;
  bool too_deep = false;
  // An error body is read as a DOM, up to ~20 times its size: only small ones are. A large body
  // is shown by its first line; JSON:API error documents are a few hundred bytes.
  const json document =
      body.size() > kMaxSummaryParseBytes
          ? json(json::value_t::discarded)
          : json::parse(
                body.begin(), body.end(),
                [&too_deep](int depth, json::parse_event_t /*event*/, json& /*parsed*/) {
                  too_deep = too_deep || depth > kMaxDumpDepth;
                  return true;
                },
                /*allow_exceptions=*/false);
  if (document.is_object()) {
    if (const json* errors = present(document, "errors"); errors != nullptr && errors->is_array()) {
      summary = summarize_jsonapi_errors(*errors);
    }
  }
  if (summary.empty() && !document.is_discarded() && !too_deep) {
    summary = document.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (summary.empty()) summary = first_line(body);
  if (summary.empty()) return "(empty body)";
  // One line: error details may contain newlines, and a log line must not.
  std::replace_if(summary.begin(), summary.end(), is_control, ' ');
  return truncate_utf8(std::move(summary), kSummaryMax);
}

}  // namespace scalr_usage
