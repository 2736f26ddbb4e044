// Snapshot build for the large profile (3 accounts, 100 environments, 10,000 workspaces, 300,000
// workspace-day rows): the row-oriented path of the PostgreSQL source (aggregate_account per
// account) up to the immutable Snapshot, and a whole poll cycle as the daemon runs it, which also
// publishes, i.e. renders the exposition, after every account.

#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <stop_token>

#include "bench/fixtures.h"
#include "daemon/poller.h"
#include "metrics/snapshot_store.h"
#include "model/aggregate.h"

namespace scalr_usage::bench {
namespace {

using RowsByAccount = std::map<std::string, std::vector<WorkspaceDayRow>>;

// As PostgresSource::load() leaves them: the rows of one read, split per account.
const RowsByAccount& rows_by_account() {
  static const RowsByAccount rows = [] {
    RowsByAccount by_account;
    for (const WorkspaceDayRow& row : large_profile().rows)
      by_account[row.account_id].push_back(row);
    return by_account;
  }();
  return rows;
}

void check_snapshot(const Snapshot& snapshot) {
  const LargeProfile& profile = large_profile();
  require(snapshot.accounts.size() == profile.catalogue.size(), "snapshot lacks accounts");
  std::size_t workspaces = 0;
  for (const auto& [id, state] : snapshot.accounts) {
    require(state.up && state.usage != nullptr, id + " is not up with usage in the snapshot");
    workspaces += state.usage->workspaces.size();
  }
  require(workspaces == profile.workspace_count, "snapshot has the wrong workspace count");
}

// Rows -> AccountUsage (aggregate_account, as PostgresSource::fetch) -> shared immutable usage in a
// Snapshot (as Poller::record_success), without the exposition.
Snapshot build_snapshot(const RowsByAccount& rows) {
  Snapshot snapshot;
  snapshot.first_poll_done = true;
  snapshot.source_up = true;
  for (const auto& [account_id, account_rows] : rows) {
    AccountState& state = snapshot.accounts[account_id];
    state.usage = std::make_shared<const AccountUsage>(
        aggregate_account(account_id, bench_period(), account_rows));
    state.up = true;
  }
  return snapshot;
}

void BM_SnapshotBuild_Large(benchmark::State& state) {
  const RowsByAccount& rows = rows_by_account();
  check_snapshot(build_snapshot(rows));
  for (auto _ : state) {
    auto snapshot = std::make_shared<const Snapshot>(build_snapshot(rows));
    benchmark::DoNotOptimize(snapshot);
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<std::int64_t>(large_profile().rows.size()));
}
BENCHMARK(BM_SnapshotBuild_Large)->Unit(benchmark::kMillisecond);

// The PostgreSQL source after its query: fetch() aggregates the account's rows.
class RowSource final : public UsageSource {
 public:
  explicit RowSource(const RowsByAccount& rows) : rows_(rows) {}
  std::vector<std::string> accounts(const Period&, std::stop_token) override {
    std::vector<std::string> ids;
    for (const auto& [id, rows] : rows_) ids.push_back(id);
    return ids;
  }
  AccountUsage fetch(const std::string& account_id, const Period& period,
                     std::stop_token) override {
    return aggregate_account(account_id, period, rows_.at(account_id));
  }

 private:
  const RowsByAccount& rows_;
};

// One steady-state poll cycle: list, fetch (aggregate) and publish every account, each publication
// copying the Snapshot and rendering the exposition (plain + gzip) of everything known so far.
void BM_PollCycle_Large(benchmark::State& state) {
  const RowsByAccount& rows = rows_by_account();
  SnapshotStore store(BuildInfo{"0.1.0", "bench"});
  const Clock::time_point now = bench_period().start + std::chrono::days{14};
  Poller poller(
      {std::chrono::minutes{5}, [now] { return now; }},
      [&rows](RequestObserver&) { return std::make_unique<RowSource>(rows); }, store);
  poller.poll_once(std::stop_token{});  // the first cycle logs and creates the accounts
  check_snapshot(*store.snapshot());
  require(count_lines_starting_with(store.exposition()->text, "scalr_workspace_runs_total{") ==
              large_profile().workspace_count,
          "published exposition lacks workspace series");

  const std::uint64_t generation_before = store.snapshot()->generation;
  for (auto _ : state) {
    poller.poll_once(std::stop_token{});
  }
  const std::uint64_t publications = store.snapshot()->generation - generation_before;
  state.SetItemsProcessed(state.iterations() *
                          static_cast<std::int64_t>(large_profile().rows.size()));
  state.counters["publications_per_cycle"] =
      static_cast<double>(publications) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_PollCycle_Large)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace scalr_usage::bench
