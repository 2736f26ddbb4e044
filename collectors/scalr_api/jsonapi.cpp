#include "collectors/scalr_api/jsonapi.h"

#include <climits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "collectors/source.h"
#include "model/period.h"

namespace scalr_usage {

namespace {

using json = nlohmann::json;

constexpr std::string_view kUsageType = "usage-statistics";
constexpr std::size_t kSummaryMax = 300;
// error_summary() shows a JSON body without JSON:API errors as dump() prints it, but dump()
// recurses once per nesting level: a body nested a hundred thousand levels deep (200 KB, well
// within max_response_bytes) overflows the stack. Deeper bodies are shown by their first line.
constexpr int kMaxDumpDepth = 64;

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

const json& require_object(const json& object, const char* key, const std::string& path) {
  const json* value = present(object, key);
  if (value == nullptr) reject(path, "missing, expected an object");
  if (!value->is_object()) reject(path, "expected an object", *value);
  return *value;
}

std::optional<std::string> optional_string(const json& object, const char* key,
                                           const std::string& path) {
  const json* value = present(object, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) reject(path, "expected a string or null", *value);
  return value->get<std::string>();
}

std::uint64_t count(const json& object, const char* key, const std::string& path) {
  const json* value = present(object, key);
  if (value == nullptr) reject(path, "missing, expected a non-negative integer");
  // nlohmann stores every non-negative integer literal as unsigned; negative ones as signed and
  // anything with a fraction or exponent as float, all of which are wrong for a count.
  if (!value->is_number_unsigned()) reject(path, "expected a non-negative integer", *value);
  return value->get<std::uint64_t>();
}

std::optional<int> optional_page_number(const json& object, const char* key,
                                        const std::string& path, int minimum) {
  const json* value = present(object, key);
  if (value == nullptr) return std::nullopt;
  const std::string expected = "expected an integer >= " + std::to_string(minimum) + " or null";
  if (!value->is_number_unsigned()) reject(path, expected, *value);
  const auto number = value->get<std::uint64_t>();
  if (number < static_cast<std::uint64_t>(minimum) ||
      number > static_cast<std::uint64_t>(INT_MAX)) {
    reject(path, expected, *value);
  }
  return static_cast<int>(number);
}

std::string account_of(const json& item, const std::string& path) {
  const json* relationships = present(item, "relationships");
  if (relationships == nullptr) return {};
  if (!relationships->is_object())
    reject(path + ".relationships", "expected an object", *relationships);
  const json* account = present(*relationships, "account");
  if (account == nullptr) return {};
  const std::string account_path = path + ".relationships.account";
  if (!account->is_object()) reject(account_path, "expected an object", *account);
  const json* data = present(*account, "data");
  if (data == nullptr) return {};
  if (!data->is_object()) reject(account_path + ".data", "expected an object", *data);
  if (const auto type = optional_string(*data, "type", account_path + ".data.type");
      type && *type != "accounts") {
    reject(account_path + ".data.type", "expected \"accounts\", got \"" + *type + "\"");
  }
  const auto id = optional_string(*data, "id", account_path + ".data.id");
  if (!id || id->empty()) reject(account_path + ".data.id", "missing, expected an account id");
  return *id;
}

UsageItem parse_item(const json& item, const std::string& path) {
  if (!item.is_object()) reject(path, "expected an object", item);

  const auto type = optional_string(item, "type", path + ".type");
  if (!type || *type != kUsageType) {
    reject(path + ".type", "expected \"usage-statistics\", got " +
                               (type ? "\"" + truncate_utf8(*type, 40) + "\"" : "nothing"));
  }

  const std::string attributes_path = path + ".attributes";
  const json& attributes = require_object(item, "attributes", attributes_path);

  UsageItem result;
  result.account_id = account_of(item, path);
  result.breakdown_id =
      optional_string(attributes, "breakdown-id", attributes_path + ".breakdown-id");
  result.breakdown_name =
      optional_string(attributes, "breakdown-name", attributes_path + ".breakdown-name");
  if (const auto date = optional_string(attributes, "date", attributes_path + ".date")) {
    try {
      result.date = parse_date(*date);
    } catch (const std::invalid_argument&) {
      reject(attributes_path + ".date",
             "expected a YYYY-MM-DD date, got \"" + truncate_utf8(*date, 40) + "\"");
    }
  }
  result.runs_count = count(attributes, "runs-count", attributes_path + ".runs-count");
  result.runs_seconds = count(attributes, "runs-seconds", attributes_path + ".runs-seconds");
  return result;
}

}  // namespace

UsagePage parse_usage_page(std::string_view body) {
  json document;
  try {
    document = json::parse(body.begin(), body.end());
  } catch (const json::exception& e) {
    // parse_error for malformed text, out_of_range for a number beyond double such as 1e400, which
    // would otherwise escape as an exception no caller expects. e.what() names the byte offset and
    // the problem, which is what tells a truncated body apart.
    throw SourceError(ErrorReason::bad_response, "response is not valid JSON (" +
                                                     std::to_string(body.size()) +
                                                     " bytes): " + truncate_utf8(e.what(), 200));
  }
  if (!document.is_object()) reject("$", "expected a JSON:API document (an object)", document);

  const json* data = present(document, "data");
  if (data == nullptr) reject("data", "missing, expected an array");
  if (!data->is_array()) reject("data", "expected an array", *data);

  UsagePage page;
  page.items.reserve(data->size());
  for (std::size_t i = 0; i < data->size(); ++i) {
    page.items.push_back(parse_item((*data)[i], "data[" + std::to_string(i) + "]"));
  }

  // Without pagination metadata the page is all there is.
  if (const json* meta = present(document, "meta")) {
    if (!meta->is_object()) reject("meta", "expected an object", *meta);
    if (const json* pagination = present(*meta, "pagination")) {
      if (!pagination->is_object()) reject("meta.pagination", "expected an object", *pagination);
      page.next_page =
          optional_page_number(*pagination, "next-page", "meta.pagination.next-page", 1);
      page.total_pages =
          optional_page_number(*pagination, "total-pages", "meta.pagination.total-pages", 0);
    }
  }
  return page;
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
  const json document = json::parse(
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
  for (char& c : summary) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  return truncate_utf8(std::move(summary), kSummaryMax);
}

}  // namespace scalr_usage
