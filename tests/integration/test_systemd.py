"""The systemd side of the daemon, without systemd: the test owns NOTIFY_SOCKET (an AF_UNIX
datagram socket) and reads what the real daemon sends: READY, STATUS, WATCHDOG pings, RELOADING and
READY around a SIGHUP reload, STOPPING on SIGTERM. Reload itself is checked through /metrics."""

from __future__ import annotations

import signal
import socket
import threading
import time

import pytest

import helpers
from helpers import sample_data, sample_value, wait_until

MAIN = sample_data.ACCOUNT_MAIN
OTHER = "acc-demo2000000001"


class NotifySocket:
    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def assignments(self, key):
        """Values of KEY= in every datagram so far, in order."""
        out = []
        for _, message in list(self.messages):
            for line in message.split("\n"):
                if line.startswith(key + "="):
                    out.append(line[len(key) + 1:])
        return out

    def sequence(self):
        """Every assignment of READY/RELOADING/STOPPING in order, e.g. ['READY=1', 'RELOADING=1']."""
        return [line for _, message in list(self.messages) for line in message.split("\n")
                if line.split("=")[0] in ("READY", "RELOADING", "STOPPING")]

    def close(self):
        self._stop.set()
        self.sock.close()
        self._thread.join(2)


@pytest.fixture
def notify(tmp_path):
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


def start(exporter_factory, stub, notify, accounts, watchdog_usec=1_000_000, **kw):
    env = helpers._clean_env()
    env["NOTIFY_SOCKET"] = notify.path
    env["WATCHDOG_USEC"] = str(watchdog_usec)
    return exporter_factory(stub, accounts=accounts, env=env, **kw)


def test_ready_status_and_watchdog(stub, exporter_factory, notify):
    exporter = start(exporter_factory, stub, notify, [MAIN])
    wait_until(lambda: notify.assignments("READY"), 20, 0.05, "READY=1")
    # READY comes after the first poll attempt: by then the account's state is exposed.
    assert sample_value(exporter.metrics(), "scalr_up", account_id=MAIN) == 1
    status = notify.assignments("STATUS")
    assert status and any("1 up" in s or "1/1" in s for s in status), status
    # WATCHDOG_USEC=1s: a ping every 0.5 s.
    first = len(notify.assignments("WATCHDOG"))
    time.sleep(2.2)
    assert len(notify.assignments("WATCHDOG")) - first >= 3
    exporter.signal(signal.SIGTERM)
    exporter.proc.wait(10)
    assert exporter.proc.returncode == 0
    assert notify.sequence()[-1] == "STOPPING=1"


def test_no_watchdog_pings_unless_asked(stub, exporter_factory, notify):
    env = helpers._clean_env()
    env["NOTIFY_SOCKET"] = notify.path
    exporter_factory(stub, accounts=[MAIN], env=env)
    wait_until(lambda: notify.assignments("READY"), 20, 0.05, "READY=1")
    time.sleep(1.5)
    assert notify.assignments("WATCHDOG") == []


def test_sighup_reloads_a_valid_config_and_rejects_an_invalid_one(stub, exporter_factory, notify):
    exporter = start(exporter_factory, stub, notify, [MAIN])
    wait_until(lambda: notify.assignments("READY"), 20, 0.05, "READY=1")
    samples = exporter.metrics()
    runs_main = sample_value(samples, "scalr_account_runs_total", account_id=MAIN)
    assert runs_main is not None

    # A valid change: another account instead of MAIN, and a longer interval.
    text = exporter.config_path.read_text()
    exporter.config_path.write_text(text.replace(MAIN, OTHER).replace("interval: 1s",
                                                                      "interval: 2s"))
    exporter.signal(signal.SIGHUP)
    wait_until(lambda: notify.sequence()[-2:] == ["RELOADING=1", "READY=1"], 20, 0.05,
               "RELOADING then READY")

    def switched():
        s = exporter.metrics()
        return (sample_value(s, "scalr_up", account_id=OTHER) == 1
                and sample_value(s, "scalr_up", account_id=MAIN) is None) and s
    samples = wait_until(switched, 20, 0.1, "the reloaded account list in effect")
    assert sample_value(samples, "scalr_exporter_config_last_reload_successful") == 1
    assert sample_value(samples, "scalr_exporter_config_last_reload_success_timestamp_seconds") \
        > time.time() - 60
    # The listener never went away; the same URL answers throughout.

    # An invalid config is rejected; the running one stays, values included.
    exporter.config_path.write_text(text + "\nbogus_key: 1\n")
    before = len(notify.sequence())
    exporter.signal(signal.SIGHUP)
    wait_until(lambda: len(notify.sequence()) >= before + 2, 20, 0.05, "reload attempt answered")
    assert notify.sequence()[-2:] == ["RELOADING=1", "READY=1"]
    samples = wait_until(lambda: (lambda s: s if sample_value(
        s, "scalr_exporter_config_last_reload_successful") == 0 else None)(exporter.metrics()),
        10, 0.1, "reload failure exposed")
    assert sample_value(samples, "scalr_up", account_id=OTHER) == 1
    assert sample_value(samples, "scalr_account_runs_total", account_id=OTHER) is not None
    assert "bogus_key" in exporter.log_text()
    assert exporter.alive()
