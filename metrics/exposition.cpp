#include "metrics/exposition.h"

#include <prometheus/text_serializer.h>
#include <zlib.h>

#include <memory>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace scalr_usage {

namespace {

// Raw deflate (no zlib or gzip wrapper) of data appended to out, ending with flush. Output goes out
// in chunks, so out never holds deflateBound() (the size of the input) for a result 8x smaller.
void raw_deflate(std::string_view data, int flush, std::string& out) {
  z_stream stream{};
  // Negative windowBits: raw deflate; the gzip header and trailer are written here instead.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("zlib deflateInit2 failed");
  }
  const std::unique_ptr<z_stream, decltype(&deflateEnd)> guard(&stream, &deflateEnd);
  constexpr std::size_t kChunk = 64 * 1024;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  int result = Z_OK;
  do {  // zlib's rule: while a call fills all the output space, call again with more
    const std::size_t start = out.size();
    out.resize(start + kChunk);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + start);
    stream.avail_out = static_cast<uInt>(kChunk);
    result = deflate(&stream, flush);
    out.resize(start + kChunk - stream.avail_out);
    // Z_BUF_ERROR only says a call had nothing left to do, after an exactly full chunk.
    if (result != Z_OK && result != Z_STREAM_END && result != Z_BUF_ERROR) {
      throw std::runtime_error("zlib deflate failed");
    }
  } while (stream.avail_out == 0);
  if (flush == Z_FINISH ? result != Z_STREAM_END : stream.avail_in != 0) {
    throw std::runtime_error("zlib deflate failed");
  }
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
  open.head.shrink_to_fit();  // kept for the snapshot's lifetime: no spare chunk with it
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

namespace {

// Serialises each batch with prometheus-cpp's TextSerializer, appended to one string. The
// serializer writes HELP and TYPE for every family it is given, so they are cut from a family's
// later batches.
class TextSink final : public FamilySink {
 public:
  explicit TextSink(std::string& out) : out_(out) { families_.resize(1); }

  void write(prometheus::MetricFamily batch, bool first) override {
    if (first) {
      header_ = serialise(prometheus::MetricFamily{batch.name, batch.help, batch.type, {}});
    }
    families_.front() = std::move(batch);
    std::string_view text = serialise_families();
    if (!first) {
      if (!text.starts_with(header_)) {
        throw std::logic_error("exposition: a batch of " + families_.front().name +
                               " does not start with its family's HELP and TYPE");
      }
      text.remove_prefix(header_.size());
    }
    out_.append(text);
  }

 private:
  std::string serialise(prometheus::MetricFamily family) {
    families_.front() = std::move(family);
    return std::string(serialise_families());
  }
  std::string_view serialise_families() {
    buffer_.str(std::string());
    prometheus::TextSerializer{}.Serialize(buffer_, families_);
    return buffer_.view();
  }

  std::string& out_;
  std::string header_;
  std::vector<prometheus::MetricFamily> families_;  // one; a vector is what Serialize takes
  std::ostringstream buffer_;
};

}  // namespace

Exposition render_exposition(const Snapshot& snapshot, const BuildInfo& build,
                             const ReportStatus& reports, const ConfigStatus& config,
                             std::size_t size_hint, std::size_t batch_samples) {
  Exposition exposition;
  // Growing a string by doubling to 4 MB would pass through 8 MB of capacity; the previous
  // exposition's size is a close guess of this one's.
  exposition.text.reserve(size_hint + size_hint / 16);
  TextSink sink(exposition.text);
  write_metrics(snapshot, build, reports, config, sink, batch_samples);
  if (exposition.text.capacity() > exposition.text.size() + exposition.text.size() / 4 + 4096) {
    exposition.text.shrink_to_fit();
  }
  exposition.gzip = gzip_open(exposition.text);
  return exposition;
}

}  // namespace scalr_usage
