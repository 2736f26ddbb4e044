"""The dashboard's queries and the rules on a multi-target estate, in a real Prometheus (Debian's
prometheus 2.42) that scrapes two stand-in exporter replicas serving the metric names issue #14
settles (scalr_account_info, scalr_exporter_target_up, the request histogram, ...).

The stand-ins are synthetic on purpose: they pin down what the dashboard and the rules need from
those series, so the queries are proven before (and independently of) the daemon exporting them;
test_prometheus_e2e.py runs the same queries against the real daemon. Expected sets and values
come from the estate defined below, not from Prometheus's answers.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import dashboard
import helpers
from helpers import wait_until

# account_id: (target, name on replica a, name on replica b). acc-t1 was renamed and replica b has
# not polled it since; acc-a2's name is unknown; acc-t2's name is full of regex metacharacters.
ACCOUNTS = {
    "acc-a1": ("acme", "Acme Prod", "Acme Prod"),
    "acc-a2": ("acme", "", ""),
    "acc-t1": ("tower", "Tower Child", "Tower Child (old)"),
    "acc-t2": ("tower", "Tower (EU) *", "Tower (EU) *"),
}
# Usage series without an info series: what an older exporter serves.
LEGACY = "acc-legacy"
TARGET_UP = {"acme": 1, "tower": 0}
REPLICAS = ("a", "b")
LEADER = "a"
POLL_CYCLE_SECONDS = {"a": 2.5, "b": 3.5}
# Every request to acme takes between 0.1 and 0.25 s (the bucket layout the exporter uses).
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30",
           "+Inf")
ACME_REQUESTS_PER_SCRAPE = 20
# The 95th percentile of requests spread evenly over (0.1, 0.25]: 0.1 + 0.15 x 0.95.
ACME_P95 = 0.1 + (0.25 - 0.1) * 0.95


def exposition(replica: str, n: int, period_start: float) -> str:
    """The replica's page at its n-th scrape: counters grow with n."""
    lines = []

    def family(name, kind, samples, suffix=""):
        lines.append(f"# HELP {name} Synthetic.")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            text = ",".join(f'{k}="{v}"' for k, v in labels.items())
            lines.append(f"{name}{suffix}{{{text}}} {value}" if text else f"{name} {value}")

    name_index = 1 if replica == "a" else 2
    family("scalr_account_info", "gauge",
           [({"account_id": a, "account_name": spec[name_index], "target": spec[0]}, 1)
            for a, spec in ACCOUNTS.items()])
    accounts = [*ACCOUNTS, LEGACY]
    family("scalr_account_runs_total", "counter", [({"account_id": a}, 100 + n) for a in accounts])
    family("scalr_account_run_seconds_total", "counter",
           [({"account_id": a}, 6000 + 60 * n) for a in accounts])
    family("scalr_environment_runs_total", "counter",
           [({"account_id": a, "environment_id": f"env-{a}", "environment_name": "production"},
             50 + n) for a in accounts])
    family("scalr_environment_run_seconds_total", "counter",
           [({"account_id": a, "environment_id": f"env-{a}", "environment_name": "production"},
             3000 + 60 * n) for a in accounts])
    family("scalr_workspace_runs_total", "counter",
           [({"account_id": a, "workspace_id": f"ws-{a}", "workspace_name": "network"}, 20 + n)
            for a in accounts])
    family("scalr_workspace_run_seconds_total", "counter",
           [({"account_id": a, "workspace_id": f"ws-{a}", "workspace_name": "network"},
             1200 + 60 * n) for a in accounts])
    # Chargeback: every workspace labelled (two teams), as a daemon with a chargeback: section does.
    family("scalr_workspace_chargeback_info", "gauge",
           [({"account_id": a, "workspace_id": f"ws-{a}",
              "team": "platform" if a.startswith("acc-a") else "data"}, 1) for a in accounts])
    family("scalr_billing_period_start_timestamp_seconds", "gauge",
           [({"account_id": a}, period_start) for a in accounts])
    family("scalr_billing_period_end_timestamp_seconds", "gauge",
           [({"account_id": a}, period_start + 31 * 86400) for a in accounts])
    family("scalr_account_included_runs", "gauge", [({"account_id": a}, 1000) for a in accounts])
    family("scalr_up", "gauge", [({"account_id": a}, 1) for a in accounts])
    family("scalr_exporter_last_success_timestamp_seconds", "gauge",
           [({"account_id": a}, time.time()) for a in accounts])
    family("scalr_exporter_last_poll_duration_seconds", "gauge",
           [({"account_id": a}, 0.5) for a in accounts])
    family("scalr_exporter_poll_errors_total", "counter",
           [({"account_id": a, "reason": "timeout"}, n) for a in accounts])
    family("scalr_exporter_source_up", "gauge", [({}, 1)])
    family("scalr_exporter_build_info", "gauge", [({"version": "test", "revision": "x"}, 1)])
    family("scalr_exporter_api_requests_total", "counter",
           [({"target": "acme", "code": "200"}, ACME_REQUESTS_PER_SCRAPE * n),
            ({"target": "tower", "code": "401"}, 2 * n)])
    family("scalr_exporter_api_request_duration_seconds", "histogram",
           [({"target": "acme", "le": le}, ACME_REQUESTS_PER_SCRAPE * n
             if le == "+Inf" or float(le) >= 0.25 else 0) for le in BUCKETS], suffix="_bucket")
    lines.append(f'scalr_exporter_api_request_duration_seconds_sum{{target="acme"}} {4.0 * n}')
    lines.append(f'scalr_exporter_api_request_duration_seconds_count{{target="acme"}} '
                 f'{ACME_REQUESTS_PER_SCRAPE * n}')
    family("scalr_exporter_target_up", "gauge", [({"target": t}, v) for t, v in TARGET_UP.items()])
    family("scalr_exporter_discovery_errors_total", "counter",
           [({"target": "tower", "reason": "unauthorized"}, n),
            ({"target": "acme", "reason": "unauthorized"}, 0)])
    family("scalr_exporter_poll_cycle_duration_seconds", "gauge",
           [({}, POLL_CYCLE_SECONDS[replica])])
    family("scalr_exporter_shard_info", "gauge", [({"index": "0", "count": "1"}, 1)])
    family("scalr_exporter_report_leader", "gauge", [({}, 1 if replica == LEADER else 0)])
    return "\n".join(lines) + "\n"


class StandIn:
    """One replica's /metrics on a loopback port, in a thread."""

    def __init__(self, replica: str, period_start: float):
        scrapes = [0]
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                with lock:
                    scrapes[0] += 1
                    n = scrapes[0]
                body = exposition(replica, n, period_start).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def estate(tmp_path):
    """Two stand-in replicas scraped every second by a real Prometheus evaluating rules.yml;
    yields (prometheus URL, {replica: instance address})."""
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not Path(binary).exists():
        pytest.fail("prometheus is required (scripts/install-deps installs it)")
    period_start = time.time() - 10 * 86400
    stand_ins = {r: StandIn(r, period_start) for r in REPLICAS}
    port = helpers.free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({  # JSON is YAML
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(dashboard.RULES_PATH)],
        "scrape_configs": [{"job_name": "scalr-usage-exporter", "static_configs": [
            {"targets": [s.address for s in stand_ins.values()]}]}],
    }))
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen([binary, f"--config.file={config}",
                             f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: helpers.http_request(url + "/-/ready", timeout=2).status == 200, 30,
                   0.2, "prometheus ready")
        yield url, {r: s.address for r, s in stand_ins.items()}
    finally:
        helpers.terminate(proc, 15)
        log.close()
        for s in stand_ins.values():
            s.close()


query = helpers.prometheus_query


def grafana_regex(*values: str) -> str:
    """What Grafana's Prometheus data source puts in place of a multi-value variable inside
    =~"...": each value's regex metacharacters escaped (a backslash, doubled in the string
    literal), several values as (v1|v2)."""
    escaped = [re.sub(r"[$^*{}\[\]'+?.()|]", lambda m: "\\\\" + m.group(0),
                      v.replace("\\", "\\\\\\\\")) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def wait_for_data(prom: str) -> None:
    """Both replicas scraped a few times and every rule evaluated on at least two samples."""
    wait_until(lambda: len(query(prom, "scalr_exporter_build_info")) == 2, 60, 0.5,
               "both replicas scraped")
    for name in sorted(dashboard.recorded_names()):
        wait_until(lambda: query(prom, name), 60, 0.5, f"{name} evaluated")
    wait_until(lambda: query(prom, 'ALERTS{alertname="ScalrExporterDiscoveryFailing"}'), 60, 0.5,
               "alerts evaluated")


# (variable values, the account_ids the usage panels must show). LEGACY shows under every filter:
# the exporter gives no target or name for it.
FILTERS = [
    ({}, {*ACCOUNTS, LEGACY}),
    ({"target": "acme"}, {"acc-a1", "acc-a2", LEGACY}),
    ({"target": "tower"}, {"acc-t1", "acc-t2", LEGACY}),
    ({"account_name": grafana_regex("Acme Prod")}, {"acc-a1", LEGACY}),
    ({"account_name": grafana_regex("Tower (EU) *")}, {"acc-t2", LEGACY}),
    ({"account_name": grafana_regex("Tower Child", "Acme Prod")}, {"acc-t1", "acc-a1", LEGACY}),
    ({"target": "acme", "account_name": grafana_regex("Tower Child")}, {LEGACY}),
]


def test_dashboard_on_a_synthetic_estate(estate):
    prom, instances = estate
    wait_for_data(prom)

    # With every variable at "All", every panel and every variable's series have data: nothing
    # the dashboard asks for is missing from the settled names.
    for e in dashboard.substituted_expressions():
        assert query(prom, e.expr), (e.panel, e.expr)
    for name, variable_query in dashboard.variable_queries().items():
        assert query(prom, dashboard.substitute(dashboard.label_values_metric(variable_query))), name

    account_queries = [e for e in dashboard.expressions() if '"$account"' in e.expr]
    assert len(account_queries) >= 20
    for values, expected in FILTERS:
        for e in account_queries:
            result = query(prom, dashboard.substitute(e.expr, values))
            if not result or "account_id" not in result[0]["metric"]:
                continue  # aggregated over accounts (poll errors by reason)
            shown = {s["metric"]["account_id"] for s in result}
            assert shown == expected, (values, e.panel, e.expr)
            # One series per account and key, not one per replica or per name the replicas know.
            keys = [tuple(sorted((k, v) for k, v in s["metric"].items() if k != "account_name"))
                    for s in result]
            assert len(keys) == len(set(keys)), (values, e.panel)
            for s in result:
                account = s["metric"]["account_id"]
                if account == LEGACY:
                    assert "account_name" not in s["metric"] and "target" not in s["metric"]
                    continue
                target, *names = ACCOUNTS[account]
                assert s["metric"]["target"] == target
                assert s["metric"].get("account_name", "") in names, (values, e.panel, s)

    # A filter on the renamed account's current name shows it under that name.
    panel = next(e for e in account_queries if e.panel == "Runs this period")
    (t1,) = [s for s in query(prom, dashboard.substitute(
        panel.expr, {"account_name": grafana_regex("Tower Child")})) if s["metric"]["account_id"]
        == "acc-t1"]
    assert t1["metric"]["account_name"] == "Tower Child"


def values_by(prom: str, expr: str, *labels: str) -> dict:
    return {tuple(s["metric"].get(n, "") for n in labels): float(s["value"][1])
            for s in query(prom, expr)}


def panel_expr(title: str, values=None) -> str:
    (e,) = [e for e in dashboard.expressions() if e.panel == title]
    return dashboard.substitute(e.expr, values)


def test_targets_row_and_alerts_on_a_synthetic_estate(estate):
    prom, instances = estate
    wait_for_data(prom)
    addresses = {address: replica for replica, address in instances.items()}

    assert values_by(prom, panel_expr("Targets up"), "target") == \
        {(t,): float(v) for t, v in TARGET_UP.items()}
    assert values_by(prom, panel_expr("Targets up", {"target": "tower"}), "target") == \
        {("tower",): 0.0}
    per_target = {}
    for target, *_ in ACCOUNTS.values():
        per_target[(target,)] = per_target.get((target,), 0) + 1
    assert values_by(prom, panel_expr("Accounts per target"), "target") == per_target

    discovery = values_by(prom, panel_expr("Discovery errors per target"), "target")
    assert set(discovery) == {("acme",), ("tower",)}
    assert discovery[("acme",)] == 0 and discovery[("tower",)] > 0

    requests = values_by(prom, panel_expr("API requests per target by status"), "target", "code")
    assert set(requests) == {("acme", "200"), ("tower", "401")}
    assert all(v > 0 for v in requests.values())
    (p95,) = values_by(prom, panel_expr("p95 API request duration per target"), "target").items()
    assert p95[0] == ("acme",) and p95[1] == pytest.approx(ACME_P95, abs=1e-9)

    cycles = values_by(prom, panel_expr("Poll cycle duration"), "instance")
    assert {addresses[i]: v for (i,), v in cycles.items()} == POLL_CYCLE_SECONDS
    shards = values_by(prom, panel_expr("Shards"), "instance", "index", "count")
    assert {(addresses[i], x, c) for (i, x, c) in shards} == {(r, "0", "1") for r in REPLICAS}
    leader = values_by(prom, panel_expr("Report leader"), "instance")
    assert {addresses[i]: v for (i,), v in leader.items()} == \
        {r: float(r == LEADER) for r in REPLICAS}

    # The alerts evaluate on the live series: tower is down and its discovery fails (both pending:
    # seconds old), exactly one replica leads.
    alerts = query(prom, "ALERTS")
    active = {(a["metric"]["alertname"], a["metric"].get("target", "")) for a in alerts}
    assert ("ScalrExporterTargetDown", "tower") in active
    assert ("ScalrExporterTargetDown", "acme") not in active
    assert {t for name, t in active if name == "ScalrExporterDiscoveryFailing"} == {"tower"}
    assert not {name for name, _ in active} & {"ScalrReportNoLeader", "ScalrReportMultipleLeaders"}
