#include "backfill/backfill.h"

#include <algorithm>
#include <map>
#include <memory>
#include <regex>

#include "backfill/month_to_date.h"
#include "model/snapshot.h"

namespace scalr_usage {

namespace {

using std::chrono::sys_days;

// Labels the families written by write_usage_metrics carry (metrics/snapshot_collector.cpp).
constexpr std::string_view kSeriesLabels[] = {"account_id",     "account_name",     "target",
                                              "environment_id", "environment_name", "workspace_id",
                                              "workspace_name"};

// The target and name of each account, as the live exporter's scalr_account_info has them.
struct AccountFacts {
  std::string target;
  std::string name;
};

struct Accounts {
  std::vector<std::string> ids;
  std::map<std::string, AccountFacts> facts;
};

Accounts list_accounts(UsageSource& source, const BackfillJob& job, std::stop_token stop) {
  const Period range = days(job.from, job.to);
  std::vector<AccountListing> listings;
  try {
    listings = source.list(range, stop);
  } catch (const SourceError& error) {
    throw BackfillError(std::string("listing the accounts: ") + error.what());
  }
  Accounts accounts;
  for (const AccountListing& listing : listings) {
    if (listing.error) {
      throw BackfillError("listing the accounts of target " + listing.target + ": " +
                          listing.error->what());
    }
    for (const std::string& id : listing.accounts) {
      const auto name = listing.names.find(id);
      accounts.facts[id] = {listing.target, name == listing.names.end() ? "" : name->second};
      if (job.accounts.empty()) accounts.ids.push_back(id);
    }
  }
  if (!job.accounts.empty()) accounts.ids = job.accounts;
  for (const std::string& id : accounts.ids) {
    accounts.facts.try_emplace(id, AccountFacts{std::string(source.target_name()), ""});
  }
  return accounts;
}

// The snapshot the live exporter would have published at the end of the day, for one account.
Snapshot day_snapshot(const std::string& account_id, const AccountFacts& facts,
                      const MonthToDate& month, const ChargebackRules& chargeback) {
  Snapshot snapshot;
  snapshot.chargeback_labels = chargeback.labels();
  AccountState& state = snapshot.accounts[account_id];
  auto usage = std::make_shared<AccountUsage>(month.usage());
  state.target = facts.target;
  // The listing's name, as the poller takes it; else the one the usage brought.
  state.name = facts.name.empty() ? usage->account_name : facts.name;
  if (chargeback.enabled()) {
    for (const WorkspaceUsage& workspace : usage->workspaces) {
      state.chargeback[workspace.id] = chargeback.classify(account_id, workspace);
    }
  }
  state.usage = std::move(usage);
  state.up = true;
  return snapshot;
}

// The usage of the days [first, last]; errors name the account and the day (or days).
AccountUsage fetch_days(UsageSource& source, const std::string& account_id,
                        std::chrono::year_month_day first, std::chrono::year_month_day last,
                        std::stop_token stop) {
  if (stop.stop_requested()) throw BackfillError("interrupted");
  try {
    return source.fetch(account_id, days(first, last), stop);
  } catch (const SourceError& error) {
    if (error.reason() == ErrorReason::cancelled) throw BackfillError("interrupted");
    const std::string when = first == last
                                 ? "day " + format_date(first)
                                 : "days " + format_date(first) + ".." + format_date(last);
    throw BackfillError("account " + account_id + ", " + when + ": " + error.what());
  }
}

// A range that starts after the 1st still needs the month to date before it: the days from the
// 1st to the day before `from`, fetched as one period (not written, only added).
void add_month_before(UsageSource& source, const std::string& account_id,
                      std::chrono::year_month_day from, MonthToDate& month, std::stop_token stop) {
  if (from.day() == std::chrono::day{1}) return;
  const std::chrono::year_month_day before{sys_days{from} - std::chrono::days{1}};
  const std::chrono::year_month_day first = from.year() / from.month() / 1;
  month.add(before, fetch_days(source, account_id, first, before, stop));
}

}  // namespace

void check_extra_labels(const ExtraLabels& labels, const ChargebackRules& chargeback) {
  static const std::regex kName("[a-zA-Z_][a-zA-Z0-9_]*");
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string& name = labels[i].first;
    const std::string flag = "--label " + name + ": ";
    if (!std::regex_match(name, kName) || name.starts_with("__")) {
      throw BackfillError(flag + "not a label name (want [a-zA-Z_][a-zA-Z0-9_]*, no leading __)");
    }
    const auto& own = chargeback.labels();
    if (std::find(std::begin(kSeriesLabels), std::end(kSeriesLabels), name) !=
            std::end(kSeriesLabels) ||
        std::find(own.begin(), own.end(), name) != own.end()) {
      throw BackfillError(flag + "the backfilled series have that label already");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (labels[j].first == name) throw BackfillError(flag + "given twice");
    }
  }
}

BackfillSummary run_backfill(UsageSource& source, const BackfillJob& job, OpenMetricsSpool& spool,
                             std::stop_token stop, const BackfillProgressCallback& progress) {
  const Accounts accounts = list_accounts(source, job, stop);
  BackfillSummary summary;
  summary.accounts = accounts.ids.size();
  summary.days = static_cast<std::size_t>((sys_days{job.to} - sys_days{job.from}).count() + 1);
  for (std::size_t i = 0; i < accounts.ids.size(); ++i) {
    const std::string& account_id = accounts.ids[i];
    const AccountFacts& facts = accounts.facts.at(account_id);
    MonthToDate month(account_id);
    add_month_before(source, account_id, job.from, month, stop);
    for (sys_days day = sys_days{job.from}; day <= sys_days{job.to}; day += std::chrono::days{1}) {
      const std::chrono::year_month_day date{day};
      if (progress) progress({account_id, i + 1, accounts.ids.size(), date});
      month.add(date, fetch_days(source, account_id, date, date, stop));
      spool.set_timestamp(end_of_day_sample_time(date));
      write_usage_metrics(day_snapshot(account_id, facts, month, job.chargeback), spool);
    }
  }
  summary.samples = spool.samples();
  return summary;
}

}  // namespace scalr_usage
