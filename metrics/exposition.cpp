#include "metrics/exposition.h"

#include <prometheus/text_serializer.h>
#include <zlib.h>

#include <memory>
#include <sstream>
#include <stdexcept>

namespace scalr_usage {

namespace {

// Raw deflate (no zlib or gzip wrapper) of data into out, ending with flush.
void raw_deflate(std::string_view data, int flush, std::string& out) {
  z_stream stream{};
  // Negative windowBits: raw deflate; the gzip header and trailer are written here instead.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("zlib deflateInit2 failed");
  }
  const std::unique_ptr<z_stream, decltype(&deflateEnd)> guard(&stream, &deflateEnd);
  const std::size_t start = out.size();
  // deflateBound covers Z_FINISH; a sync flush adds at most a few bytes more.
  out.resize(start + deflateBound(&stream, static_cast<uLong>(data.size())) + 16);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data() + start);
  stream.avail_out = static_cast<uInt>(out.size() - start);
  const int result = deflate(&stream, flush);
  if (flush == Z_FINISH ? result != Z_STREAM_END : (result != Z_OK || stream.avail_in != 0)) {
    throw std::runtime_error("zlib deflate failed");
  }
  out.resize(start + stream.total_out);
}

void append_le32(std::string& out, std::uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>(value >> shift));
}

std::uint32_t crc_of(std::string_view data) {
  return static_cast<std::uint32_t>(crc32(crc32(0, nullptr, 0),
                                          reinterpret_cast<const Bytef*>(data.data()),
                                          static_cast<uInt>(data.size())));
}

}  // namespace

OpenGzip gzip_open(std::string_view data) {
  OpenGzip open;
  // RFC 1952 header: magic, deflate, no flags, no mtime, no extra flags, OS unknown (255).
  open.head = std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  raw_deflate(data, Z_SYNC_FLUSH, open.head);
  open.crc = crc_of(data);
  open.size = data.size();
  return open;
}

std::string gzip_tail(const OpenGzip& open, std::string_view tail) {
  std::string out;
  raw_deflate(tail, Z_FINISH, out);
  append_le32(out, static_cast<std::uint32_t>(
                       crc32_combine(open.crc, crc_of(tail), static_cast<z_off_t>(tail.size()))));
  append_le32(out, static_cast<std::uint32_t>(open.size + tail.size()));  // ISIZE: mod 2^32
  return out;
}

Exposition render_exposition(const Snapshot& snapshot, const BuildInfo& build,
                             const ReportStatus& reports, const ConfigStatus& config) {
  std::ostringstream text;
  prometheus::TextSerializer{}.Serialize(text, collect_metrics(snapshot, build, reports, config));
  Exposition exposition;
  exposition.text = std::move(text).str();
  exposition.gzip = gzip_open(exposition.text);
  return exposition;
}

}  // namespace scalr_usage
