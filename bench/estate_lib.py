#!/usr/bin/python3
"""Helpers of bench/measure-estate.sh (Python 3.11 standard library only):

  estate_lib.py wait-cycle URL PREVIOUS TIMEOUT PID
      until the daemon's scalr_exporter_poll_cycle_duration_seconds exists and differs from
      PREVIOUS ("" before the first cycle): prints it. Fails if PID exits or after TIMEOUT s.
  estate_lib.py take-stats OUT PORT...
      every stand-in's /__control/stats (in PORT order: target 1, 2, ...) into the JSON file OUT,
      then clears them, so the next cycle's requests are counted alone.
  estate_lib.py analyse STATS SCENARIO RUN CYCLE EXPECTED
      one cycle's result lines "SCENARIO RUN KEY VALUE" from the stats file (EXPECTED: requests
      per target that cycle must have made).
  estate_lib.py table RESULTS LIMITS_JSON
      medians (and min, max) per scenario and key over every run and cycle, then the checks
      (LIMITS_JSON: {"cycle_s": 15, "hwm_mb": 128, "in_flight": {"c4": 4, ...},
      "window": {"rate10": 14}}); exits 1 if one is not met.

Why the stand-in's own records: the daemon says how long a cycle took; the stand-ins say what
the target saw (when each request's headers arrived and its answer was sent, CLOCK_MONOTONIC),
which is what the politeness limits are about.
"""

from __future__ import annotations

import bisect
import json
import re
import statistics
import sys
import time
import urllib.request
from pathlib import Path

CYCLE = re.compile(rb"^scalr_exporter_poll_cycle_duration_seconds(?:\{\})? (\S+)$", re.M)


def _get(url: str, timeout: float = 10.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def cmd_wait_cycle(url, previous, timeout, pid) -> int:
    deadline = time.monotonic() + float(timeout)
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            print(f"the daemon (pid {pid}) exited", file=sys.stderr)
            return 1
        try:
            m = CYCLE.search(_get(url))
        except OSError:
            m = None
        if m and m.group(1).decode() != previous:
            print(m.group(1).decode())
            return 0
        time.sleep(0.05)
    print(f"no new poll cycle within {timeout} s", file=sys.stderr)
    return 1


def cmd_take_stats(out, *ports) -> int:
    stats = []
    for port in ports:
        stats.append(json.loads(_get(f"http://127.0.0.1:{port}/__control/stats")))
    for port in ports:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/__control/stats/clear",
                                     data=b"{}", method="POST")
        with urllib.request.urlopen(req, timeout=10):
            pass
    Path(out).write_text(json.dumps(stats))
    return 0


def max_in_window(started: list, window: float = 1.0) -> int:
    """The most requests started within any half-open window [t, t + window): each window that
    holds the most begins at some request's start, so trying those is enough."""
    best = 0
    for i, t in enumerate(started):
        best = max(best, bisect.bisect_left(started, t + window, lo=i) - i)
    return best


def cmd_analyse(stats_path, scenario, run, cycle, expected) -> int:
    stats = json.loads(Path(stats_path).read_text())
    expected = int(expected)
    lines, first, last, problems = [], [], [], []
    per_target = []
    for n, s in enumerate(stats, 1):
        reqs = [r for r in s["requests"] if r["ended"] is not None]
        started = sorted(r["started"] for r in reqs)
        if s["total"] != expected or len(reqs) != expected:
            problems.append(f"target {n}: {s['total']} requests ({len(reqs)} recorded and "
                            f"finished), expected {expected}")
        non200 = sum(v for k, v in s["by_status"].items() if k != "200")
        if non200:
            problems.append(f"target {n}: {non200} answers other than 200: {s['by_status']}")
        if not started:
            continue
        first.append(started[0])
        last.append(max(r["ended"] for r in reqs))
        span = started[-1] - started[0]
        per_target.append({
            "max_in_flight": s["max_in_flight"],
            "max_1s": max_in_window(started),
            "rate": (len(started) - 1) / span if span > 0 else 0.0,
            "wall": last[-1] - started[0],
        })
    for p in problems:
        print(f"{scenario} {run}: cycle {cycle}: {p}", file=sys.stderr)
    kind = "first" if cycle == "1" else "steady"

    def out(key, value):
        lines.append(f"{scenario} {run} {kind}_{key} {value}")

    out("requests", sum(s["total"] for s in stats))
    if per_target:
        out("wall_s", f"{max(last) - min(first):.3f}")
        out("max_in_flight", max(t["max_in_flight"] for t in per_target))
        out("max_1s", max(t["max_1s"] for t in per_target))
        out("mean_rate", f"{statistics.fmean(t['rate'] for t in per_target):.2f}")
        out("target_wall_max_s", f"{max(t['wall'] for t in per_target):.3f}")
    out("problems", len(problems))
    print("\n".join(lines))
    return 0


ROWS = (
    ("first_cycle_s", "first cycle: scalr_exporter_poll_cycle_duration_seconds", "s"),
    ("first_wall_s", "first cycle: wall time at the stand-ins", "s"),
    ("first_requests", "first cycle: requests (all targets)", ""),
    ("first_max_in_flight", "first cycle: max in flight at one target", ""),
    ("first_max_1s", "first cycle: most requests to one target in 1 s", ""),
    ("first_mean_rate", "first cycle: mean requests/s per target", "/s"),
    ("steady_cycle_s", "steady cycle: scalr_exporter_poll_cycle_duration_seconds", "s"),
    ("steady_wall_s", "steady cycle: wall time at the stand-ins", "s"),
    ("steady_requests", "steady cycle: requests (all targets)", ""),
    ("steady_max_in_flight", "steady cycle: max in flight at one target", ""),
    ("steady_max_1s", "steady cycle: most requests to one target in 1 s", ""),
    ("steady_mean_rate", "steady cycle: mean requests/s per target", "/s"),
    ("hwm_kb", "daemon VmHWM (peak RSS)", "kB"),
    ("rss_kb", "daemon VmRSS at the end", "kB"),
    ("cpu_s", "daemon CPU, whole run (utime + stime)", "s"),
    ("threads", "daemon threads at the end", ""),
    ("accounts_per_target", "accounts per target", ""),
)


def _fmt(value: float, unit: str) -> str:
    if unit == "kB":
        return f"{value / 1024:.1f} MB"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "/s":
        return f"{value:.2f}/s"
    return f"{value:g}"


def ratio(data: dict) -> None:
    """The baseline (max_concurrency 1, fewer accounts) scaled to the estate's accounts per target:
    a steady cycle is that many accounts' requests one after another at every target."""
    base, estate = data.get("c1", {}), data.get("c4", {})
    if not (base.get("steady_cycle_s") and estate.get("steady_cycle_s")):
        return
    per_account = statistics.median(base["steady_cycle_s"]) / base["accounts_per_target"][0]
    scaled = per_account * estate["accounts_per_target"][0]
    measured = statistics.median(estate["steady_cycle_s"])
    print(f"\nbaseline: {per_account * 1000:.0f} ms per account at max_concurrency 1; "
          f"{estate['accounts_per_target'][0]:g} accounts per target would take {scaled:.1f} s "
          f"a steady cycle, {scaled / measured:.1f}x the {measured:.2f} s measured at c4")


def cmd_table(results_path, limits_json) -> int:
    limits = json.loads(limits_json)
    data: dict = {}
    for line in Path(results_path).read_text().splitlines():
        scenario, _run, key, value = line.split(" ", 3)
        data.setdefault(scenario, {}).setdefault(key, []).append(float(value))
    for scenario, keys in data.items():
        print(f"\n{scenario}: median (min .. max) over every run and cycle")
        print(f"| {'':<58} | {'median':>10} | {'min .. max':>22} | n |")
        print(f"| {'-' * 58} | {'-' * 10} | {'-' * 22} | - |")
        for key, label, unit in ROWS:
            if key not in keys:
                continue
            v = keys[key]
            print(f"| {label:<58} | {_fmt(statistics.median(v), unit):>10} | "
                  f"{_fmt(min(v), unit) + ' .. ' + _fmt(max(v), unit):>22} | {len(v)} |")
    ratio(data)
    print("\nchecks:")
    failed = 0

    def check(label, values, ok, shown):
        nonlocal failed
        if not values:
            return
        good = all(ok(v) for v in values)
        failed += not good
        print(f"  {label:<62} worst {shown:>10}  {'met' if good else 'NOT MET'}")

    for scenario, keys in data.items():
        problems = keys.get("first_problems", []) + keys.get("steady_problems", [])
        check(f"{scenario}: every cycle's requests counted, all 200", problems, lambda v: v == 0,
              f"{int(max(problems, default=0))}")
        if scenario in limits.get("cycle_scenarios", []):
            cycles = keys.get("first_cycle_s", []) + keys.get("steady_cycle_s", [])
            check(f"{scenario}: every cycle <= {limits['cycle_s']} s", cycles,
                  lambda v: v <= limits["cycle_s"], _fmt(max(cycles, default=0), "s"))
            hwm = keys.get("hwm_kb", [])
            check(f"{scenario}: peak RSS < {limits['hwm_mb']} MB", hwm,
                  lambda v: v < limits["hwm_mb"] * 1024, _fmt(max(hwm, default=0), "kB"))
        if scenario in limits.get("in_flight", {}):
            bound = limits["in_flight"][scenario]
            flights = keys.get("first_max_in_flight", []) + keys.get("steady_max_in_flight", [])
            check(f"{scenario}: in flight at one target <= {bound}", flights,
                  lambda v: v <= bound, f"{max(flights, default=0):g}")
        if scenario in limits.get("window", {}):
            bound = limits["window"][scenario]
            windows = keys.get("first_max_1s", []) + keys.get("steady_max_1s", [])
            check(f"{scenario}: requests to one target in any 1 s <= {bound}", windows,
                  lambda v: v <= bound, f"{max(windows, default=0):g}")
    return 1 if failed else 0


def main(argv) -> int:
    commands = {"wait-cycle": cmd_wait_cycle, "take-stats": cmd_take_stats,
                "analyse": cmd_analyse, "table": cmd_table}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]](*argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
