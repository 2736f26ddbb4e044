"""Billing summary reports end to end: the daemon's schedules (catch-up at start, exactly once per
period, the state file, write failures), the on-demand `report` command against the stand-in
Scalr server and against PostgreSQL, and the HTML report rendered by headless Chromium.

Expected numbers come from sample_data's raw rows (helpers.expected_usage) for the API and from
the generated runs (helpers.expected_from_runs) for PostgreSQL, never from the exporter; every
format is parsed with the standard library (csv, json) and checked against them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest

import helpers
from helpers import sample_data, sample_value, wait_until

MAIN = sample_data.ACCOUNT_MAIN
TINY = sample_data.ACCOUNT_TINY
SCHEDULE = "minutely"
FORMATS = ("csv", "json", "html", "focus")
EXTENSIONS = {"csv": "csv", "json": "json", "html": "html", "focus": "focus.csv"}
INCLUDED_RUNS = 100
PRICE_CENTS = 99  # overage_price 0.99
STATE_FILE = ".scalr-usage-exporter-state.json"


def previous_month():
    """(first day, first day of the next month, "YYYY-MM") of the month before today (UTC)."""
    first_of_this = dt.datetime.now(dt.timezone.utc).date().replace(day=1)
    start = (first_of_this - dt.timedelta(days=1)).replace(day=1)
    return start, first_of_this, start.strftime("%Y-%m")


def month_before(start: dt.date):
    previous = (start - dt.timedelta(days=1)).replace(day=1)
    return previous, start


def file_name(account: str, key: str, fmt: str) -> str:
    return f"scalr-usage_{account}_{key}.{EXTENSIONS[fmt]}"


def overage_cents(runs: int) -> int:
    return max(0, runs - INCLUDED_RUNS) * PRICE_CENTS


def report_overrides(output_dir: Path, cron: str = "* * * * *") -> dict:
    return {"billing": {"included_runs": INCLUDED_RUNS, "overage_price": 0.99, "currency": "USD"},
            "reports": {"output_dir": str(output_dir), "keep": 24,
                        "schedules": [{"name": SCHEDULE, "cron": cron,
                                       "period": "previous_month", "formats": list(FORMATS)}]}}


@pytest.fixture
def report_exporters(exporter_factory):
    """Exporters on the stub with the report schedule of report_overrides writing to output_dir."""
    def start(stub, output_dir: Path, cron: str = "* * * * *"):
        return exporter_factory(stub, overrides=report_overrides(output_dir, cron))
    return start


def wait_for_catch_up_and_accounts(exporter, accounts, timeout: float = 60):
    """Waits until the catch-up report's last success and a scalr_account_included_runs series of
    every account are published; returns those samples. On timeout the error names what is still
    missing and shows the end of the log.

    Two threads publish to the daemon's store, and nothing orders them (daemon/workers.cpp): the
    report scheduler publishes the report status, last success included, once the catch-up report
    is written (ReportScheduler::check in daemon/report_scheduler.cpp), while the poller publishes
    its snapshot as its first cycle goes (Poller::publish_progress: the first account at once,
    later ones at most once a second, the rest at the end of the cycle). write_metrics
    (metrics/snapshot_collector.cpp) writes scalr_account_included_runs for each account of the
    published snapshot only, so on a loaded machine the report can be done while some account has
    no series yet. So the test waits for both; the values are then asserted as before."""
    def published():
        samples = exporter.metrics()
        missing = [f"included_runs of {a}" for a in accounts
                   if sample_value(samples, "scalr_account_included_runs", account_id=a) is None]
        if sample_value(samples, "scalr_exporter_report_last_success_timestamp_seconds",
                        schedule=SCHEDULE) is None:
            missing.insert(0, "the catch-up report's last success")
        if missing:
            raise AssertionError("not published yet: " + ", ".join(missing))
        return samples
    try:
        return wait_until(published, timeout, 0.1,
                          "the catch-up report at start and every account's series")
    except AssertionError as e:
        log = exporter.log_text()[-3000:]
        raise AssertionError(f"{e}\n--- exporter log ---\n{log}") from None


def run_report(sue_binary, config_path: Path, *args, timeout=60):
    return subprocess.run([str(sue_binary), "report", f"--config.file={config_path}", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env=helpers._clean_env())


def write_config(path: Path, config: dict) -> Path:
    path.write_text(helpers.to_yaml(config), encoding="utf-8")
    return path


def stub_config(tmp_path: Path, stub, with_reports=None) -> Path:
    token_file = tmp_path / "scalr.token"
    token_file.write_text(stub.token + "\n")
    config = helpers.exporter_config(stub, helpers.free_port(), token_file, None,
                                     with_reports or report_overrides(tmp_path / "unused"))
    return write_config(tmp_path / "report-config.yaml", config)


# ---- parsing every format -----------------------------------------------------------------------

def csv_figures(text: str):
    """{account: (runs, seconds, previous_runs, overage_cost_cents)}, {(account, env): (runs,
    seconds)}, {(account, ws): (runs, seconds)} from a report CSV."""
    accounts, environments, workspaces = {}, {}, {}
    for row in csv.DictReader(io.StringIO(text, newline="")):
        usage = (int(row["runs"]), int(row["run_seconds"]))
        if row["level"] == "account":
            cost = row["overage_cost"]
            accounts[row["account_id"]] = usage + (
                int(row["previous_runs"]) if row["previous_runs"] else None,
                round(float(cost) * 100) if cost else None)
        elif row["level"] == "environment":
            environments[(row["account_id"], row["environment_id"])] = usage
        else:
            workspaces[(row["account_id"], row["workspace_id"])] = usage
    return accounts, environments, workspaces


def json_figures(text: str):
    document = json.loads(text)
    assert document["schema_version"] == 1
    accounts, environments, workspaces, daily = {}, {}, {}, {}
    for account in document["accounts"]:
        a = account["account_id"]
        accounts[a] = (account["total"]["runs"], account["total"]["run_seconds"],
                       account["change"]["previous"]["runs"],
                       account["plan"]["overage_cost_cents"])
        for env in account["environments"]:
            environments[(a, env["id"])] = (env["runs"], env["run_seconds"])
        for ws in account["workspaces"]:
            workspaces[(a, ws["id"])] = (ws["runs"], ws["run_seconds"])
        for day in account["daily"]:
            daily[(a, dt.date.fromisoformat(day["date"]))] = (day["runs"], day["run_seconds"])
    return document, accounts, environments, workspaces, daily


def focus_figures(text: str):
    """{account: (runs, seconds, billed_cents)} summed over the FOCUS rows."""
    sums = {}
    for row in csv.DictReader(io.StringIO(text, newline="")):
        runs, seconds, cents = sums.get(row["BillingAccountId"], (0, 0, 0))
        sums[row["BillingAccountId"]] = (runs + int(row["ConsumedQuantity"]),
                                         seconds + int(row["x_RunSeconds"]),
                                         cents + round(float(row["BilledCost"]) * 100))
    return sums


def expected_figures(expected: helpers.Expected, previous: helpers.Expected, account: str):
    usage = expected.accounts[account]
    return (usage.runs, usage.seconds, previous.accounts[account].runs, overage_cents(usage.runs))


def assert_report_files(directory: Path, key: str, expected, previous, accounts):
    """Every format of every account in directory matches the independently computed sums."""
    for account in accounts:
        want = expected_figures(expected, previous, account)
        envs = {k: tuple(u) for k, u in expected.environments.items() if k[0] == account}
        wss = {k: tuple(u) for k, u in expected.workspaces.items() if k[0] == account}

        got_accounts, got_envs, got_wss = csv_figures(
            (directory / file_name(account, key, "csv")).read_text(encoding="utf-8"))
        assert got_accounts == {account: want}, account
        assert {k: v for k, v in got_envs.items() if v != (0, 0)} == envs
        assert {k: v for k, v in got_wss.items() if v != (0, 0)} == wss

        _, j_accounts, j_envs, j_wss, j_daily = json_figures(
            (directory / file_name(account, key, "json")).read_text(encoding="utf-8"))
        assert j_accounts == {account: want}
        assert {k: v for k, v in j_envs.items() if v != (0, 0)} == envs
        assert {k: v for k, v in j_wss.items() if v != (0, 0)} == wss
        assert {k: v for k, v in j_daily.items() if v != (0, 0)} == \
            {k: tuple(u) for k, u in expected.daily.items() if k[0] == account}

        focus = focus_figures(
            (directory / file_name(account, key, "focus")).read_text(encoding="utf-8"))
        runs, seconds, _, cents = want
        assert focus.get(account, (0, 0, 0)) == (runs, seconds, cents if runs else 0)

        html = (directory / file_name(account, key, "html")).read_text(encoding="utf-8")
        assert f'<tr><th scope="row">Runs</th><td class="num">{runs}</td></tr>' in html
        assert f'<tr><th scope="row">Run time (seconds)</th><td class="num">{seconds}</td></tr>' \
            in html
        assert account in html


def snapshot_files(directory: Path) -> dict:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(directory.iterdir())}


# ---- the scheduler ------------------------------------------------------------------------------

def test_daemon_catches_up_writes_every_format_once_and_never_again(stub, report_exporters,
                                                                    tmp_path):
    output = tmp_path / "reports"
    start, end, key = previous_month()
    accounts = list(sample_data.accounts("small"))
    exporter = report_exporters(stub, output)
    directory = output / SCHEDULE
    samples = wait_for_catch_up_and_accounts(exporter, accounts)
    assert sample_value(samples, "scalr_exporter_report_errors_total", schedule=SCHEDULE) == 0
    assert abs(sample_value(samples, "scalr_exporter_report_last_success_timestamp_seconds",
                            schedule=SCHEDULE) - time.time()) < 120
    for account in accounts:
        assert sample_value(samples, "scalr_account_included_runs", account_id=account) == \
            INCLUDED_RUNS

    assert sorted(p.name for p in directory.iterdir()) == sorted(
        file_name(a, key, f) for a in accounts for f in FORMATS)
    expected = helpers.expected_usage(start, end, accounts=accounts)
    previous = helpers.expected_usage(*month_before(start), accounts=accounts)
    assert_report_files(directory, key, expected, previous, accounts)
    for path in directory.iterdir():
        assert path.stat().st_mode & 0o777 == 0o640, path
    assert output.stat().st_mode & 0o027 == 0

    assert re.search(rf'msg="writing a scheduled report" schedule={SCHEDULE} period={key} '
                     'catch_up=true', exporter.log_text())
    state = json.loads((output / STATE_FILE).read_text())
    assert state["version"] == 1
    assert state["schedules"][SCHEDULE]["period"] == key
    written = snapshot_files(directory)

    # A restart does not write the period again, nor does a later fire of the running daemon.
    exporter.stop()
    restarted = report_exporters(stub, output)
    restarted.wait_for_log(r'msg="scheduled reports checked" due=0', timeout=10)
    boundary = (int(time.time()) // 60 + 1) * 60
    wait_until(lambda: len(re.findall(r'msg="scheduled reports checked" due=0',
                                      restarted.log_text())) >= 2,
               boundary - time.time() + 15, 0.2, "the check at the next minute's fire")
    assert "writing a scheduled report" not in restarted.log_text()
    assert snapshot_files(directory) == written
    assert json.loads((output / STATE_FILE).read_text()) == state
    samples = restarted.metrics()
    assert sample_value(samples, "scalr_exporter_report_errors_total", schedule=SCHEDULE) == 0
    # The last success survives the restart, from the state file.
    assert sample_value(samples, "scalr_exporter_report_last_success_timestamp_seconds",
                        schedule=SCHEDULE) is not None


def test_a_write_failure_is_counted_leaves_nothing_and_the_daemon_serves(stub, report_exporters,
                                                                         tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file where a directory should be\n")
    exporter = report_exporters(stub, blocker / "reports")
    wait_until(lambda: (sample_value(exporter.metrics(), "scalr_exporter_report_errors_total",
                                     schedule=SCHEDULE) or 0) >= 1, 20, 0.1,
               "a counted report error\n" + exporter.log_text()[-3000:])
    # Still serving usage while reports fail.
    wait_until(lambda: sample_value(exporter.metrics(), "scalr_up", account_id=MAIN) == 1, 20, 0.1)
    samples = exporter.metrics()
    assert sample_value(samples, "scalr_exporter_report_last_success_timestamp_seconds",
                        schedule=SCHEDULE) is None
    assert blocker.read_text() == "a regular file where a directory should be\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "exporter0", "stub0"]
    failures = [line for line in exporter.log_text().splitlines()
                if "level=error" in line and "scheduled report failed" in line]
    assert len(failures) == 1, failures
    assert "Not a directory" in failures[0] and "retry_at=" in failures[0]
    assert exporter.alive()


# ---- on demand, against the stand-in Scalr server -----------------------------------------------

def strip_generated(fmt: str, text: str) -> str:
    """The report without what differs between two runs of the same report: the generation time
    and the schedule that produced it."""
    if fmt == "json":
        document = json.loads(text)
        document.pop("generated_at")
        document.pop("schedule")
        return json.dumps(document, sort_keys=True)
    if fmt == "html":
        return re.sub(r'<p class="meta">Period .*?</p>', "", text)
    return text


def test_on_demand_gives_the_same_files_as_the_schedule(stub, report_exporters, sue_binary,
                                                        tmp_path):
    output = tmp_path / "scheduled"
    exporter = report_exporters(stub, output)
    wait_until(lambda: sample_value(exporter.metrics(),
                                    "scalr_exporter_report_last_success_timestamp_seconds",
                                    schedule=SCHEDULE), 30, 0.1, "the scheduled report")
    _, _, key = previous_month()
    on_demand = tmp_path / "on-demand" / "nested"
    result = run_report(sue_binary, exporter.config_path,
                        f"--period={key}", f"--output={on_demand}")
    assert result.returncode == 0, result.stderr
    scheduled = sorted(p.name for p in (output / SCHEDULE).iterdir())
    assert sorted(p.name for p in on_demand.iterdir()) == scheduled
    # Standard output lists the files written; nothing but errors goes to stderr when piped.
    assert sorted(Path(line).name for line in result.stdout.splitlines()) == scheduled
    assert result.stderr == ""
    for name in scheduled:
        fmt = "focus" if name.endswith(".focus.csv") else name.rsplit(".", 1)[1]
        mine = (on_demand / name).read_text(encoding="utf-8")
        theirs = (output / SCHEDULE / name).read_text(encoding="utf-8")
        assert strip_generated(fmt, mine) == strip_generated(fmt, theirs), name
        if fmt in ("csv", "focus"):
            assert mine == theirs, name


@pytest.mark.parametrize("first, last", [(3, 9), (5, 5), (1, 28)])
def test_on_demand_day_ranges_give_the_sums_of_those_days(stub, sue_binary, tmp_path, first,
                                                          last):
    start, _, _ = previous_month()
    day_one, day_last = start.replace(day=first), start.replace(day=last)
    config = stub_config(tmp_path, stub)
    key = day_one.isoformat() if first == last else f"{day_one}..{day_last}"
    result = run_report(sue_binary, config, f"--period={day_one}..{day_last}",
                        f"--account={MAIN},{TINY}", "--format=csv,json,focus,html",
                        f"--output={tmp_path / 'out'}")
    assert result.returncode == 0, result.stderr
    accounts = [MAIN, TINY]
    end = day_last + dt.timedelta(days=1)
    expected = helpers.expected_usage(day_one, end, accounts=accounts)
    length = end - day_one
    previous = helpers.expected_usage(day_one - length, day_one, accounts=accounts)
    assert_report_files(tmp_path / "out", key, expected, previous, accounts)


def test_on_demand_to_standard_output(stub, sue_binary, tmp_path):
    start, end, key = previous_month()
    config = stub_config(tmp_path, stub)
    accounts = list(sample_data.accounts("small"))
    result = run_report(sue_binary, config, f"--period={key}", "--output=-")
    assert result.returncode == 0, result.stderr
    expected = helpers.expected_usage(start, end, accounts=accounts)
    previous = helpers.expected_usage(*month_before(start), accounts=accounts)
    got, _, _ = csv_figures(result.stdout)
    assert got == {a: expected_figures(expected, previous, a) for a in accounts}

    as_json = run_report(sue_binary, config, f"--period={key}", "--output=-", "--format=json",
                         f"--account={TINY}")
    assert as_json.returncode == 0, as_json.stderr
    _, j_accounts, _, _, _ = json_figures(as_json.stdout)
    assert j_accounts == {TINY: expected_figures(expected, previous, TINY)}
    assert not any(tmp_path.glob("scalr-usage_*"))


@pytest.mark.parametrize("args, message", [
    (["--period=2026-13"], "--period: want YYYY-MM, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD"),
    (["--period=2026-11-09..2026-11-01"], "the last day is before the first"),
    (["--period=last-month"], "--period: want"),
    ([], "--period: required by the report command"),
    (["--period=2026-10", "--output=-", "--format=csv,json"], "--output=- writes one format"),
    (["--period=2026-10", "--format=pdf"], "--format: unknown format"),
])
def test_on_demand_usage_errors_exit_2(stub, sue_binary, tmp_path, args, message):
    result = run_report(sue_binary, stub_config(tmp_path, stub), *args)
    assert result.returncode == 2, result
    assert message in result.stderr
    assert result.stderr.splitlines()[-1] == "Try 'scalr-usage-exporter --help'."
    assert result.stdout == ""


def test_on_demand_failure_exits_1_and_keeps_the_other_accounts(stub, sue_binary, tmp_path):
    _, _, key = previous_month()
    missing = "acc-doesnotexist00"
    result = run_report(sue_binary, stub_config(tmp_path, stub), f"--period={key}",
                        f"--account={TINY},{missing}", "--format=csv",
                        f"--output={tmp_path / 'out'}")
    assert result.returncode == 1
    assert f"account {missing}: period: not_found" in result.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == [file_name(TINY, key, "csv")]


# ---- on demand, against PostgreSQL ----------------------------------------------------------------

def test_on_demand_against_postgres_gives_the_sums_of_the_runs(postgres, pg_runs, sue_binary,
                                                               tmp_path):
    start, end, key = previous_month()
    config = helpers.postgres_exporter_config(helpers.free_port(), postgres.dsn(),
                                              overrides=report_overrides(tmp_path / "unused"))
    path = write_config(tmp_path / "pg.yaml", config)
    result = run_report(sue_binary, path, f"--period={key}", f"--output={tmp_path / 'out'}")
    assert result.returncode == 0, result.stderr
    expected = helpers.expected_from_runs(pg_runs, start, end)
    # The month before was not loaded: its runs, the boundary ones aside, are none.
    previous = helpers.expected_from_runs(pg_runs, *month_before(start),
                                          accounts=list(expected.accounts))
    accounts = sorted(expected.accounts)
    assert accounts == sorted([MAIN, sample_data.ACCOUNT_DEMO, TINY])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        file_name(a, key, f) for a in accounts for f in FORMATS)
    assert_report_files(tmp_path / "out", key, expected, previous, accounts)
    # The boundary runs of the last second and microsecond of the month count in it.
    _, _, workspaces = csv_figures(
        (tmp_path / "out" / file_name(TINY, key, "csv")).read_text(encoding="utf-8"))
    assert workspaces[(TINY, helpers.BOUNDARY.last)] == (2, 999 + 555)

    # A day range of this month, up to yesterday, to standard output.
    today = dt.datetime.now(dt.timezone.utc).date()
    if today.day > 1:
        first, last = today.replace(day=1), today - dt.timedelta(days=1)
        days = run_report(sue_binary, path, f"--period={first}..{last}", "--output=-")
        assert days.returncode == 0, days.stderr
        got, _, _ = csv_figures(days.stdout)
        expected = helpers.expected_from_runs(pg_runs, first, today)
        assert {a: v[:2] for a, v in got.items()} == \
            {a: (u.runs, u.seconds) for a, u in expected.accounts.items()}


# ---- the HTML report in a browser ----------------------------------------------------------------

def png_info(data: bytes):
    """(width, height, distinct byte values of the decompressed image data) of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    width = height = None
    idat = b""
    offset = 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        chunk = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        offset += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


def chromium(*args, profile: Path, timeout=60):
    binary = shutil.which("chromium")
    argv = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--enable-logging=stderr", f"--user-data-dir={profile}", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, HOME=str(profile)))


def page_problems(stderr: str, url: str) -> list:
    """Console messages and script errors about the page (there are no scripts, so any is a
    problem); chromium's own complaints about the sandbox (no D-Bus, no GPU) are not."""
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line or "Uncaught" in line or (url in line and "ERROR" in line)]


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="chromium is not installed (scripts/install-deps installs it)")
def test_html_report_renders_in_headless_chromium(stub, sue_binary, tmp_path):
    start, end, key = previous_month()
    result = run_report(sue_binary, stub_config(tmp_path, stub), f"--period={key}",
                        f"--account={MAIN}", "--format=html", f"--output={tmp_path / 'out'}")
    assert result.returncode == 0, result.stderr
    page = tmp_path / "out" / file_name(MAIN, key, "html")
    url = page.as_uri()
    runs = helpers.expected_usage(start, end, accounts=[MAIN]).accounts[MAIN].runs

    png = tmp_path / "report.png"
    shot = chromium(f"--screenshot={png}", "--window-size=1280,2000", url,
                    profile=tmp_path / "profile-shot")
    assert shot.returncode == 0, shot.stderr[-3000:]
    assert page_problems(shot.stderr, url) == []
    data = png.read_bytes()
    width, height, distinct = png_info(data)
    assert (width, height) == (1280, 2000)
    assert len(data) > 20_000  # a blank page compresses to a few KB
    assert distinct > 50, distinct  # text, tables and bars: not one flat colour

    dom = chromium("--dump-dom", url, profile=tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-3000:]
    assert page_problems(dom.stderr, url) == []
    assert f'<tr><th scope="row">Runs</th><td class="num">{runs}</td></tr>' in dom.stdout
    assert "<script" not in dom.stdout
    assert dom.stdout.count("<svg") >= 2  # the daily and the top-workspaces charts
