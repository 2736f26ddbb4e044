"""Shards (--shard=INDEX/COUNT, poll.shard): a fleet of exporters with one configuration splits the
accounts by fnv1a_64(account id) mod COUNT, each polling, exposing and reporting only its own share,
and a fleet's Prometheus remote-writes everything to one long-term store.

The shard of every account is computed here, in Python, from the FNV-1a definition (not by asking
the exporter). With the small profile's four accounts and COUNT=2 both shards are non-empty:
acc-ttpu7uslju6igv8 and acc-empty400000004 hash even, acc-demo2000000001 and acc-tiny3000000003
odd; the tests assert that split before relying on it, so a change of sample data that put every
account in one shard would fail loudly instead of making the tests vacuous.

The remote-write test runs two real Prometheus 2.42 servers: a "fleet" one that scrapes both
exporter shards and remote-writes, and a "store" one started with --web.enable-remote-write-receiver
that scrapes nothing; every account's totals in the store equal the stand-in's sums."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

import helpers
from helpers import sample_value, values_by, wait_until

ACCOUNTS = list(helpers.sample_data.accounts("small"))
STARTED = 'msg="starting scalr-usage-exporter"'  # logged at start and after each good reload


def fnv1a_64(text: str) -> int:
    """FNV-1a, 64 bits, over the UTF-8 bytes: the placement rule as documented in README.md."""
    value = 14695981039346656037
    for byte in text.encode("utf-8"):
        value ^= byte
        value = (value * 1099511628211) % 2**64
    return value


def shard_of(account: str, count: int) -> int:
    return fnv1a_64(account) % count


def accounts_of(index: int, count: int) -> set:
    return {a for a in ACCOUNTS if shard_of(a, count) == index}


def test_the_python_fnv1a_matches_the_published_vectors_and_splits_the_sample():
    assert fnv1a_64("") == 0xcbf29ce484222325
    assert fnv1a_64("a") == 0xaf63dc4c8601ec8c
    assert fnv1a_64("foobar") == 0x85944171f73967e8
    # Every test below needs both shards of two non-empty.
    assert accounts_of(0, 2) and accounts_of(1, 2)


def exposed_accounts(samples) -> set:
    return {account for (account,) in values_by(samples, "scalr_up", "account_id")}


def shard_info(samples) -> dict:
    """{(index, count): value} of scalr_exporter_shard_info."""
    return values_by(samples, "scalr_exporter_shard_info", "index", "count")


def wait_for_accounts(exporter, expected: set, timeout: float = 60):
    """Waits until the exporter shows exactly `expected` (each up, with usage); returns the
    samples."""
    def settled():
        samples = exporter.metrics()
        up = {a for a in exposed_accounts(samples)
              if sample_value(samples, "scalr_up", account_id=a) == 1}
        if exposed_accounts(samples) != expected or up != expected:
            raise AssertionError(f"exposed {sorted(exposed_accounts(samples))}, up {sorted(up)}")
        return samples
    try:
        return wait_until(settled, timeout, 0.1, f"exactly {sorted(expected)} up")
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- exporter log ---\n{exporter.log_text()[-3000:]}") from None


def test_each_shard_exposes_only_its_own_accounts(stub, exporter_factory):
    shards = [exporter_factory(stub, args=[f"--shard={index}/2"]) for index in (0, 1)]
    seen = []
    for index, exporter in enumerate(shards):
        samples = wait_for_accounts(exporter, accounts_of(index, 2))
        assert shard_info(samples) == {(str(index), "2"): 1.0}
        # Usage series too, not just scalr_up: the other shard's accounts are absent entirely.
        runs = {account for (account,) in
                values_by(samples, "scalr_account_runs_total", "account_id")}
        assert runs == accounts_of(index, 2)
        seen.append(exposed_accounts(samples))
    assert seen[0].isdisjoint(seen[1])
    assert seen[0] | seen[1] == set(ACCOUNTS)


def test_a_shard_never_asks_for_another_shards_accounts(stub, exporter_factory):
    """Not merely hidden: the stand-in's request log shows only the shard's accounts asked for."""
    exporter = exporter_factory(stub, args=["--shard=1/2"])
    wait_for_accounts(exporter, accounts_of(1, 2))
    asked = {r["params"].get("filter[account]") for r in stub.api_requests()}
    assert asked == accounts_of(1, 2)


def test_an_unsharded_exporter_says_index_0_of_1(exporter):
    samples = wait_for_accounts(exporter, set(ACCOUNTS))
    assert shard_info(samples) == {("0", "1"): 1.0}


def reload_with(exporter, shard: dict) -> None:
    """Rewrites the exporter's config with poll.shard = shard and reloads it (SIGHUP)."""
    config = helpers.deep_merge(exporter.config, {"poll": {"shard": shard}})
    exporter.config = config
    exporter.config_path.write_text(helpers.to_yaml(config), encoding="utf-8")
    starts = exporter.log_text().count(STARTED)
    exporter.signal(signal.SIGHUP)
    wait_until(lambda: exporter.log_text().count(STARTED) > starts, 20, 0.05, "the reload")


def test_poll_shard_from_the_config_is_reloaded_but_the_flag_wins(stub, exporter_factory):
    by_config = exporter_factory(stub, overrides={"poll": {"shard": {"index": 1, "count": 2}}})
    samples = wait_for_accounts(by_config, accounts_of(1, 2))
    assert shard_info(samples) == {("1", "2"): 1.0}
    reload_with(by_config, {"index": 0, "count": 2})
    samples = wait_for_accounts(by_config, accounts_of(0, 2))
    assert shard_info(samples) == {("0", "2"): 1.0}

    # Shard 2 of 3 holds one sample account (acc-tiny3000000003 hashes to 2 mod 3).
    assert accounts_of(2, 3) == {"acc-tiny3000000003"}
    by_flag = exporter_factory(stub, args=["--shard=2/3"],
                               overrides={"poll": {"shard": {"index": 0, "count": 2}}})
    samples = wait_for_accounts(by_flag, accounts_of(2, 3))
    assert shard_info(samples) == {("2", "3"): 1.0}
    reload_with(by_flag, {"index": 1, "count": 2})
    assert 'shard=2/3' in by_flag.log_text().split(STARTED)[-1]
    samples = wait_for_accounts(by_flag, accounts_of(2, 3))
    assert shard_info(samples) == {("2", "3"): 1.0}


def test_a_shard_writes_the_scheduled_reports_of_its_own_accounts_only(stub, exporter_factory,
                                                                       tmp_path):
    output = tmp_path / "reports"
    exporter = exporter_factory(stub, args=["--shard=0/2"], overrides={
        "reports": {"output_dir": str(output), "keep": 2,
                    "schedules": [{"name": "monthly", "cron": "* * * * *",
                                   "period": "previous_month", "formats": ["csv"]}]}})
    # The catch-up report at start: last success published once every account's file is written.
    wait_until(lambda: sample_value(exporter.metrics(),
                                    "scalr_exporter_report_last_success_timestamp_seconds",
                                    schedule="monthly") is not None, 60, 0.1, "the catch-up report")
    written = {path.name.split("_")[1] for path in (output / "monthly").glob("scalr-usage_*.csv")}
    assert written == accounts_of(0, 2)


def test_the_on_demand_report_is_not_sharded(stub, sue_binary, tmp_path):
    """poll.shard divides the daemons' work; `report` covers every account it is asked for."""
    token_file = tmp_path / "token"
    token_file.write_text(stub.token)
    token_file.chmod(0o600)
    config = helpers.exporter_config(stub, helpers.free_port(), token_file,
                                     overrides={"poll": {"shard": {"index": 1, "count": 2}}})
    config_path = tmp_path / "config.yaml"
    config_path.write_text(helpers.to_yaml(config), encoding="utf-8")
    output = tmp_path / "out"
    result = subprocess.run([str(sue_binary), "report", f"--config.file={config_path}",
                             "--period=2026-01", "--format=csv", f"--output={output}"],
                            capture_output=True, text=True, timeout=120, env=helpers._clean_env())
    assert result.returncode == 0, result.stderr
    written = {path.name.split("_")[1] for path in output.glob("scalr-usage_*.csv")}
    assert written == set(ACCOUNTS)


# ---- a fleet remote-writing to one store ------------------------------------------------------

class Prometheus:
    """A real Prometheus server (Debian's 2.42) on a free loopback port, in its own directory."""

    def __init__(self, workdir: Path, config: dict, extra_args=()):
        binary = shutil.which("prometheus") or "/usr/bin/prometheus"
        if not Path(binary).exists():
            pytest.fail("prometheus is required (scripts/install-deps installs it)")
        workdir.mkdir(parents=True)
        port = helpers.free_port()
        config_path = workdir / "prometheus.yml"
        config_path.write_text(json.dumps(config))  # JSON is YAML
        self.log_path = workdir / "prometheus.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config_path}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", *extra_args],
            stdout=self._log, stderr=self._log, stdin=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: helpers.http_request(self.url + "/-/ready", timeout=2).status == 200,
                       60, 0.2, f"prometheus ready on {self.url}")
        except AssertionError:
            self.stop()
            raise AssertionError(self.log_path.read_text(errors="replace")[-3000:]) from None

    def query(self, expr: str) -> list:
        return helpers.prometheus_query(self.url, expr)

    def stop(self) -> None:
        helpers.terminate(self.proc, 15)
        self._log.close()


@pytest.fixture
def prometheus_factory(tmp_path):
    started = []

    def start(name: str, config: dict, extra_args=()) -> Prometheus:
        server = Prometheus(tmp_path / name, config, extra_args)
        started.append(server)
        return server

    yield start
    for server in reversed(started):  # the senders first, so they do not retry into a closed port
        server.stop()


def by_account(result) -> dict:
    return {item["metric"]["account_id"]: float(item["value"][1]) for item in result}


def test_a_fleet_remote_writes_every_shards_accounts_to_one_store(stub, exporter_factory,
                                                                 prometheus_factory):
    shards = [exporter_factory(stub, args=[f"--shard={index}/2"]) for index in (0, 1)]
    # The long-term store: a Prometheus that only receives (Thanos Receive and Mimir take the same
    # protocol at their own URLs).
    store = prometheus_factory("store", {"global": {"scrape_interval": "1s"}},
                               ["--web.enable-remote-write-receiver"])
    # The fleet's Prometheus: scrapes both shards, each under its shard label, and sends everything
    # on. The external label tells the store which fleet (or HA replica) a series came from.
    fleet = prometheus_factory("fleet", {
        "global": {"scrape_interval": "1s", "external_labels": {"fleet": "test"}},
        "scrape_configs": [{
            "job_name": "scalr-usage-exporter",
            "static_configs": [
                {"targets": [exporter.url.removeprefix("http://")],
                 "labels": {"shard": str(index)}}
                for index, exporter in enumerate(shards)],
        }],
        "remote_write": [{"url": store.url + "/api/v1/write",
                          "queue_config": {"batch_send_deadline": "1s"}}],
    })

    wait_until(lambda: len(store.query("scalr_up == 1")) == len(ACCOUNTS), 120, 0.5,
               "every account up in the store")
    wait_until(lambda: len(store.query("scalr_account_runs_total")) == len(ACCOUNTS), 60, 0.5,
               "every account's runs in the store")

    start = {float(s["value"][1])
             for s in store.query("scalr_billing_period_start_timestamp_seconds")}
    end = {float(s["value"][1]) for s in store.query("scalr_billing_period_end_timestamp_seconds")}
    assert len(start) == 1 and len(end) == 1
    first = dt.datetime.fromtimestamp(start.pop(), dt.timezone.utc)
    last = dt.datetime.fromtimestamp(end.pop(), dt.timezone.utc)
    expected = helpers.expected_usage(first, last, accounts=ACCOUNTS)
    assert set(expected.accounts) == set(ACCOUNTS)

    assert by_account(store.query("scalr_account_runs_total")) == \
        {a: float(u.runs) for a, u in expected.accounts.items()}
    assert by_account(store.query("scalr_account_run_seconds_total")) == \
        {a: float(u.seconds) for a, u in expected.accounts.items()}

    # Each account came from exactly the shard the FNV-1a rule gives it, through the fleet.
    placed = store.query('scalr_up{fleet="test"}')
    assert {item["metric"]["account_id"]: item["metric"]["shard"] for item in placed} == \
        {a: str(shard_of(a, 2)) for a in ACCOUNTS}
    assert len(placed) == len(ACCOUNTS)  # one series per account: no shard double-reports
    assert {(item["metric"]["shard"], item["metric"]["index"], item["metric"]["count"])
            for item in store.query("scalr_exporter_shard_info")} == {("0", "0", "2"),
                                                                      ("1", "1", "2")}
    # docs/operations.md's missing-shard expression parses and is quiet with both shards present.
    assert store.query('count(scalr_exporter_shard_info{count="2"}) < 2 '
                       'or count(scalr_exporter_shard_info{count!="2"}) > 0') == []
    # The fleet scrapes both shards; the store scrapes nothing, so all it holds arrived by
    # remote_write, carrying the fleet's external label.
    assert {item["metric"]["shard"] for item in fleet.query("up == 1")} == {"0", "1"}
    assert store.query('{__name__=~".+", fleet!="test"}') == []
