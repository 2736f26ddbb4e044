// libFuzzer target: one Scalr API page body through parse_usage_page() and parse_workspace_page()
// (the usage and the workspace listing readers), and any body through error_summary(). All read
// what a remote server sent, so none may crash, hang or leak on any bytes; the page parsers may
// only fail with SourceError(bad_response), and error_summary() may not fail at all. One target for
// both parsers: their inputs are the same kind of document, and the smoke run's time is shared.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "collectors/scalr_api/jsonapi.h"
#include "collectors/scalr_api/workspace_directory.h"
#include "collectors/source.h"
#include "fuzz/fuzz_check.h"

namespace {

using scalr_usage::ErrorReason;
using scalr_usage::SourceError;
using scalr_usage::fuzz::valid_utf8;

// error_summary() promises about 300 characters, plus the "..." of a cut.
constexpr std::size_t kSummaryLimit = 300 + 3;

void check_page(std::string_view body) {
  try {
    const scalr_usage::UsagePage page = scalr_usage::parse_usage_page(body);
    FUZZ_CHECK(!page.next_page || *page.next_page >= 1, "next_page below 1");
    FUZZ_CHECK(!page.total_pages || *page.total_pages >= 0, "negative total_pages");
    for (const scalr_usage::UsageItem& item : page.items) {
      FUZZ_CHECK(!item.date || item.date->ok(), "accepted an impossible date");
    }
  } catch (const SourceError& error) {
    FUZZ_CHECK(error.reason() == ErrorReason::bad_response, error.what());
    FUZZ_CHECK(*error.what() != '\0', "empty error message");
  }
  // Any other exception escapes and libFuzzer reports it as a crash.
}

void check_workspace_page(std::string_view body) {
  try {
    const scalr_usage::WorkspacePage page = scalr_usage::parse_workspace_page(body);
    FUZZ_CHECK(!page.next_page || *page.next_page >= 1, "next_page below 1");
    FUZZ_CHECK(!page.total_pages || *page.total_pages >= 0, "negative total_pages");
    for (const auto& [id, info] : page.workspaces) {
      FUZZ_CHECK(!id.empty(), "accepted a workspace without an id");
      // Sorted and without repeats, as chargeback's "first tag by name" relies on.
      for (std::size_t i = 1; i < info.tags.size(); ++i) {
        FUZZ_CHECK(info.tags[i - 1] < info.tags[i], "tags not sorted and unique");
      }
    }
  } catch (const SourceError& error) {
    FUZZ_CHECK(error.reason() == ErrorReason::bad_response, error.what());
    FUZZ_CHECK(*error.what() != '\0', "empty error message");
  }
}

void check_summary(std::string_view body) {
  const std::string summary = scalr_usage::error_summary(body);
  FUZZ_CHECK(!summary.empty(), "empty summary");
  FUZZ_CHECK(summary.size() <= kSummaryLimit, summary);
  for (const char c : summary) {
    const auto byte = static_cast<unsigned char>(c);
    FUZZ_CHECK(byte >= 0x20 && byte != 0x7f, summary);
  }
  // Cutting must not split a UTF-8 sequence: valid text stays valid.
  if (valid_utf8(body)) FUZZ_CHECK(valid_utf8(summary), summary);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  check_page(body);
  check_workspace_page(body);
  check_summary(body);
  return 0;
}
