#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "reports/atomic_file.h"
#include "test_files.h"

namespace scalr_usage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
namespace fs = std::filesystem;

using test_files::names_in;
using test_files::read_text;
using test_files::TempDir;
using test_files::write_text;

std::string write_error(const fs::path& target, const std::string& contents) {
  try {
    write_file_atomically(target, contents);
  } catch (const std::system_error& e) {
    return e.what();
  }
  return "(written)";
}

// --- write_file_atomically --------------------------------------------------------------------

TEST(AtomicFile, WritesContentsWithTheDefaultMode) {
  const TempDir dir;
  const fs::path target = dir.path() / "monthly-2026-10.csv";
  write_file_atomically(target, "account,runs\nacc-1,42\n");
  EXPECT_EQ(read_text(target), "account,runs\nacc-1,42\n");
  EXPECT_EQ(fs::status(target).permissions(), fs::perms(0640));
  EXPECT_THAT(names_in(dir.path()), ElementsAre("monthly-2026-10.csv"));
}

TEST(AtomicFile, AppliesTheGivenModeExactly) {
  const TempDir dir;
  const fs::path target = dir.path() / "state.json";
  // The umask would narrow 0644 to 0640 or 0600 with open(); the mode must not depend on it.
  const mode_t old_umask = ::umask(077);
  write_file_atomically(target, "{}", fs::perms(0644));
  ::umask(old_umask);
  EXPECT_EQ(fs::status(target).permissions(), fs::perms(0644));
  write_file_atomically(target, "{}", fs::perms(0600));
  EXPECT_EQ(fs::status(target).permissions(), fs::perms(0600));
}

TEST(AtomicFile, EmptyAndLargeContents) {
  const TempDir dir;
  write_file_atomically(dir.path() / "empty", "");
  EXPECT_EQ(fs::file_size(dir.path() / "empty"), 0u);

  std::string large(8 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 131 % 251);
  write_file_atomically(dir.path() / "large", large);
  EXPECT_EQ(read_text(dir.path() / "large"), large);
}

TEST(AtomicFile, ReplacesAnExistingTarget) {
  const TempDir dir;
  const fs::path target = dir.path() / "report.html";
  write_text(target, "old contents that are longer than the new ones");
  write_file_atomically(target, "new");
  EXPECT_EQ(read_text(target), "new");
  EXPECT_THAT(names_in(dir.path()), ElementsAre("report.html"));
}

TEST(AtomicFile, ReplacesASymlinkInsteadOfFollowingIt) {
  const TempDir dir;
  write_text(dir.path() / "elsewhere", "keep me");
  fs::create_symlink(dir.path() / "elsewhere", dir.path() / "link");
  write_file_atomically(dir.path() / "link", "new");
  EXPECT_FALSE(fs::is_symlink(dir.path() / "link"));
  EXPECT_EQ(read_text(dir.path() / "link"), "new");
  EXPECT_EQ(read_text(dir.path() / "elsewhere"), "keep me");
}

TEST(AtomicFile, ATargetWithoutAFileNameIsRejected) {
  const TempDir dir;
  EXPECT_THROW(write_file_atomically(dir.path() / "", "x"), std::system_error);
  EXPECT_THROW(write_file_atomically(dir.path() / ".", "x"), std::system_error);
  EXPECT_THROW(write_file_atomically(dir.path() / "..", "x"), std::system_error);
  EXPECT_THAT(names_in(dir.path()), IsEmpty());
}

TEST(AtomicFile, FailureInAReadOnlyDirectoryLeavesTheOldTarget) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "root writes into 0555 directories; the tests below provoke failures otherwise";
  }
  const TempDir dir;
  const fs::path target = dir.path() / "report.csv";
  write_text(target, "old");
  fs::permissions(dir.path(), fs::perms(0555));
  const std::string message = write_error(target, "new");
  fs::permissions(dir.path(), fs::perms::owner_all);
  EXPECT_THAT(message, HasSubstr("cannot write \"" + target.string() + "\""));
  EXPECT_THAT(message, HasSubstr("Permission denied"));
  EXPECT_EQ(read_text(target), "old");
  EXPECT_THAT(names_in(dir.path()), ElementsAre("report.csv"));
}

TEST(AtomicFile, FailureWhenTheParentIsARegularFile) {
  const TempDir dir;
  write_text(dir.path() / "not-a-dir", "x");
  const fs::path target = dir.path() / "not-a-dir" / "report.csv";
  const std::string message = write_error(target, "new");
  EXPECT_THAT(message, HasSubstr("cannot write \"" + target.string() + "\""));
  EXPECT_THAT(message, HasSubstr("creating temporary file"));
  EXPECT_THAT(message, HasSubstr("Not a directory"));
  EXPECT_THAT(names_in(dir.path()), ElementsAre("not-a-dir"));
}

TEST(AtomicFile, FailureWhenTheDirectoryIsMissing) {
  const TempDir dir;
  const std::string message = write_error(dir.path() / "missing" / "report.csv", "new");
  EXPECT_THAT(message, HasSubstr("No such file or directory"));
  EXPECT_THAT(names_in(dir.path()), IsEmpty());
}

TEST(AtomicFile, FailureInProcIsRefused) {
  // /proc refuses new files even for root.
  const std::string message = write_error("/proc/sue-atomic-test-report.csv", "new");
  EXPECT_THAT(message, HasSubstr("cannot write \"/proc/sue-atomic-test-report.csv\""));
  EXPECT_FALSE(fs::exists("/proc/sue-atomic-test-report.csv"));
}

// The temporary file exists by then: the failure must remove it and leave the target alone.
TEST(AtomicFile, FailureAtRenameRemovesTheTemporaryFile) {
  const TempDir dir;
  const fs::path target = dir.path() / "report.csv";
  fs::create_directory(target);  // a non-empty directory cannot be replaced by a file
  write_text(target / "inside", "untouched");
  const std::string message = write_error(target, "new");
  EXPECT_THAT(message, HasSubstr("renaming into place"));
  EXPECT_THAT(message, HasSubstr("Is a directory"));
  EXPECT_THAT(names_in(dir.path()), ElementsAre("report.csv"));
  EXPECT_EQ(read_text(target / "inside"), "untouched");
}

// A disk filling up mid-write, made real with RLIMIT_FSIZE (which binds root too) in a child
// process so the limit does not leak into other tests. The child exits 0 when the write failed as
// it should; the parent then checks the directory.
void write_past_file_size_limit(const fs::path& target) {
  std::signal(SIGXFSZ, SIG_IGN);  // get EFBIG from write() instead of being killed
  const rlimit limit{64 * 1024, 64 * 1024};
  if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) std::_Exit(10);
  try {
    write_file_atomically(target, std::string(1024 * 1024, 'x'));
  } catch (const std::system_error& e) {
    const std::string message = e.what();
    const bool named = message.find(target.string()) != std::string::npos &&
                       message.find("(writing)") != std::string::npos &&
                       message.find("File too large") != std::string::npos;
    std::_Exit(named ? 0 : 11);
  } catch (...) {
    std::_Exit(12);
  }
  std::_Exit(13);  // written despite the limit
}

TEST(AtomicFileDeathTest, FailureMidWriteLeavesTheOldTargetAndNoTemporaryFile) {
  const TempDir dir;
  const fs::path target = dir.path() / "report.csv";
  write_text(target, "old");
  EXPECT_EXIT(write_past_file_size_limit(target), ::testing::ExitedWithCode(0), "");
  EXPECT_EQ(read_text(target), "old");
  EXPECT_THAT(names_in(dir.path()), ElementsAre("report.csv"));
}

// --- remove_old_files -------------------------------------------------------------------------

TEST(AtomicFileRetention, KeepsTheNewestN) {
  const TempDir dir;
  for (int m = 1; m <= 12; ++m) {
    char name[32];
    std::snprintf(name, sizeof name, "monthly-2026-%02d.csv", m);
    write_text(dir.path() / name, "x");
  }
  const auto removed = remove_old_files(dir.path(), "monthly-", ".csv", 3);
  ASSERT_EQ(removed.size(), 9u);
  EXPECT_EQ(removed.front(), dir.path() / "monthly-2026-01.csv");
  EXPECT_EQ(removed.back(), dir.path() / "monthly-2026-09.csv");
  EXPECT_THAT(names_in(dir.path()),
              ElementsAre("monthly-2026-10.csv", "monthly-2026-11.csv", "monthly-2026-12.csv"));
}

TEST(AtomicFileRetention, SortsByNameAcrossYears) {
  const TempDir dir;
  for (const char* name : {"daily-2027-01-01.json", "daily-2026-12-31.json",
                           "daily-2026-02-28.json", "daily-2027-01-02.json"}) {
    write_text(dir.path() / name, "x");
  }
  remove_old_files(dir.path(), "daily-", ".json", 2);
  EXPECT_THAT(names_in(dir.path()), ElementsAre("daily-2027-01-01.json", "daily-2027-01-02.json"));
}

TEST(AtomicFileRetention, NeverTouchesOtherFiles) {
  const TempDir dir;
  const std::vector<std::string> others = {
      "daily-2020-01-01.csv",              // another prefix
      "monthly-2020-01.json",              // another suffix
      "monthly-.csv",                      // no middle
      ".monthly-2020-01.csv.tmp.Ab12Cd",   // an in-flight temporary file
      ".scalr-usage-exporter-state.json",  // the state file
      "notes.txt",
  };
  for (const std::string& name : others) write_text(dir.path() / name, "x");
  fs::create_directory(dir.path() / "monthly-2019-01.csv");  // a directory that matches
  write_text(dir.path() / "target", "x");
  fs::create_symlink(dir.path() / "target", dir.path() / "monthly-2019-02.csv");  // a symlink
  write_text(dir.path() / "monthly-2026-10.csv", "x");
  write_text(dir.path() / "monthly-2026-11.csv", "x");

  const auto removed = remove_old_files(dir.path(), "monthly-", ".csv", 1);
  EXPECT_THAT(removed, ElementsAre(dir.path() / "monthly-2026-10.csv"));
  std::set<std::string> expected(others.begin(), others.end());
  expected.insert({"monthly-2019-01.csv", "monthly-2019-02.csv", "target", "monthly-2026-11.csv"});
  EXPECT_EQ(names_in(dir.path()), expected);
}

TEST(AtomicFileRetention, EvenAnEmptyPrefixSkipsHiddenFiles) {
  const TempDir dir;
  write_text(dir.path() / ".scalr-usage-exporter-state.json", "{}");
  write_text(dir.path() / ".hidden.json", "{}");
  write_text(dir.path() / "2026-10.json", "x");
  write_text(dir.path() / "2026-11.json", "x");
  EXPECT_THAT(remove_old_files(dir.path(), "", ".json", 0),
              ElementsAre(dir.path() / "2026-10.json", dir.path() / "2026-11.json"));
  EXPECT_THAT(names_in(dir.path()),
              ElementsAre(".hidden.json", ".scalr-usage-exporter-state.json"));
}

TEST(AtomicFileRetention, MiddlePredicateSeparatesOverlappingPrefixes) {
  const TempDir dir;
  for (const char* name : {"monthly-2026-10.csv", "monthly-2026-11.csv", "monthly-eu-2026-09.csv",
                           "monthly-eu-2026-10.csv"}) {
    write_text(dir.path() / name, "x");
  }
  const auto starts_with_digit = [](std::string_view middle) {
    return !middle.empty() && middle.front() >= '0' && middle.front() <= '9';
  };
  remove_old_files(dir.path(), "monthly-", ".csv", 1, starts_with_digit);
  EXPECT_THAT(names_in(dir.path()), ElementsAre("monthly-2026-11.csv", "monthly-eu-2026-09.csv",
                                                "monthly-eu-2026-10.csv"));
}

TEST(AtomicFileRetention, KeepAtLeastTheCountRemovesNothingAndZeroRemovesAll) {
  const TempDir dir;
  write_text(dir.path() / "r-1.csv", "x");
  write_text(dir.path() / "r-2.csv", "x");
  EXPECT_THAT(remove_old_files(dir.path(), "r-", ".csv", 2), IsEmpty());
  EXPECT_THAT(remove_old_files(dir.path(), "r-", ".csv", 24), IsEmpty());
  EXPECT_EQ(names_in(dir.path()).size(), 2u);
  EXPECT_EQ(remove_old_files(dir.path(), "r-", ".csv", 0).size(), 2u);
  EXPECT_THAT(names_in(dir.path()), IsEmpty());
}

TEST(AtomicFileRetention, MissingDirectoryIsNothingToDo) {
  const TempDir dir;
  EXPECT_THAT(remove_old_files(dir.path() / "missing", "r-", ".csv", 1), IsEmpty());
}

TEST(AtomicFileRetention, ADirectoryThatCannotBeListedThrows) {
  const TempDir dir;
  write_text(dir.path() / "file", "x");
  EXPECT_THROW(remove_old_files(dir.path() / "file", "r-", ".csv", 1), fs::filesystem_error);
}

}  // namespace
}  // namespace scalr_usage
