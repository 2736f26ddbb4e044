"""Golden expositions: the whole /metrics text of the real daemon, compared byte for byte with a
file in tests/golden/ (after prometheus/node_exporter's e2e-output.txt).

  scalr_api.prom  the daemon against the stand-in Scalr server (profile "fixed")
  postgres.prom   the daemon against a throwaway PostgreSQL 15 cluster loaded with the same data

Both daemons run with a billing plan and one monthly report schedule, so every family the daemon
writes has samples, and poll only once (poll.interval 1h): the text is taken once the first poll
cycle has ended and the catch-up report is written, after which nothing changes it.

Determinism across dates. The daemon always polls the current calendar month (UTC). The data is
sample_data's profile "fixed": day N (1..28) of any month has the usage small has on day N of
February 2026, and days 29 to 31 have none, so the sums are the same whatever month the test runs
in. The stub serves that profile for the dates the daemon asks for; PostgreSQL is loaded with its
runs (helpers.runs_of_row) of the current month, computed when the test runs, and of the months
around it (not counted), plus helpers.BOUNDARY's runs at the month's edges.

Normalisation (normalise()). Only these values are replaced, each by a placeholder after a check
that the real value is plausible; the line itself stays, so names, label sets, HELP/TYPE lines and
order are still compared exactly:
  scalr_billing_period_start/end_timestamp_seconds  <month-start>/<month-end>: the value must be
                          the current month's bounds (the only date-dependent usage values)
  scalr_exporter_last_success_timestamp_seconds, ..._config_last_reload_success_timestamp_seconds,
  ..._report_last_success_timestamp_seconds, process_start_time_seconds
                          <unix-time>: must fall between the daemon's start and the scrape
  scalr_exporter_last_poll_duration_seconds, ..._poll_cycle_duration_seconds,
  ..._api_request_duration_seconds_sum
                          <duration>: must be a number from 0 to 60 (seconds)
  scalr_exporter_api_request_duration_seconds_bucket below +Inf
                          <bucket>: must be a whole number (the count and +Inf stay exact)
  process_cpu_seconds_total, process_open_fds, process_max_fds (the runner's ulimit),
  process_virtual_memory_bytes, process_resident_memory_bytes
                          <process>: must be a number >= 0
  scalr_exporter_build_info's revision label (the git commit built)
                          <revision>: must be 12 hex digits or "unknown"
The version label stays: it changes only with the source. Everything else, request counts and
error counters included, is deterministic here and compared as is.

SUE_GOLDEN_UPDATE=1 writes the files instead of comparing (scripts/regen-golden). Whatever the
files say, test_golden_numbers_equal_sums_of_the_sample_data checks every usage sample in them
against sums computed here from small's February 2026 raw rows, so a regenerated file cannot bless
a wrong number.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import os
import re
import time

import pytest

import helpers
from helpers import BOUNDARY, Usage, sample_data, sample_value

GOLDEN_DIR = helpers.REPO_ROOT / "tests" / "golden"
GOLDEN = {"scalr_api": GOLDEN_DIR / "scalr_api.prom", "postgres": GOLDEN_DIR / "postgres.prom"}
UPDATE = os.environ.get("SUE_GOLDEN_UPDATE") == "1"
PROFILE = "fixed"
SCHEDULE = "monthly"
INCLUDED_RUNS = 2000
REPORT_LAST_SUCCESS = "scalr_exporter_report_last_success_timestamp_seconds"

UNIX_TIME, DURATION, PROCESS = "<unix-time>", "<duration>", "<process>"
MONTH_START, MONTH_END, REVISION = "<month-start>", "<month-end>", "<revision>"
VOLATILE = {
    "scalr_exporter_last_success_timestamp_seconds": UNIX_TIME,
    "scalr_exporter_config_last_reload_success_timestamp_seconds": UNIX_TIME,
    REPORT_LAST_SUCCESS: UNIX_TIME,
    "process_start_time_seconds": UNIX_TIME,
    "scalr_exporter_last_poll_duration_seconds": DURATION,
    "scalr_exporter_poll_cycle_duration_seconds": DURATION,
    "scalr_exporter_api_request_duration_seconds_sum": DURATION,
    "process_cpu_seconds_total": PROCESS,
    "process_open_fds": PROCESS,
    "process_max_fds": PROCESS,
    "process_virtual_memory_bytes": PROCESS,
    "process_resident_memory_bytes": PROCESS,
    "scalr_billing_period_start_timestamp_seconds": MONTH_START,
    "scalr_billing_period_end_timestamp_seconds": MONTH_END,
}
DURATION_BUCKET, BUCKET = "scalr_exporter_api_request_duration_seconds_bucket", "<bucket>"
PLACEHOLDERS = (UNIX_TIME, DURATION, PROCESS, MONTH_START, MONTH_END, BUCKET)
# Tolerance of the <unix-time> check: process_start_time_seconds is counted from the boot time,
# which /proc/stat gives in whole seconds.
CLOCK_SLACK = 5.0
_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)")
_REVISION_LABEL = re.compile(r'(revision=")([^"]*)(")')


def month_of(unix: float):
    """(start, end) of the UTC calendar month containing unix, as Unix seconds."""
    day = dt.datetime.fromtimestamp(unix, dt.timezone.utc).date()
    start, end = helpers.month_bounds(day.year, day.month)
    return tuple(dt.datetime.combine(d, dt.time(0), dt.timezone.utc).timestamp()
                 for d in (start, end))


def normalise(text: str, started: float, scraped: float) -> str:
    """text with the values of VOLATILE's families and the build revision replaced by their
    placeholders (see the module docstring). started/scraped: Unix times just before the daemon
    started and just after the scrape. Raises AssertionError when a replaced value is not what
    its placeholder stands for."""
    months = {month_of(started), month_of(scraped)}  # two only if the month turned meanwhile
    out = []
    for line in text.split("\n"):
        match = None if line.startswith("#") else _SAMPLE.fullmatch(line)
        if match and match.group(1) in VOLATILE:
            name, placeholder, raw = match.group(1), VOLATILE[match.group(1)], match.group(3)
            value = float(raw)  # "NaN" and "+Inf" parse too, and fail every check below
            if placeholder == UNIX_TIME:
                ok = started - CLOCK_SLACK <= value <= scraped + CLOCK_SLACK
            elif placeholder == DURATION:
                ok = 0 <= value <= 60
            elif placeholder == PROCESS:
                ok = math.isfinite(value) and value >= 0
            else:
                ok = value in {m[0 if placeholder == MONTH_START else 1] for m in months}
            assert ok, f"{name}: {raw} is not a plausible {placeholder}: {line!r}"
            line = line[:match.start(3)] + placeholder
        elif match and match.group(1) == DURATION_BUCKET and 'le="+Inf"' not in line:
            # How many requests took under each bound depends on the machine's load; the count
            # (and the +Inf bucket) does not.
            raw = match.group(3)
            assert re.fullmatch(r"[0-9]+", raw), f"{raw} is not a plausible <bucket>: {line!r}"
            line = line[:match.start(3)] + BUCKET
        elif match and match.group(1) == "scalr_exporter_build_info":
            revision = _REVISION_LABEL.search(line)
            assert revision and re.fullmatch(r"[0-9a-f]{12}|unknown", revision.group(2)), line
            line = _REVISION_LABEL.sub(lambda m: m.group(1) + REVISION + m.group(3), line)
        out.append(line)
    return "\n".join(out)


def overrides(output_dir) -> dict:
    return {"poll": {"interval": "1h"},
            "billing": {"included_runs": INCLUDED_RUNS},
            "reports": {"output_dir": str(output_dir),
                        "schedules": [{"name": SCHEDULE, "cron": "0 6 1 * *",
                                       "period": "previous_month", "formats": ["json"]}]}}


def wait_complete(exporter, accounts, timeout: float = 60) -> None:
    """Waits until the first poll cycle has ended (scalr_exporter_source_up is written at its end
    only) with every account up, and the catch-up report is written. Until the next poll in an hour
    or the next fire of the schedule, nothing changes the exposition after that."""
    def complete():
        samples = exporter.metrics()
        missing = [f"scalr_up of {a}" for a in accounts
                   if sample_value(samples, "scalr_up", account_id=a) != 1]
        if sample_value(samples, "scalr_exporter_source_up") != 1:
            missing.insert(0, "the end of the first poll cycle")
        if sample_value(samples, REPORT_LAST_SUCCESS, schedule=SCHEDULE) is None:
            missing.append("the catch-up report")
        if missing:
            raise AssertionError("not yet: " + ", ".join(missing))
        return True
    try:
        helpers.wait_until(complete, timeout, 0.1, "the first poll cycle and the catch-up report")
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- exporter log ---\n{exporter.log_text()[-3000:]}") from None


def check_golden(source: str, exporter, accounts, started: float) -> None:
    wait_complete(exporter, accounts)
    r = exporter.scrape()
    scraped = time.time()
    assert r.status == 200, r
    text = normalise(r.body.decode("utf-8"), started, scraped)
    path = GOLDEN[source]
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    golden = path.read_bytes().decode("utf-8")
    if text != golden:
        diff = "".join(difflib.unified_diff(golden.splitlines(True), text.splitlines(True),
                                            str(path), "daemon /metrics (normalised)"))
        pytest.fail(f"/metrics differs from {path.name} (scripts/regen-golden rewrites it if "
                    f"the change is intended):\n{diff[:20000]}", pytrace=False)


# ---- the daemon's output against the golden files ---------------------------------------------

def test_scalr_api_exposition_equals_the_golden_file(stub_factory, exporter_factory, tmp_path):
    stub = stub_factory(profile=PROFILE)
    started = time.time()
    exporter = exporter_factory(stub, overrides=overrides(tmp_path / "reports"))
    check_golden("scalr_api", exporter, sample_data.accounts(PROFILE), started)


def golden_runs(today: dt.date) -> list:
    """The runs of profile "fixed" from two months before today's month to the month after it, and
    the boundary runs of today's month. The months around it keep the catch-up report's months
    as full as any other and must not count; the month's own numbers do not depend on today."""
    start, end = helpers.month_bounds(today.year, today.month)
    first = (start - dt.timedelta(days=32)).replace(day=1)
    first = (first - dt.timedelta(days=1)).replace(day=1)
    last = (end + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    runs = [run for row in sample_data.raw_rows(first, last, PROFILE)
            for run in helpers.runs_of_row(row)]
    return runs + helpers.boundary_runs(start, end)


def test_postgres_exposition_equals_the_golden_file(postgres_factory, pg_exporter_factory,
                                                    tmp_path):
    server = postgres_factory(load=False)
    server.setup_database()
    server.load_runs(golden_runs(dt.datetime.now(dt.timezone.utc).date()))
    accounts = [a for a, u in expected_postgres().accounts.items() if u.runs]
    started = time.time()
    exporter = pg_exporter_factory(server, overrides=overrides(tmp_path / "reports"))
    check_golden("postgres", exporter, accounts, started)


# ---- the golden files against sums of the sample data -----------------------------------------

def february_2026() -> helpers.Expected:
    """Sums of small's raw rows of February 2026, which every month of "fixed" repeats; computed
    from the raw rows directly, not through "fixed" or the stub."""
    return helpers.expected_usage("2026-02-01", "2026-03-01", "small")


def expected_postgres() -> helpers.Expected:
    """february_2026() plus the one boundary run that counts (at the first instant of the month),
    counted run by run; accounts without runs are not listed (the source discovers accounts)."""
    exp = february_2026()
    start, end = helpers.month_bounds(2026, 2)  # the boundary runs are the same in every month
    edge = helpers.expected_from_runs(helpers.boundary_runs(start, end), start, end)
    assert edge.accounts == {BOUNDARY.account_id: Usage(1, 777)}
    merged = []
    for field in ("accounts", "environments", "workspaces"):
        level = dict(getattr(exp, field))
        for key, usage in getattr(edge, field).items():
            level[key] = level.get(key, Usage()) + usage
        merged.append(level)
    accounts, environments, workspaces = merged
    return exp._replace(
        accounts={a: u for a, u in accounts.items() if u.runs}, environments=environments,
        workspaces=workspaces,
        environment_names={**exp.environment_names, **edge.environment_names},
        workspace_names={**exp.workspace_names, **edge.workspace_names},
        workspace_environments={**exp.workspace_environments, **edge.workspace_environments})


def listed_environments() -> dict:
    """{(account, workspace): (environment_id, environment_name)} as the stand-in's workspace
    listing gives them to enrichment: the workspace's environment, ("", "") once deleted."""
    return {(ws.account_id, ws.id): ("", "") if sample_data.is_deleted(ws) else
            (ws.environment_id, ws.environment_name)
            for account in sample_data.accounts("small").values() for ws in account.workspaces}


def expected_series(exp: helpers.Expected, workspace_environment: str) -> dict:
    """{(family, frozenset(labels)): value} of the six usage families for exp. The Scalr API's
    workspace breakdown says nothing of environments: workspace_environment "listing" adds them as
    workspace enrichment finds them in the workspace listing; "rows" as PostgreSQL's rows say."""
    out = {}
    listed = listed_environments()
    for suffix, field in (("runs_total", "runs"), ("run_seconds_total", "seconds")):
        for account, usage in exp.accounts.items():
            out[(f"scalr_account_{suffix}", frozenset({"account_id": account}.items()))] = \
                getattr(usage, field)
        for (account, environment), usage in exp.environments.items():
            labels = {"account_id": account, "environment_id": environment,
                      "environment_name": exp.environment_names[(account, environment)]}
            out[(f"scalr_environment_{suffix}", frozenset(labels.items()))] = getattr(usage, field)
        for (account, workspace), usage in exp.workspaces.items():
            labels = {"account_id": account, "workspace_id": workspace,
                      "workspace_name": exp.workspace_names[(account, workspace)] or ""}
            if workspace_environment == "rows":
                environment = exp.workspace_environments[(account, workspace)]
                labels.update(environment_id=environment,
                              environment_name=exp.environment_names[(account, environment)])
            else:
                environment, name = listed[(account, workspace)]
                labels.update(environment_id=environment, environment_name=name)
            out[(f"scalr_workspace_{suffix}", frozenset(labels.items()))] = getattr(usage, field)
    return out


USAGE_FAMILIES = {f"scalr_{level}_{suffix}" for level in ("account", "environment", "workspace")
                  for suffix in ("runs_total", "run_seconds_total")}


@pytest.mark.parametrize("source", sorted(GOLDEN))
def test_golden_numbers_equal_sums_of_the_sample_data(source):
    """Parses the golden file itself (not the daemon's output): every usage sample equals the sum
    computed from the raw rows, no expected series is missing and none is extra."""
    text = GOLDEN[source].read_text(encoding="utf-8")
    # The placeholders stand where values were; NaN lets the strict parser check the rest.
    parsed = helpers.parse_exposition(re.sub(
        r" (" + "|".join(map(re.escape, PLACEHOLDERS)) + r")$", " NaN", text, flags=re.M))
    exp = february_2026() if source == "scalr_api" else expected_postgres()
    want = expected_series(exp, "listing" if source == "scalr_api" else "rows")
    got = {key: value for key, value in parsed.samples.items() if key[0] in USAGE_FAMILIES}
    missing = sorted(set(want) - set(got), key=repr)
    extra = sorted(set(got) - set(want), key=repr)
    assert not missing and not extra, f"missing: {missing[:5]}, extra: {extra[:5]}"
    wrong = {k: (got[k], v) for k, v in want.items() if got[k] != v}
    assert not wrong, f"(golden, expected) differ: {list(wrong.items())[:5]}"
    for family in USAGE_FAMILIES:
        assert parsed.types[family] == "counter" and parsed.help[family], family

    # The per-account series besides the usage: exactly the expected accounts, each up, with the
    # plan's included runs and the placeholders of the current month's bounds.
    accounts = set(exp.accounts)
    assert set(exp.accounts) >= {sample_data.ACCOUNT_MAIN, sample_data.ACCOUNT_TINY}
    for family, value in (("scalr_up", 1), ("scalr_account_included_runs", INCLUDED_RUNS)):
        assert helpers.values_by(parsed.samples, family, "account_id") == \
            {(a,): value for a in accounts}, family
    for family, placeholder in (("scalr_billing_period_start_timestamp_seconds", MONTH_START),
                                ("scalr_billing_period_end_timestamp_seconds", MONTH_END)):
        lines = [l for l in text.splitlines() if l.startswith(family + "{")]
        assert sorted(lines) == sorted(f'{family}{{account_id="{a}"}} {placeholder}'
                                       for a in accounts), family
    # Account names: discovery's for the API; for PostgreSQL, the latest named run's of the runs
    # of February 2026 (helpers.runs_of_row: names depend on the day of the month only).
    if source == "scalr_api":
        names = helpers.account_names("small")
    else:
        start, end = helpers.month_bounds(2026, 2)
        runs = [r for row in sample_data.raw_rows(start, end - dt.timedelta(days=1), "small")
                for r in helpers.runs_of_row(row)]
        names = helpers.expected_account_names(runs, start, end)
        assert names[sample_data.ACCOUNT_DEMO] == sample_data.ACCOUNT_NAME_HOSTILE
    info = {dict(labels)["account_id"]: dict(labels)["account_name"]
            for (name, labels) in parsed.samples if name == "scalr_account_info"}
    assert set(info) >= accounts and sample_data.ACCOUNT_MAIN in names
    assert info == {a: names.get(a, "") for a in info}
    errors = {k: v for k, v in parsed.samples.items()
              if k[0] in ("scalr_exporter_poll_errors_total", "scalr_exporter_report_errors_total")}
    assert errors and not any(errors.values()), errors
    assert sample_value(parsed.samples, "scalr_exporter_source_up") == 1
