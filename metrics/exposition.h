#pragma once
// The text exposition of one snapshot, rendered once (plain and gzip) when the snapshot is
// published, so a scrape is only a buffer write and concurrent scrapes share the same bytes.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "metrics/snapshot_collector.h"
#include "model/snapshot.h"

namespace scalr_usage {

inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// A gzip member left open: the 10-byte header and raw deflate blocks that end in a sync flush
// (byte-aligned, not final), so more data compressed on its own can follow and close the member.
// This lets a scrape append the few per-request lines (process_*) to the cached compressed
// exposition without compressing the whole text again.
struct OpenGzip {
  std::string head;
  std::uint32_t crc = 0;   // CRC-32 of the uncompressed bytes in head
  std::uint64_t size = 0;  // their length
};

struct Exposition {
  std::string text;
  OpenGzip gzip;  // the same bytes compressed, as an open gzip member (finish with gzip_tail)
};

// size_hint: the expected length of the text (the previous exposition's), to allocate it once.
// batch_samples: how many samples of the metric model exist at once (write_metrics).
Exposition render_exposition(const Snapshot& snapshot, const BuildInfo& build,
                             const ReportStatus& reports = {}, const ConfigStatus& config = {},
                             std::size_t size_hint = 0,
                             std::size_t batch_samples = kDefaultBatchSamples);

// Compresses data into an open gzip member. Throws std::runtime_error if zlib fails.
OpenGzip gzip_open(std::string_view data);

// What follows open.head to make one complete gzip member of open's data followed by tail: the
// compressed tail, the final block and the trailer. Throws std::runtime_error if zlib fails.
std::string gzip_tail(const OpenGzip& open, std::string_view tail);

}  // namespace scalr_usage
