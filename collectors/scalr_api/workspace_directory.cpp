#include "collectors/scalr_api/workspace_directory.h"

#include <algorithm>
#include <climits>
#include <nlohmann/json.hpp>

#include "collectors/scalr_api/page_reader.h"  // truncate_utf8
#include "collectors/source.h"

namespace scalr_usage {

namespace {

using json = nlohmann::json;
using jsonapi_detail::reject;
using jsonapi_detail::truncate_utf8;

// The keys this reader looks at, by their depth in the document (nlohmann's callback depth: the
// top-level object's keys are at 1). A workspace carries some forty attributes and relationships
// the directory never reads; dropping them while parsing keeps the DOM a fraction of the body's
// size instead of up to ~20 times it.
bool needed_key(int depth, const std::string& key) {
  switch (depth) {
    case 1:
      return key == "data" || key == "included" || key == "meta";
    case 2:  // meta
      return key == "pagination";
    case 3:  // an item of data or included; meta.pagination
      return key == "id" || key == "type" || key == "attributes" || key == "relationships" ||
             key == "next-page" || key == "total-pages";
    case 4:  // attributes, relationships
      return key == "name" || key == "environment" || key == "tags";
    case 5:  // relationships.environment, relationships.tags
      return key == "data";
    default:  // 6: environment.data; 7: an item of tags.data
      return key == "id" || key == "type";
  }
}

// Keeps what needed_key names; no container of the shape starts deeper than 6 (an item of
// relationships.tags.data), so anything deeper is dropped as well, however it nests.
bool keep_needed(int depth, json::parse_event_t event, json& parsed) {
  switch (event) {
    case json::parse_event_t::key:
      return needed_key(depth, parsed.get_ref<const std::string&>());
    case json::parse_event_t::object_start:
    case json::parse_event_t::array_start:
      return depth <= 6;
    default:
      return true;
  }
}

// nullptr when the key is absent or null: JSON:API uses both for "none".
const json* member(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

// The object at key, or nullptr when absent or null; anything else is rejected.
const json* optional_object(const json& parent, const char* key, const std::string& path) {
  const json* value = member(parent, key);
  if (value != nullptr && !value->is_object()) reject(path, "expected an object", *value);
  return value;
}

std::string required_string(const json& parent, const char* key, const std::string& path) {
  const json* value = member(parent, key);
  if (value == nullptr) reject(path, "missing, expected a string");
  if (!value->is_string()) reject(path, "expected a string", *value);
  return value->get<std::string>();
}

std::string optional_string(const json& parent, const char* key, const std::string& path) {
  const json* value = member(parent, key);
  if (value == nullptr) return "";
  if (!value->is_string()) reject(path, "expected a string or null", *value);
  return value->get<std::string>();
}

void expect_type(const json& object, const std::string& path, std::string_view wanted) {
  const std::string type = required_string(object, "type", path + ".type");
  if (type != wanted) {
    reject(path + ".type",
           "expected \"" + std::string(wanted) + "\", got \"" + truncate_utf8(type, 40) + "\"");
  }
}

// The id of a to-one or to-many relationship's resource identifier.
std::string identifier(const json& value, const std::string& path, std::string_view type) {
  if (!value.is_object()) reject(path, "expected a resource identifier (an object)", value);
  expect_type(value, path, type);
  std::string id = required_string(value, "id", path + ".id");
  if (id.empty()) reject(path + ".id", "empty, expected an id");
  return id;
}

// Names of the environments and tags in included[], by id.
struct Included {
  std::map<std::string, std::string> environments;
  std::map<std::string, std::string> tags;
};

Included included_names(const json& document) {
  Included names;
  const json* included = member(document, "included");
  if (included == nullptr) return names;
  if (!included->is_array()) reject("included", "expected an array", *included);
  for (std::size_t i = 0; i < included->size(); ++i) {
    const json& item = (*included)[i];
    const std::string path = "included[" + std::to_string(i) + "]";
    if (!item.is_object()) reject(path, "expected an object", item);
    const std::string type = required_string(item, "type", path + ".type");
    if (type != "environments" && type != "tags") continue;  // not asked for; not read
    std::string id = required_string(item, "id", path + ".id");
    const json* attributes = optional_object(item, "attributes", path + ".attributes");
    std::string name =
        attributes ? optional_string(*attributes, "name", path + ".attributes.name") : "";
    (type == "environments" ? names.environments : names.tags)[std::move(id)] = std::move(name);
  }
  return names;
}

std::string environment_of(const json& relationships, const std::string& path) {
  const json* environment = optional_object(relationships, "environment", path + ".environment");
  if (environment == nullptr) return "";
  const json* data = member(*environment, "data");
  return data ? identifier(*data, path + ".environment.data", "environments") : "";
}

std::vector<std::string> tag_ids_of(const json& relationships, const std::string& path) {
  std::vector<std::string> ids;
  const json* tags = optional_object(relationships, "tags", path + ".tags");
  if (tags == nullptr) return ids;
  const json* data = member(*tags, "data");
  if (data == nullptr) return ids;
  if (!data->is_array()) reject(path + ".tags.data", "expected an array", *data);
  for (std::size_t i = 0; i < data->size(); ++i) {
    ids.push_back(identifier((*data)[i], path + ".tags.data[" + std::to_string(i) + "]", "tags"));
  }
  return ids;
}

std::pair<std::string, WorkspaceInfo> read_workspace(const json& item, const std::string& path,
                                                     const Included& names) {
  if (!item.is_object()) reject(path, "expected an object", item);
  expect_type(item, path, "workspaces");
  std::string id = required_string(item, "id", path + ".id");
  if (id.empty()) reject(path + ".id", "empty, expected a workspace id");
  const json* attributes = optional_object(item, "attributes", path + ".attributes");
  if (attributes == nullptr) reject(path + ".attributes", "missing, expected an object");
  WorkspaceInfo info;
  info.name = optional_string(*attributes, "name", path + ".attributes.name");
  const std::string at = path + ".relationships";
  if (const json* relationships = optional_object(item, "relationships", at)) {
    info.environment_id = environment_of(*relationships, at);
    if (const auto env = names.environments.find(info.environment_id);
        env != names.environments.end()) {
      info.environment_name = env->second;
    }
    for (const std::string& tag_id : tag_ids_of(*relationships, at)) {
      const auto tag = names.tags.find(tag_id);
      if (tag != names.tags.end() && !tag->second.empty()) info.tags.push_back(tag->second);
    }
    std::sort(info.tags.begin(), info.tags.end());
    info.tags.erase(std::unique(info.tags.begin(), info.tags.end()), info.tags.end());
  }
  return {std::move(id), std::move(info)};
}

std::optional<int> page_number(const json& pagination, const char* key, std::uint64_t minimum) {
  const json* value = member(pagination, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number_unsigned() || value->get<std::uint64_t>() < minimum ||
      value->get<std::uint64_t>() > static_cast<std::uint64_t>(INT_MAX)) {
    reject(std::string("meta.pagination.") + key,
           "expected an integer >= " + std::to_string(minimum) + " or null", *value);
  }
  return static_cast<int>(value->get<std::uint64_t>());
}

}  // namespace

WorkspacePage parse_workspace_page(std::string_view body) {
  json document;
  try {
    document = json::parse(body.begin(), body.end(), keep_needed);
  } catch (const json::exception& error) {
    // parse_error for malformed text, out_of_range for a number beyond double such as 1e400.
    throw SourceError(ErrorReason::bad_response,
                      "response is not valid JSON (" + std::to_string(body.size()) +
                          " bytes): " + truncate_utf8(error.what(), 200));
  }
  if (!document.is_object()) reject("$", "expected a JSON:API document (an object)", document);
  const json* data = member(document, "data");
  if (data == nullptr) reject("data", "missing, expected an array");
  if (!data->is_array()) reject("data", "expected an array", *data);
  const Included names = included_names(document);
  WorkspacePage page;
  for (std::size_t i = 0; i < data->size(); ++i) {
    page.workspaces.push_back(read_workspace((*data)[i], "data[" + std::to_string(i) + "]", names));
  }
  if (const json* meta = optional_object(document, "meta", "meta")) {
    if (const json* pagination = optional_object(*meta, "pagination", "meta.pagination")) {
      page.next_page = page_number(*pagination, "next-page", 1);
      page.total_pages = page_number(*pagination, "total-pages", 0);
    }
  }
  return page;
}

}  // namespace scalr_usage
