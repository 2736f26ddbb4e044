// The HTML report: one self-contained HTML5 page meant to be mailed, archived or printed. No
// scripts and no external assets (stylesheet inline, charts as inline SVG), so it renders the same
// offline, in a mail client that blocks remote content, and years later.
//
// Every piece of text from the data (ids, names, currency, schedule) goes through text(), which
// makes it valid UTF-8 and escapes & < > " ', so a workspace named "<script>..." is shown, never
// run, and a quote cannot end an attribute. Numbers are produced here and need no escaping.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "reports/render.h"
#include "reports/render_html_util.h"
#include "reports/render_util.h"

namespace scalr_usage {

using namespace render_detail;
using namespace render_detail::html;
using namespace std::chrono;

namespace {

// "2026-10-01 – 2026-10-31": the inclusive days of a [start, end) period.
std::string days_of(const Period& period) {
  const year_month_day first{floor<std::chrono::days>(period.start)};
  const year_month_day last{floor<std::chrono::days>(period.end - seconds{1})};
  return format_date(first) + " \xE2\x80\x93 " + format_date(last);
}

std::string signed_percent(const std::optional<double>& relative) {
  if (!relative) return "n/a";
  return (*relative > 0 ? "+" : "") + percent(*relative);
}

std::string label_of(const WorkspaceRow& ws) { return ws.name.empty() ? ws.id : ws.name; }

constexpr std::string_view kStyle = R"(
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  color: #1a1a1a; background: #fff; margin: 2rem auto; max-width: 62rem; padding: 0 1rem;
  line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.3rem; border-bottom: 2px solid #4a78c2; padding-bottom: .2rem; margin-top: 2.5rem; }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
p.meta, p.note, p.empty { color: #555b63; margin: .2rem 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .9rem;
  page-break-inside: avoid; break-inside: avoid; }
th, td { border: 1px solid #c8ccd2; padding: .25rem .5rem; text-align: left; vertical-align: top; }
thead th { background: #eef2f7; }
table.summary { width: auto; min-width: 24rem; }
table.summary th { background: #f6f8fa; font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.name { white-space: pre-wrap; overflow-wrap: anywhere; }
.id { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .85em; }
figure { margin: .5rem 0 1rem; page-break-inside: avoid; break-inside: avoid; }
svg { display: block; max-width: 100%; height: auto; }
svg .bar { fill: #4a78c2; }
svg .axis { stroke: #6b7079; stroke-width: 1; }
svg text { font-size: 11px; fill: #333; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  section.account + section.account { break-before: page; page-break-before: always; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  thead th, table.summary th { background: #fff; }
  svg .bar { fill: #777; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)";

void summary_row(std::string& out, std::string_view label, const std::string& value) {
  out += "<tr><th scope=\"row\">";
  out += label;
  out += "</th><td class=\"num\">" + value + "</td></tr>\n";
}

void summary_table(std::string& out, const AccountReport& account) {
  out += "<table class=\"summary\">\n<caption class=\"meta\">Summary</caption>\n<tbody>\n";
  summary_row(out, "Period (UTC)", days_of(account.period));
  summary_row(out, "Runs", std::to_string(account.total.runs));
  summary_row(out, "Run time (hours)", hours(account.total.run_seconds));
  summary_row(out, "Run time (seconds)", std::to_string(account.total.run_seconds));
  if (account.change) {
    const UsageChange& c = *account.change;
    summary_row(out, "Previous period (UTC)", days_of(c.previous_period));
    summary_row(out, "Runs in previous period", std::to_string(c.previous.runs));
    summary_row(out, "Change in runs",
                signed_int(c.runs_delta) + " (" + signed_percent(c.runs_relative) + ")");
    summary_row(out, "Run hours in previous period", hours(c.previous.run_seconds));
    const double delta_hours = static_cast<double>(c.run_seconds_delta) / 3600;
    summary_row(out, "Change in run time (hours)",
                (delta_hours > 0 ? "+" : "") + fixed(delta_hours, 2) + " (" +
                    signed_percent(c.run_seconds_relative) + ")");
  } else {
    summary_row(out, "Change against previous period", "no previous period");
  }
  if (account.plan) {
    const PlanUsage& plan = *account.plan;
    const std::string currency = text(plan.currency);
    summary_row(out, "Included runs", std::to_string(plan.included_runs));
    summary_row(out, "Runs over plan", std::to_string(plan.runs_over_plan));
    summary_row(out, "Overage price per run",
                decimal_micros(plan.overage_price_micros) + " " + currency);
    summary_row(out, "Overage cost", money(plan.overage_cost_cents) + " " + currency);
  } else {
    summary_row(out, "Billing plan", "not configured");
  }
  out += "</tbody>\n</table>\n";
}

// Vertical bars, one per day of the period; the title of each bar is its tooltip.
void daily_chart(std::string& out, const AccountReport& account) {
  constexpr double kWidth = 760, kHeight = 220, kLeft = 48, kRight = 8, kTop = 14, kBottom = 30;
  constexpr double kPlotWidth = kWidth - kLeft - kRight, kPlotHeight = kHeight - kTop - kBottom;
  std::uint64_t max_runs = 0;
  for (const DayRow& d : account.daily) max_runs = std::max(max_runs, d.usage.runs);
  const double scale = max_runs == 0 ? 0 : kPlotHeight / static_cast<double>(max_runs);
  const std::size_t n = std::max<std::size_t>(account.daily.size(), 1);
  const double slot = kPlotWidth / static_cast<double>(n);
  const std::size_t label_every = (n + 30) / 31;  // about one label per day for a month

  out += "<figure>\n<svg class=\"chart daily\" viewBox=\"0 0 " + coord(kWidth) + " " +
         coord(kHeight) + "\" width=\"" + coord(kWidth) + "\" height=\"" + coord(kHeight) +
         "\" role=\"img\" aria-label=\"Runs per day\">\n";
  const std::string base = coord(kTop + kPlotHeight);
  out += "<line class=\"axis\" x1=\"" + coord(kLeft) + "\" y1=\"" + base + "\" x2=\"" +
         coord(kLeft + kPlotWidth) + "\" y2=\"" + base + "\"/>\n";
  out += "<line class=\"axis\" x1=\"" + coord(kLeft) + "\" y1=\"" + coord(kTop) + "\" x2=\"" +
         coord(kLeft) + "\" y2=\"" + base + "\"/>\n";
  out += "<text x=\"" + coord(kLeft - 6) + "\" y=\"" + coord(kTop + 4) + "\" text-anchor=\"end\">" +
         std::to_string(max_runs) + "</text>\n";
  out += "<text x=\"" + coord(kLeft - 6) + "\" y=\"" + base + "\" text-anchor=\"end\">0</text>\n";
  for (std::size_t i = 0; i < account.daily.size(); ++i) {
    const DayRow& d = account.daily[i];
    const double h = static_cast<double>(d.usage.runs) * scale;
    const double x = kLeft + static_cast<double>(i) * slot;
    out += "<rect class=\"bar\" x=\"" + coord(x + slot * 0.1) + "\" y=\"" +
           coord(kTop + kPlotHeight - h) + "\" width=\"" + coord(slot * 0.8) + "\" height=\"" +
           coord(h) + "\"><title>" + format_date(d.date) + ": " + std::to_string(d.usage.runs) +
           " runs, " + hours(d.usage.run_seconds) + " h</title></rect>\n";
    if (i % label_every == 0) {
      out += "<text x=\"" + coord(x + slot / 2) + "\" y=\"" + coord(kHeight - 12) +
             "\" text-anchor=\"middle\">" + std::to_string(static_cast<unsigned>(d.date.day())) +
             "</text>\n";
    }
  }
  out += "</svg>\n<figcaption class=\"note\">Runs per day (UTC), " + days_of(account.period) +
         "; hover a bar for the day's figures.</figcaption>\n</figure>\n";
}

// Horizontal bars for the top workspaces by runs, labelled with the (shortened) name.
void top_chart(std::string& out, const AccountReport& account) {
  if (account.top_workspaces.empty()) {
    out += "<p class=\"empty\">No workspace had runs in this period.</p>\n";
    return;
  }
  std::vector<Bar> bars;
  for (const WorkspaceRow& ws : account.top_workspaces) {
    bars.push_back(Bar{label_of(ws),
                       text(label_of(ws)) + " (" + text(ws.id) +
                           "): " + std::to_string(ws.usage.runs) + " runs, " +
                           hours(ws.usage.run_seconds) + " h",
                       ws.usage.runs});
  }
  bar_chart(out, "top", "Top workspaces by runs", bars);
  out += "<figcaption class=\"note\">Top " + std::to_string(account.top_workspaces.size()) +
         " workspaces by runs.</figcaption>\n</figure>\n";
}

void environment_table(std::string& out, const AccountReport& account) {
  if (account.environments.empty()) {
    out += "<p class=\"empty\">No environment data.</p>\n";
    return;
  }
  out +=
      "<table class=\"environments\">\n<thead><tr><th>Environment ID</th><th>Name</th>"
      "<th class=\"num\">Runs</th><th class=\"num\">Share of runs</th>"
      "<th class=\"num\">Run hours</th><th class=\"num\">Share of run time</th></tr></thead>\n"
      "<tbody>\n";
  for (const EnvironmentRow& env : account.environments) {
    out += "<tr><td class=\"id\">" + text(env.id) + "</td><td class=\"name\">" + text(env.name) +
           "</td><td class=\"num\">" + std::to_string(env.usage.runs) + "</td><td class=\"num\">" +
           percent(env.runs_share) + "</td><td class=\"num\">" + hours(env.usage.run_seconds) +
           "</td><td class=\"num\">" + percent(env.run_seconds_share) + "</td></tr>\n";
  }
  out += "</tbody>\n</table>\n";
}

void workspace_table(std::string& out, const AccountReport& account) {
  if (account.workspaces.empty()) {
    out += "<p class=\"empty\">No workspace data.</p>\n";
    return;
  }
  out +=
      "<table class=\"workspaces\">\n<thead><tr><th>Workspace ID</th><th>Name</th>"
      "<th>Environment</th><th class=\"num\">Runs</th><th class=\"num\">Share of runs</th>"
      "<th class=\"num\">Run hours</th><th class=\"num\">Share of run time</th></tr></thead>\n"
      "<tbody>\n";
  for (const WorkspaceRow& ws : account.workspaces) {
    std::string environment;
    if (ws.environment_name && !ws.environment_name->empty()) {
      environment = text(*ws.environment_name);
      if (ws.environment_id)
        environment += " <span class=\"id\">" + text(*ws.environment_id) + "</span>";
    } else if (ws.environment_id) {
      environment = "<span class=\"id\">" + text(*ws.environment_id) + "</span>";
    }
    out += "<tr><td class=\"id\">" + text(ws.id) + "</td><td class=\"name\">" + text(ws.name) +
           "</td><td class=\"name\">" + environment + "</td><td class=\"num\">" +
           std::to_string(ws.usage.runs) + "</td><td class=\"num\">" + percent(ws.runs_share) +
           "</td><td class=\"num\">" + hours(ws.usage.run_seconds) + "</td><td class=\"num\">" +
           percent(ws.run_seconds_share) + "</td></tr>\n";
  }
  out += "</tbody>\n</table>\n";
}

}  // namespace

std::string render_html(const Report& report) {
  const std::string title = "Scalr usage report " + days_of(report.period);
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
      title + "</title>\n<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  out += "<header>\n<h1>" + title + "</h1>\n<p class=\"meta\">Period " +
         format_rfc3339(report.period.start) + " to " + format_rfc3339(report.period.end) +
         " (UTC, end exclusive). Generated at " + text(report.generated_at);
  if (!report.schedule.empty()) out += " by schedule <code>" + text(report.schedule) + "</code>";
  out += ".</p>\n</header>\n";
  if (report.accounts.empty()) out += "<p class=\"empty\">No accounts in this report.</p>\n";
  for (const AccountReport* account : accounts_by_id(report)) {
    // The name next to the id where the source knows it.
    const std::string name =
        account->account_name.empty()
            ? ""
            : "<span class=\"name\">" + text(account->account_name) + "</span> ";
    out += "<section class=\"account\">\n<h2>Account " + name + "<span class=\"id\">" +
           text(account->account_id) + "</span></h2>\n";
    summary_table(out, *account);
    out += "<h3>Runs per day</h3>\n";
    daily_chart(out, *account);
    out += "<h3>Top workspaces</h3>\n";
    top_chart(out, *account);
    chargeback_section(out, report, *account);
    out += "<h3>Environments</h3>\n";
    environment_table(out, *account);
    out += "<h3>Workspaces</h3>\n";
    workspace_table(out, *account);
    out += "</section>\n";
  }
  out +=
      "<footer>\n<p class=\"note\">Shares are of the account's total as reported by Scalr, which "
      "also counts workspaces deleted since, so the rows need not add up to 100%. Hours are run "
      "seconds / 3600.</p>\n</footer>\n</body>\n</html>\n";
  return out;
}

}  // namespace scalr_usage
