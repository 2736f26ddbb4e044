#!/usr/bin/python3
"""Helpers of bench/compare-sql-exporter.sh and bench/measure-daemon.sh (standard library only).

  perf_lib.py compare OURS.txt SQLX.txt EXPECTED.json
      Parses both expositions (own parser), maps both to (level, value, labels both share) and
      compares every series with the other exporter and with the sums gen_pg_large.py counted from
      the generated runs. Prints the totals; exit 1 on any difference.
  perf_lib.py complete URL ours|sqlx EXPECTED.json START_EPOCH TIMEOUT [PID]
      Fetches URL every 20 ms until it holds every expected account total and as many workspace
      series as expected; prints the seconds since START_EPOCH (the launch). Exit 1 on timeout.
  perf_lib.py wrk FILE
      The WRK_JSON line of a wrk run (bench/wrk-latency.lua) as JSON, with requests/s added.
  perf_lib.py exposition URL
      Bytes plain and gzip, and the series count, of one scrape (key=value lines).
  perf_lib.py default-query SOURCE_DIR
      The exporter's default query text, read from collectors/postgres/queries.h.
  perf_lib.py wrk-record FILE TICKS HZ SOURCE SCALE plain|gzip
      measure-daemon.sh's result lines of one wrk run.
  perf_lib.py cost-table RESULTS
      measure-daemon.sh's tables, one per source, a column per scale.
  perf_lib.py summary WORKDIR
      The comparison table of compare-sql-exporter.sh, from the files it left in WORKDIR; also
      writes WORKDIR/results.json. Exit 1 if a wrk run saw errors or non-2xx responses.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import time
import urllib.request
from pathlib import Path

COMMON_LABELS = ("account_id", "environment_id", "environment_name", "workspace_id",
                 "workspace_name")
_LINE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def _unescape(v: str) -> str:
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse(text: str) -> dict:
    """{(name, frozenset(labels.items())): float} of a text exposition (0.0.4)."""
    out = {}
    for line_no, line in enumerate(text.split("\n"), 1):
        if not line or line.startswith("#"):
            continue
        m = _LINE.fullmatch(line)
        if not m:
            raise ValueError(f"line {line_no}: cannot parse {line[:200]!r}")
        name, body, value = m.groups()
        labels, pos = {}, 0
        while body and pos < len(body):
            lm = _LABEL.match(body, pos)
            if not lm or lm.end() == pos:
                raise ValueError(f"line {line_no}: bad labels {body[:200]!r}")
            labels[lm.group(1)] = _unescape(lm.group(2))
            pos = lm.end()
        key = (name, frozenset(labels.items()))
        if key in out:
            raise ValueError(f"line {line_no}: duplicate series {name}{labels}")
        out[key] = float(value)
    return out


def usage_series(samples: dict, kind: str) -> dict:
    """{(level, runs|run_seconds, frozenset(shared labels)): value} of one exporter's output."""
    out = {}
    for (name, labels), value in samples.items():
        labels = dict(labels)
        if kind == "ours":
            m = re.fullmatch(r"scalr_(account|environment|workspace)_(runs|run_seconds)_total",
                             name)
            if not m:
                continue
            level, what = m.groups()
        else:
            m = re.fullmatch(r"sql_scalr_(account|environment|workspace)", name)
            if not m:
                continue
            level, what = m.group(1), labels["col"]
        key = (level, what, frozenset((k, v) for k, v in labels.items() if k in COMMON_LABELS))
        if key in out:
            raise ValueError(f"{kind}: two series for {key}")
        out[key] = value
    return out


def expected_series(exp: dict) -> dict:
    out = {}
    for key, (runs, secs) in exp["accounts"].items():
        labels = frozenset({("account_id", key)})
        out[("account", "runs", labels)], out[("account", "run_seconds", labels)] = runs, secs
    for key, (runs, secs) in exp["environments"].items():
        account, env = key.split("|")
        labels = frozenset({("account_id", account), ("environment_id", env),
                            ("environment_name", exp["environment_names"][key])})
        out[("environment", "runs", labels)] = runs
        out[("environment", "run_seconds", labels)] = secs
    for key, (runs, secs) in exp["workspaces"].items():
        account, ws = key.split("|")
        name, env = exp["workspace_names"][key]
        labels = frozenset({("account_id", account), ("workspace_id", ws), ("workspace_name", name),
                            ("environment_id", env),
                            ("environment_name", exp["environment_names"][f"{account}|{env}"])})
        out[("workspace", "runs", labels)] = runs
        out[("workspace", "run_seconds", labels)] = secs
    return out


def _diff(a: dict, b: dict, name_a: str, name_b: str, limit: int = 5) -> list:
    problems = []
    for key in sorted(a.keys() - b.keys(), key=str)[:limit]:
        problems.append(f"only in {name_a}: {key[0]} {key[1]} {dict(key[2])} = {a[key]}")
    for key in sorted(b.keys() - a.keys(), key=str)[:limit]:
        problems.append(f"only in {name_b}: {key[0]} {key[1]} {dict(key[2])} = {b[key]}")
    wrong = [k for k in a.keys() & b.keys() if a[k] != b[k]]
    for key in sorted(wrong, key=str)[:limit]:
        problems.append(f"{key[0]} {key[1]} {dict(key[2])}: {name_a} {a[key]} != {name_b} {b[key]}")
    extra = len(a.keys() ^ b.keys()) + len(wrong) - len(problems)
    if extra > 0:
        problems.append(f"... and {extra} more differences")
    return problems


def totals(series: dict) -> dict:
    out = {}
    for (level, what, _), value in series.items():
        count, total = out.get(f"{level}_{what}", (0, 0))
        out[f"{level}_{what}"] = (count + 1, total + value)
    return out


def cmd_compare(ours_path, sqlx_path, expected_path) -> int:
    ours = usage_series(parse(Path(ours_path).read_text(encoding="utf-8")), "ours")
    sqlx = usage_series(parse(Path(sqlx_path).read_text(encoding="utf-8")), "sqlx")
    exp = expected_series(json.loads(Path(expected_path).read_text(encoding="utf-8")))
    t_ours, t_sqlx, t_exp = totals(ours), totals(sqlx), totals(exp)
    print(f"{'series':<24} {'count':>7} {'sum (ours)':>16} {'sum (sql_exporter)':>20} "
          f"{'sum (generated)':>16}")
    for key in sorted(t_exp):
        print(f"{key:<24} {t_ours.get(key, (0, 0))[0]:>7} {t_ours.get(key, (0, 0))[1]:>16.0f} "
              f"{t_sqlx.get(key, (0, 0))[1]:>20.0f} {t_exp[key][1]:>16.0f}")
    problems = (_diff(ours, sqlx, "ours", "sql_exporter") + _diff(ours, exp, "ours", "generated")
                + _diff(sqlx, exp, "sql_exporter", "generated"))
    for p in problems:
        print("MISMATCH " + p)
    if problems:
        return 1
    print(f"same numbers: {len(ours)} series, each equal in both exporters and to the "
          "generated runs")
    return 0


def _fetch(url: str, timeout: float = 10.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def cmd_complete(url, kind, expected_path, start_epoch, timeout, pid=None) -> int:
    exp = json.loads(Path(expected_path).read_text(encoding="utf-8"))
    want_ws = len(exp["workspaces"])
    accounts = exp["accounts"]
    deadline = time.time() + float(timeout)
    while time.time() < deadline:
        if pid and not Path(f"/proc/{pid}").exists():
            print(f"process {pid} exited", file=sys.stderr)
            return 1
        try:
            body = _fetch(url)
        except OSError:
            time.sleep(0.02)
            continue
        done = time.time()
        if kind == "ours":
            n_ws = body.count(b"\nscalr_workspace_runs_total{")
            acc = {m.group(1).decode(): float(m.group(2)) for m in re.finditer(
                rb'\nscalr_account_runs_total\{account_id="([^"]*)"\} (\S+)', body)}
        else:
            n_ws = body.count(b"\nsql_scalr_workspace{") // 2
            acc = {m.group(1).decode(): float(m.group(2)) for m in re.finditer(
                rb'\nsql_scalr_account\{account_id="([^"]*)",col="runs"[^}]*\} (\S+)', body)}
        if n_ws == want_ws and all(acc.get(a) == runs for a, (runs, _) in accounts.items()):
            print(f"{done - float(start_epoch):.3f}")
            return 0
        time.sleep(0.02)
    print(f"{url}: not complete after {timeout}s", file=sys.stderr)
    return 1


def wrk_result(path) -> dict:
    text = Path(path).read_text(errors="replace")
    m = re.search(r"^WRK_JSON (.*)$", text, re.M)
    if not m:
        raise SystemExit(f"{path}: no WRK_JSON line (wrk failed?):\n{text[-2000:]}")
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6) if r["duration_us"] else 0.0
    r["non2xx"] = r["errors"]["status"]
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        r["non2xx"] = max(r["non2xx"], int(m.group(1)))
    return r


def cmd_exposition(url) -> int:
    plain = _fetch(url)
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=10) as r:
        gz = r.read()
        encoding = r.headers.get("Content-Encoding", "")
    if encoding == "gzip":
        assert gzip.decompress(gz).count(b"\n") > 0
    series = sum(1 for line in plain.split(b"\n") if line and not line.startswith(b"#"))
    print(f"bytes_plain={len(plain)}")
    print(f"bytes_gzip={len(gz) if encoding == 'gzip' else ''}")
    print(f"series={series}")
    return 0


def cmd_default_query(source_dir) -> int:
    text = (Path(source_dir) / "collectors" / "postgres" / "queries.h").read_text()
    m = re.search(r'kDefaultQuery = R"sql\((.*?)\)sql"', text, re.S)
    if not m:
        raise SystemExit("kDefaultQuery not found in collectors/postgres/queries.h")
    print(m.group(1))
    return 0


def _ms(us) -> str:
    return f"{us / 1000:.2f} ms"


def _side(workdir: Path, name: str) -> dict:
    """What compare-sql-exporter.sh left in workdir for one exporter: NAME.vals (key=value
    lines) and NAME.wrk_plain.txt / NAME.wrk_gzip.txt (wrk output)."""
    side = {}
    vals = workdir / f"{name}.vals"
    if vals.exists():
        for line in vals.read_text().splitlines():
            k, _, v = line.partition("=")
            if v:
                side[k] = float(v)
    for run in ("wrk_plain", "wrk_gzip"):
        path = workdir / f"{name}.{run}.txt"
        if path.exists():
            side[run] = wrk_result(path)
            ticks = side.get(f"{run}_cpu_ticks")
            if ticks is not None and side[run]["requests"]:
                side[run]["cpu_ms_per_request"] = ticks * 1000 / side.get("clk_tck", 100) \
                    / side[run]["requests"]
    return side


def cmd_summary(workdir) -> int:
    workdir = Path(workdir)
    ours, sqlx = _side(workdir, "ours"), _side(workdir, "sqlx")
    static = _side(workdir, "static")  # nginx serving our exposition's bytes from a file
    (workdir / "results.json").write_text(json.dumps({"ours": ours, "sqlx": sqlx,
                                                      "static": static}, indent=1))

    def get(side, run, field):
        w = side.get(run)
        if not w:
            return None
        if field == "rps":
            return w["rps"]
        if field == "cpu":
            return w.get("cpu_ms_per_request")
        return w["latency_us"][field]

    def row(label, a, b, fmt, ratio, floor=None):
        r = f"{ratio(a, b):.1f}x" if a and b else "-"
        line = (f"{label:<34}{fmt(a) if a is not None else '-':>22}"
                f"{fmt(b) if b is not None else '-':>22}{r:>10}")
        if floor is not None:
            line += f"{fmt(floor):>22}{(f'{ratio(a, floor):.2f}x' if a and floor else '-'):>10}"
        print(line)

    up = lambda a, b: a / b      # more is better: ours / theirs
    down = lambda a, b: b / a    # less is better: theirs / ours
    rps = lambda v: f"{v:.1f}"
    cpu = lambda v: f"{v:.2f} ms"
    print(f"\n{'':<34}{'scalr-usage-exporter':>22}{'sql_exporter 0.4.5':>22}{'ratio':>10}"
          f"{'nginx, same bytes':>22}{'ratio':>10}")
    for enc in ("plain", "gzip"):
        run = f"wrk_{enc}"
        for label, field, fmt, ratio in ((f"requests/s, {enc}", "rps", rps, up),
                                         (f"p50 latency, {enc}", "p50", _ms, down),
                                         (f"p99 latency, {enc}", "p99", _ms, down),
                                         (f"server CPU per request, {enc}", "cpu", cpu, down)):
            row(label, get(ours, run, field), get(sqlx, run, field), fmt, ratio,
                get(static, run, field) if static else None)
    row("peak RSS (VmHWM)", ours.get("hwm_kb"), sqlx.get("hwm_kb"),
        lambda v: f"{v / 1024:.1f} MB", down)
    row("time to first complete metrics", ours.get("ttfc_s"), sqlx.get("ttfc_s"),
        lambda v: f"{v:.2f} s", down)
    row("idle CPU (no scrapes, no polls)", ours.get("idle_cpu_pct"), sqlx.get("idle_cpu_pct"),
        lambda v: f"{v:.3f} %", down)
    row("exposition bytes, plain", ours.get("bytes_plain"), sqlx.get("bytes_plain"),
        lambda v: f"{v:,.0f}", down)
    row("exposition bytes, gzip", ours.get("bytes_gzip"), sqlx.get("bytes_gzip"),
        lambda v: f"{v:,.0f}", down)
    print("(ratio: ours/theirs for requests/s, theirs/ours for the rest: above 1 means ours is "
          "better;\n nginx serves the exact bytes of our exposition from a file with sendfile: "
          "the floor on this machine)")
    errors = {f"{name} {run}": (s[run]["errors"], s[run]["non2xx"])
              for name, s in (("ours", ours), ("sql_exporter", sqlx), ("nginx", static))
              for run in ("wrk_plain", "wrk_gzip") if run in s
              and (any(s[run]["errors"].values()) or s[run]["non2xx"])}
    for k, v in errors.items():
        print(f"WARNING: {k}: wrk errors {v[0]}, non-2xx {v[1]}")
    print("\ndesign targets (ours):")
    ratio = ((get(ours, "wrk_plain", "rps") or 0) / get(sqlx, "wrk_plain", "rps")
             if get(sqlx, "wrk_plain", "rps") else None)
    checks = [
        ("p99 < 10 ms uncompressed, 8 connections", get(ours, "wrk_plain", "p99"),
         lambda v: v < 10_000, _ms),
        (">= 10x sql_exporter's requests/s, plain", ratio, lambda v: v >= 10,
         lambda v: f"{v:.1f}x"),
        ("peak RSS < 64 MB", ours.get("hwm_kb"), lambda v: v < 64 * 1024,
         lambda v: f"{v / 1024:.1f} MB"),
        ("idle CPU near zero (< 0.5 %)", ours.get("idle_cpu_pct"), lambda v: v < 0.5,
         lambda v: f"{v:.3f} %"),
    ]
    for label, value, ok, fmt in checks:
        verdict = "n/a" if value is None else ("met" if ok(value) else "NOT MET")
        print(f"  {label:<46} {fmt(value) if value is not None else '-':>12}  {verdict}")
    floor = get(static, "wrk_plain", "p99") if static else None
    if floor is not None:
        print(f"  (nginx serving the same bytes from a file: p99 {_ms(floor)} uncompressed, "
              f"{_ms(get(static, 'wrk_gzip', 'p99'))} gzip)")
    return 1 if errors else 0


def cmd_wrk_record(path, ticks, hz, source, scale, enc) -> int:
    """measure-daemon.sh's result lines (SOURCE SCALE KEY VALUE) of one wrk run."""
    r = wrk_result(path)
    cpu = int(ticks) * 1000 / int(hz) / r["requests"] if r["requests"] else 0
    for k, v in ((f"{enc}_rps", f"{r['rps']:.1f}"),
                 (f"{enc}_p50_ms", f"{r['latency_us']['p50'] / 1000:.2f}"),
                 (f"{enc}_p99_ms", f"{r['latency_us']['p99'] / 1000:.2f}"),
                 (f"{enc}_cpu_ms_per_request", f"{cpu:.3f}"),
                 (f"{enc}_errors", sum(r["errors"].values()) + r["non2xx"])):
        print(source, scale, k, v)
    return 0


COST_ROWS = (
    ("runs", "runs in the month", None),
    ("query_rows", "query result rows (workspace-days)", None),
    ("query_execution_ms", "query: EXPLAIN ANALYZE execution", "ms"),
    ("query_round_trip_ms", "query: psql round trip, whole result", "ms"),
    ("first_poll_wall_s", "first poll, launch to done (cold)", "s"),
    ("poll_interval_s", "poll.interval while measuring polls", "s"),
    ("last_poll_duration_s", "scalr_exporter_last_poll_duration_seconds, max", "s"),
    ("last_poll_duration_sum_s", "scalr_exporter_last_poll_duration_seconds, sum", "s"),
    ("poll_cpu_s", "one poll, daemon CPU (utime+stime)", "s"),
    ("series", "series exposed", None),
    ("bytes_plain", "exposition bytes, plain", "B"),
    ("bytes_gzip", "exposition bytes, gzip", "B"),
    ("rss_after_poll_kb", "VmRSS after 2 polls", "kB"),
    ("rss_after_3_polls_kb", "VmRSS after 3 polls", "kB"),
    ("hwm_polling_kb", "VmHWM (peak RSS) after 3 polls", "kB"),
    ("hwm_kb", "VmHWM after 1 poll and the wrk runs", "kB"),
    ("plain_rps", "wrk plain: requests/s", None),
    ("plain_p50_ms", "wrk plain: p50", "ms"),
    ("plain_p99_ms", "wrk plain: p99", "ms"),
    ("plain_cpu_ms_per_request", "wrk plain: daemon CPU per request", "ms"),
    ("gzip_rps", "wrk gzip: requests/s", None),
    ("gzip_p50_ms", "wrk gzip: p50", "ms"),
    ("gzip_p99_ms", "wrk gzip: p99", "ms"),
    ("gzip_cpu_ms_per_request", "wrk gzip: daemon CPU per request", "ms"),
    ("plain_errors", "wrk plain: errors + non-2xx", None),
    ("gzip_errors", "wrk gzip: errors + non-2xx", None),
    ("report_wall_s", "report, all formats: wall (cold)", "s"),
    ("report_cpu_s", "report, all formats: CPU (cold)", "s"),
    ("report_wall_warm_s", "report, all formats: wall (warm)", "s"),
    ("report_cpu_warm_s", "report, all formats: CPU (warm)", "s"),
    ("report_max_rss_kb", "report, all formats: max RSS", "kB"),
    ("report_files", "report files", None),
    ("report_bytes", "report bytes", "B"),
)


def cmd_cost_table(results_path) -> int:
    data = {}
    for line in Path(results_path).read_text().splitlines():
        source, scale, key, value = line.split(" ", 3)
        data.setdefault(source, {}).setdefault(int(scale), {})[key] = value
    bad = 0
    for source, by_scale in data.items():
        scales = sorted(by_scale)
        print(f"\n{source}")
        print(f"| {'':<50} | " + " | ".join(f"{s:>12,}" for s in scales) + " |")
        print(f"| {'-' * 50} | " + " | ".join("-" * 12 for _ in scales) + " |")
        for key, label, unit in COST_ROWS:
            if not any(key in by_scale[s] for s in scales):
                continue
            cells = []
            for s in scales:
                v = by_scale[s].get(key, "")
                if unit == "kB" and v:
                    v = f"{int(v) / 1024:.1f} MB"
                elif unit == "B" and v:
                    v = f"{int(v):,}"
                elif unit and v:
                    v = f"{v} {unit}"
                cells.append(f"{v:>12}")
            print(f"| {label:<50} | " + " | ".join(cells) + " |")
            if key.endswith("_errors"):
                bad += sum(int(by_scale[s].get(key) or 0) for s in scales)
    return 1 if bad else 0


def main(argv) -> int:
    if not argv:
        print(__doc__)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "compare":
        return cmd_compare(*args)
    if cmd == "complete":
        return cmd_complete(*args)
    if cmd == "wrk":
        print(json.dumps(wrk_result(args[0])))
        return 0
    if cmd == "exposition":
        return cmd_exposition(*args)
    if cmd == "default-query":
        return cmd_default_query(*args)
    if cmd == "summary":
        return cmd_summary(*args)
    if cmd == "wrk-record":
        return cmd_wrk_record(*args)
    if cmd == "cost-table":
        return cmd_cost_table(*args)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
