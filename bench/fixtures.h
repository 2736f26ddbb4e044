#pragma once
// Deterministic synthetic data for the micro-benchmarks: a Scalr-shaped catalogue (accounts,
// environments, workspaces with realistic ids and names), workspace-day rows, JSON:API pages and
// snapshots. Everything comes from a small LCG with constant seeds, never from files, so every run
// measures the same input. Fixtures are built once per process and cached: Google Benchmark calls
// a benchmark function many times (iteration estimate, every repetition), and rebuilding 300k rows
// each time would make a run take minutes without changing what is measured.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/aggregate.h"
#include "model/period.h"
#include "model/snapshot.h"
#include "model/usage.h"
#include "reports/report.h"

namespace scalr_usage::bench {

// Prints "benchmark fixture is wrong: <what>" and aborts: a benchmark over a broken fixture would
// silently measure nothing.
[[noreturn]] void fixture_error(const std::string& what);
inline void require(bool ok, const std::string& what) {
  if (!ok) fixture_error(what);
}

// Knuth's MMIX LCG; the high bits are the good ones.
class Lcg {
 public:
  explicit Lcg(std::uint64_t seed) : state_(seed) {}
  std::uint32_t next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(state_ >> 33);
  }
  // Uniform enough in [0, n) for n far below 2^31.
  std::uint32_t below(std::uint32_t n) { return next() % n; }

 private:
  std::uint64_t state_;
};

struct EnvironmentSpec {
  std::string id;  // env-v0o1ld3a4p0jm6g8i
  std::string name;
};

struct WorkspaceSpec {
  std::string id;  // ws-v0o1ld3a4p0jm6g8i
  std::string name;
  std::size_t environment = 0;  // index into AccountSpec::environments
};

struct AccountSpec {
  std::string id;
  std::vector<EnvironmentSpec> environments;
  std::vector<WorkspaceSpec> workspaces;
};

// The "large" profile of tests/scalr_stub/sample_data.py, scaled by `scale`: three accounts with
// usage (50/30/20 environments, 6000/3000/1000 workspaces at scale 1), the sample data's account
// ids, and a handful of hostile names (quote, backslash, newline, UTF-8) in the first account, as
// in the stub, so escaping is exercised at a realistic rate.
std::vector<AccountSpec> large_catalogue(std::size_t scale = 1);

// November 2026, the month the rows cover (30 days).
Period bench_period();
// October 2026, the report's previous period.
Period bench_previous_period();

// One row per workspace per day of period (every workspace runs every day: 10,000 workspaces x 30
// days = 300,000 rows at scale 1), in a deterministic shuffled order, as a GROUP BY without ORDER
// BY returns them.
std::vector<WorkspaceDayRow> workspace_day_rows(const std::vector<AccountSpec>& catalogue,
                                                const Period& period, std::uint64_t seed);

// What the daemon polls: the large profile's rows for November and October, and the usage
// aggregate_account builds from them. Built once.
struct LargeProfile {
  std::vector<AccountSpec> catalogue;
  std::vector<WorkspaceDayRow> rows;         // November
  std::vector<AccountUsage> usage;           // November, one per account, by account id
  std::vector<AccountUsage> previous_usage;  // October
  std::size_t workspace_count = 0;           // over all accounts
  std::size_t environment_count = 0;
};
const LargeProfile& large_profile();

// A poller-shaped snapshot: every account up, with its usage, a few poll error and API request
// counters. The usage's workspaces carry their environment (the PostgreSQL source's shape, the
// one with the most labels).
Snapshot snapshot_of(const std::vector<AccountUsage>& usage);

// A snapshot with `workspaces` workspaces in all (10,000 = the large profile, 50,000 = five times
// it), built directly from the catalogue without rows. Built once per size.
const Snapshot& snapshot_with_workspaces(std::size_t workspaces);

// The report of the large profile: every account with its previous period and a billing plan
// with overage, so that every part of every format is rendered.
BillingPlan bench_plan();
const Report& large_report();

// One page of GET /api/iacp/v3/usage-statistics in the shape tests/scalr_stub/scalr_stub.py
// sends: breakdown_by=workspace&total=true (date null; what 10,000 workspaces make 100 of per
// account and poll), or no breakdown (one row per day, date set, breakdown null).
enum class PageKind { workspace_breakdown, daily };
std::string usage_page_json(PageKind kind, std::size_t items, std::uint64_t seed);

// Lines of text that are samples (neither comments nor empty).
std::size_t count_sample_lines(std::string_view text);
// Lines that start with prefix.
std::size_t count_lines_starting_with(std::string_view text, std::string_view prefix);

}  // namespace scalr_usage::bench
