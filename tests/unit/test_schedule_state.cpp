#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "model/period.h"
#include "reports/schedule_state.h"
#include "test_files.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

Seconds at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  return Seconds{sys_days{year{y} / month{m} / day{d}}.time_since_epoch()} + hours{hh} +
         minutes{mm} + seconds{ss};
}

using test_files::read_text;
using test_files::TempDir;
using test_files::write_text;

ScheduleSpec spec(std::string name, std::string_view cron, PeriodKind kind) {
  return ScheduleSpec{std::move(name), CronExpression::parse(cron), kind};
}

// --- period_for and period_key ----------------------------------------------------------------

TEST(ScheduleStatePeriod, PreviousMonth) {
  EXPECT_EQ(period_for(PeriodKind::previous_month, at(2026, 11, 1, 6)),
            (Period{at(2026, 10, 1), at(2026, 11, 1)}));
  EXPECT_EQ(period_for(PeriodKind::previous_month, at(2026, 11, 30, 23, 59, 59)),
            (Period{at(2026, 10, 1), at(2026, 11, 1)}));
  EXPECT_EQ(period_for(PeriodKind::previous_month, at(2027, 1, 1)),
            (Period{at(2026, 12, 1), at(2027, 1, 1)}));
  EXPECT_EQ(period_for(PeriodKind::previous_month, at(2028, 3, 1, 6)),
            (Period{at(2028, 2, 1), at(2028, 3, 1)}));
  EXPECT_EQ(period_key(period_for(PeriodKind::previous_month, at(2026, 11, 1, 6))), "2026-10");
  EXPECT_EQ(period_key(period_for(PeriodKind::previous_month, at(2027, 1, 1))), "2026-12");
  EXPECT_EQ(period_key(period_for(PeriodKind::previous_month, at(2028, 3, 1))), "2028-02");
}

TEST(ScheduleStatePeriod, MonthToDateCoversCompleteDaysOnly) {
  const Period mid_month = period_for(PeriodKind::month_to_date, at(2026, 11, 27, 6));
  EXPECT_EQ(mid_month, (Period{at(2026, 11, 1), at(2026, 11, 27)}));
  EXPECT_EQ(period_key(mid_month), "2026-11-01..2026-11-26");
  // Every fire time on one day gives the same period.
  EXPECT_EQ(period_for(PeriodKind::month_to_date, at(2026, 11, 27)), mid_month);
  EXPECT_EQ(period_for(PeriodKind::month_to_date, at(2026, 11, 27, 23, 59, 59)), mid_month);
  // On the 2nd: one day.
  EXPECT_EQ(period_key(period_for(PeriodKind::month_to_date, at(2026, 12, 2, 6))), "2026-12-01");
}

TEST(ScheduleStatePeriod, MonthToDateOnTheFirstIsThePreviousWholeMonth) {
  EXPECT_EQ(period_for(PeriodKind::month_to_date, at(2026, 12, 1, 6)),
            (Period{at(2026, 11, 1), at(2026, 12, 1)}));
  EXPECT_EQ(period_key(period_for(PeriodKind::month_to_date, at(2026, 12, 1, 6))), "2026-11");
  EXPECT_EQ(period_key(period_for(PeriodKind::month_to_date, at(2027, 1, 1))), "2026-12");
  EXPECT_EQ(period_key(period_for(PeriodKind::month_to_date, at(2028, 3, 1))), "2028-02");
  EXPECT_EQ(period_key(period_for(PeriodKind::month_to_date, at(2028, 2, 29))),
            "2028-02-01..2028-02-28");
}

TEST(ScheduleStatePeriod, PreviousDay) {
  EXPECT_EQ(period_for(PeriodKind::previous_day, at(2026, 11, 27, 6)),
            (Period{at(2026, 11, 26), at(2026, 11, 27)}));
  EXPECT_EQ(period_key(period_for(PeriodKind::previous_day, at(2026, 11, 27, 6))), "2026-11-26");
  EXPECT_EQ(period_key(period_for(PeriodKind::previous_day, at(2027, 1, 1))), "2026-12-31");
  EXPECT_EQ(period_key(period_for(PeriodKind::previous_day, at(2028, 3, 1, 0, 30))), "2028-02-29");
  EXPECT_EQ(period_key(period_for(PeriodKind::previous_day, at(2027, 3, 1))), "2027-02-28");
  EXPECT_EQ(period_key(period_for(PeriodKind::previous_day, at(2026, 11, 1))), "2026-10-31");
}

TEST(ScheduleStatePeriod, KeyFormats) {
  EXPECT_EQ(period_key(month_containing(at(2026, 2, 10))), "2026-02");
  EXPECT_EQ(period_key(days(2026y / 11 / 26, 2026y / 11 / 26)), "2026-11-26");
  EXPECT_EQ(period_key(days(2026y / 11 / 1, 2026y / 11 / 26)), "2026-11-01..2026-11-26");
  EXPECT_EQ(period_key(days(2026y / 12 / 15, 2027y / 1 / 14)), "2026-12-15..2027-01-14");
  // Two whole months are a range, not a month.
  EXPECT_EQ(period_key(days(2026y / 10 / 1, 2026y / 11 / 30)), "2026-10-01..2026-11-30");
  // Not on day boundaries: the days it touches.
  EXPECT_EQ(period_key(Period{at(2026, 11, 1, 6), at(2026, 11, 1, 18)}), "2026-11-01");
  EXPECT_EQ(period_key(Period{at(2026, 11, 1, 6), at(2026, 11, 3, 0, 0, 1)}),
            "2026-11-01..2026-11-03");
  EXPECT_THROW(period_key(Period{at(2026, 11, 1), at(2026, 11, 1)}), std::invalid_argument);
  EXPECT_THROW(period_key(Period{at(2026, 11, 2), at(2026, 11, 1)}), std::invalid_argument);
}

TEST(ScheduleStatePeriod, KindNames) {
  for (const PeriodKind kind :
       {PeriodKind::previous_month, PeriodKind::month_to_date, PeriodKind::previous_day}) {
    EXPECT_EQ(parse_period_kind(to_string(kind)), kind);
  }
  EXPECT_EQ(to_string(PeriodKind::month_to_date), "month_to_date");
  try {
    parse_period_kind("last_month");
    FAIL() << "parsed";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("\"last_month\""));
    EXPECT_THAT(e.what(), HasSubstr("previous_month, month_to_date or previous_day"));
  }
  EXPECT_THROW(parse_period_kind(""), std::invalid_argument);
  EXPECT_THROW(parse_period_kind("Previous_Month"), std::invalid_argument);
}

// --- the state file ---------------------------------------------------------------------------

TEST(ScheduleStateFile, MissingFileIsEmptyState) {
  const TempDir dir;
  const ScheduleState state = ScheduleState::load(dir.path() / ScheduleState::kFileName);
  EXPECT_TRUE(state.entries().empty());
  EXPECT_EQ(state.last_written("monthly"), std::nullopt);
  EXPECT_EQ(state.file(), dir.path() / ScheduleState::kFileName);
  EXPECT_FALSE(fs::exists(state.file()));  // loading creates nothing
}

TEST(ScheduleStateFile, SaveAndLoadRoundTrip) {
  const TempDir dir;
  const fs::path file = dir.path() / ScheduleState::kFileName;
  ScheduleState state(file);
  state.mark_written("monthly", "2026-10", at(2026, 11, 1, 6), at(2026, 11, 1, 6, 0, 3));
  state.mark_written("daily \"eu\"", "2026-11-26", at(2026, 11, 27, 6), at(2026, 11, 27, 6, 1));
  state.save();

  const ScheduleState loaded = ScheduleState::load(file);
  EXPECT_EQ(loaded.entries(), state.entries());
  EXPECT_EQ(loaded.last_written("monthly"), "2026-10");
  EXPECT_EQ(loaded.last_written("daily \"eu\""), "2026-11-26");
  const auto entry = loaded.last_entry("monthly");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->fire_time, at(2026, 11, 1, 6));
  EXPECT_EQ(entry->written_at, at(2026, 11, 1, 6, 0, 3));

  // Human-readable, versioned, and only the one file in the directory.
  const std::string text = read_text(file);
  EXPECT_THAT(text, HasSubstr("\"version\": 1"));
  EXPECT_THAT(text, HasSubstr("\"period\": \"2026-10\""));
  EXPECT_THAT(text, HasSubstr("\"fire_time\": \"2026-11-01T06:00:00Z\""));
  EXPECT_THAT(text, HasSubstr("\"written_at\": \"2026-11-01T06:00:03Z\""));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(ScheduleStateFile, MarkWrittenReplacesTheEntry) {
  const TempDir dir;
  ScheduleState state(dir.path() / ScheduleState::kFileName);
  state.mark_written("monthly", "2026-10", at(2026, 11, 1, 6), at(2026, 11, 1, 6));
  const DueReport due{"monthly", at(2026, 12, 1, 6), Period{at(2026, 11, 1), at(2026, 12, 1)},
                      "2026-11", false};
  state.mark_written(due, at(2026, 12, 1, 6, 0, 2));
  EXPECT_EQ(state.last_written("monthly"), "2026-11");
  EXPECT_EQ(state.last_entry("monthly")->fire_time, at(2026, 12, 1, 6));
  EXPECT_EQ(state.entries().size(), 1u);
  state.save();
  state.save();  // saving again replaces the file
  EXPECT_EQ(ScheduleState::load(state.file()).last_written("monthly"), "2026-11");
}

TEST(ScheduleStateFile, SaveIntoAMissingDirectoryThrows) {
  const TempDir dir;
  const ScheduleState state(dir.path() / "missing" / ScheduleState::kFileName);
  EXPECT_THROW(state.save(), std::system_error);
}

struct CorruptFile {
  std::string contents;
  std::string message_part;
};

// Readable parameter names in test output.
void PrintTo(const CorruptFile& value, std::ostream* out) { *out << value.contents; }

class ScheduleStateCorrupt : public ::testing::TestWithParam<CorruptFile> {};

TEST_P(ScheduleStateCorrupt, ThrowsNamingTheFileAndTheProblem) {
  const TempDir dir;
  const fs::path file = dir.path() / ScheduleState::kFileName;
  write_text(file, GetParam().contents);
  try {
    ScheduleState::load(file);
    FAIL() << "loaded";
  } catch (const ScheduleStateError& e) {
    EXPECT_THAT(e.what(), HasSubstr(file.string()));
    EXPECT_THAT(e.what(), HasSubstr(GetParam().message_part));
  }
}

constexpr const char* kGoodEntry = R"({"period": "2026-10", "fire_time": "2026-11-01T06:00:00Z",)"
                                   R"( "written_at": "2026-11-01T06:00:03Z"})";

INSTANTIATE_TEST_SUITE_P(
    ScheduleState, ScheduleStateCorrupt,
    ::testing::Values(
        CorruptFile{"", "is not valid JSON"}, CorruptFile{"{\"version\": 1,", "is not valid JSON"},
        CorruptFile{"\x01garbage", "is not valid JSON"},
        CorruptFile{"[]", "is corrupt: must be a JSON object"},
        CorruptFile{"{}", "is corrupt: missing \"version\""},
        CorruptFile{R"({"version": "1", "schedules": {}})", "\"version\" must be an integer"},
        CorruptFile{R"({"version": 1.5, "schedules": {}})", "\"version\" must be an integer"},
        CorruptFile{R"({"version": -1, "schedules": {}})", "unsupported version -1"},
        CorruptFile{R"({"version": 2, "schedules": {}})", "unsupported version 2"},
        CorruptFile{R"({"version": 1})", "missing \"schedules\""},
        CorruptFile{R"({"version": 1, "schedules": []})", "\"schedules\" must be an object"},
        CorruptFile{R"({"version": 1, "schedules": {"m": 5}})",
                    "schedule \"m\": must be an object"},
        CorruptFile{R"({"version": 1, "schedules": {"m": {"fire_time": "2026-11-01T06:00:00Z",)"
                    R"( "written_at": "2026-11-01T06:00:00Z"}}})",
                    "schedule \"m\": missing \"period\""},
        CorruptFile{R"({"version": 1, "schedules": {"m": {"period": 7, "fire_time": "x"}}})",
                    "\"period\" must be a string"},
        CorruptFile{R"({"version": 1, "schedules": {"m": {"period": "", "fire_time": "x"}}})",
                    "\"period\" must not be empty"},
        CorruptFile{
            R"({"version": 1, "schedules": {"m": {"period": "2026-10",)"
            R"( "fire_time": "2026-11-01 06:00:00", "written_at": "2026-11-01T06:00:00Z"}}})",
            "\"fire_time\" is not a UTC time"},
        CorruptFile{
            R"({"version": 1, "schedules": {"m": {"period": "2026-10",)"
            R"( "fire_time": "2026-13-01T06:00:00Z", "written_at": "2026-11-01T06:00:00Z"}}})",
            "\"fire_time\" is not a UTC time"},
        CorruptFile{
            R"({"version": 1, "schedules": {"m": {"period": "2026-10",)"
            R"( "fire_time": "2026-11-01T06:00:00+01:00", "written_at": "2026-11-01T06:00:00Z"}}})",
            "\"fire_time\" is not a UTC time"},
        CorruptFile{
            R"({"version": 1, "schedules": {"m": {"period": "2026-10",)"
            R"( "fire_time": "2026-11-01T24:00:00Z", "written_at": "2026-11-01T06:00:00Z"}}})",
            "\"fire_time\" is not a UTC time"},
        CorruptFile{
            R"({"version": 1, "schedules": {"m": {"period": "2026-10",)"
            R"( "fire_time": "2026-11-01T+6:00:00Z", "written_at": "2026-11-01T06:00:00Z"}}})",
            "\"fire_time\" is not a UTC time"},
        CorruptFile{R"({"version": 1, "schedules": {"m": {"period": "2026-10",)"
                    R"( "fire_time": "2026-11-01T06:00:00Z"}}})",
                    "missing \"written_at\""},
        CorruptFile{std::string(R"({"version": 1, "schedules": {"ok": )") + kGoodEntry +
                        R"(, "bad": {"period": "2026-10"}}})",
                    "schedule \"bad\": missing \"fire_time\""}));

TEST(ScheduleStateFile, ExtraKeysAreIgnored) {
  const TempDir dir;
  const fs::path file = dir.path() / ScheduleState::kFileName;
  write_text(file,
             std::string(R"({"version": 1, "note": "x", "schedules": {"m": )") + kGoodEntry + "}}");
  EXPECT_EQ(ScheduleState::load(file).last_written("m"), "2026-10");
}

TEST(ScheduleStateFile, ADirectoryInsteadOfTheFileThrows) {
  const TempDir dir;
  const fs::path file = dir.path() / ScheduleState::kFileName;
  fs::create_directory(file);
  EXPECT_THROW(ScheduleState::load(file), ScheduleStateError);
}

TEST(ScheduleStateFile, AnUnreadableFileThrows) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  const TempDir dir;
  const fs::path file = dir.path() / ScheduleState::kFileName;
  write_text(file, "{}");
  fs::permissions(file, fs::perms::none);
  try {
    ScheduleState::load(file);
    FAIL() << "loaded";
  } catch (const ScheduleStateError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot read"));
    EXPECT_THAT(e.what(), HasSubstr("Permission denied"));
  }
}

// --- due_reports ------------------------------------------------------------------------------

class ScheduleStateDue : public ::testing::Test {
 protected:
  TempDir dir;
  ScheduleState state{dir.path() / ScheduleState::kFileName};
  std::vector<ScheduleSpec> specs = {spec("monthly", "0 6 1 * *", PeriodKind::previous_month),
                                     spec("daily", "0 6 * * *", PeriodKind::previous_day)};
  std::vector<ScheduleSpec> monthly_only = {specs[0]};
};

TEST_F(ScheduleStateDue, NormalFire) {
  state.mark_written("monthly", "2026-09", at(2026, 10, 1, 6), at(2026, 10, 1, 6));
  const auto due = due_reports(monthly_only, state, at(2026, 11, 1, 5, 59), at(2026, 11, 1, 6));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0], (DueReport{"monthly", at(2026, 11, 1, 6),
                               Period{at(2026, 10, 1), at(2026, 11, 1)}, "2026-10", false}));
}

TEST_F(ScheduleStateDue, NotDueBeforeTheFireTime) {
  state.mark_written("monthly", "2026-09", at(2026, 10, 1, 6), at(2026, 10, 1, 6));
  EXPECT_TRUE(
      due_reports(monthly_only, state, at(2026, 11, 1, 5), at(2026, 11, 1, 5, 59, 59)).empty());
}

TEST_F(ScheduleStateDue, AlreadyWrittenIsNeverDueAgain) {
  auto due = due_reports(monthly_only, state, at(2026, 11, 1, 6), at(2026, 11, 1, 6));
  ASSERT_EQ(due.size(), 1u);
  state.mark_written(due[0], at(2026, 11, 1, 6, 0, 2));
  for (const Seconds now :
       {at(2026, 11, 1, 6), at(2026, 11, 1, 6, 5), at(2026, 11, 15), at(2026, 12, 1, 5, 59, 59)}) {
    EXPECT_TRUE(due_reports(monthly_only, state, now - minutes{5}, now).empty())
        << format_rfc3339(now);
  }
  // Also after a restart: the state file carries it.
  state.save();
  const ScheduleState reloaded = ScheduleState::load(state.file());
  EXPECT_TRUE(due_reports(monthly_only, reloaded, at(2026, 11, 20), at(2026, 11, 20)).empty());
  EXPECT_EQ(due_reports(monthly_only, reloaded, at(2026, 12, 1, 6), at(2026, 12, 1, 6)).size(), 1u);
}

TEST_F(ScheduleStateDue, DowntimeOverOneFireCatchesUpAtStart) {
  state.mark_written("monthly", "2026-09", at(2026, 10, 1, 6), at(2026, 10, 1, 6));
  // Down from Oct 15 to Nov 10; at start last_check is now.
  const auto due = due_reports(monthly_only, state, at(2026, 11, 10, 9), at(2026, 11, 10, 9));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].period_key, "2026-10");
  EXPECT_EQ(due[0].fire_time, at(2026, 11, 1, 6));
  EXPECT_TRUE(due[0].catch_up);
}

TEST_F(ScheduleStateDue, DowntimeOverSeveralFiresCatchesUpOnlyTheLatestOnce) {
  state.mark_written("monthly", "2026-07", at(2026, 8, 1, 6), at(2026, 8, 1, 6));
  state.mark_written("daily", "2026-07-31", at(2026, 8, 1, 6), at(2026, 8, 1, 6));
  const Seconds start = at(2026, 11, 10, 9);
  const auto due = due_reports(specs, state, start, start);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].schedule, "monthly");
  EXPECT_EQ(due[0].period_key, "2026-10");
  EXPECT_EQ(due[1].schedule, "daily");
  EXPECT_EQ(due[1].period_key, "2026-11-09");
  for (const DueReport& report : due) state.mark_written(report, start);
  EXPECT_TRUE(due_reports(specs, state, start, start + minutes{1}).empty());
  EXPECT_TRUE(due_reports(specs, state, start, at(2026, 11, 11, 5, 59)).empty());
}

TEST_F(ScheduleStateDue, FirstStartWithoutStateCatchesUpOnlyTheLatestFire) {
  const Seconds start = at(2026, 11, 27, 10);
  const auto due = due_reports(specs, state, start, start);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0], (DueReport{"monthly", at(2026, 11, 1, 6),
                               Period{at(2026, 10, 1), at(2026, 11, 1)}, "2026-10", true}));
  EXPECT_EQ(due[1], (DueReport{"daily", at(2026, 11, 27, 6),
                               Period{at(2026, 11, 26), at(2026, 11, 27)}, "2026-11-26", true}));
}

TEST_F(ScheduleStateDue, SchedulesAreIndependent) {
  const Seconds now = at(2026, 11, 27, 10);
  state.mark_written("monthly", "2026-10", at(2026, 11, 1, 6), at(2026, 11, 1, 6));
  auto due = due_reports(specs, state, now, now);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].schedule, "daily");

  // A second schedule with the same cron and period under another name has its own state.
  std::vector<ScheduleSpec> twins = {spec("monthly", "0 6 1 * *", PeriodKind::previous_month),
                                     spec("monthly-copy", "0 6 1 * *", PeriodKind::previous_month)};
  due = due_reports(twins, state, now, now);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].schedule, "monthly-copy");
  EXPECT_EQ(due[0].period_key, "2026-10");
}

TEST_F(ScheduleStateDue, ClockSteppedBackDoesNotRewriteAnOlderPeriod) {
  state.mark_written("monthly", "2026-11", at(2026, 12, 1, 6), at(2026, 12, 1, 6, 0, 1));
  EXPECT_TRUE(due_reports(monthly_only, state, at(2026, 12, 1, 6), at(2026, 11, 30, 23)).empty());
}

TEST_F(ScheduleStateDue, ScheduleEditedToFireEarlierWaitsForItsNextFire) {
  state.mark_written("monthly", "2026-10", at(2026, 11, 1, 6), at(2026, 11, 1, 6));
  // Now on the 2nd at 07:00: its latest fire (Oct 2, for September) is older than the one written,
  // and September was written long ago.
  const std::vector<ScheduleSpec> edited = {
      spec("monthly", "0 7 2 * *", PeriodKind::previous_month)};
  EXPECT_TRUE(due_reports(edited, state, at(2026, 11, 1, 6, 30), at(2026, 11, 1, 6, 30)).empty());
  EXPECT_EQ(due_reports(edited, state, at(2026, 12, 2, 7), at(2026, 12, 2, 7)).size(), 1u);
}

TEST_F(ScheduleStateDue, MonthToDateFiringHourlyWritesOncePerDay) {
  const std::vector<ScheduleSpec> hourly = {spec("mtd", "0 * * * *", PeriodKind::month_to_date)};
  auto due = due_reports(hourly, state, at(2026, 11, 27), at(2026, 11, 27));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].period_key, "2026-11-01..2026-11-26");
  state.mark_written(due[0], at(2026, 11, 27));
  for (int h = 1; h < 24; ++h) {
    EXPECT_TRUE(due_reports(hourly, state, at(2026, 11, 27, h - 1), at(2026, 11, 27, h)).empty());
  }
  due = due_reports(hourly, state, at(2026, 11, 27, 23), at(2026, 11, 28));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].period_key, "2026-11-01..2026-11-27");
  EXPECT_FALSE(due[0].catch_up);
}

TEST_F(ScheduleStateDue, ImpossibleScheduleIsNeverDue) {
  const std::vector<ScheduleSpec> never = {spec("never", "0 0 30 2 *", PeriodKind::previous_day)};
  EXPECT_TRUE(due_reports(never, state, at(2026, 11, 27), at(2026, 11, 27)).empty());
  EXPECT_EQ(next_wakeup(never, at(2026, 11, 27)), std::nullopt);
}

// A daemon checking at irregular times, with outages, over two years: every period is written at
// most once, in order, and every fire time the daemon was up for (or restarted after, before the
// next fire) gets its report.
TEST_F(ScheduleStateDue, SimulatedRunWritesEachPeriodAtMostOnce) {
  const std::vector<ScheduleSpec> all = {spec("monthly", "0 6 1 * *", PeriodKind::previous_month),
                                         spec("daily", "30 0 * * *", PeriodKind::previous_day),
                                         spec("mtd", "0 */8 * * *", PeriodKind::month_to_date)};
  std::mt19937_64 random(42);
  std::uniform_int_distribution<int> gap_minutes(1, 600);
  std::bernoulli_distribution outage(0.01);
  std::uniform_int_distribution<int> outage_days(1, 70);

  std::map<std::string, std::vector<std::string>> written;
  Seconds now = at(2026, 1, 1);
  Seconds last_check = now;
  while (now < at(2028, 1, 1)) {
    for (const DueReport& report : due_reports(all, state, last_check, now)) {
      written[report.schedule].push_back(report.period_key);
      state.mark_written(report, now);
      state.save();  // after each report, as the daemon does
    }
    last_check = now;
    if (outage(random)) {
      now += hours{24 * outage_days(random)};
      state = ScheduleState::load(state.file());  // restarted: state from disk
      last_check = now;
    } else {
      now += minutes{gap_minutes(random)};
    }
  }

  for (const auto& [schedule, keys] : written) {
    std::set<std::string> unique(keys.begin(), keys.end());
    EXPECT_EQ(unique.size(), keys.size()) << schedule << " wrote a period twice";
  }
  // The monthly schedule: one report per month at most, in month order.
  const auto& monthly = written["monthly"];
  EXPECT_TRUE(std::is_sorted(monthly.begin(), monthly.end()));
  EXPECT_GE(monthly.size(), 12u);
  EXPECT_LE(monthly.size(), 24u);
}

// --- next_wakeup ------------------------------------------------------------------------------

TEST(ScheduleStateWakeup, EarliestNextFireOfAnySchedule) {
  const std::vector<ScheduleSpec> specs = {spec("monthly", "0 6 1 * *", PeriodKind::previous_month),
                                           spec("daily", "0 6 * * *", PeriodKind::previous_day),
                                           spec("never", "0 0 31 2 *", PeriodKind::previous_day)};
  EXPECT_EQ(next_wakeup(specs, at(2026, 11, 27, 10)), at(2026, 11, 28, 6));
  EXPECT_EQ(next_wakeup(specs, at(2026, 11, 30, 6)), at(2026, 12, 1, 6));
  // Strictly after now, so a daemon woken at a fire time does not wake again for it.
  EXPECT_EQ(next_wakeup(specs, at(2026, 11, 28, 6)), at(2026, 11, 29, 6));
  EXPECT_EQ(next_wakeup({specs[0]}, at(2026, 11, 27, 10)), at(2026, 12, 1, 6));
  EXPECT_EQ(next_wakeup({}, at(2026, 11, 27)), std::nullopt);
}

}  // namespace
}  // namespace scalr_usage
