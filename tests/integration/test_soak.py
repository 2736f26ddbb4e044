"""Soak (issue #7): the real daemon polls the stand-in Scalr server every second for
SUE_SOAK_SECONDS (default 60) while wrk scrapes /metrics as fast as it can (4 connections, plain
and gzip requests alternating) and the stand-in keeps changing under it.

The stand-in's usage data cannot change at runtime (its control API changes faults, tokens and
settings only), so the churn is what it can change: injected faults (retried 503s, 500s that fail
a poll, dropped and closed connections, a truncated page, a slow answer), the JSON encoding
(ascii_json) and the keep-alive timeout (idle_timeout below the poll interval, so every poll
reconnects), plus SIGHUP reloads that switch the daemon between all four accounts and two of them,
so whole accounts leave and join the exposition.

Asserts: wrk saw no failed request and only 200s and did real work; polls kept happening (request
counters and last-success timestamps advanced, the injected faults were served and counted);
resident memory and open file descriptors did not grow (median of the last third of the samples
against the middle third); at the end, once the churn stops, the values are exactly those of
sample_data's raw rows; the daemon is alive and exits 0 on SIGTERM. No timing assertions beyond
generous floors: the machine is shared.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import os
import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import pytest

import helpers
from helpers import sample_data, sample_value, series, values_by, wait_until

SOAK_SECONDS = float(os.environ.get("SUE_SOAK_SECONDS", "60"))
ALL = list(sample_data.accounts("small"))
MAIN, DEMO, TINY, EMPTY = (sample_data.ACCOUNT_MAIN, sample_data.ACCOUNT_DEMO,
                           sample_data.ACCOUNT_TINY, sample_data.ACCOUNT_EMPTY)
SUBSET = [MAIN, TINY]

# Alternates plain and gzip requests and counts every status other than 200 in each thread;
# done() adds them up and prints one JSON line with wrk's own error counts.
WRK_SCRIPT = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
n = 0
non200 = 0
local plain = wrk.format("GET")
local gzip = wrk.format("GET", nil, {["Accept-Encoding"] = "gzip"})
function request()
  n = n + 1
  if n % 2 == 0 then return gzip end
  return plain
end
function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("non200") end
  local e = summary.errors
  io.write(string.format('SOAK_JSON {"requests": %d, "non200": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d}\n', summary.requests, bad, e.connect, e.read,
    e.write, e.status, e.timeout))
end
"""


def proc_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def proc_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def thirds(samples: list):
    """Medians of the middle and the last third of the samples (the first third is warm-up)."""
    k = len(samples) // 3
    return statistics.median(samples[k:2 * k]), statistics.median(samples[2 * k:])


def requests_total(samples) -> float:
    return sum(series(samples, "scalr_exporter_api_requests_total").values())


def reload_with(exporter, accounts):
    config = helpers.deep_merge(exporter.config, {"scalr": {"accounts": list(accounts)}})
    exporter.config_path.write_text(helpers.to_yaml(config), encoding="utf-8")
    exporter.signal(signal.SIGHUP)


def test_soak(stub_factory, exporter_factory, tmp_path):
    wrk = shutil.which("wrk")
    if wrk is None:
        pytest.fail("wrk not found: run scripts/install-deps")
    stub = stub_factory()
    exporter = exporter_factory(stub, accounts=ALL, overrides={"poll": {"interval": "1s"}})
    pid = exporter.proc.pid

    def all_up(accounts):
        def check():
            samples = exporter.metrics()
            return samples if all(sample_value(samples, "scalr_up", account_id=a) == 1
                                  for a in accounts) else None
        return wait_until(check, 30, 0.1, f"{accounts} up\n{exporter.log_text()[-3000:]}")

    before = all_up(ALL)
    requests_before = requests_total(before)
    success_before = sample_value(before, "scalr_exporter_last_success_timestamp_seconds",
                                  account_id=MAIN)

    script = tmp_path / "soak.lua"
    script.write_text(WRK_SCRIPT)
    wrk_out = tmp_path / "wrk.out"
    duration = max(20, int(SOAK_SECONDS))  # long enough for every kind of change to happen
    with open(wrk_out, "wb") as out:
        load = subprocess.Popen([wrk, "-t2", "-c4", f"-d{duration}s", "--timeout", "10s",
                                 "-s", str(script), exporter.metrics_url],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    # One change of the stand-in (or of the daemon's accounts) every 1.5 s, round robin.
    ascii_json = [False]
    subset = [False]

    def toggle_ascii():
        ascii_json[0] = not ascii_json[0]
        stub.settings(ascii_json=ascii_json[0])

    def toggle_accounts():
        subset[0] = not subset[0]
        reload_with(exporter, SUBSET if subset[0] else ALL)

    churn = [
        lambda: stub.set_fault("status", status=503, count=2, account=DEMO, retry_after="0"),
        lambda: stub.set_fault("status", status=500, count=6, account=TINY),
        toggle_ascii,
        lambda: stub.set_fault("drop", count=1),
        lambda: stub.settings(idle_timeout=0.3),
        lambda: stub.set_fault("close", count=3),
        toggle_accounts,
        lambda: stub.set_fault("truncated", count=1, breakdown_by="workspace", account=MAIN),
        lambda: stub.set_fault("slow", seconds=0.5, count=1),
        lambda: stub.settings(idle_timeout=30),
    ]
    rss, fds = [], []
    step, next_change = 0, time.monotonic() + 1.5
    try:
        while load.poll() is None:
            assert exporter.alive(), f"the daemon died under load:\n{exporter.log_text()[-3000:]}"
            rss.append(proc_rss_kb(pid))
            fds.append(proc_fds(pid))
            if time.monotonic() >= next_change:
                churn[step % len(churn)]()
                step += 1
                next_change += 1.5
            time.sleep(0.25)
    finally:
        if load.poll() is None:
            load.kill()
        load.wait()
    text = wrk_out.read_text(errors="replace")
    assert load.returncode == 0, text
    assert exporter.alive(), exporter.log_text()[-3000:]

    # wrk: every request answered with 200, and enough of them to call it load.
    m = re.search(r"^SOAK_JSON (.*)$", text, re.M)
    assert m, text
    result = json.loads(m.group(1))
    assert result["non200"] == 0 and result["status"] == 0, text
    assert not any(result[k] for k in ("connect", "read", "write", "timeout")), text
    assert "Non-2xx" not in text, text
    assert result["requests"] >= 20 * duration, text

    # Both thirds have dozens of samples; growth beyond noise is a leak.
    assert len(rss) >= 30, f"only {len(rss)} samples"
    rss_middle, rss_last = thirds(rss)
    print(f"soak {duration} s: {result['requests']} requests, {step} changes; VmRSS middle/last "
          f"third {rss_middle}/{rss_last} kB (range {min(rss)}..{max(rss)}); fds "
          f"{thirds(fds)} (range {min(fds)}..{max(fds)})")
    assert rss_last <= rss_middle + max(0.10 * rss_middle, 2048), \
        f"RSS grew: middle third {rss_middle} kB, last third {rss_last} kB; samples {rss}"
    fds_middle, fds_last = thirds(fds)
    assert fds_last <= fds_middle + 2, \
        f"open fds grew: middle third {fds_middle}, last third {fds_last}; samples {fds}"
    assert max(fds) <= min(fds) + 16, f"open fds ranged {min(fds)}..{max(fds)}"
    assert step >= len(churn), f"only {step} changes in {duration} s"

    # The churn reached the daemon: faults were served and counted.
    served = stub.stats()["by_fault"]
    for mode in ("status", "drop", "close", "truncated", "slow"):
        assert served.get(mode), f"fault {mode} never served: {served}"

    # Stop the churn: everything back, all accounts, then the values must be exactly right.
    stub.reset()
    if subset[0]:
        toggle_accounts()
    after = all_up(ALL)
    assert requests_total(after) - requests_before >= 3 * duration / 2, \
        f"API requests {requests_before} -> {requests_total(after)}"
    assert sample_value(after, "scalr_exporter_last_success_timestamp_seconds",
                        account_id=MAIN) - success_before >= duration / 2
    codes = series(after, "scalr_exporter_api_requests_total")
    assert codes.get(frozenset({("target", "default"), ("code", "503")})), codes
    assert codes.get(frozenset({("target", "default"), ("code", "500")})), codes
    assert sample_value(after, "scalr_exporter_poll_errors_total", account_id=TINY,
                        reason="server_error") >= 1
    assert sample_value(after, "scalr_exporter_config_last_reload_successful") == 1

    today = dt.datetime.now(dt.timezone.utc).date()
    start, end = helpers.month_bounds(today.year, today.month)
    expected = helpers.expected_usage(start, end, accounts=ALL)

    def exact():
        samples = exporter.metrics()
        got = values_by(samples, "scalr_account_runs_total", "account_id")
        want = {(a,): u.runs for a, u in expected.accounts.items()}
        ws = values_by(samples, "scalr_workspace_run_seconds_total", "account_id", "workspace_id")
        return got == want and ws == {k: u.seconds for k, u in expected.workspaces.items()}
    wait_until(exact, 20, 0.2, "exact values after the soak")

    assert exporter.stop() == 0, exporter.log_text()[-3000:]
