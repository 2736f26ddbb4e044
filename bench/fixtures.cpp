#include "bench/fixtures.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

namespace scalr_usage::bench {

namespace {

using namespace std::chrono;
// scalr_usage::days (model/period.h) is a function; the unit needs its full name here.
using Days = std::chrono::days;

constexpr std::string_view kBase32 = "0123456789abcdefghijklmnopqrstuv";
constexpr std::array<std::string_view, 18> kComponents = {
    "frontend", "backend", "api", "network", "dns",     "vpc",     "iam",   "db",     "cache",
    "queue",    "cdn",     "k8s", "logging", "secrets", "storage", "batch", "search", "mail"};

// A Scalr-shaped id: prefix, '-', 17 base32 characters (ws-v0o1ld3a4p0jm6g8i).
std::string scalr_id(std::string_view prefix, Lcg& rng) {
  std::string id(prefix);
  id += '-';
  for (int i = 0; i < 17; ++i) id += kBase32[rng.below(32)];
  return id;
}

std::string padded(std::size_t n, std::size_t width) {
  std::string digits = std::to_string(n);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return digits;
}

// "team-042"
std::string numbered(std::string_view prefix, std::size_t n) {
  return std::string(prefix) + "-" + padded(n, 3);
}

// "team-042" for an environment name; the first word, letters and digits only, otherwise.
std::string slug(const std::string& name) {
  std::string out;
  for (const char c : name) {
    if (c == ' ') break;
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') out += c;
  }
  return out;
}

struct AccountShape {
  const char* id;
  const char* environment_prefix;
  std::size_t environments;
  std::size_t workspaces;
};

// tests/scalr_stub/sample_data.py, profile "large", minus the account without runs.
constexpr std::array<AccountShape, 3> kLargeShape = {{
    {"acc-ttpu7uslju6igv8", "team", 50, 6000},
    {"acc-demo2000000001", "demo", 30, 3000},
    {"acc-tiny3000000003", "tiny", 20, 1000},
}};

AccountSpec make_account(const AccountShape& shape, std::size_t scale, bool hostile, Lcg& rng) {
  AccountSpec account;
  account.id = shape.id;
  const std::size_t environments = shape.environments * scale;
  std::vector<std::string> env_names;
  if (hostile) env_names = {"production", "staging", "development", "platform \"core\""};
  while (env_names.size() < environments) {
    env_names.push_back(numbered(shape.environment_prefix, env_names.size()));
  }
  for (const std::string& name : env_names) {
    account.environments.push_back({scalr_id("env", rng), name});
  }
  std::vector<std::string> ws_names;
  if (hostile) {
    ws_names = {"say \"hello\"",
                "back\\slash",
                "multi\nline",
                "données-über-prod",
                "emoji-\xF0\x9F\x9A\x80-deploy",
                ""};
  }
  const std::size_t workspaces = shape.workspaces * scale;
  for (std::size_t i = 0; account.workspaces.size() < workspaces; ++i) {
    const std::size_t env = i % environments;
    std::string name = i < ws_names.size() ? ws_names[i]
                                           : slug(env_names[env]) + "-service-" +
                                                 std::string(kComponents[i % kComponents.size()]) +
                                                 "-" + padded(i / environments, 2);
    account.workspaces.push_back({scalr_id("ws", rng), std::move(name), env});
  }
  return account;
}

// Month usage of one workspace from the LCG, without rows: 30 days of 1..6 runs.
UsageCounts month_of_runs(Lcg& rng) {
  UsageCounts counts;
  for (int day = 0; day < 30; ++day) {
    const std::uint64_t runs = 1 + rng.below(6);
    counts += UsageCounts{runs, runs * 15 + rng.below(static_cast<std::uint32_t>(runs * 900))};
  }
  return counts;
}

AccountUsage direct_usage(const AccountSpec& account, const Period& period, Lcg& rng) {
  AccountUsage usage;
  usage.account_id = account.id;
  usage.period = period;
  std::vector<UsageCounts> env_sums(account.environments.size());
  for (const WorkspaceSpec& ws : account.workspaces) {
    const EnvironmentSpec& env = account.environments[ws.environment];
    const UsageCounts counts = month_of_runs(rng);
    usage.workspaces.push_back({ws.id, ws.name, env.id, env.name, counts});
    env_sums[ws.environment] += counts;
    usage.total += counts;
  }
  for (std::size_t i = 0; i < account.environments.size(); ++i) {
    usage.environments.push_back(
        {account.environments[i].id, account.environments[i].name, env_sums[i]});
  }
  const auto by_id = [](const auto& a, const auto& b) { return a.id < b.id; };
  std::sort(usage.workspaces.begin(), usage.workspaces.end(), by_id);
  std::sort(usage.environments.begin(), usage.environments.end(), by_id);
  // The days share the total evenly; only the shape of the daily series matters to the metrics.
  const sys_days first = floor<Days>(period.start);
  const auto day_count = static_cast<std::uint64_t>((floor<Days>(period.end) - first).count());
  for (std::uint64_t d = 0; d < day_count; ++d) {
    usage.daily.push_back({year_month_day{first + Days{static_cast<Days::rep>(d)}},
                           {usage.total.runs / day_count, usage.total.run_seconds / day_count}});
  }
  return usage;
}

std::size_t count_workspaces(const std::vector<AccountSpec>& catalogue) {
  std::size_t n = 0;
  for (const AccountSpec& account : catalogue) n += account.workspaces.size();
  return n;
}

std::size_t count_environments(const std::vector<AccountSpec>& catalogue) {
  std::size_t n = 0;
  for (const AccountSpec& account : catalogue) n += account.environments.size();
  return n;
}

void check_usage(const AccountUsage& usage, const AccountSpec& spec, const Period& period) {
  require(usage.account_id == spec.id, "usage of the wrong account");
  require(usage.workspaces.size() == spec.workspaces.size(),
          spec.id + ": " + std::to_string(usage.workspaces.size()) + " workspaces, want " +
              std::to_string(spec.workspaces.size()) + " (duplicate ids?)");
  require(usage.environments.size() == spec.environments.size(),
          spec.id + ": wrong environment count");
  require(usage.total.runs > 0, spec.id + ": no runs");
  require(usage.period == period, spec.id + ": wrong period");
}

}  // namespace

void fixture_error(const std::string& what) {
  std::fprintf(stderr, "benchmark fixture is wrong: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

std::vector<AccountSpec> large_catalogue(std::size_t scale) {
  Lcg rng(0x5ca1'2026'1127ULL + scale);
  std::vector<AccountSpec> catalogue;
  for (std::size_t i = 0; i < kLargeShape.size(); ++i) {
    catalogue.push_back(make_account(kLargeShape[i], scale, i == 0, rng));
  }
  return catalogue;
}

Period bench_period() { return month_containing(sys_days{year{2026} / 11 / 15}); }

Period bench_previous_period() { return month_before(bench_period().start); }

std::vector<WorkspaceDayRow> workspace_day_rows(const std::vector<AccountSpec>& catalogue,
                                                const Period& period, std::uint64_t seed) {
  Lcg rng(seed);
  std::vector<WorkspaceDayRow> rows;
  const sys_days first = floor<Days>(period.start);
  const sys_days end = floor<Days>(period.end);
  rows.reserve(count_workspaces(catalogue) * static_cast<std::size_t>((end - first).count()));
  for (const AccountSpec& account : catalogue) {
    for (sys_days day = first; day < end; day += Days{1}) {
      for (const WorkspaceSpec& ws : account.workspaces) {
        const EnvironmentSpec& env = account.environments[ws.environment];
        const std::uint64_t runs = 1 + rng.below(6);
        const std::uint64_t seconds = runs * 15 + rng.below(static_cast<std::uint32_t>(runs * 900));
        rows.push_back(
            {account.id, env.id, env.name, ws.id, ws.name, year_month_day{day}, runs, seconds});
      }
    }
  }
  for (std::size_t i = rows.size(); i > 1; --i) {
    std::swap(rows[i - 1], rows[rng.below(static_cast<std::uint32_t>(i))]);
  }
  return rows;
}

const LargeProfile& large_profile() {
  static const LargeProfile profile = [] {
    LargeProfile p;
    p.catalogue = large_catalogue(1);
    p.workspace_count = count_workspaces(p.catalogue);
    p.environment_count = count_environments(p.catalogue);
    p.rows = workspace_day_rows(p.catalogue, bench_period(), 11);
    const std::vector<WorkspaceDayRow> october =
        workspace_day_rows(p.catalogue, bench_previous_period(), 10);
    for (const AccountSpec& account : p.catalogue) {
      p.usage.push_back(aggregate_account(account.id, bench_period(), p.rows));
      check_usage(p.usage.back(), account, bench_period());
      p.previous_usage.push_back(aggregate_account(account.id, bench_previous_period(), october));
      check_usage(p.previous_usage.back(), account, bench_previous_period());
    }
    require(p.workspace_count == 10'000, "large profile: want 10,000 workspaces");
    require(p.environment_count == 100, "large profile: want 100 environments");
    require(p.rows.size() == 300'000, "large profile: want 300,000 day-workspace rows");
    return p;
  }();
  return profile;
}

Snapshot snapshot_of(const std::vector<AccountUsage>& usage) {
  Snapshot snapshot;
  snapshot.generation = 42;
  snapshot.first_poll_done = true;
  snapshot.source_up = true;
  for (const AccountUsage& account : usage) {
    AccountState& state = snapshot.accounts[account.account_id];
    state.usage = std::make_shared<const AccountUsage>(account);
    state.up = true;
    state.last_success_unix_seconds = 1'795'700'000.0;
    state.last_poll_duration_seconds = 1.25;
    snapshot.poll_errors[{account.account_id, ErrorReason::timeout}] = 2;
  }
  RequestStats& requests = snapshot.api_requests["default"];
  for (int i = 0; i < 12'345; ++i) requests.observe(200, 0.04);
  for (int i = 0; i < 3; ++i) requests.observe(429, 0.01);
  requests.observe(503, 1.5);
  return snapshot;
}

const Snapshot& snapshot_with_workspaces(std::size_t workspaces) {
  static std::map<std::size_t, std::unique_ptr<const Snapshot>> cache;
  auto& slot = cache[workspaces];
  if (!slot) {
    require(
        workspaces > 0 && workspaces % 10'000 == 0,
        "snapshot_with_workspaces: want a multiple of 10,000, got " + std::to_string(workspaces));
    const std::vector<AccountSpec> catalogue = large_catalogue(workspaces / 10'000);
    require(count_workspaces(catalogue) == workspaces, "catalogue has the wrong workspace count");
    Lcg rng(workspaces);
    std::vector<AccountUsage> usage;
    for (const AccountSpec& account : catalogue) {
      usage.push_back(direct_usage(account, bench_period(), rng));
      check_usage(usage.back(), account, bench_period());
    }
    slot = std::make_unique<const Snapshot>(snapshot_of(usage));
  }
  return *slot;
}

BillingPlan bench_plan() { return BillingPlan{100'000, 0.05, "USD"}; }

const Report& large_report() {
  static const Report report = [] {
    const LargeProfile& profile = large_profile();
    Report r{"2026-12-01T06:00:00Z", "monthly: 0 6 1 * *", bench_period(), {}, bench_plan()};
    for (std::size_t i = 0; i < profile.usage.size(); ++i) {
      r.accounts.push_back(
          build_account_report(profile.usage[i], &profile.previous_usage[i], r.plan));
    }
    return r;
  }();
  return report;
}

std::string usage_page_json(PageKind kind, std::size_t items, std::uint64_t seed) {
  using json = nlohmann::json;
  Lcg rng(seed);
  const std::string account = "acc-ttpu7uslju6igv8";
  const bool breakdown = kind == PageKind::workspace_breakdown;
  const std::string url =
      "https://example.scalr.io/api/iacp/v3/usage-statistics?filter[account]=" + account +
      "&filter[date]=between:2026-11-01T00:00:00Z,2026-11-30T23:59:59Z" +
      (breakdown ? "&breakdown_by=workspace&total=true" : "") + "&page[size]=100&page[number]=";
  json data = json::array();
  for (std::size_t i = 0; i < items; ++i) {
    std::string id;
    for (int k = 0; k < 64; ++k) id += "0123456789abcdef"[rng.below(16)];
    const std::uint64_t runs = breakdown ? 30 + rng.below(150) : 3000 + rng.below(20000);
    const std::uint64_t seconds = runs * 15 + rng.below(static_cast<std::uint32_t>(runs * 900));
    json attributes = {{"runs-count", runs}, {"runs-seconds", seconds}};
    if (breakdown) {
      // One name in a hundred is not ASCII, so the UTF-8 path of the parser runs too.
      attributes["breakdown-id"] = scalr_id("ws", rng);
      attributes["breakdown-name"] = i % 100 == 42
                                         ? std::string("données-über-prod")
                                         : numbered("team", i % 50) + "-service-" +
                                               std::string(kComponents[i % kComponents.size()]) +
                                               "-" + std::to_string(i / 50);
      attributes["date"] = nullptr;
    } else {
      attributes["breakdown-id"] = nullptr;
      attributes["breakdown-name"] = nullptr;
      require(i < 30, "a daily page has at most the 30 days of November");
      attributes["date"] = format_date(
          year_month_day{sys_days{year{2026} / 11 / 1} + Days{static_cast<Days::rep>(i)}});
    }
    data.push_back(
        {{"type", "usage-statistics"},
         {"id", id},
         {"attributes", std::move(attributes)},
         {"relationships", {{"account", {{"data", {{"id", account}, {"type", "accounts"}}}}}}},
         {"links", nullptr}});
  }
  const int page = breakdown ? 3 : 1;
  const int total_pages = breakdown ? 60 : 1;
  json document = {
      {"data", std::move(data)},
      {"included", nullptr},
      {"links",
       {{"self", url + std::to_string(page)},
        {"first", url + "1"},
        {"last", url + std::to_string(total_pages)},
        {"next", page < total_pages ? json(url + std::to_string(page + 1)) : json(nullptr)},
        {"prev", page > 1 ? json(url + std::to_string(page - 1)) : json(nullptr)}}},
      {"meta",
       {{"pagination",
         {{"current-page", page},
          {"next-page", page < total_pages ? json(page + 1) : json(nullptr)},
          {"prev-page", page > 1 ? json(page - 1) : json(nullptr)},
          {"total-count", breakdown ? 6000 : static_cast<int>(items)},
          {"total-pages", total_pages}}}}}};
  return document.dump();
}

std::size_t count_sample_lines(std::string_view text) {
  std::size_t n = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    if (end > pos && text[pos] != '#') ++n;
    pos = end + 1;
  }
  return n;
}

std::size_t count_lines_starting_with(std::string_view text, std::string_view prefix) {
  std::size_t n = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (text.substr(pos).starts_with(prefix)) ++n;
    const std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return n;
}

}  // namespace scalr_usage::bench
