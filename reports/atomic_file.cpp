#include "reports/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>
#include <utility>

namespace scalr_usage {

namespace fs = std::filesystem;

namespace {

// Owns one file descriptor. close() is separate from the destructor because close is where some
// filesystems (NFS, quota) report deferred write errors, and those must not be lost.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }

  // Closes now; returns 0 or the errno. On Linux the descriptor is gone either way.
  int close() noexcept {
    if (fd_ < 0) return 0;
    const int result = ::close(std::exchange(fd_, -1));
    return result == 0 ? 0 : errno;
  }

 private:
  void reset() noexcept {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

  int fd_;
};

// Removes the temporary file unless it was renamed into place.
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  ~TempFileGuard() {
    if (armed_) ::unlink(path_.c_str());
  }

  const std::string& path() const noexcept { return path_; }
  void release() noexcept { armed_ = false; }

 private:
  std::string path_;
  bool armed_ = true;
};

[[noreturn]] void fail(int error, const fs::path& target, std::string_view step) {
  throw std::system_error(error, std::generic_category(),
                          "cannot write \"" + target.string() + "\" (" + std::string(step) + ")");
}

void write_all(int fd, std::string_view contents, const fs::path& target) {
  while (!contents.empty()) {
    const ssize_t written = ::write(fd, contents.data(), contents.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      fail(errno, target, "writing");
    }
    // A regular file only accepts nothing when it cannot grow; treat it as full rather than spin.
    if (written == 0) fail(ENOSPC, target, "writing");
    contents.remove_prefix(static_cast<std::size_t>(written));
  }
}

int fsync_retrying(int fd) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

}  // namespace

void write_file_atomically(const fs::path& target, std::string_view contents, fs::perms mode) {
  write_file_atomically(
      target, [&](const AtomicFileWriter& write) { write(contents); }, mode);
}

void write_file_atomically(const fs::path& target,
                           const std::function<void(const AtomicFileWriter& write)>& produce,
                           fs::perms mode) {
  const fs::path name = target.filename();
  if (name.empty() || name == "." || name == "..") {
    fail(EISDIR, target, "target must name a file");
  }
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");

  // In the same directory so the rename stays on one filesystem and is atomic; hidden so report
  // listings and retention ignore it while it exists.
  std::string temp_name = (dir / ("." + name.string() + ".tmp.XXXXXX")).string();
  UniqueFd fd(::mkostemp(temp_name.data(), O_CLOEXEC));
  if (fd.get() < 0) fail(errno, target, "creating temporary file");
  TempFileGuard temp(std::move(temp_name));

  // mkostemp creates 0600; set the wanted mode explicitly so the umask cannot narrow it.
  if (::fchmod(fd.get(), static_cast<mode_t>(mode & fs::perms::mask)) != 0) {
    fail(errno, target, "setting permissions");
  }
  produce([&](std::string_view chunk) { write_all(fd.get(), chunk, target); });
  if (const int error = fsync_retrying(fd.get()); error != 0) fail(error, target, "syncing");
  if (const int error = fd.close(); error != 0) fail(error, target, "closing");

  if (::rename(temp.path().c_str(), target.c_str()) != 0) {
    fail(errno, target, "renaming into place");
  }
  temp.release();

  // Without this the rename itself may not survive a crash.
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0) fail(errno, target, "opening directory to sync");
  // EINVAL: the filesystem cannot sync directories; there is nothing more to do then.
  if (const int error = fsync_retrying(dir_fd.get()); error != 0 && error != EINVAL) {
    fail(error, target, "syncing directory");
  }
}

std::vector<fs::path> remove_old_files(
    const fs::path& dir, std::string_view prefix, std::string_view suffix, std::size_t keep,
    const std::function<bool(std::string_view)>& middle_matches) {
  std::error_code error;
  fs::directory_iterator it(dir, error);
  if (error == std::errc::no_such_file_or_directory) return {};
  if (error) throw fs::filesystem_error("cannot list report directory", dir, error);

  std::vector<std::string> names;
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with('.')) continue;
    if (name.size() <= prefix.size() + suffix.size()) continue;
    if (!name.starts_with(prefix) || !name.ends_with(suffix)) continue;
    const std::string_view middle =
        std::string_view(name).substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (middle_matches && !middle_matches(middle)) continue;
    // symlink_status: a symlink to a report is not ours to delete.
    if (!fs::is_regular_file(entry.symlink_status())) continue;
    names.push_back(name);
  }

  std::sort(names.begin(), names.end());
  std::vector<fs::path> removed;
  if (names.size() <= keep) return removed;
  for (std::size_t i = 0; i < names.size() - keep; ++i) {
    const fs::path path = dir / names[i];
    fs::remove(path);
    removed.push_back(path);
  }
  return removed;
}

}  // namespace scalr_usage
