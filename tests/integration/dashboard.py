"""The Grafana dashboard (grafana/dashboards/scalr-usage.json) and the Prometheus rules
(prometheus/rules.yml) as data, for tests that check or run their queries.

    load_dashboard(path=None) -> dict
    panels(dashboard) -> every panel, rows' nested panels included, in order
    expressions(dashboard=None) -> [Expression(panel, ref_id, expr, instant, interval)], raw
    substitute(expr, values=None) -> expr with Grafana's variables replaced, e.g.
        $account -> ".*" (DEFAULT_VALUES: "All" everywhere; values overrides, e.g.
        {"account": "acc-1"})
    substituted_expressions(values=None, dashboard=None) -> expressions() after substitute(),
        ready for a Prometheus query (the later end-to-end test runs each against a real server)
    variable_queries(dashboard=None) -> {name: query} of the query variables
    metric_names(expr) -> the metric (and recording rule) names a PromQL expression selects
    label_values_metric(query) -> the series selector of a label_values(...) variable query
    exporter_metric_names() -> every series name in metrics/names.h plus the ones still to come
    pending_metric_names() -> the names issue #14 settles that metrics/names.h lacks so far
    rule_groups(path=None) / recorded_names() / rule_expressions() -> prometheus/rules.yml (needs
        PyYAML, python3-yaml)
    pending_names() -> pending_metric_names() and the recording rules built on them

Standard library only, except the rules functions.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import NamedTuple, Optional

from helpers import REPO_ROOT

DASHBOARD_PATH = REPO_ROOT / "grafana" / "dashboards" / "scalr-usage.json"
RULES_PATH = REPO_ROOT / "prometheus" / "rules.yml"
NAMES_HEADER = REPO_ROOT / "metrics" / "names.h"

# Metrics the exporter exposes besides those in metrics/names.h: scalr_account_included_runs
# (billing.included_runs) is on its way; scalr_exporter_source_up is listed in case names.h moves.
EXTRA_EXPORTER_METRICS = frozenset({"scalr_account_included_runs", "scalr_exporter_source_up"})

# The names issue #14 settles for a multi-target estate, being implemented while the rules and the
# dashboard are written. Until metrics/names.h has them, pending_metric_names() lists them and the
# end-to-end test does not expect data from the queries that use them (it does, on its own, once
# names.h has them).
ESTATE_METRICS = frozenset({
    "scalr_account_info",  # {account_id, account_name, target} = 1
    "scalr_exporter_target_up",  # {target}
    "scalr_exporter_poll_cycle_duration_seconds",
    "scalr_exporter_api_request_duration_seconds",  # histogram {target}
    "scalr_exporter_discovery_errors_total",  # {target, reason}
    "scalr_exporter_shard_info",  # {index, count} = 1
    "scalr_exporter_report_leader",  # absent without reports.leader_election
})

# Histograms: a query selects their _bucket, _sum and _count series.
HISTOGRAMS = frozenset({"scalr_exporter_api_request_duration_seconds"})

# Series the exporter may rightly not have in a single-exporter test: report leadership exists only
# with reports.leader_election configured.
CONDITIONAL_METRICS = frozenset({"scalr_exporter_report_leader"})

# What Grafana would put in place of each variable: every value ("All" is ".*" in this dashboard)
# and fixed intervals.
DEFAULT_VALUES = {
    "target": ".*",
    "account_name": ".*",
    "account": ".*",
    "environment": ".*",
    "workspace": ".*",
    "chargeback_label": "team",  # a custom variable: its default, the first label of the rules
    "__rate_interval": "1m",
    "__interval": "1m",
    "__interval_ms": "60000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}


class Expression(NamedTuple):
    panel: str  # the panel's title
    ref_id: str
    expr: str
    instant: bool  # an instant query (stat, bar gauge, table) rather than a range query
    interval: Optional[str]  # the target's or panel's minimum step, e.g. "1d"


def load_dashboard(path: Optional[Path] = None) -> dict:
    return json.loads(Path(path or DASHBOARD_PATH).read_text(encoding="utf-8"))


def panels(dashboard: dict) -> list:
    out = []
    for p in dashboard.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))  # a collapsed row keeps its panels inside
    return out


def expressions(dashboard: Optional[dict] = None) -> list:
    dashboard = dashboard if dashboard is not None else load_dashboard()
    out = []
    for p in panels(dashboard):
        for t in p.get("targets", []):
            if "expr" in t:
                out.append(Expression(p.get("title", ""), t.get("refId", ""), t["expr"],
                                      bool(t.get("instant")) and not t.get("range", False),
                                      t.get("interval") or p.get("interval")))
    return out


# $name, ${name}, ${name:format}, [[name]]; not $1 (a label_replace() back-reference).
_VARIABLE = re.compile(r"\$\{([A-Za-z_]\w*)(?::[^}]*)?\}|\[\[([A-Za-z_]\w*)(?::[^\]]*)?\]\]"
                       r"|\$([A-Za-z_]\w*)")


def substitute(expr: str, values: Optional[dict] = None) -> str:
    """Replaces $name, ${name}, ${name:format} and [[name]]; a variable without a value is a
    KeyError, so a query using an undefined variable does not pass unnoticed."""
    table = dict(DEFAULT_VALUES, **(values or {}))

    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in table:
            raise KeyError(f"no value for dashboard variable ${name} in {expr!r}")
        return table[name]

    return _VARIABLE.sub(repl, expr)


def substituted_expressions(values: Optional[dict] = None,
                            dashboard: Optional[dict] = None) -> list:
    return [e._replace(expr=substitute(e.expr, values)) for e in expressions(dashboard)]


def variable_queries(dashboard: Optional[dict] = None) -> dict:
    dashboard = dashboard if dashboard is not None else load_dashboard()
    out = {}
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            out[v["name"]] = q.get("query", "") if isinstance(q, dict) else (q or "")
    return out


def label_values_metric(query: str) -> str:
    """'label_values(m{a=~"$x"}, label)' -> 'm{a=~"$x"}'."""
    m = re.fullmatch(r"\s*label_values\s*\((.*),\s*(\w+)\s*\)\s*", query, re.S)
    if not m:
        raise ValueError(f"not a label_values(series, label) query: {query!r}")
    return m.group(1)


# ---- PromQL names ------------------------------------------------------------------------------

_KEYWORDS = frozenset({"and", "or", "unless", "bool", "by", "without", "on", "ignoring",
                       "group_left", "group_right", "offset", "inf", "nan"})


def metric_names(expr: str) -> set:
    """The metric names an expression selects: identifiers that are not functions, aggregations,
    keywords, label names or parts of strings, numbers and durations. Good enough for the
    dashboard's and the rules' PromQL (it is no parser: promtool checks the syntax)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # strings
    text = re.sub(r"#[^\n]*", "", text)  # comments
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\boffset\s+-?[\w.]+", " ", text)
    text = re.sub(r"@\s*[\d.]+", " ", text)
    names = set()
    for m in re.finditer(r"(?<![\w:.])([A-Za-z_:][\w:]*)", text):
        name = m.group(1)
        if name.lower() in _KEYWORDS or re.match(r"\s*\(", text[m.end():]):
            continue
        names.add(name)
    return names


def declared_metric_names() -> set:
    """Every "scalr_..." string literal of metrics/names.h: what the exporter built from this tree
    exposes."""
    header = NAMES_HEADER.read_text(encoding="utf-8")
    return set(re.findall(r'"(scalr_[a-z0-9_]+)"', header))


def series_names(names) -> set:
    """names, with a histogram's _bucket, _sum and _count series in place of its own name."""
    out = set()
    for name in names:
        if name in HISTOGRAMS:
            out |= {name + "_bucket", name + "_sum", name + "_count"}
        else:
            out.add(name)
    return out


def exporter_metric_names() -> set:
    """The series names of metrics/names.h, EXTRA_EXPORTER_METRICS and ESTATE_METRICS."""
    return series_names(declared_metric_names() | EXTRA_EXPORTER_METRICS | ESTATE_METRICS)


def pending_metric_names() -> set:
    """The series names of ESTATE_METRICS that metrics/names.h does not declare yet."""
    declared = declared_metric_names()
    return series_names(ESTATE_METRICS - declared)


# ---- prometheus/rules.yml ----------------------------------------------------------------------

def rule_groups(path: Optional[Path] = None) -> list:
    import yaml  # python3-yaml
    return yaml.safe_load(Path(path or RULES_PATH).read_text(encoding="utf-8"))["groups"]


def recorded_names(path: Optional[Path] = None) -> set:
    return {r["record"] for g in rule_groups(path) for r in g["rules"] if "record" in r}


def rule_expressions(path: Optional[Path] = None) -> dict:
    """{record or alert name: expr}."""
    return {r.get("record") or r["alert"]: r["expr"] for g in rule_groups(path) for r in g["rules"]}


def pending_names(path: Optional[Path] = None) -> set:
    """pending_metric_names() plus the recording rules computed from them (directly or through
    other rules): the series a daemon built from this tree cannot have yet."""
    pending = pending_metric_names()
    records = {r["record"]: metric_names(r["expr"])
               for g in rule_groups(path) for r in g["rules"] if "record" in r}
    grown = True
    while grown:
        new = {name for name, uses in records.items() if uses & pending} - pending
        pending |= new
        grown = bool(new)
    return pending
