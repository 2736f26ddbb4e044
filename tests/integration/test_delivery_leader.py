"""Report delivery under leader election: the delivery table makes a new leader continue the
old leader's pending deliveries and never send a sent one again. Real PostgreSQL, the real daemon
as two replicas on the stand-in Scalr server, and the loopback webhook receiver of
test_delivery_webhook."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import helpers
from helpers import sample_data, sample_value, wait_until
from test_delivery_webhook import SECRET, deliveries, receiver_factory  # noqa: F401
from test_leader_election import LOCK_KEY, election_db, wait_for_one_leader  # noqa: F401

SCHEDULE = "monthly"
DELIVERY_TABLE = "scalr_usage_exporter_report_delivery"
STATE_TABLE = "scalr_usage_exporter_report_state"


def start_replicas(pg, stub, exporter_factory, tmp_path, receiver, count=2):
    dsn_file = tmp_path / "leader.dsn"
    dsn_file.write_text(pg.dsn() + "\n")
    dsn_file.chmod(0o600)
    url_file = tmp_path / "webhook-url"
    url_file.write_text(receiver.url + "\n")
    started = []
    for i in range(count):
        overrides = {"reports": {
            "output_dir": str(tmp_path / f"reports{i}"),
            "schedules": [{"name": SCHEDULE, "cron": "0 6 1 * *", "period": "previous_month",
                           "formats": ["csv"],
                           "webhook": {"url_file": str(url_file), "timeout": "5s"}}],
            "leader_election": {"dsn_file": str(dsn_file), "lock_key": LOCK_KEY}}}
        started.append(exporter_factory(stub, overrides=overrides))
    return started


def delivery_rows(pg):
    out = pg.psql(f"SELECT account, channel, finished, record FROM {DELIVERY_TABLE} "
                  "ORDER BY account")
    return [line.split("|", 3) for line in out.splitlines() if line]


def sent(exporter):
    return deliveries(exporter).get((SCHEDULE, "webhook", "sent"))


def test_a_new_leader_sends_nothing_the_old_one_sent(election_db, stub, exporter_factory,
                                                      receiver_factory, tmp_path):
    pg = election_db
    pg.psql(f"GRANT CREATE ON SCHEMA public TO {helpers.PG_USER}")
    accounts = sorted(sample_data.accounts("small"))
    receiver = receiver_factory()
    leader, (follower,) = wait_for_one_leader(
        start_replicas(pg, stub, exporter_factory, tmp_path, receiver))
    wait_until(lambda: sent(leader) == len(accounts), 90, 0.2, "the leader's deliveries")
    assert receiver.count() == len(accounts)
    assert sorted(b["account"]["id"] for b in receiver.bodies()) == accounts
    assert sent(follower) == 0
    rows = delivery_rows(pg)
    assert [r[0] for r in rows] == accounts
    assert all(r[1] == "webhook" and r[2] == "t" for r in rows)
    assert all(SECRET not in r[3] for r in rows)

    leader.stop()
    # Make the period due again, so the new leader writes the report once more and queues its
    # deliveries: the delivery table must still keep them from being sent a second time.
    pg.psql(f"DELETE FROM {STATE_TABLE}")
    wait_for_one_leader([follower])
    follower.wait_for_log(r'msg="scheduled report written"', timeout=60)
    wait_until(lambda: follower.log_text().count('msg="scheduled reports checked"') >= 3, 30, 0.2,
               "the new leader's checks")
    time.sleep(2)
    assert receiver.count() == len(accounts)
    assert sent(follower) == 0
    assert "report delivered" not in follower.log_text()
    for exporter in (leader, follower):
        assert SECRET not in exporter.log_text()


def test_a_new_leader_continues_the_pending_deliveries(election_db, stub, exporter_factory,
                                                       receiver_factory, tmp_path):
    pg = election_db
    pg.psql(f"GRANT CREATE ON SCHEMA public TO {helpers.PG_USER}")
    accounts = sorted(sample_data.accounts("small"))
    receiver = receiver_factory([503] * len(accounts))
    leader, (follower,) = wait_for_one_leader(
        start_replicas(pg, stub, exporter_factory, tmp_path, receiver))
    wait_until(lambda: receiver.count() == len(accounts), 90, 0.2, "the first attempts")
    wait_until(lambda: len(delivery_rows(pg)) == len(accounts), 30, 0.2, "the recorded attempts")
    assert all(r[2] == "f" for r in delivery_rows(pg))  # pending
    leader.stop()
    wait_for_one_leader([follower])
    # The retry is due 30 s after the first attempt; the new leader makes it.
    wait_until(lambda: sent(follower) == len(accounts), 120, 0.5, "the new leader's deliveries")
    time.sleep(2)
    assert receiver.count() == 2 * len(accounts)
    assert sorted(b["account"]["id"] for b in receiver.bodies()[len(accounts):]) == accounts
    assert all(r[2] == "t" for r in delivery_rows(pg))


def test_without_the_delivery_table_reports_are_still_written(election_db, stub, exporter_factory,
                                                              receiver_factory, tmp_path):
    """An upgrade whose database has only the old state table and a role without CREATE: the
    leader still writes reports; deliveries wait (never sent unrecorded), and it says why."""
    pg = election_db
    pg.psql(f"CREATE TABLE {STATE_TABLE} (lock_key text NOT NULL, schedule text NOT NULL, "
            "period_key text NOT NULL, fire_time timestamptz NOT NULL, "
            "written_at timestamptz NOT NULL, PRIMARY KEY (lock_key, schedule));"
            f"GRANT SELECT, INSERT, UPDATE ON {STATE_TABLE} TO {helpers.PG_USER}")
    receiver = receiver_factory()
    (leader,) = start_replicas(pg, stub, exporter_factory, tmp_path, receiver, count=1)
    wait_for_one_leader([leader])
    leader.wait_for_log(r'msg="scheduled report written"', timeout=60)
    assert "cannot create the report delivery table" in leader.log_text()
    time.sleep(2)
    assert receiver.count() == 0
    assert sent(leader) == 0
