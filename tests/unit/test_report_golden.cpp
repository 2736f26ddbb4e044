// Golden report files (tests/golden/reports/): every format of kReportFormatTable rendered from the
// fixed dataset of report_golden_data.h and compared byte for byte. The `plain` set was written by
// the renderers as they were before chargeback and account names existed; a report without a
// `chargeback:` section and without account names must stay exactly those bytes. Regenerate after
// an intended change with
//   SUE_UPDATE_GOLDEN=1 ./build/tests/report_unit_tests --gtest_filter='ReportGolden*'
// and review the diff (tests/golden/README.md).

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "chargeback/config.h"
#include "config/node.h"
#include "report_golden_data.h"
#include "report_test_util.h"
#include "reports/formats.h"
#include "reports/render.h"
#include "reports/report.h"

namespace scalr_usage {
namespace {

using namespace report_test;
namespace data = golden_data;

std::filesystem::path golden_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "golden" / "reports";
}

// The chargeback set's rules: a glob on the environment, a regular expression on the name, a
// template taking the workspace's name ("=cmd": the CSV formula guard), a tag, a value needing
// escaping in every format, and a default.
const std::string kRules = R"(chargeback:
  labels: [team, cost_center]
  rules:
    - match: {environment_name: "prod-*"}
      set: {team: payments, cost_center: CC-100}
    - match: {workspace_name: "~^data-"}
      set: {team: data}
    - match: {workspace_id: ws-a3}
      set: {team: "{workspace_name}"}
    - match: {workspace_tag: "team:*"}
      set: {team: "{tag:team}", cost_center: 'CC-<ops> & "x"'}
  default: {team: unallocated}
)";

ChargebackRules golden_rules() {
  const ConfigNode root = ConfigNode::parse_document(kRules, "config.file");
  ChargebackRules rules;
  root.walk({{"chargeback", [&](const ConfigNode& v) { rules = parse_chargeback_section(v); }}});
  return rules;
}

// The accounts out of id order, so the renderers' own ordering is part of what is compared.
std::vector<AccountUsage> usages() { return {data::gamma(), data::alpha(), data::beta()}; }

Report golden_report(const std::vector<AccountUsage>& accounts, const ChargebackRules& rules) {
  const AccountUsage alpha_before = data::alpha_previous();
  const AccountUsage gamma_before = data::gamma_previous();
  Report r;
  r.generated_at = "2026-11-01T06:00:00Z";
  r.schedule = "monthly: 0 6 1 * *";
  r.period = data::october();
  r.plan = data::plan();
  r.chargeback_labels = rules.labels();
  for (const AccountUsage& u : accounts) {
    const AccountUsage* before = u.account_id == "acc-alpha"   ? &alpha_before
                                 : u.account_id == "acc-gamma" ? &gamma_before
                                                               : nullptr;
    r.accounts.push_back(build_account_report(u, before, r.plan, rules));
  }
  return r;
}

Report plain_report() { return golden_report(usages(), ChargebackRules{}); }
Report chargeback_report() {
  return golden_report(data::with_account_names(usages()), golden_rules());
}

TEST(ReportGolden, WithoutChargebackEveryFormatIsTheGoldenBytes) {
  const Report report = plain_report();
  for (const ReportFormat& format : kReportFormatTable) {
    SCOPED_TRACE(std::string(format.name));
    expect_golden_bytes(golden_dir() / ("plain" + std::string(format.extension)),
                        format.render(report));
  }
}

TEST(ReportGolden, WithChargebackAndNamesEveryFormatIsTheGoldenBytes) {
  const Report report = chargeback_report();
  for (const ReportFormat& format : kReportFormatTable) {
    SCOPED_TRACE(std::string(format.name));
    expect_golden_bytes(golden_dir() / ("chargeback" + std::string(format.extension)),
                        format.render(report));
  }
}

// Account names alone (no chargeback): only the name appears, in its documented places.
TEST(ReportGolden, NamesAloneAddOnlyTheNames) {
  const Report report = golden_report(data::with_account_names(usages()), ChargebackRules{});
  const std::string csv = render_csv(report);
  const std::string plain_csv = render_csv(plain_report());
  EXPECT_EQ(csv.substr(0, csv.find("\r\n")),
            plain_csv.substr(0, plain_csv.find("\r\n")) + ",account_name");
  EXPECT_EQ(render_json(report).find("\"chargeback"), std::string::npos);
  EXPECT_EQ(render_focus(report).find("Tags"), std::string::npos);
  EXPECT_EQ(render_html(report).find("By team"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// The chargeback set's numbers, derived again here from the dataset and kRules, and compared with
// the golden files as they are on disk (the tests above pin the renderers to those files).

using Labels = std::pair<std::string, std::string>;  // team, cost_center

// kRules applied by hand: first match wins; "prod-*" is a prefix, "~^data-" too.
Labels classify_by_hand(const WorkspaceUsage& ws) {
  if (ws.environment_name && ws.environment_name->starts_with("prod-")) {
    return {"payments", "CC-100"};
  }
  if (ws.name.starts_with("data-")) return {"data", ""};
  if (ws.id == "ws-a3") return {ws.name, ""};
  for (const std::string& tag : ws.tags) {
    if (tag.starts_with("team:")) return {tag.substr(5), "CC-<ops> & \"x\""};
  }
  return {"unallocated", ""};
}

struct Expected {
  Labels labels;
  std::uint64_t runs = 0;
  std::uint64_t seconds = 0;
  std::uint64_t cents = 0;
};

// Groups of one account: sums by labels, the total's excess over the workspaces in ("", ""),
// ordered by runs, seconds (both descending), labels; the overage (runs over 100 at 0.37, i.e.
// 37 cents a run) split by runs: floors first, then a cent each by largest remainder.
std::vector<Expected> expected_groups(const AccountUsage& u) {
  std::map<Labels, Expected> sums;
  std::uint64_t ws_runs = 0, ws_seconds = 0;
  for (const WorkspaceUsage& ws : u.workspaces) {
    Expected& e = sums[classify_by_hand(ws)];
    e.runs += ws.usage.runs;
    e.seconds += ws.usage.run_seconds;
    ws_runs += ws.usage.runs;
    ws_seconds += ws.usage.run_seconds;
  }
  if (u.total.runs > ws_runs || u.total.run_seconds > ws_seconds) {
    Expected& rest = sums[Labels{"", ""}];
    rest.runs += u.total.runs > ws_runs ? u.total.runs - ws_runs : 0;
    rest.seconds += u.total.run_seconds > ws_seconds ? u.total.run_seconds - ws_seconds : 0;
  }
  std::vector<Expected> groups;
  for (auto& [labels, e] : sums) {
    e.labels = labels;
    groups.push_back(e);
  }
  std::sort(groups.begin(), groups.end(), [](const Expected& a, const Expected& b) {
    return std::tie(b.runs, b.seconds, a.labels) < std::tie(a.runs, a.seconds, b.labels);
  });
  const std::uint64_t overage = u.total.runs > 100 ? (u.total.runs - 100) * 37 : 0;
  std::uint64_t given = 0;
  std::vector<std::pair<std::uint64_t, std::size_t>> remainders;  // (remainder, index)
  for (std::size_t i = 0; i < groups.size(); ++i) {
    groups[i].cents = overage * groups[i].runs / u.total.runs;
    given += groups[i].cents;
    remainders.emplace_back(overage * groups[i].runs % u.total.runs, i);
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t k = 0; given < overage; ++k, ++given) ++groups[remainders[k].second].cents;
  return groups;
}

std::map<std::string, AccountUsage> named_usages() {
  std::map<std::string, AccountUsage> by_id;
  for (AccountUsage& u : data::with_account_names(usages())) by_id[u.account_id] = u;
  return by_id;
}

TEST(ReportGoldenNumbers, TheHandComputedAllocationOfAlpha) {
  // 423 runs over the plan * 0.37 = 15651 cents over 320, 77, 50, 43 (no workspace), 33 runs of
  // 523: floors 9576, 2304, 1496, 1286, 987 (15649); the 2 cents left go to the largest
  // remainders, 43's (.79) and 33's (.54).
  const std::vector<Expected> alpha = expected_groups(data::alpha());
  ASSERT_EQ(alpha.size(), 5u);
  std::vector<std::uint64_t> cents;
  for (const Expected& e : alpha) cents.push_back(e.cents);
  EXPECT_EQ(cents, (std::vector<std::uint64_t>{9576, 2304, 1496, 1287, 988}));
}

TEST(ReportGoldenNumbers, JsonGroupsAndWorkspaceLabels) {
  const auto doc = nlohmann::json::parse(read_file(golden_dir() / "chargeback.json"));
  const auto by_id = named_usages();
  ASSERT_EQ(doc["accounts"].size(), by_id.size());
  for (const auto& account : doc["accounts"]) {
    const AccountUsage& u = by_id.at(account["account_id"].get<std::string>());
    SCOPED_TRACE(u.account_id);
    EXPECT_EQ(account.value("account_name", std::string()), u.account_name);
    const std::vector<Expected> groups = expected_groups(u);
    ASSERT_EQ(account["chargeback"].size(), groups.size());
    std::uint64_t cents = 0;
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const auto& g = account["chargeback"][i];
      EXPECT_EQ(g["labels"]["team"], groups[i].labels.first);
      EXPECT_EQ(g["labels"]["cost_center"], groups[i].labels.second);
      EXPECT_EQ(g["runs"], groups[i].runs);
      EXPECT_EQ(g["run_seconds"], groups[i].seconds);
      EXPECT_EQ(g["overage_cost_cents"], groups[i].cents);
      cents += g["overage_cost_cents"].get<std::uint64_t>();
    }
    EXPECT_EQ(cents, account["plan"]["overage_cost_cents"].get<std::uint64_t>());
    ASSERT_EQ(account["workspaces"].size(), u.workspaces.size());
    for (std::size_t i = 0; i < u.workspaces.size(); ++i) {
      const Labels labels = classify_by_hand(u.workspaces[i]);
      EXPECT_EQ(account["workspaces"][i]["chargeback_labels"]["team"], labels.first);
      EXPECT_EQ(account["workspaces"][i]["chargeback_labels"]["cost_center"], labels.second);
    }
  }
}

TEST(ReportGoldenNumbers, CsvChargebackAndWorkspaceRows) {
  const auto records = csv_records(read_file(golden_dir() / "chargeback.csv"), nullptr);
  const auto by_id = named_usages();
  std::map<std::string, std::vector<std::map<std::string, std::string>>> groups_of;
  for (const auto& r : records) {
    const AccountUsage& u = by_id.at(r.at("account_id"));
    EXPECT_EQ(r.at("account_name"), guarded(u.account_name));
    if (r.at("level") == "chargeback") groups_of[u.account_id].push_back(r);
    if (r.at("level") != "workspace") continue;
    const auto ws =
        std::find_if(u.workspaces.begin(), u.workspaces.end(),
                     [&](const WorkspaceUsage& w) { return w.id == r.at("workspace_id"); });
    ASSERT_NE(ws, u.workspaces.end());
    EXPECT_EQ(r.at("team"), guarded(classify_by_hand(*ws).first));
    EXPECT_EQ(r.at("cost_center"), guarded(classify_by_hand(*ws).second));
  }
  for (const auto& [id, u] : by_id) {
    const std::vector<Expected> groups = expected_groups(u);
    ASSERT_EQ(groups_of[id].size(), groups.size()) << id;
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const auto& r = groups_of[id][i];
      EXPECT_EQ(r.at("team"), guarded(groups[i].labels.first));
      EXPECT_EQ(r.at("cost_center"), guarded(groups[i].labels.second));
      EXPECT_EQ(to_u64(r.at("runs")), groups[i].runs);
      EXPECT_EQ(to_u64(r.at("run_seconds")), groups[i].seconds);
      EXPECT_EQ(to_cents(r.at("overage_cost")), groups[i].cents);
      EXPECT_EQ(r.at("currency"), "EUR");
    }
  }
}

TEST(ReportGoldenNumbers, FocusBilledCostByTagsIsTheGroupsCost) {
  const auto records = csv_records(read_file(golden_dir() / "chargeback.focus.csv"), nullptr);
  const auto by_id = named_usages();
  std::map<std::pair<std::string, Labels>, Expected> sums;
  for (const auto& r : records) {
    const AccountUsage& u = by_id.at(r.at("BillingAccountId"));
    EXPECT_EQ(r.at("BillingAccountName"),
              guarded(u.account_name.empty() ? u.account_id : u.account_name));
    const auto tags = nlohmann::json::parse(r.at("Tags"));
    ASSERT_EQ(tags.size(), 2u);
    Expected& e = sums[{u.account_id, Labels{tags["team"], tags["cost_center"]}}];
    e.runs += to_u64(r.at("ConsumedQuantity"));
    e.seconds += to_u64(r.at("x_RunSeconds"));
    e.cents += to_cents(r.at("BilledCost"));
  }
  std::size_t groups_with_rows = 0;
  for (const auto& [id, u] : by_id) {
    for (const Expected& g : expected_groups(u)) {
      if (g.runs == 0 && g.seconds == 0) continue;  // FOCUS has no row without usage
      ++groups_with_rows;
      const Expected& got = sums[{id, g.labels}];
      EXPECT_EQ(got.runs, g.runs) << id << " " << g.labels.first;
      EXPECT_EQ(got.seconds, g.seconds) << id << " " << g.labels.first;
      EXPECT_EQ(got.cents, g.cents) << id << " " << g.labels.first;
    }
  }
  EXPECT_EQ(sums.size(), groups_with_rows);
}

std::string escaped(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '"')
      out += "&quot;";
    else
      out.push_back(c);
  }
  return out;
}

TEST(ReportGoldenNumbers, HtmlTableRowsAndNames) {
  const std::string html = read_file(golden_dir() / "chargeback.html");
  const auto by_id = named_usages();
  EXPECT_NE(html.find("<span class=\"name\">Alpha &amp; Co, &quot;Ltd&quot;</span> <span "
                      "class=\"id\">acc-alpha</span>"),
            std::string::npos);
  for (const auto& [id, u] : by_id) {
    for (const Expected& g : expected_groups(u)) {
      const auto cell = [](const std::string& v) {
        return "<td class=\"name\">" + (v.empty() ? std::string("(none)") : escaped(v)) + "</td>";
      };
      const std::string start = "<tr>" + cell(g.labels.first) + cell(g.labels.second) +
                                "<td class=\"num\">" + std::to_string(g.runs) + "</td>";
      const std::string cost = "<td class=\"num\">" + std::to_string(g.cents / 100) + "." +
                               (g.cents % 100 < 10 ? "0" : "") + std::to_string(g.cents % 100) +
                               " EUR</td></tr>";
      std::istringstream lines(html);
      bool found = false;
      for (std::string line; std::getline(lines, line);) {
        found = found || (line.starts_with(start) && line.ends_with(cost));
      }
      EXPECT_TRUE(found) << start << " ... " << cost;
    }
  }
}

}  // namespace
}  // namespace scalr_usage
