#include "metrics/exposition.h"

#include <prometheus/text_serializer.h>
#include <zlib.h>

#include <memory>
#include <sstream>
#include <stdexcept>

namespace scalr_usage {

std::string gzip_compress(const std::string& data) {
  z_stream stream{};
  // windowBits 15 + 16 selects the gzip wrapper instead of zlib's.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("zlib deflateInit2 failed");
  }
  const std::unique_ptr<z_stream, decltype(&deflateEnd)> guard(&stream, &deflateEnd);
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("zlib deflate failed");
  out.resize(stream.total_out);
  return out;
}

Exposition render_exposition(const Snapshot& snapshot, const BuildInfo& build,
                             const ReportStatus& reports, const ConfigStatus& config) {
  std::ostringstream text;
  prometheus::TextSerializer{}.Serialize(text, collect_metrics(snapshot, build, reports, config));
  Exposition exposition;
  exposition.text = std::move(text).str();
  exposition.gzip = gzip_compress(exposition.text);
  return exposition;
}

}  // namespace scalr_usage
