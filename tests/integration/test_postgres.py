"""The real daemon binary on the PostgreSQL source (`source: postgres`), against throwaway
PostgreSQL 15 clusters loaded with etc/postgres/schema.sql and generated runs. No database mocks.

Expected numbers are counted here run by run from the generated runs (helpers.expected_from_runs),
never read back from the database, so a wrong period bound, a lost row or a wrong sum shows up as a
mismatch. The clusters run in a far-off time zone with a non-ISO DateStyle, which the exporter must
not depend on.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import signal
import subprocess
import time

import pytest

import helpers
from helpers import values_by, BOUNDARY, PG_PASSWORD, sample_data, sample_value, series, wait_until

MAIN = sample_data.ACCOUNT_MAIN
TINY = sample_data.ACCOUNT_TINY
EMPTY = sample_data.ACCOUNT_EMPTY
SECRET_FRAGMENT = "RECOGNISABLE"  # in PG_PASSWORD and in every wrong password used here

REQUIRED_COLUMNS = ("account_id", "environment_id", "environment_name", "workspace_id",
                    "workspace_name", "date", "runs_count", "runs_seconds")
OPTIONAL_COLUMNS = ("account_name", "workspace_tags")


def current_month():
    today = dt.datetime.now(dt.timezone.utc).date()
    return helpers.month_bounds(today.year, today.month)


def unix(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(0), dt.timezone.utc).timestamp()


def wait_up(exporter, accounts, timeout=20):
    """Waits until every account has scalr_up 1 and the source is up; returns the samples."""
    def all_up():
        samples = exporter.metrics()
        return samples if (sample_value(samples, "scalr_exporter_source_up") == 1 and all(
            sample_value(samples, "scalr_up", account_id=a) == 1 for a in accounts)) else None
    return wait_until(all_up, timeout, 0.1, f"{accounts} up\n{exporter.log_text()[-3000:]}")


def errors(samples, account, reason):
    return sample_value(samples, "scalr_exporter_poll_errors_total", account_id=account,
                        reason=reason) or 0


def assert_exact(samples, expected):
    """The exposed usage is exactly `expected`: the same accounts, environments and workspaces,
    the same values, the same names, and workspaces labelled with their environment."""
    for suffix, field in (("runs_total", "runs"), ("run_seconds_total", "seconds")):
        got = values_by(samples, f"scalr_account_{suffix}", "account_id")
        assert got == {(a,): getattr(u, field) for a, u in expected.accounts.items()}, suffix
        got = values_by(samples, f"scalr_environment_{suffix}", "account_id", "environment_id")
        assert got == {k: getattr(u, field) for k, u in expected.environments.items()}, suffix
        got = values_by(samples, f"scalr_workspace_{suffix}", "account_id", "workspace_id")
        assert got == {k: getattr(u, field) for k, u in expected.workspaces.items()}, suffix
    for (name, labels), _ in samples.items():
        labels = dict(labels)
        if name == "scalr_environment_runs_total":
            key = (labels["account_id"], labels["environment_id"])
            assert labels["environment_name"] == expected.environment_names[key]
        if name == "scalr_workspace_runs_total":
            key = (labels["account_id"], labels["workspace_id"])
            assert labels["workspace_name"] == (expected.workspace_names[key] or "")
            environment = expected.workspace_environments[key]
            assert labels["environment_id"] == environment
            assert labels["environment_name"] == \
                expected.environment_names[(labels["account_id"], environment)]
    # The totals are sums of the workspace rows, exactly, at every level.
    for account in expected.accounts:
        workspaces = series(samples, "scalr_workspace_runs_total", account_id=account)
        environments = series(samples, "scalr_environment_runs_total", account_id=account)
        total = sample_value(samples, "scalr_account_runs_total", account_id=account)
        assert sum(workspaces.values()) == sum(environments.values()) == total


def assert_no_secret(exporter, *secrets):
    """No secret (PG_PASSWORD by default, and always SECRET_FRAGMENT) in the log, stdout or
    metrics."""
    texts = {"log": exporter.log_text(), "metrics": ""}
    if exporter.alive():
        texts["metrics"] = exporter.scrape().body.decode()
    try:
        texts["stdout"] = exporter.stdout_path.read_text(errors="replace")
    except OSError:
        pass
    import urllib.parse
    for secret in (secrets or (PG_PASSWORD,)) + (SECRET_FRAGMENT,):
        for spelling in {secret, urllib.parse.quote(secret, safe="")}:
            for where, text in texts.items():
                assert spelling not in text, f"{spelling!r} in the {where}"


def run_binary(sue_binary, config_path, *args, timeout=60):
    return subprocess.run([str(sue_binary), f"--config.file={config_path}", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env=helpers._clean_env())


def write_config(tmp_path, server=None, dsn=None, **postgres):
    config = helpers.postgres_exporter_config(helpers.free_port(),
                                              dsn if dsn is not None else server.dsn(),
                                              overrides={"postgres": postgres})
    path = tmp_path / "config.yml"
    path.write_text(helpers.to_yaml(config), encoding="utf-8")
    return path


# ---- the numbers ------------------------------------------------------------------------------

def test_exposes_exact_sums_of_the_runs_for_the_current_month(postgres, pg_runs,
                                                               pg_exporter_factory):
    start, end = current_month()
    expected = helpers.expected_from_runs(pg_runs, start, end)
    assert set(expected.accounts) == {MAIN, sample_data.ACCOUNT_DEMO, TINY}  # EMPTY never runs
    exporter = pg_exporter_factory(postgres)
    samples = wait_up(exporter, expected.accounts)
    assert_exact(samples, expected)
    for account in expected.accounts:
        assert sample_value(samples, "scalr_billing_period_start_timestamp_seconds",
                            account_id=account) == unix(start)
        assert sample_value(samples, "scalr_billing_period_end_timestamp_seconds",
                            account_id=account) == unix(end)
        for reason in ("database", "timeout", "bad_response"):
            assert errors(samples, account, reason) == 0
    names = {dict(l).get("workspace_name") for (n, l) in samples if n == "scalr_workspace_runs_total"}
    for hostile in (sample_data.NAME_QUOTE, sample_data.NAME_BACKSLASH, sample_data.NAME_NEWLINE,
                    sample_data.NAME_UTF8, sample_data.NAME_NON_BMP, ""):
        assert hostile in names, hostile
    assert_no_secret(exporter)


BATCHED = "acc-batchedread00001"


def batched_runs(workspaces: int) -> list:
    """One run for each of `workspaces` workspaces of BATCHED on the first day of the current month:
    exactly one workspace-day row each, so the query returns `workspaces` rows for the account."""
    start, _ = current_month()
    first = dt.datetime.combine(start, dt.time(0), dt.timezone.utc)
    return [helpers.Run(f"run-batched-{i:06d}", BATCHED, f"env-batched-{i % 37:02d}",
                        f"Batch env {i % 37}", f"ws-batched-{i:06d}", f"batched \"{i}\"",
                        first + dt.timedelta(seconds=i % 3600, microseconds=i), 1 + i % 97)
            for i in range(workspaces)]


# 10,000 rows are two full cursor batches and an empty third FETCH; 10,001 ends with a batch of one.
@pytest.mark.parametrize("workspaces", [10_000, 10_001])
def test_rows_read_in_several_cursor_batches_are_all_counted(postgres_factory, pg_runs,
                                                             pg_exporter_factory, workspaces):
    server = postgres_factory()
    extra = batched_runs(workspaces)
    server.load_runs(extra)
    start, end = current_month()
    expected = helpers.expected_from_runs(pg_runs + extra, start, end, accounts=[BATCHED, MAIN])
    assert len(expected.workspaces) > 2 * 5000
    exporter = pg_exporter_factory(server, accounts=[BATCHED, MAIN])
    samples = wait_up(exporter, [BATCHED, MAIN], timeout=60)
    assert_exact(samples, expected)
    assert sample_value(samples, "scalr_account_runs_total", account_id=BATCHED) == workspaces


def test_a_query_without_rows_gives_zeros_and_stays_up(postgres_factory, pg_exporter_factory):
    """The cursor's first FETCH returns no row at all (a new month before the first run): the
    columns are still checked, the configured accounts are at zero, nothing is an error."""
    server = postgres_factory()
    server.psql("TRUNCATE scalr_runs")
    exporter = pg_exporter_factory(server, accounts=[MAIN, TINY])
    samples = wait_up(exporter, [MAIN, TINY])
    for account in (MAIN, TINY):
        assert sample_value(samples, "scalr_account_runs_total", account_id=account) == 0
        assert sample_value(samples, "scalr_account_run_seconds_total", account_id=account) == 0
        for reason in ("database", "timeout", "bad_response"):
            assert errors(samples, account, reason) == 0
    assert not [n for (n, _) in samples if n == "scalr_workspace_runs_total"]
    exporter.stop()
    # Columns are checked on the empty FETCH too: a view losing a column under a running exporter
    # fails the next poll (bad_response) while the last good zeros stay.
    columns = ("account_id, environment_id, environment_name, workspace_id, workspace_name, "
               "{date}1 AS runs_count, duration_seconds AS runs_seconds")
    view = "CREATE VIEW usage_rows AS SELECT {} FROM scalr_runs; GRANT SELECT ON usage_rows TO {}"
    server.psql(view.format(columns.format(date="finished_at::date AS date, "), helpers.PG_USER))
    watching = pg_exporter_factory(server, accounts=[MAIN], overrides={
        "postgres": {"query": "SELECT * FROM usage_rows"}, "poll": {"interval": "1s"}})
    wait_up(watching, [MAIN])
    server.psql("DROP VIEW usage_rows; " + view.format(columns.format(date=""), helpers.PG_USER))
    samples = wait_until(lambda: errors(watching.metrics(), MAIN, "bad_response") >= 1
                         and watching.metrics(), 20, 0.1, "a bad_response")
    assert sample_value(samples, "scalr_up", account_id=MAIN) == 0
    assert sample_value(samples, "scalr_account_runs_total", account_id=MAIN) == 0
    assert "missing column(s) date" in watching.log_text()


def test_statement_timeout_bounds_the_whole_read_not_each_fetch(postgres_factory, pg_runs,
                                                                pg_exporter_factory):
    """Each FETCH of this query takes about 1 s (a 0.1 s sleep every 500th row, 5000 rows a batch)
    and the read about 2 s: a timeout of 1.5 s per statement would never fire, one for the whole
    read must."""
    server = postgres_factory()
    server.load_runs(batched_runs(10_001))
    query = f"""SELECT d.* FROM (SELECT q.*, row_number() OVER () AS n
          FROM ({default_query_text()}) AS q) AS d
 WHERE d.n % 500 <> 0 OR length(pg_sleep(0.1)::text) = 0"""
    exporter = pg_exporter_factory(server, accounts=[BATCHED], overrides={
        "postgres": {"query": query, "statement_timeout": "1500ms"}})
    samples = wait_until(lambda: errors(exporter.metrics(), BATCHED, "timeout") >= 1
                         and exporter.metrics(), 30, 0.1, "a timeout")
    assert sample_value(samples, "scalr_up", account_id=BATCHED) == 0
    assert errors(samples, BATCHED, "database") == 0
    assert re.search(r"reason=timeout error=\"PostgreSQL query cancelled after "
                     r"postgres.statement_timeout \(1s500ms\)", exporter.log_text())
    durations = series(samples, "scalr_exporter_last_poll_duration_seconds", account_id=BATCHED)
    assert 1.4 <= list(durations.values())[0] < 2.0
    # The same query with room for the whole read succeeds, with every row.
    exporter.stop()
    patient = pg_exporter_factory(server, accounts=[BATCHED], overrides={
        "postgres": {"query": query, "statement_timeout": "20s"}})
    samples = wait_up(patient, [BATCHED], timeout=40)
    assert sample_value(samples, "scalr_account_runs_total", account_id=BATCHED) == 10_001
    durations = series(samples, "scalr_exporter_last_poll_duration_seconds", account_id=BATCHED)
    assert list(durations.values())[0] >= 1.9  # so no single FETCH reached 1.5 s on its own


def test_runs_exactly_at_the_period_boundaries(postgres, pg_exporter_factory):
    exporter = pg_exporter_factory(postgres, accounts=[BOUNDARY.account_id])
    samples = wait_up(exporter, [BOUNDARY.account_id])
    workspaces = values_by(samples, "scalr_workspace_run_seconds_total", "workspace_id")
    runs = values_by(samples, "scalr_workspace_runs_total", "workspace_id")
    # The first instant of the month counts; the last second and the last microsecond of the
    # previous month do not, nor does the first instant of the next month.
    assert (runs.get((BOUNDARY.first,)), workspaces.get((BOUNDARY.first,))) == (1, 777)
    assert (BOUNDARY.last,) not in workspaces
    assert (BOUNDARY.next,) not in workspaces
    environment = values_by(samples, "scalr_environment_run_seconds_total", "environment_id")
    assert environment[(BOUNDARY.environment_id,)] == 777


def test_account_filter_exposes_exactly_those_accounts_with_zeros_when_idle(
        postgres, pg_runs, pg_exporter_factory):
    unknown = "acc-notinthedata000"
    accounts = [MAIN, EMPTY, unknown]
    exporter = pg_exporter_factory(postgres, accounts=accounts)
    samples = wait_up(exporter, accounts)
    start, end = current_month()
    assert_exact(samples, helpers.expected_from_runs(pg_runs, start, end, accounts=accounts))
    for idle in (EMPTY, unknown):
        assert sample_value(samples, "scalr_account_runs_total", account_id=idle) == 0
        assert sample_value(samples, "scalr_account_run_seconds_total", account_id=idle) == 0
        assert not series(samples, "scalr_workspace_runs_total", account_id=idle)
    assert not series(samples, "scalr_up", account_id=TINY)


@pytest.mark.parametrize("dsn_via, form", [("file", "kv"), ("env", "uri")])
def test_dsn_from_file_or_environment_in_either_form(postgres, pg_exporter_factory, dsn_via,
                                                     form):
    exporter = pg_exporter_factory(postgres, accounts=[TINY], dsn=postgres.dsn(form=form),
                                   dsn_via=dsn_via)
    wait_up(exporter, [TINY])
    origin = "dsn_file " if dsn_via == "file" else "env SCALR_USAGE_PG_DSN"
    assert re.search(rf'msg="starting scalr-usage-exporter".* dsn=.*xxxxx.*dsn_origin="?{origin}',
                     exporter.log_text())
    assert_no_secret(exporter)


# ---- custom queries ---------------------------------------------------------------------------

# The same runs under other column names, without the staging environment. Its period filter goes
# through ::date, which follows the session's TimeZone, and it returns finished_at::date, which
# follows DateStyle: the exporter must make both UTC/ISO whatever the server's defaults are.
CUSTOM_QUERY = """
-- production-ish environments only
WITH runs AS (
  SELECT account_id AS acc, environment_id AS env, environment_name AS env_name,
         workspace_id AS ws, workspace_name AS ws_name, finished_at, duration_seconds AS secs
    FROM scalr_runs
   WHERE finished_at::date >= $1::date AND finished_at::date < $2::date
     AND environment_name <> 'staging'
)
SELECT acc AS account_id, env AS environment_id, max(env_name) AS environment_name,
       ws AS workspace_id, max(ws_name) AS workspace_name, finished_at::date AS date,
       count(*)::int AS runs_count, sum(secs)::bigint AS runs_seconds, 42 AS ignored
  FROM runs
 GROUP BY acc, env, ws, finished_at::date
 ORDER BY 1, 4, 6;  -- a trailing semicolon and comment, as pasted from psql
"""


def account_info_names(samples) -> dict:
    """{account_id: account_name} of scalr_account_info."""
    return {dict(l)["account_id"]: dict(l)["account_name"]
            for (n, l) in samples if n == "scalr_account_info"}


def test_custom_query_gives_its_numbers(postgres, pg_runs, pg_exporter_factory):
    start, end = current_month()
    expected = helpers.expected_from_runs(pg_runs, start, end,
                                          where=lambda r: r.environment_name != "staging")
    exporter = pg_exporter_factory(postgres, overrides={"postgres": {"query": CUSTOM_QUERY}})
    samples = wait_up(exporter, expected.accounts)
    assert_exact(samples, expected)
    assert "query=custom" in exporter.log_text()
    # It returns neither account_name nor workspace_tags: the names are unknown, and that is fine.
    assert account_info_names(samples) == {a: "" for a in expected.accounts}
    assert "account_name" not in exporter.log_text()


def test_queries_run_read_only(postgres, pg_exporter_factory):
    """A query that would write fails: the transaction is read-only, whatever the role may do."""
    postgres.psql("CREATE SEQUENCE IF NOT EXISTS sue_probe; "
                  f"GRANT USAGE, UPDATE ON SEQUENCE sue_probe TO {helpers.PG_USER}")
    query = f"SELECT d.* FROM ({default_query_text()}) AS d CROSS JOIN nextval('sue_probe')"
    exporter = pg_exporter_factory(postgres, accounts=[MAIN],
                                   overrides={"postgres": {"query": query}})
    samples = wait_until(lambda: errors(exporter.metrics(), MAIN, "database") >= 1
                         and exporter.metrics(), 20, 0.1, "a database error")
    assert sample_value(samples, "scalr_up", account_id=MAIN) == 0
    assert "cannot execute nextval() in a read-only transaction" in exporter.log_text()
    assert postgres.psql("SELECT is_called FROM sue_probe").strip() == "f"


MISSING_COLUMNS_QUERY = """SELECT account_id, environment_id, environment_name, workspace_id,
       (finished_at AT TIME ZONE 'UTC')::date AS date, count(*) AS runs_count
  FROM scalr_runs WHERE finished_at >= $1 AND finished_at < $2
 GROUP BY 1, 2, 3, 4, 5"""


def test_custom_query_missing_columns_fails_before_listening(postgres, sue_binary, tmp_path):
    config = write_config(tmp_path, postgres, query=MISSING_COLUMNS_QUERY)
    result = run_binary(sue_binary, config)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    error = [l for l in lines if "level=error" in l]
    assert len(error) == 1, result.stderr
    assert "postgres.query: missing column(s) workspace_name, runs_seconds" in error[0]
    assert "msg=listening" not in result.stderr
    assert SECRET_FRAGMENT not in result.stderr + result.stdout

    check = run_binary(sue_binary, config, "--check-config")
    assert check.returncode == 1
    assert check.stderr.startswith("postgres.query: missing column(s) workspace_name, runs_seconds")
    assert len(check.stderr.strip().splitlines()) == 1, check.stderr


@pytest.mark.parametrize("query, detail", [
    ("SELEC account_id FROM scalr_runs", "syntax error"),
    ("SELECT * FROM no_such_table WHERE $1 < $2", "no_such_table"),
])
def test_broken_custom_query_fails_before_listening(postgres, sue_binary, tmp_path, query, detail):
    config = write_config(tmp_path, postgres, query=query)
    result = run_binary(sue_binary, config)
    assert result.returncode == 1
    assert re.search(r"level=error .*postgres\.query: .*" + detail, result.stderr), result.stderr
    assert "msg=listening" not in result.stderr


def test_check_config_connects_when_it_can(postgres, sue_binary, tmp_path):
    ok = run_binary(sue_binary, write_config(tmp_path, postgres), "--check-config")
    assert ok.returncode == 0, ok.stderr
    assert "configuration is valid" in ok.stdout and ok.stderr == ""

    # A database that does not answer is no configuration error, but is reported.
    down = helpers.free_port()
    dsn = postgres.dsn().replace(f"port={postgres.port}", f"port={down}")
    unreachable = run_binary(sue_binary, write_config(tmp_path, dsn=dsn), "--check-config")
    assert unreachable.returncode == 0
    assert unreachable.stderr.startswith("warning: postgres.query not checked: cannot connect")
    assert SECRET_FRAGMENT not in unreachable.stderr + unreachable.stdout

    # A DSN libpq cannot parse is one, and its password stays hidden.
    bad = "host=127.0.0.1 password=pw-RECOGNISABLE-1 sslmode"
    invalid = run_binary(sue_binary, write_config(tmp_path, dsn=bad), "--check-config")
    assert invalid.returncode == 1
    assert invalid.stderr.startswith("postgres.dsn: invalid connection string"), invalid.stderr
    assert SECRET_FRAGMENT not in invalid.stderr + invalid.stdout


# ---- failures ---------------------------------------------------------------------------------

def test_database_down_at_start_then_up(postgres_factory, pg_runs, pg_exporter_factory):
    server = postgres_factory()
    server.stop()
    filtered = pg_exporter_factory(server, accounts=[MAIN])
    discovering = pg_exporter_factory(server)

    def failed_once():
        samples = filtered.metrics()
        return samples if errors(samples, MAIN, "database") >= 1 else None
    samples = wait_until(failed_once, 20, 0.1, "a database error")
    assert sample_value(samples, "scalr_up", account_id=MAIN) == 0
    assert sample_value(samples, "scalr_exporter_source_up") == 0
    assert sample_value(samples, "scalr_account_runs_total", account_id=MAIN) is None
    assert filtered.scrape("/-/ready").status == 200
    # Without a filter no account is known yet: the source gauge is what tells.
    samples = wait_until(lambda: sample_value(discovering.metrics(), "scalr_exporter_source_up")
                         == 0 and discovering.metrics(), 20, 0.1, "source down")
    assert not series(samples, "scalr_up")
    assert re.search(r'level=warn msg="cannot check postgres.query at start', filtered.log_text())

    server.start()
    start, end = current_month()
    samples = wait_up(filtered, [MAIN])
    assert_exact(samples, helpers.expected_from_runs(pg_runs, start, end, accounts=[MAIN]))
    expected = helpers.expected_from_runs(pg_runs, start, end)
    assert_exact(wait_up(discovering, expected.accounts), expected)
    for exporter in (filtered, discovering):
        assert exporter.alive()
        assert_no_secret(exporter)


def test_database_restart_while_running(postgres_factory, pg_runs, pg_exporter_factory):
    server = postgres_factory()
    exporter = pg_exporter_factory(server)
    start, end = current_month()
    expected = helpers.expected_from_runs(pg_runs, start, end)
    accounts = list(expected.accounts)
    wait_up(exporter, accounts)

    server.stop("fast")

    def all_down():
        samples = exporter.metrics()
        return samples if all(sample_value(samples, "scalr_up", account_id=a) == 0
                              and errors(samples, a, "database") >= 1 for a in accounts) else None
    samples = wait_until(all_down, 20, 0.1, "every account down")
    assert sample_value(samples, "scalr_exporter_source_up") == 0
    assert_exact(samples, expected)  # the last good values are still served
    time.sleep(2.5)  # a few more failing polls
    assert exporter.alive()
    assert exporter.scrape("/-/healthy").status == 200

    server.start()
    # A run that finished just now: new data must arrive through the new connection.
    now = dt.datetime.now(dt.timezone.utc)
    fresh = helpers.Run("run-after-restart", MAIN, "env-restart0000000000", "restart",
                        "ws-restart00000000000", "after-restart",
                        max(now - dt.timedelta(minutes=1),
                            dt.datetime.combine(start, dt.time(0), dt.timezone.utc)), 4242)
    server.load_runs([fresh])
    expected = helpers.expected_from_runs(pg_runs + [fresh], start, end)

    def recovered():
        samples = wait_up(exporter, accounts)
        return samples if sample_value(samples, "scalr_account_run_seconds_total",
                                       account_id=MAIN) == expected.accounts[MAIN].seconds else None
    samples = wait_until(recovered, 20, 0.2, "new values after the restart")
    assert_exact(samples, expected)

    log = exporter.log_text()
    assert re.search(rf'msg="poll recovered" account={MAIN}', log)
    # Logged once per change of state, not once per failed poll.
    failures = [l for l in log.splitlines() if "level=error" in l and f"account={MAIN}" in l]
    assert len(failures) == 1, failures
    assert_no_secret(exporter)
    assert exporter.stop() == 0


def test_restart_between_polls_reconnects_without_an_error(postgres_factory, pg_exporter_factory):
    server = postgres_factory()
    exporter = pg_exporter_factory(server, accounts=[MAIN], overrides={"poll": {"interval": "4s"}})
    wait_up(exporter, [MAIN])
    reads = exporter.log_text().count("read usage rows from PostgreSQL")
    server.stop("fast")
    server.start()
    # The kept connection is dead now; the next poll finds out, reconnects and tries again at once.
    wait_until(lambda: exporter.log_text().count("read usage rows from PostgreSQL") > reads, 15, 0.1,
               "a poll after the restart")
    samples = exporter.metrics()
    assert sample_value(samples, "scalr_up", account_id=MAIN) == 1
    assert errors(samples, MAIN, "database") == 0
    assert "PostgreSQL connection lost, reconnecting" in exporter.log_text()


SLOW_QUERY = """SELECT d.* FROM ({default}) AS d CROSS JOIN pg_sleep({seconds})"""


def default_query_text() -> str:
    """The default query, as README.md documents it (the ```sql block under "Default query")."""
    readme = (helpers.REPO_ROOT / "README.md").read_text()
    match = re.search(r"### Default query\n.*?```sql\n(.*?)```", readme, re.S)
    assert match, "README.md must show the default query in a ```sql block"
    return match.group(1).strip()


def test_statement_timeout_is_counted_as_timeout(postgres, pg_exporter_factory):
    query = SLOW_QUERY.format(default=default_query_text(), seconds=3)
    exporter = pg_exporter_factory(postgres, accounts=[MAIN], overrides={
        "postgres": {"query": query, "statement_timeout": "1s"}})
    samples = wait_until(lambda: errors(exporter.metrics(), MAIN, "timeout") >= 1
                         and exporter.metrics(), 20, 0.1, "a timeout")
    assert sample_value(samples, "scalr_up", account_id=MAIN) == 0
    assert sample_value(samples, "scalr_exporter_source_up") == 0
    assert errors(samples, MAIN, "database") == 0
    assert sample_value(samples, "scalr_account_runs_total", account_id=MAIN) is None
    assert re.search(r"reason=timeout error=\"PostgreSQL query cancelled after "
                     r"postgres.statement_timeout \(1s\)", exporter.log_text())
    # The poll ends when the server cancels the statement, not when pg_sleep would.
    durations = series(samples, "scalr_exporter_last_poll_duration_seconds", account_id=MAIN)
    assert 0.9 <= list(durations.values())[0] < 2.5


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_long_query_stops_within_seconds(postgres, pg_exporter_factory, sig):
    query = SLOW_QUERY.format(default=default_query_text(), seconds=60)
    # The poll reads through a cursor, so the running statement is the FETCH; a session name of
    # its own tells this exporter's from the others'.
    session = f"sue-signal-test-{sig}"
    exporter = pg_exporter_factory(
        postgres, accounts=[MAIN], dsn=postgres.dsn() + f" application_name={session}",
        overrides={"postgres": {"query": query, "statement_timeout": "5m"}})
    running = lambda: postgres.active_queries("FETCH FORWARD", application_name=session)
    wait_until(lambda: running() >= 1, 20, 0.1, "the slow query running")
    started = time.monotonic()
    exporter.signal(sig)
    exporter.proc.wait(10)
    assert time.monotonic() - started < 5
    assert exporter.proc.returncode == 0
    assert "shutting down" in exporter.log_text()
    # Cancelled on the server too, not left running for minutes.
    wait_until(lambda: running() == 0, 5, 0.1, "the query cancelled on the server")
    errors_logged = [l for l in exporter.log_text().splitlines() if "level=error" in l]
    assert not errors_logged, errors_logged


@pytest.mark.parametrize("form", ["kv", "uri"])
def test_wrong_password_is_a_database_error_and_never_shown(postgres, pg_exporter_factory, form):
    wrong = "WRONG-pw-RECOGNISABLE-4242'"
    exporter = pg_exporter_factory(postgres, accounts=[MAIN],
                                   dsn=postgres.dsn(password=wrong, form=form))
    samples = wait_until(lambda: errors(exporter.metrics(), MAIN, "database") >= 2
                         and exporter.metrics(), 20, 0.1, "database errors")
    assert sample_value(samples, "scalr_up", account_id=MAIN) == 0
    assert sample_value(samples, "scalr_exporter_source_up") == 0
    assert "password authentication failed" in exporter.log_text()
    assert_no_secret(exporter, wrong)
    exporter.stop()
    assert_no_secret(exporter, wrong)


# ---- the exposition ---------------------------------------------------------------------------

def test_promtool_check_metrics_is_clean(postgres, pg_exporter_factory):
    exporter = pg_exporter_factory(postgres)
    wait_up(exporter, [MAIN])
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    result = subprocess.run([promtool, "check", "metrics"], input=exporter.scrape().body,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == b"" and result.stderr.strip() == b"", result.stdout + result.stderr
    parsed = helpers.parse_exposition(exporter.scrape().body)
    assert parsed.types["scalr_exporter_source_up"] == "gauge"
    assert parsed.help["scalr_exporter_source_up"]
    # No Scalr API here, so no API request counts.
    assert "scalr_exporter_api_requests_total" not in parsed.types


def test_readme_shows_the_query_the_exporter_runs(postgres):
    """The default query in README.md is the one in collectors/postgres/queries.h, and it runs
    against the shipped schema and returns the documented columns."""
    header = (helpers.REPO_ROOT / "collectors/postgres/queries.h").read_text()
    match = re.search(r'kDefaultQuery = R"sql\((.*?)\)sql"', header, re.S)
    assert match and match.group(1).strip() == default_query_text()
    start, end = current_month()
    out = postgres.psql(f"PREPARE q(timestamptz, timestamptz) AS {default_query_text()};\n"
                        f"EXECUTE q('{start.isoformat()}T00:00:00Z', '{end.isoformat()}T00:00:00Z')")
    assert out.strip()
    columns = postgres.psql(
        f"CREATE TEMP VIEW v AS {default_query_text().replace('$1', 'now()').replace('$2', 'now()')};"
        "SELECT string_agg(attname::text, ',' ORDER BY attnum) FROM pg_attribute "
        "WHERE attrelid = 'v'::regclass AND attnum > 0")
    assert tuple(columns.strip().split(",")) == REQUIRED_COLUMNS + OPTIONAL_COLUMNS

