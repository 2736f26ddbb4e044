// Workspace enrichment: which environment and tags each workspace of an account has, from
// GET /api/iacp/v3/workspaces (the part of ScalrApiSource that is about workspaces rather than
// usage). The usage-statistics breakdown does not carry that relation.

#include <exception>
#include <utility>

#include "collectors/scalr_api/page_reader.h"  // next_page_of
#include "collectors/scalr_api/scalr_api_source.h"

namespace scalr_usage {

namespace {

constexpr std::string_view kWorkspacesPath = "/api/iacp/v3/workspaces";

// Everything from the listing that becomes a label (or a chargeback rule's input) obeys
// max_label_length like the usage's ids and names. Throws SourceError(too_large).
void check_lengths(const std::string& id, const WorkspaceInfo& info, std::size_t max,
                   const std::string& context) {
  constexpr std::string_view kKey = "scalr.max_label_length";
  try {
    check_label_length(id, max, "workspace id", kKey);
    check_label_length(info.name, max, "workspace " + id + " name", kKey);
    check_label_length(info.environment_id, max, "workspace " + id + " environment id", kKey);
    check_label_length(info.environment_name, max, "workspace " + id + " environment name", kKey);
    for (const std::string& tag : info.tags) {
      check_label_length(tag, max, "workspace " + id + " tag", kKey);
    }
  } catch (const SourceError& e) {
    throw SourceError(e.reason(), context + e.what());
  }
}

}  // namespace

std::string ScalrApiSource::workspaces_url(const std::string& account_id, int page) const {
  return target_.url + std::string(kWorkspacesPath) + "?" + url_encode("filter[account]") + "=" +
         url_encode(account_id) + "&include=" + url_encode("environment,tags") + "&" +
         url_encode("page[size]") + "=" + std::to_string(target_.page_size) + "&" +
         url_encode("page[number]") + "=" + std::to_string(page);
}

WorkspaceDirectory ScalrApiSource::list_workspaces(const std::string& account_id,
                                                   std::stop_token stop) {
  const std::vector<std::string> headers = request_headers();
  WorkspaceDirectory directory;
  int pages_left = target_.max_pages;
  for (int page = 1;;) {
    --pages_left;
    const std::string context =
        "workspaces page " + std::to_string(page) + " for account " + account_id + ": ";
    const HttpRequest request{workspaces_url(account_id, page), headers, target_.timeout,
                              target_.max_response_bytes, target_.ca_file};
    WorkspacePage parsed;
    try {
      parsed = parse_workspace_page(get_with_retry(request, account_id, stop).body);
    } catch (const SourceError& e) {
      if (e.reason() == ErrorReason::cancelled) throw;
      throw SourceError(e.reason(), context + e.what());
    }
    for (auto& [id, info] : parsed.workspaces) {
      check_lengths(id, info, target_.max_label_length, context);
      directory.insert_or_assign(std::move(id), std::move(info));
    }
    const std::optional<int> next =
        jsonapi_detail::next_page_of(parsed.next_page, parsed.total_pages, page, pages_left,
                                     target_.max_pages, context, "of workspaces for one account");
    if (!next) return directory;
    page = *next;
  }
}

void ScalrApiSource::enrich(AccountUsage& usage, std::stop_token stop) {
  const TargetCache::Lookup lookup = cache_->directory(usage.account_id, stop, [&] {
    try {
      return list_workspaces(usage.account_id, stop);
    } catch (const SourceError& e) {
      throw SourceError(e.reason(), without_token(e.what()));
    } catch (const std::exception& e) {
      // Whatever else goes wrong in a listing must not fail the usage poll either.
      throw SourceError(ErrorReason::bad_response, without_token(e.what()));
    }
  });
  if (lookup.error && observer_ != nullptr) {
    observer_->on_enrichment_error(target_.name, lookup.error->reason());
  }
  // Every workspace gets both labels, "" when unknown (deleted, or no listing yet), so all the
  // API's workspace series of a target have one label set.
  for (WorkspaceUsage& workspace : usage.workspaces) {
    workspace.environment_id = "";
    workspace.environment_name = "";
    if (!lookup.directory) continue;
    const auto found = lookup.directory->find(workspace.id);
    if (found == lookup.directory->end()) continue;
    const WorkspaceInfo& info = found->second;
    workspace.environment_id = info.environment_id;
    workspace.environment_name = info.environment_name;
    workspace.tags = info.tags;
    if (workspace.name.empty()) workspace.name = info.name;
  }
}

}  // namespace scalr_usage
