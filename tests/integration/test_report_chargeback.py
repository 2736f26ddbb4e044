"""Chargeback in the billing reports, end to end: the real daemon binary on a real PostgreSQL 15
loaded with the generated runs, a `chargeback:` section with a glob on the environment name, a
searched regular expression on the workspace name, a rule whose two keys must both match, and a
default.

Every format's chargeback figures are compared with sums computed here from the loaded runs and the
rules, applied in Python (first match wins, globs match the whole value, a leading ~ is a regular
expression searched anywhere, every key of a rule must match, the default labels the rest), never
with the exporter's own numbers; the allocated cents must add up to the account's overage. The
on-demand `report` command writes every format; the daemon's schedule writes them too, and takes
new rules on SIGHUP.

Workspace tags and account names are not in the PostgreSQL source yet; the unit tests
(tests/unit/test_report_golden.cpp) cover both, the API side is tested after enrichment lands.
"""

from __future__ import annotations

import csv
import datetime as dt
import html as html_lib
import io
import json
import re
import signal
import subprocess
from collections import defaultdict
from pathlib import Path

import helpers
from helpers import wait_until

INCLUDED_RUNS = 100
PRICE_CENTS = 99  # overage_price 0.99
EXTENSIONS = {"csv": "csv", "json": "json", "html": "html", "focus": "focus.csv"}

CHARGEBACK = {
    "labels": ["team", "cost_center"],
    "rules": [
        # a glob: "production" (the main account), "prod" (the demo account)
        {"match": {"environment_name": "prod*"}, "set": {"team": "platform", "cost_center": "CC-100"}},
        # a regular expression, searched: data components in any environment left
        {"match": {"workspace_name": "~-(db|cache|queue)-"}, "set": {"team": "data"}},
        # both keys must match; ? is one character
        {"match": {"environment_name": "?taging", "workspace_name": "~(dns|cdn|rocket)"},
         "set": {"team": "web", "cost_center": "CC-300"}},
    ],
    "default": {"team": "unallocated"},
}


# The rules, again, in Python (helpers.chargeback_classify), written independently of the exporter.
classify = helpers.chargeback_classify


# ---- what the reports must say -------------------------------------------------------------------

def previous_month():
    first_of_this = dt.datetime.now(dt.timezone.utc).date().replace(day=1)
    start = (first_of_this - dt.timedelta(days=1)).replace(day=1)
    return start, first_of_this, start.strftime("%Y-%m")


def largest_remainder(amount: int, weights: list) -> list:
    """amount split in proportion to weights, in whole units summing to amount: floors first, then
    one unit each to the largest remainders (ties: larger weight, then earlier)."""
    total = sum(weights)
    if total == 0:
        return [0] * len(weights)
    parts = [amount * w // total for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), -weights[i], i))
    for i in order[:amount - sum(parts)]:
        parts[i] += 1
    return parts


def expected_chargeback(runs, section: dict, start: dt.date, end: dt.date) -> dict:
    """{account: {"overage": cents, "workspaces": {ws: labels}, "groups": [(labels, runs, seconds,
    cents)]}} from the runs finished in [start, end), groups in the documented order."""
    lo = dt.datetime.combine(start, dt.time(0), dt.timezone.utc)
    hi = dt.datetime.combine(end, dt.time(0), dt.timezone.utc)
    per_ws = defaultdict(lambda: [0, 0])
    facts = {}
    totals = defaultdict(lambda: [0, 0])
    for r in runs:
        if not lo <= r.finished_at < hi:
            continue
        key = (r.account_id, r.workspace_id)
        per_ws[key][0] += 1
        per_ws[key][1] += r.duration_seconds
        totals[r.account_id][0] += 1
        totals[r.account_id][1] += r.duration_seconds
        facts[key] = {"account_id": r.account_id, "environment_id": r.environment_id,
                      "environment_name": r.environment_name or "", "workspace_id": r.workspace_id,
                      "workspace_name": r.workspace_name or "", "tags": []}
    out = {}
    for account, (total_runs, total_seconds) in totals.items():
        sums = defaultdict(lambda: [0, 0])
        labels_of = {}
        for (acc, ws), (n, s) in per_ws.items():
            if acc != account:
                continue
            labels = tuple(classify(section, facts[(acc, ws)]))
            labels_of[ws] = labels
            sums[labels][0] += n
            sums[labels][1] += s
        # The PostgreSQL source's account total is the sum of its workspaces: no residual group.
        assert sum(n for n, _ in sums.values()) == total_runs
        ordered = sorted(sums.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        overage = max(0, total_runs - INCLUDED_RUNS) * PRICE_CENTS
        cents = largest_remainder(overage, [n for _, (n, _) in ordered])
        out[account] = {"overage": overage, "workspaces": labels_of,
                        "groups": [(labels, n, s, c) for (labels, (n, s)), c in zip(ordered, cents)]}
    return out


# ---- reading every format ------------------------------------------------------------------------

def money_cents(text: str) -> int:
    whole, fraction = text.split(".")
    assert len(fraction) == 2, text
    return int(whole) * 100 + int(fraction)


def json_groups(text: str, account: str, labels: list):
    doc = json.loads(text)
    (acc,) = [a for a in doc["accounts"] if a["account_id"] == account]
    groups = [(tuple(g["labels"][l] for l in labels), g["runs"], g["run_seconds"],
               g["overage_cost_cents"]) for g in acc["chargeback"]]
    workspaces = {w["id"]: tuple(w["chargeback_labels"][l] for l in labels)
                  for w in acc["workspaces"]}
    return groups, workspaces, acc["plan"]["overage_cost_cents"]


def csv_groups(text: str, account: str, labels: list):
    """Rows of level "chargeback", and the workspaces' label columns (named as the labels)."""
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    mine = [r for r in rows if r["account_id"] == account]
    groups = [(tuple(r[l] for l in labels), int(r["runs"]), int(r["run_seconds"]),
               money_cents(r["overage_cost"])) for r in mine if r["level"] == "chargeback"]
    workspaces = {r["workspace_id"]: tuple(r[l] for l in labels)
                  for r in mine if r["level"] == "workspace"}
    return groups, workspaces


def focus_sums(text: str, account: str, labels: list) -> dict:
    """{labels: (runs, seconds, billed cents)} summed over the rows by their Tags."""
    sums = defaultdict(lambda: [0, 0, 0])
    for r in csv.DictReader(io.StringIO(text, newline="")):
        assert r["BillingAccountId"] == account
        tags = json.loads(r["Tags"])
        assert list(tags) == labels  # every label, in the configured order
        s = sums[tuple(tags.values())]
        s[0] += int(r["ConsumedQuantity"])
        s[1] += int(r["x_RunSeconds"])
        s[2] += money_cents(r["BilledCost"])
    return {k: tuple(v) for k, v in sums.items()}


def html_groups(text: str, labels: list):
    """(labels, runs, cents) of the rows of the "By <first label>" table; "(none)" is unset."""
    assert f"<h3>By {labels[0]}</h3>" in text
    section = text[text.index('<table class="chargeback">'):]
    section = section[:section.index("</table>")]
    row = re.compile("<tr>" + '<td class="name">(.*?)</td>' * len(labels) +
                     r'<td class="num">(\d+)</td>(?:<td class="num">[^<]*</td>){3}'
                     r'<td class="num">([0-9.]+) USD</td></tr>')
    unset = lambda v: "" if v == "(none)" else html_lib.unescape(v)
    return [(tuple(unset(v) for v in m[:len(labels)]), int(m[-2]), money_cents(m[-1]))
            for m in row.findall(section)]


def assert_reports(directory: Path, key: str, expected: dict, section: dict) -> None:
    """Every format of every account in directory says what expected (from the runs) says."""
    labels = section["labels"]
    assert expected, "no account had runs in the period"
    for account, want in expected.items():
        def read(fmt):
            name = f"scalr-usage_{account}_{key}.{EXTENSIONS[fmt]}"
            return (directory / name).read_text(encoding="utf-8")
        groups = want["groups"]
        assert sum(c for *_, c in groups) == want["overage"], account

        j_groups, j_workspaces, j_overage = json_groups(read("json"), account, labels)
        assert j_groups == groups, account
        assert j_overage == want["overage"]
        assert {w: l for w, l in j_workspaces.items() if w in want["workspaces"]} == \
            want["workspaces"]

        c_groups, c_workspaces = csv_groups(read("csv"), account, labels)
        assert c_groups == groups, account
        assert {w: l for w, l in c_workspaces.items() if w in want["workspaces"]} == \
            want["workspaces"]

        assert focus_sums(read("focus"), account, labels) == \
            {labels: (n, s, c) for labels, n, s, c in groups}, account

        assert html_groups(read("html"), labels) == \
            [(labels, n, c) for labels, n, _, c in groups], account


def overrides(output_dir: Path, chargeback: dict, schedules=("monthly",)) -> dict:
    return {
        "billing": {"included_runs": INCLUDED_RUNS, "overage_price": 0.99, "currency": "USD"},
        "reports": {"output_dir": str(output_dir), "keep": 24,
                    "schedules": [{"name": name, "cron": "* * * * *", "period": "previous_month"}
                                  for name in schedules]},
        "chargeback": chargeback,
    }


def wait_for_reports(directory: Path, key: str, accounts, exporter) -> None:
    want = {f"scalr-usage_{a}_{key}.{ext}" for a in accounts for ext in EXTENSIONS.values()}
    try:
        wait_until(lambda: directory.is_dir() and want <= {p.name for p in directory.iterdir()},
                   90, 0.2, f"the scheduled reports in {directory}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- exporter log ---\n{exporter.log_text()[-3000:]}") from None


# ---- the tests ------------------------------------------------------------------------------------

def test_the_rules_here_are_the_issue_semantics():
    """The Python rules themselves: first match, glob (whole value, ?), searched regex, every key,
    default, unset labels ""."""
    f = lambda env, ws: {"environment_name": env, "workspace_name": ws}
    assert classify(CHARGEBACK, f("production", "production-db-004")) == ("platform", "CC-100")
    assert classify(CHARGEBACK, f("preprod", "x-db-1")) == ("data", "")  # glob is the whole value
    assert classify(CHARGEBACK, f("staging", "staging-dns-001")) == ("web", "CC-300")
    assert classify(CHARGEBACK, f("xstaging", "staging-dns-001")) == ("unallocated", "")
    assert classify(CHARGEBACK, f("qa", "qa-dns-001")) == ("unallocated", "")


def test_on_demand_every_format_allocates_by_the_rules(postgres, pg_runs, sue_binary, tmp_path):
    start, end, key = previous_month()
    config = helpers.postgres_exporter_config(helpers.free_port(), postgres.dsn(),
                                              overrides=overrides(tmp_path / "unused", CHARGEBACK))
    path = tmp_path / "pg.yaml"
    path.write_text(helpers.to_yaml(config), encoding="utf-8")
    result = subprocess.run([str(sue_binary), "report", f"--config.file={path}",
                             f"--period={key}", f"--output={tmp_path / 'out'}"],
                            capture_output=True, text=True, timeout=120, env=helpers._clean_env())
    assert result.returncode == 0, result.stderr
    expected = expected_chargeback(pg_runs, CHARGEBACK, start, end)
    # Every rule and the default decide some group somewhere, so each is exercised.
    teams = {labels[0] for want in expected.values() for labels, *_ in want["groups"]}
    assert {"platform", "data", "web", "unallocated"} <= teams, teams
    assert any(want["overage"] > 0 for want in expected.values())
    assert_reports(tmp_path / "out", key, expected, CHARGEBACK)


# After the reload: one label, a rule and a default, so every group changes.
RELOADED = {
    "labels": ["owner"],
    "rules": [{"match": {"workspace_name": "~-(api|web)-"}, "set": {"owner": "frontend"}}],
    "default": {"owner": "backend"},
}


def test_the_schedule_allocates_by_the_rules_and_takes_new_ones_on_sighup(
        postgres, pg_runs, pg_exporter_factory, tmp_path):
    start, end, key = previous_month()
    out = tmp_path / "reports"
    exporter = pg_exporter_factory(postgres, overrides=overrides(out, CHARGEBACK))
    expected = expected_chargeback(pg_runs, CHARGEBACK, start, end)
    wait_for_reports(out / "monthly", key, expected, exporter)
    assert_reports(out / "monthly", key, expected, CHARGEBACK)

    # A reload with other rules and a second schedule: its catch-up report uses the new rules.
    config = helpers.deep_merge(exporter.config, {"chargeback": None})
    config = helpers.deep_merge(config, overrides(out, RELOADED, ("monthly", "reloaded")))
    exporter.config = config
    exporter.config_path.write_text(helpers.to_yaml(config), encoding="utf-8")
    exporter.signal(signal.SIGHUP)
    reloaded = expected_chargeback(pg_runs, RELOADED, start, end)
    wait_for_reports(out / "reloaded", key, reloaded, exporter)
    assert_reports(out / "reloaded", key, reloaded, RELOADED)
    assert {labels for want in reloaded.values() for labels, *_ in want["groups"]} == \
        {("frontend",), ("backend",)}
