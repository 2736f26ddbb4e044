"""History before install (README.md, "Backfilling history"), end to end: the real daemon's
backfill command writes OpenMetrics from the stand-in Scalr server and from a real PostgreSQL 15,
the real promtool turns it into TSDB blocks, the blocks are moved into the data directory of a
real Prometheus 2.42, and its HTTP API answers queries at past instants. Expected numbers are the
test data's own sums (sample_data's rows, the runs this test inserts), computed here."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import pytest

import helpers
from helpers import sample_data, wait_until

# Fixed dates in the past (today is 2026-12-04 when this was written): sample_data is a pure
# function of the date, and Prometheus keeps the blocks with a retention of 100 years.
FROM, TO = dt.date(2026, 10, 1), dt.date(2026, 11, 2)
MID_OCTOBER = "2026-10-15T23:59:59Z"   # October 1-15, month to date
FIRST_OF_NOVEMBER = "2026-11-01T23:59:59Z"  # November 1 alone: the counters reset
LEVELS = (  # family, labels that identify a series
    ("scalr_account_{}_total", ("account_id",)),
    ("scalr_environment_{}_total", ("account_id", "environment_id")),
    ("scalr_workspace_{}_total", ("account_id", "workspace_id")),
)
CHARGEBACK = {
    "labels": ["team", "cost_center"],
    "rules": [
        {"match": {"workspace_name": "~[05]$"}, "set": {"team": "data"}},
        {"match": {"account_id": "acc-demo*"}, "set": {"team": "demo", "cost_center": "CC-7"}},
    ],
    "default": {"team": "unallocated", "cost_center": "CC-0"},
}
JOB = "scalr-usage-exporter"


def binary(name: str) -> str:
    path = shutil.which(name) or f"/usr/bin/{name}"
    if not Path(path).exists():
        pytest.fail(f"{name} is required (scripts/install-deps installs prometheus)")
    return path


def backfill(sue_binary, config: dict, workdir: Path, *args) -> subprocess.CompletedProcess:
    config_path = workdir / "config.yml"
    config_path.write_text(helpers.to_yaml(config), encoding="utf-8")
    return subprocess.run([str(sue_binary), "backfill", f"--config.file={config_path}", *args],
                          capture_output=True, text=True, timeout=600,
                          env=helpers._clean_env())


def history_in_prometheus(tmp_path: Path, openmetrics: Path):
    """README's procedure: promtool makes blocks, they move into the data directory, Prometheus
    starts over them. Returns (url, process, log)."""
    blocks = tmp_path / "blocks"
    made = subprocess.run([binary("promtool"), "tsdb", "create-blocks-from", "openmetrics",
                           "--max-block-duration=24h", str(openmetrics), str(blocks)],
                          capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stdout + made.stderr
    data = tmp_path / "data"
    data.mkdir()
    made_blocks = [b for b in blocks.iterdir() if (b / "meta.json").exists()]
    assert made_blocks, made.stdout
    for block in made_blocks:
        shutil.move(str(block), str(data / block.name))
    port = helpers.free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({"global": {"scrape_interval": "1m"}}))
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen([binary("prometheus"), f"--config.file={config}",
                             f"--storage.tsdb.path={data}", "--storage.tsdb.retention.time=100y",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: helpers.http_request(url + "/-/ready", timeout=2).status == 200, 60,
                   0.2, "prometheus ready")
    except BaseException:
        helpers.terminate(proc, 15)
        log.close()
        raise
    return url, proc, log


@pytest.fixture
def prometheus_over(tmp_path):
    started = []

    def start(openmetrics: Path) -> str:
        url, proc, log = history_in_prometheus(tmp_path, openmetrics)
        started.append((proc, log))
        return url

    yield start
    for proc, log in started:
        helpers.terminate(proc, 15)
        log.close()


def query_at(prom: str, expr: str, at: str) -> list:
    r = helpers.http_request(prom + "/api/v1/query?" +
                             urllib.parse.urlencode({"query": expr, "time": at}), timeout=10)
    body = r.json()
    assert r.status == 200 and body["status"] == "success", (expr, body)
    return body["data"]["result"]


def by_labels(result, names) -> dict:
    return {tuple(item["metric"].get(n, "") for n in names): float(item["value"][1])
            for item in result}


def assert_usage_at(prom: str, at: str, expected: helpers.Expected) -> None:
    """Every level, runs and run seconds, at the instant `at`, equal to the expected sums."""
    want = {"account_id": expected.accounts, ("account_id", "environment_id"):
            expected.environments, ("account_id", "workspace_id"): expected.workspaces}
    for family, names in LEVELS:
        sums = want["account_id"] if len(names) == 1 else want[names]
        keyed = {(k,) if isinstance(k, str) else k: u for k, u in sums.items()}
        for unit, attribute in (("runs", "runs"), ("run_seconds", "seconds")):
            name = family.format(unit)
            got = by_labels(query_at(prom, name, at), names)
            assert got == {k: getattr(u, attribute) for k, u in keyed.items()}, (name, at)


def assert_backfill_ok(result: subprocess.CompletedProcess, out: Path) -> str:
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n# EOF\n")
    return text


def test_api_history_in_prometheus_equals_the_sample_sums(stub, sue_binary, tmp_path,
                                                          prometheus_over, exporter_factory):
    token_file = tmp_path / "scalr.token"
    token_file.write_text(stub.token + "\n")
    accounts = list(stub.accounts)
    config = helpers.exporter_config(stub, helpers.free_port(), token_file, accounts,
                                     {"chargeback": CHARGEBACK})
    out = tmp_path / "history.om"
    result = backfill(sue_binary, config, tmp_path, f"--from={FROM}", f"--to={TO}",
                      f"--output={out}", f"--label=job={JOB}")
    text = assert_backfill_ok(result, out)
    # One day per request: every usage request asks for exactly one day.
    for request in stub.api_requests():
        between = request["params"].get("filter[date]", "")
        if between:
            first, last = between.removeprefix("between:").split(",")
            assert first[:10] == last[:10], between
    assert "# TYPE scalr_workspace_runs counter\n" in text

    prom = prometheus_over(out)
    mid = helpers.expected_usage(FROM, "2026-10-16", accounts=accounts)
    november = helpers.expected_usage("2026-11-01", "2026-11-02", accounts=accounts)
    assert_usage_at(prom, MID_OCTOBER, mid)
    assert_usage_at(prom, FIRST_OF_NOVEMBER, november)

    # Workspace enrichment's environments, as the live series have them: a listed workspace's own,
    # "" (which Prometheus stores as no label) for one deleted since the listing no longer has it.
    workspaces = {ws.id: ws for a in accounts for ws in sample_data.accounts()[a].workspaces}
    got = {(m["metric"]["account_id"], m["metric"]["workspace_id"]):
           (m["metric"].get("environment_id", ""), m["metric"].get("environment_name", ""))
           for m in query_at(prom, "scalr_workspace_runs_total", MID_OCTOBER)}
    want = {}
    for key in mid.workspaces:
        ws = workspaces[key[1]]
        want[key] = ("", "") if sample_data.is_deleted(ws) else (ws.environment_id,
                                                                 ws.environment_name)
    assert got == want

    # Chargeback labels per workspace, every day, so the "By team" rules can join over history.
    info = {(m["metric"]["account_id"], m["metric"]["workspace_id"]):
            (m["metric"]["team"], m["metric"].get("cost_center", ""))
            for m in query_at(prom, "scalr_workspace_chargeback_info", MID_OCTOBER)}
    assert info == {key: helpers.chargeback_classify(CHARGEBACK, {
        "account_id": key[0], "workspace_id": key[1],
        "workspace_name": mid.workspace_names[key]}) for key in mid.workspaces}
    names = {m["metric"]["account_id"]: m["metric"]["account_name"]
             for m in query_at(prom, "scalr_account_info", MID_OCTOBER)}
    assert names == helpers.account_names(accounts=accounts)

    # The --label is on every series; between the daily samples, past the 5-minute lookback,
    # there is nothing (README: staleness), and last_over_time finds the day's value.
    assert {m["metric"].get("job") for m in
            query_at(prom, '{__name__=~"scalr_.+"}', MID_OCTOBER)} == {JOB}
    assert query_at(prom, "scalr_account_runs_total", "2026-10-16T12:00:00Z") == []
    assert by_labels(query_at(prom, "last_over_time(scalr_account_runs_total[1d])",
                              "2026-10-16T12:00:00Z"), ("account_id",)) == \
        {(a,): u.runs for a, u in mid.accounts.items()}

    # The same label names as the live exporter's /metrics, family by family.
    live = exporter_factory(stub, accounts=accounts, overrides={"chargeback": CHARGEBACK})
    wait_until(lambda: helpers.values_by(live.metrics(), "scalr_up", "account_id") ==
               {(a,): 1.0 for a in accounts}, 30, 0.2, "every account up")
    live_names = {}
    for (name, labels), _ in live.metrics().items():
        live_names.setdefault(name, set()).add(frozenset(k for k, _ in labels))
    # From the file: Prometheus drops labels whose value is "" (a deleted workspace's environment,
    # a chargeback label no rule set), the exposition keeps them.
    backfilled = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            name, labels = sample_label_names(line)
            backfilled.setdefault(name, set()).add(labels - {"job"})
    assert set(backfilled) == {f.format(u) for f, _ in LEVELS for u in ("runs", "run_seconds")} \
        | {"scalr_workspace_chargeback_info", "scalr_account_info"}
    for name, label_sets in backfilled.items():
        assert label_sets == live_names[name], name


def sample_label_names(line: str):
    """(sample name, frozenset of label names) of an OpenMetrics sample line with labels."""
    brace = line.index("{")
    names, i = [], brace + 1
    while line[i] != "}":
        equals = line.index("=", i)
        names.append(line[i:equals])
        i = equals + 2  # past ="
        while line[i] != '"':
            i += 2 if line[i] == "\\" else 1
        i += 1
        if line[i] == ",":
            i += 1
    return line[:brace], frozenset(names)


def pg_runs_october_november() -> list:
    """Every sample_data run from September 28 to November 3, expanded run by run."""
    rows = sample_data.raw_rows(dt.date(2026, 9, 28), dt.date(2026, 11, 3))
    return [run for row in rows for run in helpers.runs_of_row(row)]


def test_postgres_history_in_prometheus_equals_the_inserted_runs(postgres_factory, sue_binary,
                                                                 tmp_path, prometheus_over):
    runs = pg_runs_october_november()
    server = postgres_factory(load=False)
    server.setup_database()
    server.load_runs(runs)
    config = helpers.postgres_exporter_config(helpers.free_port(), server.dsn())
    out = tmp_path / "history.om"
    result = backfill(sue_binary, config, tmp_path, f"--from={FROM}", f"--to={TO}",
                      f"--output={out}")
    text = assert_backfill_ok(result, out)
    assert helpers.PG_PASSWORD not in text + result.stderr

    start = dt.datetime.combine(FROM, dt.time(0), dt.timezone.utc)
    end = dt.datetime.combine(TO + dt.timedelta(days=1), dt.time(0), dt.timezone.utc)
    listed = sorted({r.account_id for r in runs if start <= r.finished_at < end})
    prom = prometheus_over(out)
    assert_usage_at(prom, MID_OCTOBER,
                    helpers.expected_from_runs(runs, FROM, dt.date(2026, 10, 16), listed))
    assert_usage_at(prom, FIRST_OF_NOVEMBER,
                    helpers.expected_from_runs(runs, dt.date(2026, 11, 1), dt.date(2026, 11, 2),
                                               listed))

    # A range that starts mid-month still starts from the month to date, here on standard output.
    result = backfill(sue_binary, config, tmp_path, "--from=2026-10-10", "--to=2026-10-15",
                      "--output=-", "--account=" + ",".join(listed))
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("\n# EOF\n")
    october_15 = int(dt.datetime(2026, 10, 15, 23, 59, 59, tzinfo=dt.timezone.utc).timestamp())
    got = {}
    for line in result.stdout.splitlines():
        if line.startswith("scalr_account_runs_total{") and line.endswith(f" {october_15}"):
            account = line.split('"')[1]
            got[account] = int(line.split(" ")[-2])
    expected = helpers.expected_from_runs(runs, FROM, dt.date(2026, 10, 16), listed)
    assert got == {a: u.runs for a, u in expected.accounts.items()}


def test_refusals_write_nothing(stub, sue_binary, tmp_path):
    token_file = tmp_path / "scalr.token"
    token_file.write_text(stub.token + "\n")
    config = helpers.exporter_config(stub, helpers.free_port(), token_file)
    out = tmp_path / "history.om"
    today = dt.datetime.now(dt.timezone.utc).date()
    result = backfill(sue_binary, config, tmp_path, f"--from={today}", f"--to={today}",
                      f"--output={out}")
    assert result.returncode == 2
    assert "reaches into the last 3 hours" in result.stderr
    result = backfill(sue_binary, config, tmp_path, "--from=2025-01-01", "--to=2026-11-30",
                      f"--output={out}")
    assert result.returncode == 2
    assert "more than --max-days (400)" in result.stderr
    # A source that fails: the day and account are named, and there is no file.
    failing = stub.accounts[1]
    stub.set_fault("status", status=500, account=failing)
    result = backfill(sue_binary, config, tmp_path, "--from=2026-10-01", "--to=2026-10-02",
                      f"--output={out}")
    assert result.returncode == 1
    assert f"backfill: account {failing}, day 2026-10-01: " in result.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
