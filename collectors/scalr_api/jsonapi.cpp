#include "collectors/scalr_api/jsonapi.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "collectors/scalr_api/page_reader.h"  // PageReader, truncate_utf8
#include "util/text.h"                         // is_control

namespace scalr_usage {

namespace {

using json = nlohmann::json;
using jsonapi_detail::truncate_utf8;

constexpr std::size_t kSummaryMax = 300;
// error_summary() shows a JSON body without JSON:API errors as dump() prints it, but dump()
// recurses once per nesting level: a body nested a hundred thousand levels deep (200 KB, well
// within max_response_bytes) overflows the stack. Deeper bodies are shown by their first line.
constexpr int kMaxDumpDepth = 64;
constexpr std::size_t kMaxSummaryParseBytes = 64 * 1024;

// nullptr when the key is absent or its value is null: the API uses both for "not applicable".
const json* present(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

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

UsagePage parse_usage_page(std::string_view body) {
  jsonapi_detail::PageReader reader(body.size());
  json::sax_parse(body.begin(), body.end(), &reader);
  return std::move(reader).take();
}

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
