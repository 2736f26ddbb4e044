#include "reports/report_runner.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>

#include "reports/atomic_file.h"
#include "reports/formats.h"  // report_extension_of
#include "reports/render.h"
#include "reports/schedule_state.h"  // period_key
#include "util/text.h"               // quote_for_message

namespace scalr_usage {

namespace fs = std::filesystem;
using namespace std::chrono;

namespace {

constexpr std::string_view kFilePrefix = "scalr-usage_";
// The longest period a report covers (build_account_report refuses more).
constexpr auto kMaxReportDays = std::chrono::days{3660};
constexpr std::string_view kPeriodSpellings = "YYYY-MM, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD";

// One account's fetches in a run; error is the first failure.
struct Fetched {
  std::optional<AccountUsage> current;
  std::optional<AccountUsage> previous;
  std::string error;
};

[[noreturn]] void bad_period(std::string_view text, const std::string& why = "") {
  throw std::invalid_argument("want " + std::string(kPeriodSpellings) + (why.empty() ? "" : "; ") +
                              why + ", got " + quote_for_message(text));
}

year_month_day day_of(std::string_view text, std::string_view whole) {
  try {
    return parse_date(std::string(text));
  } catch (const std::invalid_argument& error) {
    bad_period(whole, error.what());
  }
}

bool is_period_key(std::string_view text) {
  try {
    parse_report_period(text);
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

std::string describe(const SourceError& error) {
  return std::string(to_string(error.reason())) + ": " + error.what();
}

// The fetches of a run, by account id; only the accounts this run writes.
using FetchedAccounts = std::map<std::string, Fetched>;

// Creates the report directory; false (result.error says why) when it cannot exist.
bool prepare_directory(const fs::path& directory, ReportRunResult& result) {
  try {
    ensure_report_directory(directory);
  } catch (const std::system_error& error) {
    result.error = error.what();
    return false;
  }
  return true;
}

// The job's accounts, or those the source lists for the period, of the job's shard, sorted and
// without duplicates; nullopt when they cannot be listed (result says why: cancelled, or error).
std::optional<std::vector<std::string>> list_accounts(UsageSource& source, const ReportJob& job,
                                                      std::stop_token stop,
                                                      ReportRunResult& result) {
  std::vector<std::string> accounts = job.accounts;
  if (accounts.empty()) {
    try {
      accounts = source.accounts(job.period, stop);
    } catch (const SourceError& error) {
      if (error.reason() == ErrorReason::cancelled) {
        result.cancelled = true;
      } else {
        result.error = "cannot list the accounts: " + describe(error);
      }
      return std::nullopt;
    }
  }
  accounts = owned_accounts(job.shard, std::move(accounts));
  std::sort(accounts.begin(), accounts.end());
  accounts.erase(std::unique(accounts.begin(), accounts.end()), accounts.end());
  return accounts;
}

// Fetches the period and the period before for every account in fetched, recording a failing
// account's first error in its entry. False when the run was cancelled (the rest not attempted).
// All current periods first, then all previous ones: a source that reads every account in one
// query per period (PostgreSQL) then runs two queries, not two per account.
bool fetch_all(UsageSource& source, const ReportJob& job, FetchedAccounts& fetched,
               std::stop_token stop, const ProgressCallback& progress) {
  ReportProgress step{0, 2 * fetched.size(), {}};
  const Period before = previous_period(job.period);
  for (const bool previous : {false, true}) {
    for (auto& [account, state] : fetched) {
      if (stop.stop_requested()) return false;
      if (!state.error.empty()) {
        ++step.done;
        continue;
      }
      step.account = account;
      if (progress) progress(step);
      try {
        (previous ? state.previous : state.current) =
            source.fetch(account, previous ? before : job.period, stop);
      } catch (const SourceError& error) {
        if (error.reason() == ErrorReason::cancelled) return false;
        state.error = (previous ? "previous period: " : "period: ") + describe(error);
      }
      ++step.done;
    }
  }
  return true;
}

// Writes the report of one account (the last of report.accounts) in each of the job's formats.
// One account per file: the files of a period are per account, for chargeback to each team.
void write_account_files(const Report& report, const ReportJob& job, const fs::path& directory,
                         const std::string& period_key, AccountResult& outcome) {
  const Report single{report.generated_at,      report.schedule, report.period,
                      {report.accounts.back()}, report.plan,     report.chargeback_labels};
  for (const std::string& format : job.formats) {
    const fs::path file = directory / report_file_name(outcome.account_id, period_key, format);
    try {
      write_file_atomically(file, render_report(single, format));
      outcome.files.push_back(file);
    } catch (const std::system_error& error) {
      // The other formats are still tried: one target in the way need not block them.
      if (outcome.error.empty()) outcome.error = error.what();
    }
  }
}

// Records one account's outcome in result: skipped (not fetched), its fetch error, or its report
// added to report and, for files output, written.
void build_and_write(const std::string& account, const FetchedAccounts& fetched,
                     const ReportJob& job, const ReportOutput& output, Report& report,
                     ReportRunResult& result) {
  AccountResult& outcome = result.accounts.emplace_back();
  outcome.account_id = account;
  const auto state = fetched.find(account);
  if (state == fetched.end()) {
    outcome.skipped = true;
    return;
  }
  outcome.error = state->second.error;
  if (!outcome.error.empty()) return;
  try {
    report.accounts.push_back(build_account_report(*state->second.current, &*state->second.previous,
                                                   job.plan, job.chargeback));
  } catch (const std::exception& error) {  // invalid_argument, overflow_error
    outcome.error = std::string("building the report: ") + error.what();
    return;
  }
  outcome.report = std::make_shared<const AccountReport>(report.accounts.back());
  if (output.stream == nullptr) {
    write_account_files(report, job, output.directory, result.period_key, outcome);
  }
}

// Every account in one document on the stream, in the job's only format.
void write_stream(const Report& report, const ReportJob& job, std::ostream& stream,
                  ReportRunResult& result) {
  stream << render_report(report, job.formats.front());
  stream.flush();
  if (!stream) result.error = "cannot write the report to the output stream";
}

}  // namespace

Period previous_period(const Period& period) {
  if (month_containing(period.start) == period) return month_before(period.start);
  const auto length = period.end - period.start;
  return Period{period.start - length, period.start};
}

Period parse_report_period(std::string_view text) {
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (text.size() == 7 && text[4] == '-' && std::all_of(text.begin(), text.begin() + 4, is_digit) &&
      is_digit(text[5]) && is_digit(text[6])) {
    const year_month_day first = day_of(std::string(text) + "-01", text);
    return month_containing(Seconds{sys_days{first}.time_since_epoch()});
  }
  const std::size_t dots = text.find("..");
  const std::string_view first_text = text.substr(0, dots);
  const std::string_view last_text =
      dots == std::string_view::npos ? first_text : text.substr(dots + 2);
  if (first_text.size() != 10 || last_text.size() != 10) bad_period(text);
  const year_month_day first = day_of(first_text, text);
  const year_month_day last = day_of(last_text, text);
  if (sys_days{last} < sys_days{first}) bad_period(text, "the last day is before the first");
  if (sys_days{last} - sys_days{first} >= kMaxReportDays) {
    bad_period(text, "at most " + std::to_string(kMaxReportDays.count()) + " days");
  }
  return days(first, last);
}

bool ReportRunResult::ok() const {
  return error.empty() && !cancelled &&
         std::all_of(accounts.begin(), accounts.end(),
                     [](const AccountResult& account) { return account.error.empty(); });
}

std::set<std::string> ReportRunResult::written_accounts() const {
  std::set<std::string> written;
  for (const AccountResult& account : accounts) {
    if (account.error.empty()) written.insert(account.account_id);
  }
  return written;
}

void ensure_report_directory(const fs::path& dir) {
  const auto fail = [&](int error) {
    throw std::system_error(error, std::generic_category(),
                            "cannot create report directory \"" + dir.string() + "\"");
  };
  struct stat info {};
  if (::stat(dir.c_str(), &info) == 0) {
    if (!S_ISDIR(info.st_mode)) fail(ENOTDIR);
    return;
  }
  if (errno != ENOENT) fail(errno);
  const fs::path parent = dir.lexically_normal().parent_path();
  if (!parent.empty() && parent != dir && parent != dir.root_path()) {
    ensure_report_directory(parent);
  }
  // 0750: the service's group (backup, a web server) may read the reports, nobody else.
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) fail(errno);
}

std::vector<fs::path> remove_old_reports(const fs::path& dir, std::size_t keep) {
  std::error_code error;
  fs::directory_iterator it(dir, error);
  if (error == std::errc::no_such_file_or_directory) return {};
  if (error) throw fs::filesystem_error("cannot list report directory", dir, error);
  // Every (account, extension) that has reports here, found from the names themselves so that
  // the files of an account no longer in the data are cleaned up too.
  std::set<std::pair<std::string, std::string_view>> groups;
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kFilePrefix)) continue;
    const std::string_view extension = report_extension_of(name);
    if (extension.empty()) continue;
    // The period key has no '_', the (sanitised) account id may: split at the last one.
    const std::string middle =
        name.substr(kFilePrefix.size(), name.size() - kFilePrefix.size() - extension.size());
    const std::size_t split = middle.rfind('_');
    if (split != std::string::npos && is_period_key(std::string_view(middle).substr(split + 1))) {
      groups.emplace(middle.substr(0, split), extension);
    }
  }
  std::vector<fs::path> removed;
  for (const auto& [account, extension] : groups) {
    const std::string prefix = std::string(kFilePrefix) + account + "_";
    for (fs::path& path : remove_old_files(dir, prefix, extension, keep, is_period_key)) {
      removed.push_back(std::move(path));
    }
  }
  return removed;
}

ReportRunResult run_report(UsageSource& source, const ReportJob& job, const ReportOutput& output,
                           std::stop_token stop, const ProgressCallback& progress) {
  ReportRunResult result;
  result.period_key = period_key(job.period);
  const bool to_stream = output.stream != nullptr;
  if (to_stream && job.formats.size() != 1) {
    throw std::invalid_argument("a report on a stream has exactly one format");
  }
  // Before asking the source anything: a directory that cannot exist fails every account.
  if (!to_stream && !prepare_directory(output.directory, result)) return result;

  std::optional<std::vector<std::string>> accounts = list_accounts(source, job, stop, result);
  if (!accounts) return result;
  FetchedAccounts fetched;
  for (const std::string& account : *accounts) {
    if (to_stream || !job.already_written.contains(account)) fetched[account];
  }
  if (!fetch_all(source, job, fetched, stop, progress)) {
    result.cancelled = true;
    return result;
  }

  Report report{format_rfc3339(job.generated_at), job.schedule, job.period, {}, job.plan,
                job.chargeback.labels()};
  for (const std::string& account : *accounts) {
    build_and_write(account, fetched, job, output, report, result);
  }
  if (to_stream && result.ok()) write_stream(report, job, *output.stream, result);
  return result;
}

}  // namespace scalr_usage
