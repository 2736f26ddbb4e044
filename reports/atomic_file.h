#pragma once
// Writing report and state files so that a reader (or a crash) only ever sees the old complete file
// or the new complete file, never a partial one, and report retention.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string_view>
#include <vector>

namespace scalr_usage {

// rw-r----- : readable by the service's group (e.g. a web server or backup user), nobody else.
inline constexpr std::filesystem::perms kDefaultFileMode = std::filesystem::perms::owner_read |
                                                           std::filesystem::perms::owner_write |
                                                           std::filesystem::perms::group_read;

// Replaces target with contents: writes a temporary file `.<name>.tmp.XXXXXX` next to target,
// fsyncs it, renames it over target and fsyncs the directory, so the new file survives a crash once
// this returns. mode is applied exactly (the umask does not narrow it). A symlink at target is
// replaced, not followed.
//
// On any failure (disk full, permission denied, missing directory, target is a directory...) the
// temporary file is removed, target is left as it was, and std::system_error is thrown with a
// message naming target and the step that failed, e.g.
// `cannot write "/var/lib/x/r.csv" (writing): No space left on device`. The one exception is a
// failing fsync of the directory after the rename: the new file is then in place but may not be
// durable, and the error is still thrown so the caller does not record it as written.
void write_file_atomically(const std::filesystem::path& target, std::string_view contents,
                           std::filesystem::perms mode = kDefaultFileMode);

// The same for contents too large to hold in memory: produce(write) calls write(chunk) for each
// piece of the file in order. An exception from produce leaves target as it was (the temporary
// file is removed) and propagates.
using AtomicFileWriter = std::function<void(std::string_view chunk)>;
void write_file_atomically(const std::filesystem::path& target,
                           const std::function<void(const AtomicFileWriter& write)>& produce,
                           std::filesystem::perms mode = kDefaultFileMode);

// Retention ("keep the newest N reports of a schedule"): among the regular files in dir named
// prefix + middle + suffix, with a non-empty middle accepted by middle_matches (when given), keeps
// the `keep` greatest by name and removes the rest. Names sort by period when the middle is a
// period key ("2026-10", "2026-11-26"). keep == 0 removes every matching file.
//
// Never touches anything else: hidden files (so neither the state file nor in-flight temporary
// files), directories, symlinks, or names that do not match. Pass middle_matches when one prefix
// could be the start of another schedule's prefix ("monthly-" vs "monthly-eu-").
//
// Returns the removed paths, oldest first. A missing dir is nothing to clean up; other errors throw
// std::filesystem::filesystem_error (files removed before the error stay removed).
std::vector<std::filesystem::path> remove_old_files(
    const std::filesystem::path& dir, std::string_view prefix, std::string_view suffix,
    std::size_t keep, const std::function<bool(std::string_view middle)>& middle_matches = {});

}  // namespace scalr_usage
