// The report renderers, read back with parsers of the tests' own (an RFC 4180 reader in
// report_test_util.h, nlohmann::json, plain string checks for HTML), and checked against sums of
// the dataset computed in the test, not against the program's own numbers. Golden files catch
// accidental format changes; their numbers are checked independently too. Regenerate them after an
// intended change with
//   SUE_UPDATE_GOLDEN=1 ./build/tests/report_unit_tests --gtest_filter='Render*Golden*'
// and review the diff.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include "report_test_util.h"
#include "reports/render.h"
#include "reports/report.h"

namespace scalr_usage {
namespace {

using namespace std::chrono;
using namespace report_test;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Dataset: two accounts, hostile names. acc-two is listed first to check the ordering by id.

Seconds at(int y, unsigned m, unsigned d) {
  return Seconds{sys_days{year{y} / month{m} / day{d}}.time_since_epoch()};
}

const std::string kScriptName = "<script>alert('x')</script>";

AccountUsage acc_one() {
  AccountUsage u;
  u.account_id = "acc-one";
  u.period = month_containing(at(2026, 10, 1));
  u.total = {400, 90000};  // 14 runs / 3575 s more than the workspaces: deleted workspaces
  u.environments = {{"env-dev", "=dev", {160, 18000}},
                    {"env-empty", "", {0, 0}},
                    {"env-prod", "Prod \"EU\", <b>bold</b>", {225, 70000}}};
  const std::string prod = "Prod \"EU\", <b>bold</b>";
  u.workspaces = {
      {"ws-01", "quote \"inside\"", "env-prod", prod, {100, 36000}},
      {"ws-02", "comma, separated", "env-prod", prod, {100, 30000}},
      {"ws-03", "line\nbreak", "env-dev", "=dev", {100, 12345}},
      {"ws-04", kScriptName, "env-dev", "=dev", {45, 4500}},
      {"ws-05",
       "\xC3\x9Cn\xC3\xAF"
       "c\xC3\xB8"
       "d\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E "
       "\xF0\x9F\x9A\x80",  // "Ünïcødé 日本語 🚀"
       "env-prod",
       prod,
       {20, 2000}},
      {"ws-06", "=HYPERLINK(\"http://evil.example\",\"x\")", "env-dev", "=dev", {10, 600}},
      {"ws-07", "", std::nullopt, std::nullopt, {5, 500}},
      {"ws-08", "+cmd", std::nullopt, std::nullopt, {1, 60}},
      {"ws-09", "-cmd", std::nullopt, std::nullopt, {1, 60}},
      {"ws-10", "@cmd", std::nullopt, std::nullopt, {1, 60}},
      {"ws-11", "crlf\r\nbreak & 'single' src=\"x\"", "env-dev", "=dev", {3, 300}},
      {"ws-12", "idle", "env-dev", "=dev", {0, 0}},
  };
  u.daily = {{year{2026} / 10 / 3, {150, 30000}}, {year{2026} / 10 / 20, {250, 60000}}};
  return u;
}

AccountUsage acc_one_previous() {
  AccountUsage u;
  u.account_id = "acc-one";
  u.period = month_containing(at(2026, 9, 1));
  u.total = {320, 80000};
  return u;
}

AccountUsage acc_two() {
  AccountUsage u;
  u.account_id = "acc-two";
  u.period = month_containing(at(2026, 10, 1));
  u.total = {130, 7800};
  u.environments = {{"env-z", "Zed", {130, 7800}}};
  u.workspaces = {{"ws-x", "Plain", std::nullopt, std::nullopt, {70, 4200}},
                  {"ws-y", "tab\there", std::nullopt, std::nullopt, {60, 3600}}};
  u.daily = {{year{2026} / 10 / 31, {130, 7800}}};
  return u;
}

BillingPlan the_plan() {
  BillingPlan p;
  p.included_runs = 100;
  p.overage_price = 0.99;
  p.currency = "USD";
  return p;
}

Report make_report(const BillingPlan& plan) {
  Report r;
  r.generated_at = "2026-11-01T06:00:00Z";
  r.schedule = "0 6 1 * *";
  r.period = month_containing(at(2026, 10, 1));
  r.plan = plan;
  const AccountUsage prev = acc_one_previous();
  r.accounts = {build_account_report(acc_two(), nullptr, plan),
                build_account_report(acc_one(), &prev, plan)};
  return r;
}

UsageCounts workspace_sum(const AccountUsage& u) {
  UsageCounts sum;
  for (const WorkspaceUsage& ws : u.workspaces) sum += ws.usage;
  return sum;
}

// Hand-computed: acc-one 400 runs - 100 included = 300 over * 0.99 = 297.00;
// acc-two 130 - 100 = 30 * 0.99 = 29.70.
constexpr std::uint64_t kOneOverageCents = 29700;
constexpr std::uint64_t kTwoOverageCents = 2970;

// ---------------------------------------------------------------------------------------------
// CSV

const std::vector<std::string> kCsvColumns = {"period_start",
                                              "period_end",
                                              "account_id",
                                              "level",
                                              "environment_id",
                                              "environment_name",
                                              "workspace_id",
                                              "workspace_name",
                                              "runs",
                                              "run_seconds",
                                              "run_hours",
                                              "runs_share",
                                              "included_runs",
                                              "runs_over_plan",
                                              "overage_cost",
                                              "currency",
                                              "run_seconds_share",
                                              "previous_runs",
                                              "previous_run_seconds",
                                              "runs_change",
                                              "runs_change_ratio",
                                              "run_seconds_change",
                                              "run_seconds_change_ratio"};

TEST(RenderCsv, HeaderAndRowsInDocumentedOrder) {
  std::vector<std::string> header;
  const auto records = csv_records(render_csv(make_report(the_plan())), &header);
  EXPECT_EQ(header, kCsvColumns);
  // acc-one: 1 account + 3 environments + 12 workspaces; acc-two: 1 + 1 + 2.
  ASSERT_EQ(records.size(), 16u + 4u);
  EXPECT_EQ(records[0].at("account_id"), "acc-one");
  EXPECT_EQ(records[0].at("level"), "account");
  EXPECT_EQ(records[1].at("level"), "environment");
  EXPECT_EQ(records[1].at("environment_id"), "env-dev");
  EXPECT_EQ(records[4].at("level"), "workspace");
  EXPECT_EQ(records[4].at("workspace_id"), "ws-01");
  EXPECT_EQ(records[16].at("account_id"), "acc-two");
  for (const auto& r : records) {
    EXPECT_EQ(r.at("period_start"), "2026-10-01T00:00:00Z");
    EXPECT_EQ(r.at("period_end"), "2026-11-01T00:00:00Z");  // exclusive
  }
}

TEST(RenderCsv, TotalsAndWorkspaceSumsMatchTheDataset) {
  const auto records = csv_records(render_csv(make_report(the_plan())), nullptr);
  for (const AccountUsage& u : {acc_one(), acc_two()}) {
    const UsageCounts expected = workspace_sum(u);
    UsageCounts from_csv;
    bool account_row = false;
    for (const auto& r : records) {
      if (r.at("account_id") != u.account_id) continue;
      if (r.at("level") == "account") {
        account_row = true;
        EXPECT_EQ(to_u64(r.at("runs")), u.total.runs);
        EXPECT_EQ(to_u64(r.at("run_seconds")), u.total.run_seconds);
        EXPECT_NEAR(to_double(r.at("run_hours")), u.total.run_seconds / 3600.0, 0.00005);
      } else if (r.at("level") == "workspace") {
        from_csv += UsageCounts{to_u64(r.at("runs")), to_u64(r.at("run_seconds"))};
        const double share = to_double(r.at("runs_share"));
        EXPECT_NEAR(share, double(to_u64(r.at("runs"))) / u.total.runs, 0.0000005);
        EXPECT_NEAR(to_double(r.at("run_seconds_share")),
                    double(to_u64(r.at("run_seconds"))) / u.total.run_seconds, 0.0000005);
        EXPECT_EQ(r.at("overage_cost"), "");  // plan figures are on the account row only
      }
    }
    EXPECT_TRUE(account_row) << u.account_id;
    EXPECT_EQ(from_csv, expected) << u.account_id;
  }
}

TEST(RenderCsv, PlanAndChangeOnTheAccountRow) {
  const auto records = csv_records(render_csv(make_report(the_plan())), nullptr);
  const auto& one = records[0];
  EXPECT_EQ(one.at("included_runs"), "100");
  EXPECT_EQ(one.at("runs_over_plan"), "300");
  EXPECT_EQ(to_cents(one.at("overage_cost")), kOneOverageCents);
  EXPECT_EQ(one.at("currency"), "USD");
  EXPECT_EQ(one.at("previous_runs"), "320");
  EXPECT_EQ(one.at("runs_change"), "80");                           // 400 - 320
  EXPECT_NEAR(to_double(one.at("runs_change_ratio")), 0.25, 1e-9);  // 80 / 320
  EXPECT_EQ(one.at("run_seconds_change"), "10000");                 // 90000 - 80000
  EXPECT_NEAR(to_double(one.at("run_seconds_change_ratio")), 0.125, 1e-9);
  const auto& two = records[16];
  EXPECT_EQ(to_cents(two.at("overage_cost")), kTwoOverageCents);
  EXPECT_EQ(two.at("previous_runs"), "");  // no previous period given

  const auto no_plan = csv_records(render_csv(make_report(BillingPlan{})), nullptr);
  for (const auto& r : no_plan) {
    EXPECT_EQ(r.at("included_runs"), "");
    EXPECT_EQ(r.at("overage_cost"), "");
    EXPECT_EQ(r.at("currency"), "");
  }
}

TEST(RenderCsv, HostileNamesRoundTripWithFormulaGuard) {
  const std::string text = render_csv(make_report(the_plan()));
  const auto records = csv_records(text, nullptr);
  std::map<std::string, std::string> name_by_id;
  std::map<std::string, std::string> env_name_by_id;
  for (const auto& r : records) {
    if (r.at("level") == "workspace") name_by_id[r.at("workspace_id")] = r.at("workspace_name");
    if (r.at("level") == "environment") {
      env_name_by_id[r.at("environment_id")] = r.at("environment_name");
    }
  }
  for (const AccountUsage& u : {acc_one(), acc_two()}) {
    for (const WorkspaceUsage& ws : u.workspaces) {
      EXPECT_EQ(name_by_id.at(ws.id), guarded(ws.name)) << ws.id;
    }
    for (const EnvironmentUsage& env : u.environments) {
      EXPECT_EQ(env_name_by_id.at(env.id), guarded(env.name)) << env.id;
    }
  }
  EXPECT_EQ(name_by_id.at("ws-06"), "'=HYPERLINK(\"http://evil.example\",\"x\")");
  EXPECT_EQ(name_by_id.at("ws-09"), "'-cmd");
  EXPECT_EQ(env_name_by_id.at("env-dev"), "'=dev");
  // Raw bytes: quotes doubled inside a quoted field, the newline kept inside quotes.
  EXPECT_NE(text.find("\"quote \"\"inside\"\"\""), std::string::npos);
  EXPECT_NE(text.find("\"line\nbreak\""), std::string::npos);
  // Negative numbers are numbers, not guarded: acc-one with a bigger previous period.
  Report r = make_report(the_plan());
  AccountUsage bigger = acc_one_previous();
  bigger.total = {500, 100000};
  r.accounts = {build_account_report(acc_one(), &bigger, the_plan())};
  EXPECT_EQ(csv_records(render_csv(r), nullptr)[0].at("runs_change"), "-100");
}

// ---------------------------------------------------------------------------------------------
// JSON

json load_schema() {
  const auto path = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() /
                    "docs" / "report.schema.json";
  const std::string text = read_file(path);
  EXPECT_FALSE(text.empty()) << path;
  return json::parse(text);
}

bool type_allows(const json& node, const json& value) {
  std::vector<std::string> types;
  if (node.contains("const")) return node["const"] == value;
  if (!node.contains("type")) return false;
  if (node["type"].is_string()) {
    types.push_back(node["type"]);
  } else {
    for (const auto& t : node["type"]) types.push_back(t);
  }
  const auto has = [&](const char* t) {
    return std::find(types.begin(), types.end(), t) != types.end();
  };
  if (value.is_null()) return has("null");
  if (value.is_string()) return has("string");
  if (value.is_boolean()) return has("boolean");
  if (value.is_number_integer()) return has("integer") || has("number");
  if (value.is_number_float()) return has("number");
  if (value.is_object()) return has("object");
  if (value.is_array()) return has("array");
  return false;
}

// Every key of the output is described in docs/report.schema.json, every required key is there,
// and every value has a type the schema allows (integers must be JSON integers).
void check_schema(const json& value, const json& node, const json& root, const std::string& path) {
  const json* n = &node;
  if (n->contains("$ref")) {
    const std::string ref = (*n)["$ref"];
    ASSERT_EQ(ref.rfind("#/$defs/", 0), 0u) << ref;
    n = &root["$defs"][ref.substr(8)];
  }
  if (n->contains("oneOf")) {
    const json* chosen = nullptr;
    for (const json& branch : (*n)["oneOf"]) {
      if (type_allows(branch, value)) chosen = &branch;
    }
    ASSERT_NE(chosen, nullptr) << path << " matches no oneOf branch";
    n = chosen;
  }
  EXPECT_TRUE(type_allows(*n, value)) << path << ": " << value.type_name();
  if (value.is_object()) {
    ASSERT_TRUE(n->contains("properties")) << path;
    for (const auto& [key, child] : value.items()) {
      // additionalProperties: keys named by the configuration (chargeback labels), all alike.
      const json* child_node = (*n)["properties"].contains(key)      ? &(*n)["properties"][key]
                               : n->contains("additionalProperties") ? &(*n)["additionalProperties"]
                                                                     : nullptr;
      EXPECT_NE(child_node, nullptr) << path << "." << key << " is not documented";
      if (child_node != nullptr) check_schema(child, *child_node, root, path + "." + key);
    }
    for (const auto& key : n->value("required", json::array())) {
      EXPECT_TRUE(value.contains(key)) << path << " lacks " << key;
    }
    EXPECT_TRUE(n->contains("description") || node.contains("description")) << path;
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      check_schema(value[i], (*n)["items"], root, path + "[" + std::to_string(i) + "]");
    }
  }
}

TEST(RenderJson, MatchesTheDocumentedSchema) {
  const json schema = load_schema();
  for (const BillingPlan& plan : {the_plan(), BillingPlan{}}) {
    const json doc = json::parse(render_json(make_report(plan)));
    check_schema(doc, schema, schema, "$");
  }
}

// With chargeback and account names: the golden report of test_report_golden.cpp, whose bytes that
// test pins to the renderer.
TEST(RenderJson, ChargebackAndAccountNamesMatchTheDocumentedSchema) {
  const json schema = load_schema();
  const auto golden =
      std::filesystem::path(__FILE__).parent_path().parent_path() / "golden" / "reports";
  for (const char* name : {"chargeback.json", "plain.json"}) {
    SCOPED_TRACE(name);
    const json doc = json::parse(read_file(golden / name));
    ASSERT_TRUE(doc["accounts"][0].contains("chargeback") == (name[0] == 'c'));
    check_schema(doc, schema, schema, "$");
  }
}

TEST(RenderJson, TotalsSharesAndDailyMatchTheDataset) {
  const json doc = json::parse(render_json(make_report(the_plan())));
  EXPECT_EQ(doc["schema_version"], 1);
  EXPECT_EQ(doc["generated_at"], "2026-11-01T06:00:00Z");
  EXPECT_EQ(doc["period"]["start"], "2026-10-01T00:00:00Z");
  EXPECT_EQ(doc["period"]["end"], "2026-11-01T00:00:00Z");
  ASSERT_EQ(doc["accounts"].size(), 2u);
  EXPECT_EQ(doc["accounts"][0]["account_id"], "acc-one");
  EXPECT_EQ(doc["accounts"][1]["account_id"], "acc-two");
  const std::vector<AccountUsage> usages = {acc_one(), acc_two()};
  for (std::size_t a = 0; a < usages.size(); ++a) {
    const AccountUsage& u = usages[a];
    const json& acc = doc["accounts"][a];
    EXPECT_TRUE(acc["total"]["runs"].is_number_integer());
    EXPECT_EQ(acc["total"]["runs"].get<std::uint64_t>(), u.total.runs);
    EXPECT_EQ(acc["total"]["run_seconds"].get<std::uint64_t>(), u.total.run_seconds);
    EXPECT_DOUBLE_EQ(acc["total"]["run_hours"].get<double>(), u.total.run_seconds / 3600.0);
    UsageCounts sum;
    ASSERT_EQ(acc["workspaces"].size(), u.workspaces.size());
    for (std::size_t i = 0; i < u.workspaces.size(); ++i) {
      const json& ws = acc["workspaces"][i];
      const WorkspaceUsage& expected = u.workspaces[i];  // the dataset is in id order
      EXPECT_EQ(ws["id"], expected.id);
      EXPECT_EQ(ws["name"], expected.name);  // exact, unguarded, UTF-8 and newlines kept
      EXPECT_EQ(ws["environment_id"].is_null(), !expected.environment_id.has_value());
      EXPECT_NEAR(ws["runs_share"].get<double>(), double(expected.usage.runs) / u.total.runs,
                  1e-12);
      sum += UsageCounts{ws["runs"].get<std::uint64_t>(), ws["run_seconds"].get<std::uint64_t>()};
    }
    EXPECT_EQ(sum, workspace_sum(u));
    ASSERT_EQ(acc["daily"].size(), 31u);
    std::uint64_t daily_runs = 0;
    for (const json& d : acc["daily"]) daily_runs += d["runs"].get<std::uint64_t>();
    std::uint64_t dataset_daily = 0;
    for (const DailyUsage& d : u.daily) dataset_daily += d.usage.runs;
    EXPECT_EQ(daily_runs, dataset_daily);
    EXPECT_EQ(acc["daily"][0]["date"], "2026-10-01");
    EXPECT_EQ(acc["daily"][30]["date"], "2026-10-31");
  }
  const json& one = doc["accounts"][0];
  EXPECT_EQ(one["daily"][2]["runs"], 150);  // 2026-10-03
  EXPECT_EQ(one["daily"][1]["runs"], 0);
  EXPECT_EQ(one["plan"]["overage_cost_cents"].get<std::uint64_t>(), kOneOverageCents);
  EXPECT_DOUBLE_EQ(one["plan"]["overage_cost"].get<double>(), 297.0);
  EXPECT_EQ(one["plan"]["runs_over_plan"], 300);
  EXPECT_EQ(one["change"]["runs_delta"], 80);
  EXPECT_DOUBLE_EQ(one["change"]["runs_relative"].get<double>(), 0.25);
  EXPECT_EQ(one["top_workspaces"][0]["id"], "ws-01");  // 100 runs, 36000 s beats ws-02, ws-03
  EXPECT_EQ(one["top_workspaces"][1]["id"], "ws-02");
  EXPECT_EQ(one["top_workspaces"].size(), 10u);  // 11 with runs, top 10
  EXPECT_TRUE(doc["accounts"][1]["change"].is_null());
  EXPECT_EQ(doc["accounts"][1]["plan"]["overage_cost_cents"].get<std::uint64_t>(),
            kTwoOverageCents);
  EXPECT_TRUE(json::parse(render_json(make_report(BillingPlan{})))["plan"].is_null());
}

TEST(RenderJson, InvalidUtf8DoesNotFailTheReport) {
  Report r = make_report(the_plan());
  r.accounts[0].workspaces[0].name = "bad \xFF\xFE byte";
  json doc;
  ASSERT_NO_THROW(doc = json::parse(render_json(r)));
  EXPECT_EQ(doc["accounts"][1]["workspaces"][0]["name"], "bad \xEF\xBF\xBD\xEF\xBF\xBD byte");
}

// ---------------------------------------------------------------------------------------------
// HTML

std::string html_escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// The cell texts of each body row of the first <table class="cls"> after `from`.
std::vector<std::vector<std::string>> table_rows(const std::string& html, const std::string& cls,
                                                 std::size_t from) {
  std::vector<std::vector<std::string>> rows;
  const std::size_t start = html.find("<table class=\"" + cls + "\">", from);
  if (start == std::string::npos) return rows;
  const std::size_t body = html.find("<tbody>", start);
  const std::size_t end = html.find("</tbody>", body);
  for (std::size_t tr = html.find("<tr>", body); tr != std::string::npos && tr < end;
       tr = html.find("<tr>", tr + 4)) {
    const std::size_t tr_end = html.find("</tr>", tr);
    std::vector<std::string> cells;
    for (std::size_t td = html.find("<td", tr); td != std::string::npos && td < tr_end;
         td = html.find("<td", td + 3)) {
      const std::size_t open_end = html.find('>', td) + 1;
      cells.push_back(html.substr(open_end, html.find("</td>", open_end) - open_end));
    }
    rows.push_back(cells);
  }
  return rows;
}

TEST(RenderHtml, ValidSelfContainedPage) {
  const std::string html = render_html(make_report(the_plan()));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n<html lang=\"en\">", 0), 0u);
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(html.find("<title>Scalr usage report 2026-10-01 \xE2\x80\x93 2026-10-31</title>"),
            std::string::npos);
  EXPECT_TRUE(html.ends_with("</html>\n"));
  const std::string l = lower(html);
  EXPECT_EQ(l.find("<script"), std::string::npos);  // neither ours nor from the data
  for (const char* external : {"src=\"", "src='", "href=\"", "href='", "url(", "@import", "<link",
                               "<img", "<iframe", "<object", "<embed"}) {
    EXPECT_EQ(l.find(external), std::string::npos) << external;
  }
  EXPECT_NE(html.find("@media print"), std::string::npos);
  EXPECT_NE(html.find("page-break-inside: avoid"), std::string::npos);
  // Balanced structure for what we generate.
  EXPECT_EQ(count(html, "<table"), count(html, "</table>"));
  EXPECT_EQ(count(html, "<svg"), count(html, "</svg>"));
  EXPECT_EQ(count(html, "<section"), count(html, "</section>"));
  EXPECT_EQ(count(html, "<tr>"), count(html, "</tr>"));
}

TEST(RenderHtml, ChartsArePresent) {
  const std::string html = render_html(make_report(the_plan()));
  EXPECT_EQ(count(html, "<svg class=\"chart daily\""), 2u);
  EXPECT_EQ(count(html, "<svg class=\"chart top\""), 2u);
  // One bar per day of October for each account, one per top workspace (10 + 2).
  EXPECT_EQ(count(html, "<rect class=\"bar\""), 31u * 2 + 10 + 2);
  EXPECT_NE(html.find("<title>2026-10-03: 150 runs, 8.33 h</title>"), std::string::npos);
}

TEST(RenderHtml, EveryTextIsEscaped) {
  const std::string html = render_html(make_report(the_plan()));
  for (const AccountUsage& u : {acc_one(), acc_two()}) {
    for (const WorkspaceUsage& ws : u.workspaces) {
      EXPECT_NE(html.find(html_escape(ws.name)), std::string::npos) << ws.id;
    }
    for (const EnvironmentUsage& env : u.environments) {
      EXPECT_NE(html.find(html_escape(env.name)), std::string::npos) << env.id;
    }
  }
  EXPECT_EQ(html.find(kScriptName), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<b>bold</b>"), std::string::npos);
  EXPECT_EQ(html.find("src=\"x\""), std::string::npos);
  EXPECT_NE(html.find("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"), std::string::npos);  // 日本語 kept
}

TEST(RenderHtml, InvalidUtf8AndControlCharactersAreReplaced) {
  Report r = make_report(the_plan());
  r.accounts[0].workspaces[0].name = "bad \xFF byte \x01 bell";
  const std::string html = render_html(r);
  EXPECT_NE(html.find("bad \xEF\xBF\xBD byte \xEF\xBF\xBD bell"), std::string::npos);
  EXPECT_EQ(html.find('\xFF'), std::string::npos);
  EXPECT_EQ(html.find('\x01'), std::string::npos);
}

TEST(RenderHtml, TablesAddUpToTheDataset) {
  const std::string html = render_html(make_report(the_plan()));
  for (const AccountUsage& u : {acc_one(), acc_two()}) {
    const std::size_t section = html.find("<h2>Account <span class=\"id\">" + u.account_id);
    ASSERT_NE(section, std::string::npos) << u.account_id;
    const auto summary = table_rows(html, "summary", section);
    ASSERT_GE(summary.size(), 3u);
    EXPECT_EQ(summary[1][0], std::to_string(u.total.runs));
    const auto rows = table_rows(html, "workspaces", section);
    ASSERT_EQ(rows.size(), u.workspaces.size());
    UsageCounts sum;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(rows[i][0], u.workspaces[i].id);
      EXPECT_EQ(rows[i][1], html_escape(u.workspaces[i].name));
      sum.runs += to_u64(rows[i][3]);
    }
    EXPECT_EQ(sum.runs, workspace_sum(u).runs);
  }
  EXPECT_NE(html.find("<th scope=\"row\">Overage cost</th><td class=\"num\">297.00 USD</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<th scope=\"row\">Change in runs</th><td class=\"num\">+80 (+25.0%)</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<th scope=\"row\">Overage cost</th><td class=\"num\">29.70 USD</td>"),
            std::string::npos);
  const std::string no_plan = render_html(make_report(BillingPlan{}));
  EXPECT_NE(no_plan.find("<th scope=\"row\">Billing plan</th><td class=\"num\">not configured"),
            std::string::npos);
  EXPECT_EQ(no_plan.find("Overage"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// FOCUS

const std::vector<std::string> kFocusRequired = {
    "BilledCost",        "BillingAccountId",   "BillingAccountName", "BillingCurrency",
    "BillingPeriodEnd",  "BillingPeriodStart", "ChargeCategory",     "ChargeClass",
    "ChargeDescription", "ChargeFrequency",    "ChargePeriodEnd",    "ChargePeriodStart",
    "ConsumedQuantity",  "ConsumedUnit",       "ContractedCost",     "EffectiveCost",
    "InvoiceIssuerName", "ListCost",           "ListUnitPrice",      "PricingCategory",
    "PricingQuantity",   "PricingUnit",        "ProviderName",       "PublisherName",
    "ServiceCategory",   "ServiceName",        "SubAccountId",       "SubAccountName",
    "ResourceId",        "ResourceName",       "ResourceType"};
// FOCUS columns we emit beyond the list above; anything else must be an x_ custom column.
const std::set<std::string> kFocusOptional = {"ContractedUnitPrice", "ServiceSubcategory"};

TEST(RenderFocus, ColumnsRequiredPresentCustomPrefixed) {
  std::vector<std::string> header;
  csv_records(render_focus(make_report(the_plan())), &header);
  const std::set<std::string> columns(header.begin(), header.end());
  EXPECT_EQ(columns.size(), header.size()) << "duplicate column";
  for (const std::string& c : kFocusRequired) EXPECT_TRUE(columns.count(c)) << c;
  for (const std::string& c : header) {
    const bool focus =
        std::find(kFocusRequired.begin(), kFocusRequired.end(), c) != kFocusRequired.end() ||
        kFocusOptional.count(c) > 0;
    EXPECT_TRUE(focus || c.rfind("x_", 0) == 0) << c;
  }
  for (const char* c : {"x_RunSeconds", "x_EnvironmentId", "x_EnvironmentName"}) {
    EXPECT_TRUE(columns.count(c)) << c;
  }
}

TEST(RenderFocus, BilledCostSumsExactlyToTheOverage) {
  const auto records = csv_records(render_focus(make_report(the_plan())), nullptr);
  std::map<std::string, std::uint64_t> billed;
  std::map<std::string, std::uint64_t> runs;
  std::map<std::string, std::uint64_t> seconds;
  for (const auto& r : records) {
    const std::string& account = r.at("BillingAccountId");
    billed[account] += to_cents(r.at("BilledCost"));
    EXPECT_EQ(r.at("EffectiveCost"), r.at("BilledCost"));
    runs[account] += to_u64(r.at("ConsumedQuantity"));
    seconds[account] += to_u64(r.at("x_RunSeconds"));
    EXPECT_EQ(r.at("PricingQuantity"), r.at("ConsumedQuantity"));
    // ListCost = ListUnitPrice x PricingQuantity (to the cent); contracted = list.
    const double list = to_double(r.at("ListUnitPrice")) * to_u64(r.at("PricingQuantity"));
    EXPECT_NEAR(to_cents(r.at("ListCost")) / 100.0, list, 0.005 + 1e-9);
    EXPECT_EQ(r.at("ContractedCost"), r.at("ListCost"));
    EXPECT_EQ(r.at("ContractedUnitPrice"), r.at("ListUnitPrice"));
    EXPECT_EQ(r.at("ListUnitPrice"), "0.99");
    EXPECT_GE(to_cents(r.at("ListCost")), to_cents(r.at("BilledCost")));
  }
  EXPECT_EQ(billed.at("acc-one"), kOneOverageCents);
  EXPECT_EQ(billed.at("acc-two"), kTwoOverageCents);
  // Every run is on some row: workspaces plus the unattributed remainder = the account total.
  EXPECT_EQ(runs.at("acc-one"), 400u);
  EXPECT_EQ(seconds.at("acc-one"), 90000u);
  EXPECT_EQ(runs.at("acc-two"), 130u);
}

TEST(RenderFocus, AllocationIsProportionalToRuns) {
  const auto records = csv_records(render_focus(make_report(the_plan())), nullptr);
  for (const auto& r : records) {
    if (r.at("BillingAccountId") != "acc-one") continue;
    // Exact share of 297.00 by runs out of 400; largest remainder keeps each within a cent.
    const double exact = 29700.0 * to_u64(r.at("ConsumedQuantity")) / 400;
    EXPECT_LT(std::abs(double(to_cents(r.at("BilledCost"))) - exact), 1.0) << r.at("ResourceId");
  }
  // By hand: 300 over * 0.99 = 297.00 over 400 runs; ws-01 has 100 runs -> 74.25 exactly.
  const auto ws01 = std::find_if(records.begin(), records.end(),
                                 [](const auto& r) { return r.at("ResourceId") == "ws-01"; });
  ASSERT_NE(ws01, records.end());
  EXPECT_EQ(ws01->at("BilledCost"), "74.25");
  EXPECT_EQ(ws01->at("ListCost"), "99.00");
}

TEST(RenderFocus, RowsValuesAndDates) {
  const auto records = csv_records(render_focus(make_report(the_plan())), nullptr);
  // acc-one: 11 workspaces with usage (ws-12 is idle) + unattributed; acc-two: 2 workspaces.
  ASSERT_EQ(records.size(), 12u + 2u);
  const std::regex datetime(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$)");
  for (const auto& r : records) {
    for (const char* c :
         {"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"}) {
      EXPECT_TRUE(std::regex_match(r.at(c), datetime)) << c << "=" << r.at(c);
    }
    EXPECT_EQ(r.at("BillingPeriodStart"), "2026-10-01T00:00:00Z");
    EXPECT_EQ(r.at("BillingPeriodEnd"), "2026-11-01T00:00:00Z");  // exclusive: next month's 1st
    EXPECT_EQ(r.at("ChargePeriodStart"), r.at("BillingPeriodStart"));
    EXPECT_EQ(r.at("ChargePeriodEnd"), r.at("BillingPeriodEnd"));
    EXPECT_EQ(r.at("ChargeCategory"), "Usage");
    EXPECT_EQ(r.at("ChargeClass"), "");
    EXPECT_EQ(r.at("ChargeFrequency"), "Usage-Based");
    EXPECT_EQ(r.at("ConsumedUnit"), "Runs");
    EXPECT_EQ(r.at("PricingUnit"), "Runs");
    EXPECT_EQ(r.at("PricingCategory"), "Standard");
    EXPECT_EQ(r.at("ProviderName"), "Scalr");
    EXPECT_EQ(r.at("PublisherName"), "Scalr");
    EXPECT_EQ(r.at("InvoiceIssuerName"), "Scalr");
    EXPECT_EQ(r.at("ServiceName"), "Scalr");
    EXPECT_EQ(r.at("ServiceCategory"), "Developer Tools");
    EXPECT_EQ(r.at("BillingCurrency"), "USD");
    EXPECT_FALSE(r.at("ChargeDescription").empty());
    EXPECT_EQ(r.at("ResourceType"), r.at("ResourceId").empty() ? "" : "Workspace");
    EXPECT_EQ(r.at("x_EnvironmentId"), r.at("SubAccountId"));
    if (r.at("SubAccountId").empty()) {
      EXPECT_EQ(r.at("SubAccountName"), "");
    }
  }
  const auto find = [&](const std::string& id) {
    return *std::find_if(records.begin(), records.end(),
                         [&](const auto& r) { return r.at("ResourceId") == id; });
  };
  EXPECT_EQ(find("ws-03").at("SubAccountId"), "env-dev");
  EXPECT_EQ(find("ws-03").at("SubAccountName"), "'=dev");  // formula guard as in the CSV report
  EXPECT_EQ(find("ws-03").at("ResourceName"), "line\nbreak");
  EXPECT_EQ(find("ws-03").at("x_RunSeconds"), "12345");
  EXPECT_EQ(find("").at("ConsumedQuantity"), "14");  // 400 - 386 runs not on any workspace
  EXPECT_EQ(find("").at("x_RunSeconds"), "3575");    // 90000 - 86425
}

TEST(RenderFocus, WithoutPlanCostsAreZero) {
  const auto records = csv_records(render_focus(make_report(BillingPlan{})), nullptr);
  ASSERT_FALSE(records.empty());
  for (const auto& r : records) {
    for (const char* c : {"BilledCost", "EffectiveCost", "ListCost", "ContractedCost"}) {
      EXPECT_EQ(to_cents(r.at(c)), 0u) << c;
    }
    EXPECT_EQ(r.at("x_AccountIncludedRuns"), "");
  }
}

// ---------------------------------------------------------------------------------------------
// All formats

TEST(RenderAll, DeterministicAndIndependentOfAccountOrder) {
  Report a = make_report(the_plan());
  Report b = a;
  std::reverse(b.accounts.begin(), b.accounts.end());
  for (const char* format : {"csv", "json", "html", "focus"}) {
    EXPECT_EQ(render_report(a, format), render_report(a, format)) << format;
    EXPECT_EQ(render_report(a, format), render_report(b, format)) << format;
  }
  EXPECT_THROW(render_report(a, "pdf"), std::invalid_argument);
}

TEST(RenderAll, EmptyReport) {
  Report r;
  r.period = month_containing(at(2026, 10, 1));
  EXPECT_EQ(parse_csv(render_csv(r)).size(), 1u);
  EXPECT_EQ(parse_csv(render_focus(r)).size(), 1u);
  EXPECT_TRUE(json::parse(render_json(r))["accounts"].empty());
  EXPECT_NE(render_html(r).find("No accounts"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Golden files: a tiny dataset whose every figure is worked out below by hand.
//   3 days [2026-02-27, 2026-03-02); 15 runs, 5400 s (1.5 h); previous 10 runs, 3600 s.
//   ws-1 "alpha": 8 runs, 3600 s; ws-2 "beta, \"b\"": 7 runs, 1800 s.
//   Plan 10 included at 0.35: 5 over -> 1.75 -> 175 cents, allocated 175*8/15 = 93.33 and
//   175*7/15 = 81.67 -> 93 + 81 = 174, the last cent to the larger remainder: 0.93 and 0.82.
//   ListCost 8 * 0.35 = 2.80 and 7 * 0.35 = 2.45.

Report tiny_report() {
  AccountUsage u;
  u.account_id = "acc-tiny";
  u.period = days(year{2026} / 2 / 27, year{2026} / 3 / 1);
  u.total = {15, 5400};
  u.environments = {{"env-1", "Main", {15, 5400}}};
  u.workspaces = {{"ws-1", "alpha", "env-1", "Main", {8, 3600}},
                  {"ws-2", "beta, \"b\"", std::nullopt, std::nullopt, {7, 1800}}};
  u.daily = {{year{2026} / 2 / 28, {15, 5400}}};
  AccountUsage prev;
  prev.account_id = "acc-tiny";
  prev.period = days(year{2026} / 2 / 24, year{2026} / 2 / 26);
  prev.total = {10, 3600};
  BillingPlan plan;
  plan.included_runs = 10;
  plan.overage_price = 0.35;
  Report r;
  r.generated_at = "2026-03-02T06:00:00Z";
  r.schedule = "0 6 * * *";
  r.period = u.period;
  r.plan = plan;
  r.accounts = {build_account_report(u, &prev, plan)};
  return r;
}

void expect_golden(const std::string& name, const std::string& actual) {
  expect_golden_bytes(std::filesystem::path(__FILE__).parent_path() / "golden" / name, actual);
}

TEST(RenderGolden, Csv) {
  const std::string csv = render_csv(tiny_report());
  expect_golden("tiny.csv", csv);
  const auto records = csv_records(csv, nullptr);
  ASSERT_EQ(records.size(), 4u);  // account, env-1, ws-1, ws-2
  EXPECT_EQ(records[0].at("runs"), "15");
  EXPECT_EQ(records[0].at("run_hours"), "1.5000");
  EXPECT_EQ(records[0].at("runs_over_plan"), "5");
  EXPECT_EQ(records[0].at("overage_cost"), "1.75");
  EXPECT_EQ(records[0].at("runs_change"), "5");
  EXPECT_EQ(records[0].at("runs_change_ratio"), "0.500000");
  EXPECT_EQ(records[0].at("period_end"), "2026-03-02T00:00:00Z");
  EXPECT_EQ(records[2].at("runs_share"), "0.533333");  // 8 / 15
  EXPECT_EQ(records[3].at("runs_share"), "0.466667");  // 7 / 15
  EXPECT_EQ(records[3].at("workspace_name"), "beta, \"b\"");
}

TEST(RenderGolden, Json) {
  const std::string text = render_json(tiny_report());
  expect_golden("tiny.json", text);
  const json doc = json::parse(text);
  const json& acc = doc["accounts"][0];
  EXPECT_EQ(acc["plan"]["overage_cost_cents"], 175);
  EXPECT_DOUBLE_EQ(acc["change"]["runs_relative"].get<double>(), 0.5);
  ASSERT_EQ(acc["daily"].size(), 3u);
  EXPECT_EQ(acc["daily"][0]["runs"], 0);
  EXPECT_EQ(acc["daily"][1]["runs"], 15);
  EXPECT_EQ(acc["daily"][2]["date"], "2026-03-01");
  EXPECT_DOUBLE_EQ(acc["workspaces"][0]["run_hours"].get<double>(), 1.0);
}

TEST(RenderGolden, Html) {
  const std::string html = render_html(tiny_report());
  expect_golden("tiny.html", html);
  EXPECT_NE(html.find(">1.75 USD<"), std::string::npos);
  EXPECT_NE(html.find(">+5 (+50.0%)<"), std::string::npos);
  EXPECT_NE(html.find(">53.3%<"), std::string::npos);  // 8 / 15
  EXPECT_NE(html.find("beta, &quot;b&quot;"), std::string::npos);
}

TEST(RenderGolden, Focus) {
  const std::string csv = render_focus(tiny_report());
  expect_golden("tiny.focus.csv", csv);
  const auto records = csv_records(csv, nullptr);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].at("BilledCost"), "0.93");
  EXPECT_EQ(records[1].at("BilledCost"), "0.82");
  EXPECT_EQ(records[0].at("ListCost"), "2.80");
  EXPECT_EQ(records[1].at("ListCost"), "2.45");
  EXPECT_EQ(records[0].at("ListUnitPrice"), "0.35");
  EXPECT_EQ(records[1].at("SubAccountId"), "");
  EXPECT_EQ(records[0].at("ChargePeriodEnd"), "2026-03-02T00:00:00Z");
}

}  // namespace
}  // namespace scalr_usage
