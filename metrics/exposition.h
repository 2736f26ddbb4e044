#pragma once
// The text exposition of one snapshot, rendered once (plain and gzip) when the snapshot is
// published, so a scrape is only a buffer write and concurrent scrapes share the same bytes.

#include <memory>
#include <string>

#include "metrics/snapshot_collector.h"
#include "model/snapshot.h"

namespace scalr_usage {

inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

struct Exposition {
  std::string text;
  std::string gzip;  // the same bytes, gzip-compressed
};

Exposition render_exposition(const Snapshot& snapshot, const BuildInfo& build,
                             const ReportStatus& reports = {}, const ConfigStatus& config = {});

// gzip (RFC 1952) of data; throws std::runtime_error if zlib fails.
std::string gzip_compress(const std::string& data);

}  // namespace scalr_usage
