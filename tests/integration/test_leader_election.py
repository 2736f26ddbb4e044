"""Report leader election (reports.leader_election) with two real daemons and a real PostgreSQL 15:
exactly one replica writes the scheduled reports; kill -9 of the leader hands leadership to the
other within 15 s, and the new leader writes nothing already written; a database outage makes
nobody write and nobody crash, and writing resumes, exactly once, when the database is back.

Each replica writes to an output directory of its own, so the files show who wrote what, and the
state table shows what the replicas recorded. Expected file names come from the stand-in's
accounts and the previous month (the schedule's period); the advisory lock's key is computed here
with FNV-1a, independently of the exporter.
"""

from __future__ import annotations

import datetime as dt
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import helpers
from helpers import sample_data, sample_value, wait_until

SCHEDULE = "minutely"
LOCK_KEY = "sue-test-reports"
FORMATS = ("csv", "json")
TABLE = "scalr_usage_exporter_report_state"
REPORT_STATE_SQL = helpers.REPO_ROOT / "etc" / "postgres" / "report_state.sql"
DELIVERY_TABLE = "scalr_usage_exporter_report_delivery"
HANDOVER_SECONDS = 15
LEADER_REASONS = {"connect", "connection_lost", "lock_lost", "query", "state_table"}


def fnv1a_64(text: str) -> int:
    value = 14695981039346656037
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 1099511628211) % 2**64
    return value


def previous_month_key() -> str:
    first_of_this = dt.datetime.now(dt.timezone.utc).date().replace(day=1)
    return (first_of_this - dt.timedelta(days=1)).strftime("%Y-%m")


def expected_files(key: str) -> set:
    return {f"scalr-usage_{account}_{key}.{fmt}"
            for account in sample_data.accounts("small") for fmt in FORMATS}


def report_files(directory: Path) -> dict:
    """name -> (inode, mtime) of every report file the replica wrote (none: {})."""
    schedule_dir = directory / SCHEDULE
    if not schedule_dir.is_dir():
        return {}
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in schedule_dir.iterdir()
            if not p.name.startswith(".")}


def state_rows(pg: helpers.PostgresServer) -> list:
    out = pg.psql(f"SELECT lock_key, schedule, period_key, fire_time, written_at FROM {TABLE} "
                  "ORDER BY lock_key, schedule")
    return [tuple(line.split("|")) for line in out.splitlines() if line]


def leader_value(exporter):
    return sample_value(exporter.metrics(), "scalr_exporter_report_leader")


def wait_for_one_leader(exporters, timeout: float = 60):
    """Waits until exactly one replica says it leads and every other that it does not; returns
    (leader, followers)."""
    def one():
        values = [leader_value(e) for e in exporters]
        if sorted(values) == [0] * (len(values) - 1) + [1]:
            return values
        return None
    try:
        values = wait_until(one, timeout, 0.2, "exactly one report leader")
    except AssertionError as e:
        logs = "\n".join(f"--- {e_.workdir.name} ---\n{e_.log_text()[-2500:]}" for e_ in exporters)
        raise AssertionError(f"{e}\n{logs}") from None
    leader = exporters[values.index(1)]
    return leader, [e for e in exporters if e is not leader]


def writes_logged(exporter) -> int:
    return exporter.log_text().count('msg="scheduled report written"')


@pytest.fixture
def election_db(postgres_factory):
    """A fresh server with the exporter's role and database, and no state table yet."""
    pg = postgres_factory(load=False)
    pg.setup_database()
    return pg


@pytest.fixture
def replicas(stub, exporter_factory, tmp_path):
    """start(pg, n) -> n exporters on the stand-in with one report schedule and the same
    reports.leader_election (DSN in a file), each writing to its own output directory."""
    def start(pg: helpers.PostgresServer, count: int = 2):
        dsn_file = tmp_path / "leader.dsn"
        dsn_file.write_text(pg.dsn() + "\n")
        dsn_file.chmod(0o600)
        started = []
        for i in range(count):
            overrides = {"reports": {
                "output_dir": str(tmp_path / f"reports{i}"),
                "schedules": [{"name": SCHEDULE, "cron": "* * * * *", "period": "previous_month",
                               "formats": list(FORMATS)}],
                "leader_election": {"dsn_file": str(dsn_file), "lock_key": LOCK_KEY}}}
            started.append(exporter_factory(stub, overrides=overrides))
        return started
    return start


def wait_for_report(exporter, key: str, timeout: float = 60) -> dict:
    directory = Path(exporter.config["reports"]["output_dir"])
    try:
        wait_until(lambda: set(report_files(directory)) == expected_files(key) and
                   writes_logged(exporter) >= 1, timeout, 0.2, "the leader's report")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{exporter.log_text()[-3000:]}") from None
    return report_files(directory)


def assert_no_secret(pg, *exporters):
    for exporter in exporters:
        assert helpers.PG_PASSWORD not in exporter.log_text()
        if exporter.alive():
            assert helpers.PG_PASSWORD not in exporter.scrape().body.decode()


def test_one_replica_writes_and_kill_9_hands_leadership_over(election_db, replicas):
    pg = election_db
    # The exporter creates the state table itself when its role may.
    pg.psql(f"GRANT CREATE ON SCHEMA public TO {helpers.PG_USER}")
    key = previous_month_key()
    exporters = replicas(pg)
    leader, (follower,) = wait_for_one_leader(exporters)
    written = wait_for_report(leader, key)

    # Exactly one writer: the follower wrote nothing and logged why.
    assert report_files(Path(follower.config["reports"]["output_dir"])) == {}
    assert writes_logged(follower) == 0
    follower.wait_for_log(r'msg="report leadership is held by another replica; trying again"')
    assert 'msg="report leadership acquired"' in leader.log_text()
    rows = state_rows(pg)
    assert [(r[0], r[1], r[2]) for r in rows] == [(LOCK_KEY, SCHEDULE, key)]

    # The lock is held by the leader's own session, on the documented key.
    unsigned = fnv1a_64(LOCK_KEY)
    held = pg.psql("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
                   "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                   f"AND l.classid = {unsigned >> 32} AND l.objid = {unsigned & 0xffffffff} "
                   "AND l.objsubid = 1").split()
    assert held == ["scalr-usage-exporter-leader"]

    for exporter in exporters:
        samples = exporter.metrics()
        errors = helpers.values_by(samples, "scalr_exporter_report_leader_errors_total", "reason")
        assert set(k[0] for k in errors) == LEADER_REASONS
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    check = subprocess.run([promtool, "check", "metrics"], input=leader.scrape().body,
                           capture_output=True, timeout=60)
    assert check.returncode == 0 and not check.stdout.strip() and not check.stderr.strip(), check

    # kill -9: the server ends the dead session, the lock is free, the follower takes it.
    killed_at = time.monotonic()
    leader.proc.kill()
    leader.proc.wait(timeout=10)
    wait_until(lambda: leader_value(follower) == 1, HANDOVER_SECONDS + 5, 0.1,
               "the follower to become the leader\n" + follower.log_text()[-2000:])
    assert time.monotonic() - killed_at <= HANDOVER_SECONDS

    # The new leader reads the shared state: the period is written, so it writes nothing, check
    # after check.
    follower.wait_for_log(r'msg="report leadership acquired"')

    def checks_as_leader():
        after = follower.log_text().split('msg="report leadership acquired"', 1)[1]
        return after.count('msg="scheduled reports checked" due=0 leader=true')
    wait_until(lambda: checks_as_leader() >= 2, 30, 0.2, "two checks by the new leader")
    assert writes_logged(follower) == 0
    assert "writing a scheduled report" not in follower.log_text()
    assert report_files(Path(follower.config["reports"]["output_dir"])) == {}
    assert report_files(Path(leader.config["reports"]["output_dir"])) == written
    assert state_rows(pg) == rows
    assert_no_secret(pg, leader, follower)


def test_the_table_the_exporter_creates_is_the_shipped_one(election_db, replicas):
    pg = election_db
    pg.psql(f"GRANT CREATE ON SCHEMA public TO {helpers.PG_USER}")
    leader, _ = wait_for_one_leader(replicas(pg, 1))
    wait_for_report(leader, previous_month_key())
    pg.psql("CREATE SCHEMA shipped; SET search_path = shipped;\n" + REPORT_STATE_SQL.read_text())

    def shape(schema):
        return pg.psql(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            f"WHERE table_schema = '{schema}' AND table_name = '{TABLE}' ORDER BY ordinal_position;"
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            f"AND a.attnum = ANY(i.indkey) WHERE i.indrelid = '{schema}.{TABLE}'::regclass "
            "AND i.indisprimary ORDER BY a.attname")
    assert shape("public") == shape("shipped")
    assert "lock_key|text|NO" in shape("shipped")

    # The delivery table too (reports.schedules[].webhook, .email).
    def delivery_shape(schema):
        return pg.psql(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            f"WHERE table_schema = '{schema}' AND table_name = '{DELIVERY_TABLE}' "
            "ORDER BY ordinal_position;"
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            f"AND a.attnum = ANY(i.indkey) WHERE i.indrelid = '{schema}.{DELIVERY_TABLE}'::regclass "
            "AND i.indisprimary ORDER BY a.attname")
    assert delivery_shape("public") == delivery_shape("shipped")
    assert "record|text|NO" in delivery_shape("shipped")


def test_a_database_outage_stops_all_writing_and_writing_resumes_once(election_db, replicas):
    pg = election_db
    # Made beforehand from the shipped file: the role gets no CREATE, only what the file says.
    pg.psql(file=REPORT_STATE_SQL)
    pg.psql(f"GRANT SELECT, INSERT, UPDATE ON {TABLE} TO {helpers.PG_USER};"
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {DELIVERY_TABLE} TO {helpers.PG_USER}")
    key = previous_month_key()
    exporters = replicas(pg)
    leader, (follower,) = wait_for_one_leader(exporters)
    wait_for_report(leader, key)
    assert "created the report state table" not in leader.log_text()
    leader_dir = Path(leader.config["reports"]["output_dir"])
    follower_dir = Path(follower.config["reports"]["output_dir"])

    # Make the period due again while the leader cannot act (stopped, still holding the lock),
    # then take the database away and let the leader run again.
    leader.signal(signal.SIGSTOP)
    try:
        pg.psql(f"DELETE FROM {TABLE}")
        shutil.rmtree(leader_dir / SCHEDULE)
        pg.stop()
    finally:
        leader.signal(signal.SIGCONT)
    before = {e: writes_logged(e) for e in exporters}
    wait_until(lambda: [leader_value(e) for e in exporters] == [0, 0], 30, 0.2,
               "both replicas to follow during the outage\n" + leader.log_text()[-2000:])
    leader.wait_for_log(r'msg="report leadership lost" reason=connection_lost')

    # Nobody writes, nobody crashes, for several of the leader's checks and the follower's tries.
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        assert all(e.alive() for e in exporters)
        assert report_files(leader_dir) == {} and report_files(follower_dir) == {}
        assert [leader_value(e) for e in exporters] == [0, 0]
        time.sleep(0.5)
    assert {e: writes_logged(e) for e in exporters} == before
    for exporter in exporters:
        errors = helpers.values_by(exporter.metrics(), "scalr_exporter_report_leader_errors_total",
                                   "reason")
        assert sum(errors.values()) >= 1, errors

    # Back: one replica leads again and writes the period once, in full.
    pg.start()
    new_leader, (new_follower,) = wait_for_one_leader(exporters)
    wait_for_report(new_leader, key)
    assert report_files(Path(new_follower.config["reports"]["output_dir"])) == {}
    assert sum(writes_logged(e) - before[e] for e in exporters) == 1
    assert [(r[0], r[1], r[2]) for r in state_rows(pg)] == [(LOCK_KEY, SCHEDULE, key)]
    assert all(e.alive() for e in exporters)
    assert_no_secret(pg, *exporters)


@pytest.mark.parametrize("section, message", [
    ({"lock_key": ""}, "reports.leader_election.lock_key: want 1 to 256 characters"),
    ({"lock_key": "k", "dsnfile": "/x"}, "reports.leader_election.dsnfile: unknown key"),
    ({"lock_key": "k"}, "reports.leader_election.dsn: required: set reports.leader_election.dsn, "
                        "reports.leader_election.dsn_file or SCALR_USAGE_LEADER_DSN"),
    ({"dsn": "host=db password=pw-RECOGNISABLE-7731 port=x y"},
     "reports.leader_election.dsn: invalid connection string"),
])
def test_check_config_names_the_key(stub, sue_binary, tmp_path, section, message):
    token_file = tmp_path / "scalr.token"
    token_file.write_text(stub.token + "\n")
    config = helpers.exporter_config(stub, helpers.free_port(), token_file, None, {"reports": {
        "output_dir": str(tmp_path / "reports"), "leader_election": section}})
    path = tmp_path / "config.yaml"
    path.write_text(helpers.to_yaml(config))
    result = subprocess.run([str(sue_binary), "--check-config", f"--config.file={path}"],
                            capture_output=True, text=True, timeout=60, env=helpers._clean_env())
    assert result.returncode == 1, result
    assert message in result.stderr
    assert "pw-RECOGNISABLE-7731" not in result.stderr + result.stdout
