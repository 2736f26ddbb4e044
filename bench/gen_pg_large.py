#!/usr/bin/python3
"""Deterministic benchmark data: sample_data's "large" profile (or a scaled variant of it) as
PostgreSQL run history, plus the expected sums computed from the very runs generated.

The daily rows come from tests/scalr_stub/sample_data.py, so the stand-in Scalr server
(`scalr_stub.py --profile large`) and the database hold the same usage: every row
(runs_count, runs_seconds) of a workspace and UTC day becomes runs_count runs whose durations add
up to runs_seconds exactly, each with a deterministic run id and a finished_at inside that day.

Scale: --workspaces 10000 (the default) is sample_data's "large" profile itself (3 accounts with
usage plus one empty account; 101 environments, 10,003 workspaces). Other counts (a multiple of 10,
at least 100) build a profile by sample_data's own rules (sample_data._build_account): the same
four account ids, the same environments, workspaces split 60/30/10 % over the three accounts with
usage, the same activity and run counts; the empty account keeps its 3 workspaces. They are
registered in sample_data.PROFILES as "ws<N>" (e.g. ws1000, ws100000) inside this process, so
bench/scaled_stub.py can serve them too. sample_data.py itself is not changed.

Commands (the month is the current UTC month unless --month says otherwise; every day of it):
  gen_pg_large.py copy      [--workspaces N] [--month YYYY-MM]   COPY text of scalr_runs (stdout):
      ... | psql -d scalr -c "COPY scalr_runs (run_id, account_id, environment_id, environment_name,
                                                 workspace_id, workspace_name, finished_at,
                                                 duration_seconds) FROM STDIN"
  gen_pg_large.py expected  [--workspaces N] [--month YYYY-MM]   JSON sums per account, environment
                                                                  and workspace, counted run by run
  gen_pg_large.py stats     [--workspaces N] [--month YYYY-MM]   counts (rows, runs, series)
  gen_pg_large.py profile   [--workspaces N]                     the sample_data profile name
  gen_pg_large.py check                                          self-test of the rules
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
from pathlib import Path

REPO_ROOT = Path(os.environ.get("SUE_SOURCE_DIR") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(REPO_ROOT / "tests" / "scalr_stub"))
import sample_data  # noqa: E402

COLUMNS = ("run_id", "account_id", "environment_id", "environment_name", "workspace_id",
           "workspace_name", "finished_at", "duration_seconds")
LARGE_WORKSPACES = 10_000  # sample_data's "large": 6000 + 3000 + 1000 (+ 3 in the empty account)
RUN_SEED = "scalr-usage-exporter/bench/runs/v1"


# ---- profiles --------------------------------------------------------------------------------

def _scaled(workspaces: int) -> dict:
    """sample_data._large() with `workspaces` instead of 10,000 (split 60/30/10 %)."""
    def names(prefix, n):
        return [f"{prefix}-{i:03d}" for i in range(n)]
    main, demo, tiny = workspaces * 6 // 10, workspaces * 3 // 10, workspaces // 10
    build = sample_data._build_account  # the profile rules themselves, not a copy of them
    return {a.id: a for a in (
        build(sample_data.ACCOUNT_MAIN, ["production", "staging", "development",
                                         sample_data.ENV_NAME_QUOTE] + names("team", 46),
              main, activity=0.3, max_runs=6, hostile=True),
        build(sample_data.ACCOUNT_DEMO, names("demo", 30), demo, activity=0.3, max_runs=6),
        build(sample_data.ACCOUNT_TINY, names("tiny", 20), tiny, activity=0.1, max_runs=3),
        build(sample_data.ACCOUNT_EMPTY, ["unused"], 3, activity=0.0, max_runs=1),
    )}


def profile_name(workspaces: int) -> str:
    """The sample_data profile of a workspace count, registered on first use."""
    if workspaces == LARGE_WORKSPACES:
        return "large"
    if workspaces < 100 or workspaces % 10:
        raise ValueError(f"--workspaces {workspaces}: want a multiple of 10, at least 100")
    name = f"ws{workspaces}"
    sample_data.PROFILES.setdefault(name, lambda: _scaled(workspaces))
    return name


def parse_month(text: str) -> tuple:
    """"YYYY-MM" -> (first day, first day of the next month)."""
    try:
        start = dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: want YYYY-MM") from None
    return start, (start + dt.timedelta(days=32)).replace(day=1)


def current_month() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m")


# ---- rows -> runs ----------------------------------------------------------------------------

def expand(workspace_id: str, day: dt.date, runs_count: int, runs_seconds: int):
    """[(run_id, seconds_into_day, microseconds, duration)] of one workspace-day row: runs_count
    runs whose durations are an uneven split of runs_seconds (exactly), finishing inside the day."""
    hashes = [hashlib.sha256(f"{RUN_SEED}|{workspace_id}|{day.isoformat()}|{i}".encode()).digest()
              for i in range(runs_count)]
    weights = [1 + int.from_bytes(h[15:17], "big") % 1000 for h in hashes]
    total_weight = sum(weights)
    durations = [runs_seconds * w // total_weight for w in weights]
    for i in range(runs_seconds - sum(durations)):  # fewer than runs_count seconds are left over
        durations[i] += 1
    return [("run-" + h[:8].hex(), int.from_bytes(h[8:12], "big") % 86400,
             int.from_bytes(h[12:15], "big") % 1_000_000, d)
            for h, d in zip(hashes, durations)]


def _copy_field(value) -> str:
    if value is None:
        return "\\N"
    return (value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
            .replace("\t", "\\t"))


def runs(profile: str, start: dt.date, end: dt.date):
    """Every run of [start, end) as (account, env id, env name, ws id, ws name, day, second, us,
    run id, duration), in (day, account, workspace) order."""
    for row in sample_data.raw_rows(start, end - dt.timedelta(days=1), profile):
        for run_id, second, micro, duration in expand(row.workspace_id, row.date, row.runs_count,
                                                      row.runs_seconds):
            yield row, run_id, second, micro, duration


def write_copy(profile: str, start: dt.date, end: dt.date, out) -> int:
    """Writes COPY text (COLUMNS order) to out; returns the number of runs."""
    n, buf = 0, []
    names = {}
    for row, run_id, second, micro, duration in runs(profile, start, end):
        key = (row.environment_id, row.workspace_id)
        prefix = names.get(key)
        if prefix is None:
            prefix = names[key] = "\t".join(
                _copy_field(v) for v in (row.account_id, row.environment_id, row.environment_name,
                                         row.workspace_id, row.workspace_name))
        finished = (f"{row.date.isoformat()} {second // 3600:02d}:{second // 60 % 60:02d}:"
                    f"{second % 60:02d}.{micro:06d}+00")
        buf.append(f"{run_id}\t{prefix}\t{finished}\t{duration}\n")
        n += 1
        if len(buf) >= 8192:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))
    out.flush()
    return n


def expected(profile: str, start: dt.date, end: dt.date) -> dict:
    """Sums counted run by run (not from the daily rows): what both exporters must expose."""
    accounts, envs, wss, env_names, ws_names = {}, {}, {}, {}, {}
    rows = runs_total = 0
    last_row = None
    for row, _run_id, _second, _micro, duration in runs(profile, start, end):
        if row is not last_row:
            rows += 1
            last_row = row
        runs_total += 1
        for table, key in ((accounts, row.account_id),
                           (envs, f"{row.account_id}|{row.environment_id}"),
                           (wss, f"{row.account_id}|{row.workspace_id}")):
            runs_, secs = table.get(key, (0, 0))
            table[key] = (runs_ + 1, secs + duration)
        env_names[f"{row.account_id}|{row.environment_id}"] = row.environment_name or ""
        ws_names[f"{row.account_id}|{row.workspace_id}"] = [row.workspace_name or "",
                                                            row.environment_id]
    return {"profile": profile, "period": [start.isoformat(), end.isoformat()],
            "workspace_day_rows": rows, "runs": runs_total,
            "accounts": accounts, "environments": envs, "workspaces": wss,
            "environment_names": env_names, "workspace_names": ws_names}


def stats(profile: str, start: dt.date, end: dt.date) -> dict:
    accs = sample_data.accounts(profile)
    exp = expected(profile, start, end)
    return {"profile": profile, "month": start.strftime("%Y-%m"),
            "accounts": len(accs), "accounts_with_runs": len(exp["accounts"]),
            "environments": sum(len(a.environments) for a in accs.values()),
            "workspaces": sum(len(a.workspaces) for a in accs.values()),
            "workspaces_with_runs": len(exp["workspaces"]),
            "environments_with_runs": len(exp["environments"]),
            "workspace_day_rows": exp["workspace_day_rows"], "runs": exp["runs"],
            "run_seconds": sum(s for _, s in exp["accounts"].values())}


def self_test() -> None:
    # Factor 1 of the scaled builder is the "large" profile itself (ids, names, activity).
    assert _scaled(LARGE_WORKSPACES) == sample_data.accounts("large"), "scaled(10000) != large"
    # An expansion sums exactly, stays inside the day, and is the same every time.
    for count, seconds in ((1, 0), (1, 17), (6, 5), (6, 5399), (3, 2)):
        parts = expand("ws-x", dt.date(2026, 11, 30), count, seconds)
        assert len(parts) == count and sum(p[3] for p in parts) == seconds, (count, seconds)
        assert all(0 <= p[1] < 86400 and 0 <= p[2] < 1_000_000 and p[3] >= 0 for p in parts)
        assert parts == expand("ws-x", dt.date(2026, 11, 30), count, seconds)
        assert len({p[0] for p in parts}) == count
    # The runs of a month add up to the daily rows of that month.
    start, end = parse_month("2026-02")
    exp = expected("small", start, end)
    rows = list(sample_data.raw_rows(start, end - dt.timedelta(days=1), "small"))
    assert exp["runs"] == sum(r.runs_count for r in rows)
    assert sum(s for _, s in exp["accounts"].values()) == sum(r.runs_seconds for r in rows)
    print("ok")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=("copy", "expected", "stats", "profile", "check"))
    p.add_argument("--workspaces", type=int, default=LARGE_WORKSPACES,
                   help="workspaces with possible usage (10000 = sample_data's large profile)")
    p.add_argument("--month", default=None, help="YYYY-MM, UTC (default: the current month)")
    args = p.parse_args(argv)
    if args.command == "check":
        self_test()
        return 0
    try:
        profile = profile_name(args.workspaces)
        start, end = parse_month(args.month or current_month())
    except (ValueError, argparse.ArgumentTypeError) as e:
        p.error(str(e))
    if args.command == "profile":
        print(profile)
    elif args.command == "copy":
        n = write_copy(profile, start, end, sys.stdout)
        print(f"gen_pg_large: {n} runs of profile {profile}, {start:%Y-%m}", file=sys.stderr)
    elif args.command == "expected":
        json.dump(expected(profile, start, end), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        json.dump(stats(profile, start, end), sys.stdout)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
