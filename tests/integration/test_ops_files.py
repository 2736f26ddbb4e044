"""The operations files: the systemd unit and its /etc/default file, the Prometheus rules and their
promtool unit tests, the Grafana dashboard and provisioning files, and the runbook.

Needs systemd-analyze (systemd) and promtool (prometheus); a test whose tool is missing is skipped
and says so. The rules and provisioning checks read YAML with PyYAML (python3-yaml).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

import dashboard as dash
import helpers

REPO = helpers.REPO_ROOT
UNIT = REPO / "systemd" / "scalr-usage-exporter.service"
DEFAULT_FILE = REPO / "systemd" / "scalr-usage-exporter.default"
RULES = REPO / "prometheus" / "rules.yml"
RULE_TESTS = sorted((REPO / "prometheus" / "tests").glob("*.yml"))
DASHBOARD = REPO / "grafana" / "dashboards" / "scalr-usage.json"
PROVIDER = REPO / "grafana" / "provisioning" / "dashboards" / "scalr-usage.yml"
DATASOURCE = REPO / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
RUNBOOK = REPO / "docs" / "operations.md"

MAX_EXPOSURE = 2.0
SEVERITIES = {"critical", "warning", "info"}
# Series the rules may use that come from Prometheus itself rather than the exporter.
PROMETHEUS_METRICS = {"up"}


def tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.skip(f"{name} not installed (scripts/install-deps installs it: "
                    f"{'systemd' if name.startswith('systemd') else 'prometheus'})")
    return path


def run(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=300, **kw)


def yaml_load(path: Path):
    yaml = pytest.importorskip("yaml", reason="PyYAML (python3-yaml) reads the YAML files")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# ---- systemd ------------------------------------------------------------------------------------

def unit_settings(path: Path = UNIT) -> dict:
    """{section: {key: [values in order]}}; comments and continuation lines as systemd reads them."""
    sections: dict = {}
    current = None
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def service(key: str) -> list:
    return unit_settings()["Service"].get(key, [])


def test_unit_security_exposure():
    analyze = tool("systemd-analyze")
    r = run([analyze, "security", "--offline=true", "--threshold=20", UNIT])
    assert r.returncode == 0, f"systemd-analyze security failed ({r.returncode}):\n{r.stdout}{r.stderr}"
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    assert m, f"no exposure level in:\n{r.stdout}"
    exposure = float(m.group(1))
    assert exposure <= MAX_EXPOSURE, f"exposure {exposure} > {MAX_EXPOSURE}:\n{r.stdout}"


def test_unit_verifies(tmp_path):
    """systemd-analyze verify is clean once the binary exists (it is not installed here, so the copy
    points ExecStart at an executable that does); the original may only miss the binary."""
    analyze = tool("systemd-analyze")
    text = UNIT.read_text(encoding="utf-8")
    binary = helpers.default_binary()
    stand_in = binary if binary.is_file() else Path(shutil.which("true"))
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace("ExecStart=/usr/bin/scalr-usage-exporter ",
                                 f"ExecStart={stand_in} "), encoding="utf-8")
    r = run([analyze, "verify", copy])
    assert r.returncode == 0 and UNIT.name not in r.stdout + r.stderr, r.stdout + r.stderr

    r = run([analyze, "verify", UNIT])
    complaints = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()
                  and "/usr/bin/scalr-usage-exporter is not executable" not in line]
    assert not complaints, "\n".join(complaints)


def test_unit_settings():
    s = unit_settings()
    svc = s["Service"]
    assert svc["Type"] == ["notify"]
    assert svc.get("WatchdogSec") and re.fullmatch(r"\d+(s|min)?", svc["WatchdogSec"][-1])
    # dash's builtin kill: /bin/kill (procps) is not on a minimal Debian nor in our Depends.
    assert svc["ExecReload"] == ["/bin/sh -c 'kill -HUP ${MAINPID}'"]
    assert svc["ExecStart"] == ["/usr/bin/scalr-usage-exporter $SCALR_USAGE_EXPORTER_ARGS"]
    assert svc["EnvironmentFile"] == ["-/etc/default/scalr-usage-exporter"]
    assert "TZ=UTC" in svc.get("Environment", [])
    assert svc["Restart"] == ["on-failure"]
    assert svc["DynamicUser"] == ["yes"]
    assert svc["StateDirectory"] == ["scalr-usage-exporter"]
    assert svc["CapabilityBoundingSet"] == [""] and svc["AmbientCapabilities"] == [""]
    assert s["Install"]["WantedBy"] == ["multi-user.target"]
    assert "network-online.target" in " ".join(s["Unit"]["Wants"])
    # A network client, an HTTP server and maybe a PostgreSQL client over /run/postgresql.
    assert set(" ".join(svc["RestrictAddressFamilies"]).split()) >= {"AF_UNIX", "AF_INET",
                                                                       "AF_INET6"}
    assert svc.get("PrivateNetwork", ["no"]) == ["no"]
    assert not svc.get("IPAddressDeny"), "IPAddressDeny= would cut off the Scalr API or scrapes"
    for key in ("InaccessiblePaths", "TemporaryFileSystem"):
        assert not any("/run" in v for v in svc.get(key, [])), f"{key} hides /run/postgresql"


def test_unit_credentials_are_optional():
    """scalr-token and postgres-dsn are loaded from the credential store by name: systemd skips a
    missing one, where a missing absolute path would fail the start (243/CREDENTIALS)."""
    creds = dict(v.split(":", 1) for v in service("LoadCredential"))
    assert set(creds) == {"scalr-token", "postgres-dsn"}
    for name, source in creds.items():
        assert not source.startswith("/"), f"{name}: an absolute path must exist at start"
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", source), source
    assert creds["scalr-token"] == "scalr-usage-exporter.token"
    assert creds["postgres-dsn"] == "scalr-usage-exporter.postgres-dsn"


def default_file_args() -> list:
    values = {}
    for line in DEFAULT_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = shlex.split(value)[0] if value.strip() else ""
    assert set(values) == {"SCALR_USAGE_EXPORTER_ARGS"}, values
    return values["SCALR_USAGE_EXPORTER_ARGS"].split()


def test_default_file():
    assert default_file_args() == ["--config.file=/etc/scalr-usage-exporter/scalr-usage-exporter.yml"]
    text = DEFAULT_FILE.read_text(encoding="utf-8")
    for flag in ("--config.file", "--web.listen-address", "--log.level", "--log.format"):
        assert re.search(rf"^#.*{re.escape(flag)}=", text, re.M), f"{flag} has no example"


def test_default_file_flags_exist(sue_binary, tmp_path):
    """Every flag the /etc/default file mentions is one the daemon knows, and the active line
    parses: --check-config fails on the (missing) configuration, not on a flag."""
    r = run([sue_binary, "--help"])
    assert r.returncode == 0, r.stderr
    known = set(re.findall(r"--[a-z][a-z.-]*", r.stdout + r.stderr))
    mentioned = set(re.findall(r"--[a-z][a-z.-]*[a-z]", DEFAULT_FILE.read_text(encoding="utf-8")))
    assert mentioned <= known, f"unknown flags {mentioned - known}"
    missing = tmp_path / "absent.yml"
    args = [a.replace("/etc/scalr-usage-exporter/scalr-usage-exporter.yml", str(missing))
            for a in default_file_args()]
    r = run([sue_binary, *args, "--check-config"])
    assert r.returncode != 0 and str(missing) in r.stdout + r.stderr
    assert "unknown flag" not in r.stdout + r.stderr


# ---- Prometheus rules ---------------------------------------------------------------------------

def test_promtool_check_rules():
    promtool = tool("promtool")
    r = run([promtool, "check", "rules", RULES])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout and "WARNING" not in (r.stdout + r.stderr).upper(), r.stdout + r.stderr


def test_promtool_test_rules():
    promtool = tool("promtool")
    assert RULE_TESTS, "no prometheus/tests/*.yml"
    r = run([promtool, "test", "rules", *RULE_TESTS], cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("SUCCESS") == len(RULE_TESTS), r.stdout


def test_rule_tests_cover_every_rule():
    """Each alert is tested firing and not firing, each recording rule for its values."""
    rules = [r for g in yaml_load(RULES)["groups"] for r in g["rules"]]
    fired, quiet, recorded = set(), set(), set()
    for path in RULE_TESTS:
        suite = yaml_load(path)
        assert suite["rule_files"] == ["../rules.yml"], path
        for test in suite["tests"]:
            for a in test.get("alert_rule_test", []):
                (fired if a.get("exp_alerts") else quiet).add(a["alertname"])
            for e in test.get("promql_expr_test", []):
                if e.get("exp_samples"):
                    recorded |= dash.metric_names(e["expr"])
    alerts = {r["alert"] for r in rules if "alert" in r}
    records = {r["record"] for r in rules if "record" in r}
    assert alerts - fired == set(), "alerts never tested firing"
    assert alerts - quiet == set(), "alerts never tested not firing"
    assert records - recorded == set(), "recording rules without a value test"


def test_rules_use_existing_metrics():
    exported = dash.exporter_metric_names()
    recorded = dash.recorded_names(RULES)
    for name, expr in dash.rule_expressions(RULES).items():
        unknown = dash.metric_names(expr) - exported - recorded - PROMETHEUS_METRICS
        assert not unknown, f"{name}: unknown metric(s) {sorted(unknown)}"


def test_alerts_are_labelled_and_documented():
    runbook = RUNBOOK.read_text(encoding="utf-8")
    headings = set(re.findall(r"^#+\s+`?(\w+)`?\s*$", runbook, re.M))
    for group in yaml_load(RULES)["groups"]:
        for rule in group["rules"]:
            if "alert" not in rule:
                assert re.fullmatch(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", rule["record"]), rule["record"]
                continue
            name = rule["alert"]
            assert rule["labels"]["severity"] in SEVERITIES, name
            assert rule["annotations"].get("summary") and rule["annotations"].get("description"), name
            assert name in headings, f"{name} has no runbook section in {RUNBOOK.name}"
    # The job matcher the rules and the documentation agree on.
    assert 'up{job="scalr-usage-exporter"}' in RULES.read_text(encoding="utf-8")
    assert "job_name: scalr-usage-exporter" in runbook


# ---- Grafana --------------------------------------------------------------------------------------

def test_dashboard_identity():
    text = DASHBOARD.read_text(encoding="utf-8")
    d = json.loads(text)
    assert d["uid"] == "scalr-usage" and d["title"] == "Scalr usage"
    assert 36 <= d["schemaVersion"] <= 39
    assert d.get("id") is None, "a provisioned dashboard must not carry a database id"
    assert "${DS_" not in text and "__inputs" not in d, "exported for sharing, not provisioning"


def test_dashboard_datasource_variable_everywhere():
    d = dash.load_dashboard()
    variables = {v["name"]: v for v in d["templating"]["list"]}
    ds = variables.get("datasource")
    assert ds and ds["type"] == "datasource" and ds["query"] == "prometheus"
    users = [v for v in variables.values() if v["type"] == "query"]
    users += [p for p in dash.panels(d) if p["type"] != "row"]
    for item in users:
        where = item.get("title") or item.get("name")
        assert item.get("datasource") == {"type": "prometheus", "uid": "${datasource}"}, where
        for t in item.get("targets", []):
            assert t.get("datasource", {"uid": "${datasource}"})["uid"] == "${datasource}", where


def test_dashboard_filter_variables():
    d = dash.load_dashboard()
    variables = {v["name"]: v for v in d["templating"]["list"]}
    queries = dash.variable_queries(d)
    exported = dash.exporter_metric_names()
    for name, metric in (("account", "scalr_account_runs_total"),
                         ("environment", "scalr_environment_runs_total"),
                         ("workspace", "scalr_workspace_runs_total")):
        v = variables[name]
        assert v["type"] == "query" and v["multi"] and v["includeAll"], name
        # "All" as .* also matches series without the label (API-source workspaces have no
        # environment); Grafana's default would be an alternation of the values seen.
        assert v.get("allValue") == ".*", name
        selector = dash.label_values_metric(queries[name])
        assert dash.metric_names(selector) == {metric}, queries[name]
        assert dash.metric_names(selector) <= exported
    assert queries["account"] == "label_values(scalr_account_runs_total, account_id)"
    used = "".join(e.expr for e in dash.expressions(d))
    for name in ("account", "environment", "workspace", "target", "account_name"):
        assert f"${name}" in used, f"no panel uses ${name}"


def test_dashboard_target_and_account_name_variables():
    """Target and Account name come from the estate's series, chained (names of the targets
    picked), before the variables and panels that use them, "All" as .* (accounts with an empty
    name match only that)."""
    d = dash.load_dashboard()
    order = [v["name"] for v in d["templating"]["list"]]
    variables = {v["name"]: v for v in d["templating"]["list"]}
    queries = dash.variable_queries(d)
    assert queries["target"] == "label_values(scalr_exporter_target_up, target)"
    assert queries["account_name"] == \
        'label_values(scalr_account_info{target=~"$target"}, account_name)'
    for name in ("target", "account_name"):
        v = variables[name]
        assert v["type"] == "query" and v["multi"] and v["includeAll"], name
        assert v.get("allValue") == ".*", name
    assert order.index("datasource") < order.index("target") < order.index("account_name") \
        < order.index("account")


ACCOUNT_FILTER = 'scalr_account_info{target=~"$target", account_name=~"$account_name"}'


def test_dashboard_usage_panels_filter_by_target_and_name():
    """Every query of an account's series (one with the $account filter) is narrowed by Target and
    Account name through scalr_account_info, joined on account_id, and keeps the accounts that
    have no info series (an older exporter, history before it) rather than losing them."""
    d = dash.load_dashboard()
    checked = 0
    for e in dash.expressions(d):
        if '"$account"' not in e.expr:
            continue
        checked += 1
        assert ACCOUNT_FILTER in e.expr, (e.panel, e.expr)
        assert "unless on (account_id) scalr_account_info" in e.expr, (e.panel, e.expr)
        if "group_left" in e.expr:
            # Replicas can briefly disagree on a renamed account's name: one info series per
            # account, or the many-to-one join fails.
            assert f"group_left (account_name, target) topk by (account_id) (1, {ACCOUNT_FILTER})" \
                in e.expr, (e.panel, e.expr)
        else:
            assert f"and on (account_id) {ACCOUNT_FILTER}" in e.expr, (e.panel, e.expr)
    assert checked >= 20, checked


def test_dashboard_panels():
    d = dash.load_dashboard()
    all_panels = dash.panels(d)
    ids = [p["id"] for p in all_panels]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for p in all_panels:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24, p["title"]
        if p["type"] != "row":
            assert p.get("targets"), f"{p['title']}: no query"
    titles = " | ".join(p["title"] for p in all_panels).lower()
    for words in ("runs this period", "run hours", "runs per day", "top 10 workspaces by runs",
                  "top 10 workspaces by run hours", "top 10 environments by runs",
                  "top 10 environments by run hours", "forecast", "account polls",
                  "time since last successful poll", "poll errors by reason",
                  "api responses by status", "targets up", "accounts per target",
                  "discovery errors per target", "api requests per target by status",
                  "p95 api request duration per target", "poll cycle duration", "shards",
                  "report leader"):
        assert words in titles, f"no panel for {words!r}"
    exprs = " ".join(e.expr for e in dash.expressions(d))
    for needle in ("scalr_account_included_runs", "scalr:account_runs:forecast_period_end",
                   "scalr:account_runs:increase1d", "topk(", "scalr_up",
                   "scalr_exporter_last_success_timestamp_seconds",
                   "scalr_exporter_poll_errors_total", "scalr_exporter_api_requests_total",
                   "scalr_exporter_target_up", "scalr_account_info",
                   "scalr:exporter_api_requests:rate15m",
                   "scalr:exporter_api_request_duration_seconds:p95_rate15m",
                   "scalr_exporter_poll_cycle_duration_seconds",
                   "scalr_exporter_discovery_errors_total", "scalr_exporter_shard_info",
                   "scalr_exporter_report_leader"):
        assert needle in exprs, needle


def row_members(top, row_index):
    """The panels after a row panel, up to the next row."""
    members = []
    for p in top[row_index + 1:]:
        if p["type"] == "row":
            break
        members.append(p)
    return members


def test_dashboard_by_team_row():
    """The By team row: runs and run hours per value of the chargeback label chosen in the
    Chargeback label variable, month to date and per day, from the scalr:chargeback_* recording
    rules (which the end-to-end test proves have data)."""
    d = dash.load_dashboard()
    top = d["panels"]
    (row_index,) = [i for i, p in enumerate(top) if p["type"] == "row" and p["title"] == "By team"]
    members = row_members(top, row_index)
    used = {name for p in members for t in p["targets"] for name in dash.metric_names(t["expr"])}
    assert used == {"scalr:chargeback_runs:sum", "scalr:chargeback_run_seconds:sum",
                    "scalr:chargeback_runs:increase1d", "scalr:chargeback_run_seconds:increase1d"}
    for p in members:
        for t in p["targets"]:
            assert "sum by ($chargeback_label)" in t["expr"], (p["title"], t["expr"])
            assert t["legendFormat"] == "{{$chargeback_label}}", p["title"]
    variables = {v["name"]: v for v in d["templating"]["list"]}
    label = variables["chargeback_label"]
    # Any label name may be typed: the recording rules keep every chargeback label.
    assert label["type"] == "textbox" and label["query"] == label["current"]["value"] == "team"
    for rule in ("scalr:chargeback_runs:sum", "scalr:chargeback_run_seconds:sum",
                 "scalr:chargeback_runs:increase1d", "scalr:chargeback_run_seconds:increase1d"):
        assert "sum without (account_id, workspace_id, instance, job)" in \
            dash.rule_expressions(RULES)[rule], rule


def test_dashboard_targets_row():
    """The Targets row: a row panel followed by its panels, each per target (and filtered by the
    Target variable) or per instance, the ones about a target's series labelled by it."""
    d = dash.load_dashboard()
    top = d["panels"]
    (row_index,) = [i for i, p in enumerate(top) if p["type"] == "row" and p["title"] == "Targets"]
    row_y = top[row_index]["gridPos"]["y"]
    members = row_members(top, row_index)
    assert len(members) == 8, [p["title"] for p in members]
    for p in members:
        (t,) = p["targets"]
        if "by (target" in t["expr"]:
            assert '{target=~"$target"}' in t["expr"] and "{{target}}" in t["legendFormat"], p["title"]
        else:
            assert "by (instance" in t["expr"] and "{{instance}}" in t["legendFormat"], p["title"]
    # Other rows' panels sit above the row: Grafana lays a row's panels out below it.
    assert all(p["gridPos"]["y"] < row_y for p in top[:row_index])
    leader = next(p for p in members if p["title"] == "Report leader")
    assert leader["fieldConfig"]["defaults"]["noValue"]  # absent without leader election


def test_dashboard_metric_names_exist():
    """Every metric a panel queries is exported or recorded: a typo fails here."""
    known = dash.exporter_metric_names() | dash.recorded_names(RULES)
    for e in dash.expressions():
        names = dash.metric_names(e.expr)
        assert names, f"{e.panel}/{e.ref_id}: no metric in {e.expr!r}"
        assert names <= known, f"{e.panel}/{e.ref_id}: unknown {sorted(names - known)}"


def test_metric_name_extraction():
    """The checker itself: it finds typos and ignores functions, labels, strings and durations."""
    assert dash.metric_names(
        'topk(10, max by (account_id, workspace_name) (increase(scalr_workspace_runs_total'
        '{account_id=~"$account", workspace_name=~"a|b"}[$__range]))) / 3600') == {
        "scalr_workspace_runs_total"}
    assert dash.metric_names('time() - max(scalr_exporter_last_success_timestamp_seconds) > 1e3'
                             ' unless on (instance) (scalr_up == 0)') == {
        "scalr_exporter_last_success_timestamp_seconds", "scalr_up"}
    assert dash.metric_names('avg_over_time(scalr:account_runs:increase1d[7d] offset 1d)') == {
        "scalr:account_runs:increase1d"}
    assert dash.metric_names('label_replace(up, "a", "$1", "b", "(.*)") and bool x_total') == {
        "up", "x_total"}
    known = dash.exporter_metric_names()
    assert not dash.metric_names("sum(scalr_acount_runs_total)") <= known
    assert {"scalr_account_runs_total", "scalr_up", "scalr_exporter_build_info",
            "scalr_account_included_runs"} <= known


def test_substituted_expressions_parse(tmp_path):
    """With Grafana's variables filled in, every panel query is valid PromQL (promtool parses it
    as a recording rule); this is also what an end-to-end test feeds to a real Prometheus."""
    promtool = tool("promtool")
    exprs = dash.substituted_expressions()
    assert exprs and not any("$" in e.expr for e in exprs)
    concrete = dash.substituted_expressions({"account": "acc-1", "workspace": "net|dns"})
    assert all('"$' not in e.expr for e in concrete)
    assert any('account_id=~"acc-1"' in e.expr for e in concrete)
    with pytest.raises(KeyError):
        dash.substitute("rate(x[$__undefined])")
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:check:{i}", "expr": e.expr} for i, e in enumerate(exprs)]}]}
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(json.dumps(rules), encoding="utf-8")  # JSON is YAML
    r = run([promtool, "check", "rules", path])
    assert r.returncode == 0, r.stdout + r.stderr


def test_grafana_provisioning():
    provider = yaml_load(PROVIDER)
    assert provider["apiVersion"] == 1
    (p,) = provider["providers"]
    assert p["type"] == "file"
    assert p["options"]["path"] == "/usr/share/scalr-usage-exporter/grafana/dashboards"
    sources = yaml_load(DATASOURCE)
    assert sources["apiVersion"] == 1
    assert [s["type"] for s in sources["datasources"]] == ["prometheus"]
