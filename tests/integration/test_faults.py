"""Fault injection, one matrix for every source: the real daemon against the stand-in Scalr server
(plain and TLS) and a throwaway PostgreSQL 15 cluster, and report output on a full or read-only
filesystem.

Every fault case goes the same way (run_case): the daemon is up; the fault is injected; once the
fault's reason has been counted for at least two polls the test checks that the process is alive,
that scalr_up and scalr_exporter_source_up are 0, that only that reason was counted, that the last
good values (summed here from sample_data's raw rows or from the generated runs, never read back
from the exporter) are still served, and that the failure was logged once at error level (the
repeats at debug); then the fault is cleared and the daemon must recover: up again, fresh values
(a later last-success time; with PostgreSQL a run added after the fault), "poll recovered" logged
once.

One daemon per source serves the whole matrix (the cases run in order and each leaves it healthy),
which keeps this module to about a minute and a half.

Report output: a scheduled report and the `report` command on a full filesystem (a 4 MiB tmpfs,
filled; root with mount rights, skipped otherwise) and on a read-only directory (a read-only bind
mount, chattr +i or chmod 0555, whichever works here), and the `report` command cut short by
RLIMIT_FSIZE and writing to /dev/full (no root needed): no crash, the error counted or the exit
status 1 with the system's reason, no partial or temporary file, and the report written once the
fault is gone.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, NamedTuple, Optional

import pytest

import helpers
from helpers import sample_data, sample_value, values_by, wait_until

MAIN = sample_data.ACCOUNT_MAIN
TINY = sample_data.ACCOUNT_TINY
REASONS = ("unauthorized", "forbidden", "not_found", "rate_limited", "server_error",
           "client_error", "timeout", "connection", "bad_response", "too_large", "database")
TOKEN = "stub-token-faults-0123456789"
MAX_PAGES = 10
LONG_LABEL = 2048  # bytes; the default max_label_length is 1024
STARTED = 'msg="starting scalr-usage-exporter"'  # logged at start and after each good reload


def binary() -> Path:
    path = helpers.default_binary()
    if not path.is_file():
        pytest.skip(f"exporter binary {path} not built (set SUE_BINARY)")
    return path


def errors(samples, account) -> dict:
    return {r: sample_value(samples, "scalr_exporter_poll_errors_total", account_id=account,
                            reason=r) or 0 for r in REASONS}


def lines_since(exporter, offset: int) -> list:
    return exporter.log_text()[offset:].splitlines()


def peak_rss_bytes(pid: int) -> int:
    """VmHWM: the most resident memory the process has ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


class Case(NamedTuple):
    """One fault: how to cause it and end it, and what the daemon must say about it."""
    reason: str                       # the poll_errors_total reason it must be counted under
    detail: str                       # a regex the logged error must match
    inject: Callable[[], None]
    clear: Callable[[], None]
    check: Optional[Callable[[dict], None]] = None  # extra checks while the fault lasts


def run_case(exporter, accounts, case: Case, expect_values: Callable[[dict], None],
             timeout: float = 40.0) -> dict:
    """The uniform fault sequence (see the module docstring); returns the samples after recovery."""
    before = wait_healthy(exporter, accounts)
    base = {a: errors(before, a) for a in accounts}
    offset = len(exporter.log_text())

    case.inject()
    try:
        def failed_twice():
            samples = exporter.metrics()
            return samples if all(errors(samples, a)[case.reason] >= base[a][case.reason] + 2
                                  for a in accounts) else None
        samples = wait_until(failed_twice, timeout, 0.1,
                             f"two polls failing with {case.reason}\n"
                             + "\n".join(lines_since(exporter, offset)[-30:]))
        assert exporter.alive()
        assert exporter.scrape("/-/healthy").status == 200
        assert sample_value(samples, "scalr_exporter_source_up") == 0
        for a in accounts:
            assert sample_value(samples, "scalr_up", account_id=a) == 0, a
            # Counted under its reason and no other.
            now = errors(samples, a)
            assert {r: now[r] - base[a][r] for r in REASONS if now[r] != base[a][r]}.keys() == \
                {case.reason}, (a, now, base[a])
        expect_values(samples)  # the last good values are still served
        if case.check:
            case.check(samples)
        # Logged once per change of state, the repeats at debug level.
        lines = lines_since(exporter, offset)
        for a in accounts:
            failed = [l for l in lines if 'msg="poll failed"' in l and f"account={a} " in l]
            assert len(failed) == 1, failed
            assert "level=error" in failed[0] and f"reason={case.reason} " in failed[0], failed[0]
            assert re.search(case.detail, failed[0]), failed[0]
            again = [l for l in lines if 'msg="poll failed again"' in l and f"account={a} " in l]
            assert again and all("level=debug" in l for l in again), again
    finally:
        case.clear()

    # A poll that read before the fault was fully cleared (a fresh run inserted) may still land
    # after it: wait for a success after the clearing that shows the new values.
    cleared_at = time.time()
    mismatch = []

    def recovered():
        samples = healthy_samples(exporter, accounts, cleared_at)
        if samples is None:
            return None
        try:
            expect_values(samples)
        except AssertionError as e:
            mismatch[:] = [e]
            return None
        return samples
    samples = wait_until(recovered, timeout, 0.1,
                         f"recovery with fresh values ({mismatch})\n"
                         + "\n".join(lines_since(exporter, offset)[-30:]))
    lines = lines_since(exporter, offset)
    for a in accounts:
        recovered = [l for l in lines if 'msg="poll recovered"' in l and f"account={a} " in l]
        assert len(recovered) == 1, recovered
    assert sum('msg="source reachable again"' in l for l in lines) == 1
    return samples


def healthy_samples(exporter, accounts, since: Optional[float] = None) -> Optional[dict]:
    """The samples if the source and every account are up (with a success after `since`)."""
    if not exporter.alive():
        raise helpers.StopWaiting(f"exporter exited with {exporter.proc.returncode}")
    samples = exporter.metrics()
    if sample_value(samples, "scalr_exporter_source_up") != 1:
        return None
    for a in accounts:
        if sample_value(samples, "scalr_up", account_id=a) != 1:
            return None
        last = sample_value(samples, "scalr_exporter_last_success_timestamp_seconds",
                            account_id=a)
        if since is not None and (last is None or last <= since):
            return None
    return samples


def wait_healthy(exporter, accounts, since: Optional[float] = None, timeout: float = 40.0):
    """Waits until the source and every account are up (with a success after `since`)."""
    return wait_until(lambda: healthy_samples(exporter, accounts, since), timeout, 0.1,
                      f"{accounts} up\n{exporter.log_text()[-3000:]}")


def current_period(samples, account):
    to_date = lambda name: dt.datetime.fromtimestamp(
        sample_value(samples, name, account_id=account), dt.timezone.utc).date()
    return (to_date("scalr_billing_period_start_timestamp_seconds"),
            to_date("scalr_billing_period_end_timestamp_seconds"))


def assert_usage(samples, expected: helpers.Expected) -> None:
    """Exactly `expected` at the account, environment and workspace levels."""
    for suffix, field in (("runs_total", "runs"), ("run_seconds_total", "seconds")):
        assert values_by(samples, f"scalr_account_{suffix}", "account_id") == \
            {(a,): getattr(u, field) for a, u in expected.accounts.items()}, suffix
        assert values_by(samples, f"scalr_environment_{suffix}", "account_id",
                         "environment_id") == \
            {k: getattr(u, field) for k, u in expected.environments.items()}, suffix
        assert values_by(samples, f"scalr_workspace_{suffix}", "account_id", "workspace_id") == \
            {k: getattr(u, field) for k, u in expected.workspaces.items()}, suffix


# ---- the stub's TLS mode and the fault modes added for this matrix -------------------------------

def test_stub_tls_mode_and_bound_faults(tmp_path):
    tls = helpers.make_tls_files(tmp_path / "tls")
    stub = helpers.TlsStubServer(tmp_path / "stub", tls, token=TOKEN)
    try:
        params = {"filter[account]": MAIN, "breakdown_by": "workspace", "total": "1",
                  "filter[date]": "between:2026-10-01T00:00:00Z,2026-10-31T23:59:59Z"}
        page = stub.get(params).json()  # verified against the throwaway CA
        assert page["data"] and page["links"]["self"].startswith(stub.url + "/api/")
        stub.set_fault("long_label", bytes=3000, count=1)
        assert stub.get(params).json()["data"][0]["attributes"]["breakdown-name"] == "L" * 3000
        stub.set_fault("long_label", field="breakdown-id", count=1)
        assert len(stub.get(params).json()["data"][0]["attributes"]["breakdown-id"]) == 2048
        stub.set_fault("pagination_loop", next_page="next")
        far = stub.get(dict(params, **{"page[number]": "50"})).json()
        assert far["data"] == [] and far["meta"]["pagination"]["next-page"] == 51
        # A client that does not know the CA is refused, and the stub only logs it.
        import ssl
        with pytest.raises(Exception) as refused:
            helpers.http_request(stub.url + "/__control/health",
                                 context=ssl.create_default_context())
        assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
        wait_until(lambda: "TLS handshake failed" in stub.log_text(), 5, 0.05, "the log line")
        assert stub.proc.poll() is None
    finally:
        assert stub.stop() == 0
    assert "Traceback" not in stub.log_text()


# ---- the Scalr API source ------------------------------------------------------------------------

class ApiRig:
    """The stub (plain HTTP), a TLS stub with a throwaway CA, and one daemon polling MAIN with a 1 s
    request timeout, 2 attempts per request and scalr.max_pages 10."""

    def __init__(self, root: Path):
        self.root = root
        exporter_binary = binary()
        self.tls = helpers.make_tls_files(root / "tls")
        self.stub = self.tls_stub = self.exporter = None
        self.restarts = 0
        try:
            self.stub = helpers.StubServer(root / "stub", token=TOKEN)
            self.tls_stub = helpers.TlsStubServer(root / "tls-stub", self.tls, token=TOKEN)
            token_file = root / "scalr.token"
            token_file.write_text(TOKEN + "\n")
            self.base = helpers.exporter_config(
                self.stub, helpers.free_port(), token_file, [MAIN],
                {"scalr": {"timeout": "1s", "max_pages": MAX_PAGES,
                           "retry": {"max_attempts": 2, "initial_backoff": "100ms",
                                     "max_backoff": "200ms"}}})
            # A resolver that gives up within a second or two, so that a name under .invalid fails
            # as a DNS error here even where no DNS server answers.
            env = dict(helpers._clean_env(), RES_OPTIONS="timeout:1 attempts:1")
            self.exporter = helpers.Exporter(root / "exporter", self.base, exporter_binary,
                                             env=env)
            self.exporter.wait_ready()
        except BaseException:
            self.close()
            raise

    def reload(self, **scalr) -> None:
        """Rewrites the config with these scalr: keys changed (None removes one) and reloads."""
        exporter = self.exporter
        config = helpers.deep_merge(self.base, {"scalr": scalr})
        exporter.config = config
        exporter.config_path.write_text(helpers.to_yaml(config), encoding="utf-8")
        starts = exporter.log_text().count(STARTED)
        exporter.signal(signal.SIGHUP)
        wait_until(lambda: exporter.log_text().count(STARTED) > starts, 20, 0.05, "the reload")

    def stop_stub(self) -> None:
        self.stub.stop()

    def restart_stub(self) -> None:
        """A new stub on the stopped one's port."""
        self.restarts += 1
        self.stub = helpers.StubServer(self.root / f"stub-{self.restarts}", token=TOKEN,
                                       extra_args=["--listen", f"127.0.0.1:{self.stub.port}"])

    def expect_values(self, samples) -> None:
        start, end = current_period(samples, MAIN)
        assert_usage(samples, helpers.expected_usage(start, end, accounts=[MAIN]))

    def close(self) -> None:
        for process in (self.exporter, self.stub, self.tls_stub):
            if process is not None:
                process.stop()


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    rig = ApiRig(tmp_path_factory.mktemp("api-faults"))
    yield rig
    rig.close()


def fault(rig: ApiRig, reason: str, detail: str, check=None, **spec) -> Case:
    """A fault of the stub (scalr_stub.py's fault modes), cleared by a reset."""
    return Case(reason, detail, lambda: rig.stub.set_fault(spec), lambda: rig.stub.reset(), check)


def check_huge_body_not_buffered(rig: ApiRig, peak_before: int):
    def check(_samples):
        # Neither read to the end nor held: the transfer stopped near max_response_bytes (8 MiB)
        # and the daemon's peak memory never came near the 100 MB body.
        sent = [r["bytes"] for r in rig.stub.api_requests() if r["fault"] == "huge"]
        assert sent and max(sent) < 40 << 20, sent
        peak = peak_rss_bytes(rig.exporter.proc.pid)
        # Under sanitizers (scripts/sanitize-test) shadow memory and ASan's quarantine add tens of
        # MB whatever the daemon does; the bound on the growth still holds there.
        if not os.environ.get("SUE_SANITIZERS"):
            assert peak < 100 << 20, (peak, peak_before)
        assert peak - peak_before < 48 << 20, (peak, peak_before)
    return check


def check_page_bound(rig: ApiRig):
    def check(_samples):
        pages = [int(r["params"]["page[number]"]) for r in rig.stub.api_requests()
                 if r["fault"] == "pagination_loop"]
        assert pages and max(pages) == MAX_PAGES, sorted(set(pages))
    return check


# The API faults, each a function of the rig making its Case.
API_CASES = {
    "connection_refused": lambda rig: Case(
        "connection", r"Failed to connect|Couldn't connect|Connection refused",
        rig.stop_stub, rig.restart_stub),
    "dns_failure": lambda rig: Case(
        "connection", r"Could not resolve host: scalr-stub\.invalid",
        lambda: rig.reload(url=f"http://scalr-stub.invalid:{rig.stub.port}", timeout="10s"),
        lambda: rig.reload()),
    # Recovers through scalr.ca_file: the same TLS server, now trusted.
    "tls_unknown_ca": lambda rig: Case(
        "connection", r"SSL certificate problem|certificate verify failed",
        lambda: rig.reload(url=rig.tls_stub.url),
        lambda: rig.reload(url=rig.tls_stub.url, ca_file=str(rig.tls.ca_file))),
    "trickle": lambda rig: fault(rig, "timeout", r"[Tt]imeout|timed out",
                                 mode="trickle", chunk_bytes=64, interval=0.4),
    "huge_body_with_length": lambda rig: fault(
        rig, "too_large", r"response body exceeds 8388608 bytes",
        check_huge_body_not_buffered(rig, peak_rss_bytes(rig.exporter.proc.pid)),
        mode="huge", mb=100),
    "huge_body_streamed": lambda rig: fault(
        rig, "too_large", r"response body exceeds 8388608 bytes",
        check_huge_body_not_buffered(rig, peak_rss_bytes(rig.exporter.proc.pid)),
        mode="huge", mb=100, content_length=False),
    "pagination_loop": lambda rig: fault(rig, "bad_response", r"pagination loop: next-page is 1",
                                         mode="pagination_loop", page=1),
    "endless_pages": lambda rig: fault(rig, "too_large", rf"more than {MAX_PAGES} pages",
                                       check_page_bound(rig), mode="pagination_loop",
                                       next_page="next"),
    "label_too_long": lambda rig: fault(
        rig, "too_large", rf"breakdown-name: {LONG_LABEL} bytes, longer than "
        r"scalr\.max_label_length \(1024\)", mode="long_label", bytes=LONG_LABEL),
    "html_error_page_with_200": lambda rig: fault(rig, "bad_response",
                                                  r'content type \\"text/html', mode="html200"),
    "wrong_content_type": lambda rig: fault(rig, "bad_response", r'content type \\"text/plain',
                                            mode="wrong_content_type"),
    "truncated_json": lambda rig: fault(rig, "bad_response", r"not valid JSON",
                                        mode="truncated"),
    "connection_closed_mid_body": lambda rig: fault(rig, "connection", r"transfer closed",
                                                    mode="truncated", early_close=True),
    "connection_dropped": lambda rig: fault(rig, "connection", r"Empty reply", mode="drop"),
}


@pytest.mark.parametrize("name", list(API_CASES))
def test_api_fault(api, name):
    samples = run_case(api.exporter, [MAIN], API_CASES[name](api), api.expect_values)
    if name == "tls_unknown_ca":
        # The values came over TLS, verified with scalr.ca_file; the stub saw those requests.
        assert any(r["auth"]["valid"] for r in api.tls_stub.api_requests())
        assert samples
        api.reload()  # back to the plain stub for the next case
        wait_healthy(api.exporter, [MAIN], since=time.time())


# ---- the PostgreSQL source -----------------------------------------------------------------------

def default_query() -> str:
    header = (helpers.REPO_ROOT / "collectors" / "postgres" / "queries.h").read_text()
    match = re.search(r'kDefaultQuery = R"sql\((.*?)\)sql"', header, re.S)
    assert match
    return match.group(1).strip()


class PgRig:
    """A cluster of its own (faults stop it, lock its table and change its rows) and one daemon on
    it, reading MAIN with a 1 s statement_timeout through the default query slowed by 0.3 s, so that
    a running query can be caught and its backend terminated."""

    def __init__(self, root: Path, template, runs):
        exporter_binary = binary()
        self.server = helpers.PostgresServer(template)
        self.runs = list(runs)
        try:
            self.server.setup_database()
            self.server.load_runs(self.runs)
            query = f"SELECT d.* FROM ({default_query()}) AS d CROSS JOIN pg_sleep(0.3)"
            config = helpers.postgres_exporter_config(
                helpers.free_port(), self.server.dsn(), [MAIN],
                {"postgres": {"statement_timeout": "1s", "query": query}})
            self.exporter = helpers.Exporter(root / "exporter", config, exporter_binary)
            self.exporter.wait_ready()
        except BaseException:
            if getattr(self, "exporter", None):
                self.exporter.stop()
            self.server.remove()
            raise
        self.helper = None  # a psql process holding a lock or killing backends
        self.fresh = 0

    def background_sql(self, app: str, sql: str, ready_sql: str) -> None:
        """Runs sql in a psql of its own (application_name app) until stop_background()."""
        argv = [str(helpers.PG_BINDIR / "psql"), "-X", "-q", "-h", "127.0.0.1",
                "-p", str(self.server.port), "-U", "postgres", "-d", helpers.PG_DB, "-c", sql]
        env = dict(helpers._pg_env(), PGAPPNAME=app)
        self.helper = (app, subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL))
        wait_until(lambda: self.server.psql(ready_sql).strip() == "t", 20, 0.05, app)

    def stop_background(self) -> None:
        app, proc = self.helper
        self.server.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         f"WHERE application_name = {helpers.sql_literal(app)}")
        proc.wait(20)
        self.helper = None

    def lock_table(self) -> None:
        self.background_sql(
            "sue-locker", "BEGIN; LOCK TABLE scalr_runs IN ACCESS EXCLUSIVE MODE; "
                          "SELECT pg_sleep(3600)",
            "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'scalr_runs' AND l.mode = 'AccessExclusiveLock' AND l.granted)")

    def kill_backends(self) -> None:
        """Terminates every exporter backend that runs a statement, over and over (every 20 ms),
        so the reconnect-and-retry within the poll is killed too."""
        self.background_sql(
            "sue-killer",
            "DO $$ BEGIN LOOP "
            "PERFORM pg_stat_clear_snapshot(); "
            "PERFORM pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'scalr-usage-exporter' AND state = 'active'; "
            "PERFORM pg_sleep(0.02); END LOOP; END $$",
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity "
            "WHERE application_name = 'sue-killer' AND state = 'active')")

    def add_fresh_run(self) -> None:
        """A run finishing now: the values after recovery must include it."""
        self.fresh += 1
        now = dt.datetime.now(dt.timezone.utc)
        start = dt.datetime.combine(now.date().replace(day=1), dt.time(0), dt.timezone.utc)
        run = helpers.Run(f"run-fresh-{self.fresh}", MAIN, "env-fresh000000000000", "fresh",
                          f"ws-fresh{self.fresh:013d}", f"fresh-{self.fresh}",
                          max(now - dt.timedelta(seconds=5), start), 1000 + self.fresh)
        self.server.load_runs([run])
        self.runs.append(run)

    def expect_values(self, samples) -> None:
        start, end = current_period(samples, MAIN)
        assert_usage(samples, helpers.expected_from_runs(self.runs, start, end, accounts=[MAIN]))

    def close(self) -> None:
        if self.helper:
            self.stop_background()
        self.exporter.stop()
        self.server.remove()


@pytest.fixture(scope="module")
def pg(tmp_path_factory, pg_template, pg_runs):
    rig = PgRig(tmp_path_factory.mktemp("pg-faults"), pg_template, pg_runs)
    yield rig
    rig.close()


def then_fresh(rig: PgRig, clear: Callable[[], None]) -> Callable[[], None]:
    def clear_and_add():
        clear()
        rig.add_fresh_run()
    return clear_and_add


def insert_long_name(rig: PgRig) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    rig.server.psql(
        "INSERT INTO scalr_runs VALUES ('run-long-name', "
        f"{helpers.sql_literal(MAIN)}, 'env-long', 'long', 'ws-long', repeat('L', {LONG_LABEL}), "
        f"{helpers.sql_literal(now.isoformat())}, 7)")


PG_CASES = {
    "server_stopped": lambda rig: Case(
        "database", r"cannot connect to PostgreSQL|PostgreSQL connection lost",
        lambda: rig.server.stop("fast"), then_fresh(rig, rig.server.start)),
    "backend_terminated_mid_query": lambda rig: Case(
        "database", r"PostgreSQL connection lost|terminating connection",
        rig.kill_backends, then_fresh(rig, rig.stop_background)),
    "table_locked": lambda rig: Case(
        "timeout", r"PostgreSQL query cancelled after postgres\.statement_timeout \(1s\)",
        rig.lock_table, then_fresh(rig, rig.stop_background)),
    "label_too_long": lambda rig: Case(
        "too_large", rf"workspace_name: {LONG_LABEL} bytes, longer than "
        r"postgres\.max_label_length \(1024\)",
        lambda: insert_long_name(rig),
        then_fresh(rig, lambda: rig.server.psql(
            "DELETE FROM scalr_runs WHERE run_id = 'run-long-name'"))),
}


@pytest.mark.parametrize("name", list(PG_CASES))
def test_postgres_fault(pg, name):
    run_case(pg.exporter, [MAIN], PG_CASES[name](pg), pg.expect_values)
    lines = pg.exporter.log_text().splitlines()
    # The listing failed, so the source said so too, at error level once per outage.
    assert any("level=error" in l and 'msg="cannot list accounts from the source"' in l
               for l in lines)


def test_postgres_one_terminated_backend_costs_no_poll(pg):
    """A backend killed once mid-query is reconnected and the query retried within the poll."""
    before = wait_healthy(pg.exporter, [MAIN])
    offset = len(pg.exporter.log_text())
    wait_until(lambda: pg.server.psql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = 'scalr-usage-exporter' AND state = 'active'").strip() == "1",
        20, 0.02, "a running exporter query to terminate")
    after = wait_healthy(pg.exporter, [MAIN], since=time.time())
    assert errors(after, MAIN) == errors(before, MAIN)
    assert any("PostgreSQL connection lost, reconnecting" in l
               for l in lines_since(pg.exporter, offset))
    pg.expect_values(after)


# ---- report output on a full or read-only filesystem -------------------------------------------

SCHEDULE = "faults"


def report_overrides(output_dir: Path) -> dict:
    return {"billing": {"included_runs": 100, "overage_price": 0.99, "currency": "USD"},
            "reports": {"output_dir": str(output_dir), "keep": 24,
                        "schedules": [{"name": SCHEDULE, "cron": "* * * * *",
                                       "period": "previous_month", "formats": ["csv", "json"]}]}}


def previous_month():
    first = dt.datetime.now(dt.timezone.utc).date().replace(day=1)
    start = (first - dt.timedelta(days=1)).replace(day=1)
    return start, first, start.strftime("%Y-%m")


@pytest.fixture(scope="module")
def small_fs(tmp_path_factory):
    why = helpers.SmallFilesystem.unavailable()
    if why:
        pytest.skip(why)
    fs = helpers.SmallFilesystem(tmp_path_factory.mktemp("small-fs") / "mnt", "4m")
    yield fs
    fs.unmount()


class BrokenOutput:
    """A report directory that a fault makes unwritable for real, and then mends: "full" is a
    directory on a full tmpfs (root with mount rights only; skipped otherwise), "read_only" one
    that helpers.ReadOnlyDirectory closes (a read-only bind mount, chattr +i or chmod, whichever
    works here; skipped if none does). .dir, .break_(), .mend(), .message (what the system says)."""

    def __init__(self, request, kind: str, name: str):
        self.kind = kind
        if kind == "full":
            self.fs = request.getfixturevalue("small_fs")
            self.dir = self.fs.path / name
            self.message = "No space left on device"
        else:
            self.dir = request.getfixturevalue("tmp_path") / name
            self.read_only = None
        self.dir.mkdir()

    def break_(self) -> None:
        if self.kind == "full":
            self.fs.fill()
            return
        try:
            self.read_only = helpers.ReadOnlyDirectory(self.dir)
        except OSError as e:
            pytest.skip(str(e))
        self.message = self.read_only.message

    def mend(self) -> None:
        if self.kind == "full":
            self.fs.free()
        elif self.read_only:
            self.read_only.undo()


def files_in(directory: Path) -> list:
    """Every regular file under directory (temporary ones included), relative."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def csv_account_totals(path: Path) -> dict:
    import csv
    import io
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))
    return {r["account_id"]: (int(r["runs"]), int(r["run_seconds"]))
            for r in rows if r["level"] == "account"}


def assert_reports(directory: Path, accounts, key: str) -> None:
    """The CSV reports in directory give the sums of sample_data's raw rows, and the JSON ones
    parse: complete files, not parts of them."""
    import json
    start, end, _ = previous_month()
    expected = helpers.expected_usage(start, end, accounts=accounts)
    for account in accounts:
        got = csv_account_totals(directory / f"scalr-usage_{account}_{key}.csv")
        assert got == {account: tuple(expected.accounts[account])}
        document = json.loads((directory / f"scalr-usage_{account}_{key}.json").read_text())
        assert document["accounts"][0]["total"]["runs"] == expected.accounts[account].runs


@pytest.mark.parametrize("kind", ["full", "read_only"])
def test_scheduled_report_on_a_broken_filesystem(request, stub, exporter_factory, kind):
    broken = BrokenOutput(request, kind, f"reports-{kind}")
    output = broken.dir
    broken.break_()
    try:
        exporter = exporter_factory(stub, overrides=report_overrides(output))
        accounts = exporter.config["scalr"]["accounts"]
        wait_until(lambda: (sample_value(exporter.metrics(), "scalr_exporter_report_errors_total",
                                         schedule=SCHEDULE) or 0) >= 1, 30, 0.1,
                   "a counted report error\n" + exporter.log_text()[-3000:])
        # Usage is still served while reports fail, and nothing partial is left behind.
        samples = wait_healthy(exporter, accounts)
        start, end = current_period(samples, MAIN)
        assert_usage(samples, helpers.expected_usage(start, end, accounts=accounts))
        assert sample_value(samples, "scalr_exporter_report_last_success_timestamp_seconds",
                            schedule=SCHEDULE) is None
        assert files_in(output) == []
        failed = [l for l in exporter.log_text().splitlines()
                  if 'msg="scheduled report failed"' in l]
        assert len(failed) == 1 and "level=error" in failed[0], failed
        assert broken.message in failed[0], (broken.message, failed[0])
        assert exporter.alive()
    finally:
        broken.mend()

    # The backoff before the next attempt is minutes; a reload starts a fresh scheduler.
    exporter.signal(signal.SIGHUP)
    samples = wait_until(lambda: (s := exporter.metrics()) and sample_value(
        s, "scalr_exporter_report_last_success_timestamp_seconds", schedule=SCHEDULE) and s,
        30, 0.1, "the report written after the fault\n" + exporter.log_text()[-3000:])
    assert sample_value(samples, "scalr_exporter_report_errors_total", schedule=SCHEDULE) == 1
    _, _, key = previous_month()
    assert_reports(output / SCHEDULE, accounts, key)
    assert (output / ".scalr-usage-exporter-state.json").is_file()
    assert not [p for p in output.rglob(".*tmp*")]


def run_report(config: Path, *args, stdout=subprocess.PIPE):
    return subprocess.run([str(binary()), "report", f"--config.file={config}", *args],
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120,
                          env=helpers._clean_env())


def report_config(tmp_path: Path, stub) -> Path:
    token_file = tmp_path / "scalr.token"
    token_file.write_text(stub.token + "\n")
    config = helpers.exporter_config(stub, helpers.free_port(), token_file, None,
                                     report_overrides(tmp_path / "unused"))
    path = tmp_path / "report.yaml"
    path.write_text(helpers.to_yaml(config), encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["full", "read_only"])
def test_report_command_on_a_broken_filesystem(request, stub, tmp_path, kind):
    config = report_config(tmp_path, stub)
    broken = BrokenOutput(request, kind, f"on-demand-{kind}")
    output = broken.dir
    _, _, key = previous_month()
    args = (f"--period={key}", f"--account={MAIN},{TINY}", "--format=csv,json",
            f"--output={output}")
    broken.break_()
    try:
        result = run_report(config, *args)
        assert result.returncode == 1, result
        assert broken.message in result.stderr, result.stderr
        assert result.stderr.startswith("scalr-usage-exporter: report "), result.stderr
        assert result.stdout == ""  # no file is listed as written
        assert files_in(output) == []
    finally:
        broken.mend()
    result = run_report(config, *args)
    assert result.returncode == 0, result.stderr
    assert_reports(output, [MAIN, TINY], key)
    assert len(result.stdout.splitlines()) == 4


def test_report_command_cut_short_by_a_file_size_limit(stub, tmp_path):
    """RLIMIT_FSIZE (needs no root): a report file over the limit fails after a short write, the
    way a disk filling up mid-file does. The files that fit are complete and the same as without
    the limit; of the others nothing is left, not even a temporary file."""
    import resource
    limit = 4096

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    config = report_config(tmp_path, stub)
    _, _, key = previous_month()
    args = [str(binary()), "report", f"--config.file={config}", f"--period={key}",
            f"--account={MAIN},{TINY}", "--format=csv,focus"]
    cut = subprocess.run(args + [f"--output={tmp_path / 'cut'}"], capture_output=True, text=True,
                         timeout=120, env=helpers._clean_env(), preexec_fn=limited)
    whole = subprocess.run(args + [f"--output={tmp_path / 'whole'}"], capture_output=True,
                           text=True, timeout=120, env=helpers._clean_env())
    assert whole.returncode == 0, whole.stderr
    sizes = {p.name: p.stat().st_size for p in (tmp_path / "whole").iterdir()}
    fits = {name for name, size in sizes.items() if size <= limit}
    assert fits and fits != set(sizes), sizes  # some fit, some do not: the test means something
    assert cut.returncode == 1, cut
    assert "File too large" in cut.stderr, cut.stderr
    assert files_in(tmp_path / "cut") == sorted(fits)
    for name in fits:
        assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    assert sorted(Path(line).name for line in cut.stdout.splitlines()) == sorted(fits)


def test_report_command_to_a_full_stream(stub, tmp_path):
    """--output=- into /dev/full (needs no root): exit 1, saying so."""
    _, _, key = previous_month()
    with open("/dev/full", "w") as full:
        result = run_report(report_config(tmp_path, stub), f"--period={key}", f"--account={TINY}",
                            "--format=csv", "--output=-", stdout=full)
    assert result.returncode == 1, result.stderr
    assert "cannot write the report to the output stream" in result.stderr
