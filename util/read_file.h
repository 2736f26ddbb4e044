#pragma once
// Reading the small files a configuration names (tokens, DSNs, CA bundles, certificates, the
// configuration files themselves) the same careful way everywhere.

#include <cstddef>
#include <string>
#include <variant>

namespace scalr_usage {

// Why a file could not be read, as a short phrase for "cannot read PATH: <reason>".
struct ReadFileError {
  std::string reason;
};

// The first max_bytes + 1 bytes of the file at path (so a caller can tell a file over its limit
// without reading all of it), or why not. Only regular files (and what fopen() alone can see) are
// opened: a FIFO would hold up the start until something writes to it, and a device may never end.
// Opened close-on-exec, so a secret never leaks into a child process.
std::variant<std::string, ReadFileError> read_file_prefix(const std::string& path,
                                                          std::size_t max_bytes);

}  // namespace scalr_usage
