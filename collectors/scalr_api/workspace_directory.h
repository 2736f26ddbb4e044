#pragma once
// The workspaces of one account as GET /api/iacp/v3/workspaces?include=environment,tags lists them
// (JSON:API): what the usage breakdown does not say about a workspace, its environment and tags.
// Parsed as strictly as the usage pages: a body that is not the documented shape is rejected with
// the JSON path that is wrong.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scalr_usage {

struct WorkspaceInfo {
  std::string name;
  std::string environment_id;     // relationships.environment.data.id; "" when null
  std::string environment_name;   // from included[] (type environments); "" when not there
  std::vector<std::string> tags;  // names from included[] (type tags), sorted, without repeats
  friend bool operator==(const WorkspaceInfo&, const WorkspaceInfo&) = default;
};

// One account's workspaces, by workspace id.
using WorkspaceDirectory = std::map<std::string, WorkspaceInfo>;

struct WorkspacePage {
  // In the page's order. An environment or tag the page's included[] does not name keeps an
  // empty name (the environment) or is left out (a tag): the relation is still known.
  std::vector<std::pair<std::string, WorkspaceInfo>> workspaces;
  std::optional<int> next_page;    // meta.pagination.next-page; nullopt = last page
  std::optional<int> total_pages;  // meta.pagination.total-pages, when given
};

// Throws SourceError(bad_response) with a message that starts with the offending path, e.g.
// "data[2].relationships.environment.data.id: expected a string, got 7".
WorkspacePage parse_workspace_page(std::string_view body);

}  // namespace scalr_usage
