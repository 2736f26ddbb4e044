#include "util/read_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>

namespace scalr_usage {

std::variant<std::string, ReadFileError> read_file_prefix(const std::string& path,
                                                          std::size_t max_bytes) {
  // A directory is left to fread(), which names it (EISDIR). A path stat() cannot see goes on to
  // fopen() too, which reports it (and which the config fuzz target redirects to its own files).
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode) && !S_ISDIR(info.st_mode)) {
    return ReadFileError{"not a regular file"};
  }
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "re"),
                                                             &std::fclose);
  if (!file) return ReadFileError{std::generic_category().message(errno)};
  std::string content(max_bytes + 1, '\0');
  const std::size_t size = std::fread(content.data(), 1, content.size(), file.get());
  if (std::ferror(file.get())) return ReadFileError{std::generic_category().message(errno)};
  content.resize(size);
  return content;
}

}  // namespace scalr_usage
