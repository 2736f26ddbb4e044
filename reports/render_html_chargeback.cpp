// The HTML report's chargeback section, per account: "By <first label>" (e.g. "By team"), a bar
// chart of the groups' runs and a table of every group with its labels, runs, shares, run time
// and, with a plan, its part of the overage cost. Groups come in the model's order (runs desc).
// A label a group does not set shows as "(none)"; the group whose labels are all empty also holds
// the runs on no workspace (deleted workspaces), which the caption says when there is one.

#include <string>
#include <vector>

#include "reports/render_html_util.h"

namespace scalr_usage::render_detail::html {

namespace {

constexpr std::string_view kNone = "(none)";

bool all_empty(const ChargebackValues& values) {
  for (const std::string& value : values) {
    if (!value.empty()) return false;
  }
  return true;
}

// "payments / CC-100", "data / (none)", "(none)" for a group with no label set.
std::string group_name(const ChargebackValues& values) {
  if (all_empty(values)) return std::string(kNone);
  std::string name;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) name += " / ";
    name += values[i].empty() ? std::string(kNone) : values[i];
  }
  return name;
}

void group_chart(std::string& out, const AccountReport& account, const std::string& first) {
  std::vector<Bar> bars;
  bool residual = false;
  for (const ChargebackGroup& group : account.chargeback) {
    residual = residual || all_empty(group.labels);
    bars.push_back(Bar{group_name(group.labels),
                       text(group_name(group.labels)) + ": " + std::to_string(group.usage.runs) +
                           " runs, " + hours(group.usage.run_seconds) + " h",
                       group.usage.runs});
  }
  bar_chart(out, "chargeback", "Runs by " + text(first), bars);
  out += "<figcaption class=\"note\">Runs by " + text(first) + ".";
  if (residual) {
    out += " " + std::string(kNone) +
           ": no label set, including the runs on no workspace (deleted workspaces).";
  }
  out += "</figcaption>\n</figure>\n";
}

void group_table(std::string& out, const Report& report, const AccountReport& account) {
  out += "<table class=\"chargeback\">\n<thead><tr>";
  for (const std::string& label : report.chargeback_labels) out += "<th>" + text(label) + "</th>";
  out +=
      "<th class=\"num\">Runs</th><th class=\"num\">Share of runs</th>"
      "<th class=\"num\">Run hours</th><th class=\"num\">Share of run time</th>";
  if (account.plan) out += "<th class=\"num\">Overage cost</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const ChargebackGroup& group : account.chargeback) {
    out += "<tr>";
    for (std::size_t i = 0; i < report.chargeback_labels.size(); ++i) {
      const bool set = i < group.labels.size() && !group.labels[i].empty();
      out += "<td class=\"name\">" + (set ? text(group.labels[i]) : std::string(kNone)) + "</td>";
    }
    out += "<td class=\"num\">" + std::to_string(group.usage.runs) + "</td><td class=\"num\">" +
           percent(group.runs_share) + "</td><td class=\"num\">" + hours(group.usage.run_seconds) +
           "</td><td class=\"num\">" + percent(group.run_seconds_share) + "</td>";
    if (account.plan) {
      out += "<td class=\"num\">" + money(group.overage_cost_cents.value_or(0)) + " " +
             text(account.plan->currency) + "</td>";
    }
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n";
}

}  // namespace

void chargeback_section(std::string& out, const Report& report, const AccountReport& account) {
  if (report.chargeback_labels.empty()) return;
  const std::string& first = report.chargeback_labels.front();
  out += "<h3>By " + text(first) + "</h3>\n";
  if (account.chargeback.empty()) {
    out += "<p class=\"empty\">No chargeback data.</p>\n";
    return;
  }
  group_chart(out, account, first);
  group_table(out, report, account);
  if (account.plan) {
    out +=
        "<p class=\"note\">The overage cost is allocated to the groups by runs, in whole cents "
        "(largest remainder), so the groups add up to the account's overage cost.</p>\n";
  }
}

}  // namespace scalr_usage::render_detail::html
