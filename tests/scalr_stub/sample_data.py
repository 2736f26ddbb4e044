#!/usr/bin/python3
"""Deterministic sample usage data for the stand-in Scalr server and the integration tests.

The data is a set of accounts -> environments -> workspaces (ids shaped like Scalr's) and, for
ANY calendar day, the raw daily usage of every workspace: (runs_count, runs_seconds). Usage is a
pure function of (SEED, workspace id, date) through sha256, so every process computes the same
numbers and nothing is stored. Days without runs are common: each workspace is idle on some days,
and each account has "quiet days" on which none of its workspaces runs.

raw_rows() yields only days with runs (runs_count > 0) unless include_zero=True.

Profiles:
  small (default)  4 accounts: two with 4 and 3 environments and 31 and 26 workspaces (hostile names
                   in the first), a tiny one with 1 environment and 2 sparse workspaces, and one
                   with no usage at all (it has 1 environment and 3 workspaces). Tiny.
  large            the same 4 account ids with 50/6000, 30/3000, 20/1000 and 1/3 environments/
                   workspaces (101 and 10,003 in all; hostile names again in the first account),
                   built on first use (~0.1 s), about 0.5 s per account-month of aggregation.
  fixed            small's accounts, environments and workspaces, with usage that is the same in
                   every month: day N (1..28) of any month has the usage small has on day N of
                   FIXED_MONTH (February 2026, 28 days), and days 29 to 31 have none. So a month's
                   sums do not depend on which month it is (the golden expositions of
                   tests/golden/ use it); rows keep their own dates, only the numbers repeat.
  many, many:N     N synthetic accounts (many: MANY_DEFAULT = 1000; 1 <= N <= 999999) for the
                   several-targets benchmark: ids acc-m000001 .. (many_account_id(i)), names
                   "Account 1" .., each with 1 environment ("default") and 2 workspaces, activity
                   0.5, at most 3 runs a day. Built in a few milliseconds per thousand accounts;
                   an account-month is 62 workspace-days. many_profile(N) names the profile.

Workspace listing (GET /api/iacp/v3/workspaces, enrichment): every workspace belongs to its
environment (the same relation as the rows' environment_id), and has tags (workspace_tags(),
"key:value" names such as team:payments or cost-center:CC-100, about a quarter of them none),
tag ids tag_id(account, name). Some workspaces are deleted (is_deleted(): the one whose
breakdown-name is null, and about one in twelve of the others that run): their usage is still
reported, but listed_workspaces() leaves them out, as Scalr's listing does.

Every account has a stable name (Account.name, ACCOUNT_NAMES for the four fixed ids; "" when a
profile gives none), what Scalr's breakdown_by=account reports as breakdown-name. ACCOUNT_DEMO's
name is hostile (a quote, a backslash, non-ASCII) for label-escaping tests of account_name.

CLI (dumps raw rows, inclusive date range; the tests use it to check sums independently):
  python3 sample_data.py --from 2026-11-01 --to 2026-11-30 [--format jsonl|csv] [--profile small]
                         [--account ID ...] [--include-zero]
  python3 sample_data.py --entities [--profile small]      # accounts (with names)/environments/
                                                           # workspaces, jsonl
(--profile takes any profile name, "many:N" too.)
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import functools
import hashlib
import json
import re
import sys
from typing import Iterator, NamedTuple, Optional

SEED = "scalr-usage-exporter/sample-data/v1"

# Account ids used by every profile.
ACCOUNT_MAIN = "acc-ttpu7uslju6igv8"   # the id from Scalr's documentation; hostile names live here
ACCOUNT_DEMO = "acc-demo2000000001"
ACCOUNT_TINY = "acc-tiny3000000003"    # 1 environment, 2 rarely used workspaces
ACCOUNT_EMPTY = "acc-empty400000004"   # exists, has environments/workspaces, never any runs
ACCOUNTS = (ACCOUNT_MAIN, ACCOUNT_DEMO, ACCOUNT_TINY, ACCOUNT_EMPTY)

# Hostile names (all in ACCOUNT_MAIN), for label-escaping tests.
NAME_QUOTE = 'app-"quoted"'
NAME_BACKSLASH = "win\\path\\ws"          # two real backslashes
NAME_NEWLINE = "line1\nline2"
NAME_UTF8 = "prod-ü-日本"
NAME_NON_BMP = "rocket-🚀"                # needs a surrogate pair when JSON-escaped as \\uXXXX
ENV_NAME_QUOTE = 'team "alpha"'

# Account names (Scalr's breakdown_by=account breakdown-name); the demo account's is hostile.
ACCOUNT_NAME_HOSTILE = 'Demo "QA" \\ Zürich-日本'   # a quote, one backslash, UTF-8
ACCOUNT_NAMES = {
    ACCOUNT_MAIN: "Main account",
    ACCOUNT_DEMO: ACCOUNT_NAME_HOSTILE,
    ACCOUNT_TINY: "Tiny account",
    ACCOUNT_EMPTY: "Empty account (no runs)",
}

# The profile "many" (see the module docstring).
MANY_DEFAULT = 1000
MANY_MAX = 999999


class Environment(NamedTuple):
    account_id: str
    id: str
    name: str


class Workspace(NamedTuple):
    account_id: str
    environment_id: str
    environment_name: str
    id: str
    name: Optional[str]   # None: Scalr reports breakdown-name null
    activity: float       # probability of any run on a non-quiet day; 0 = never runs
    max_runs: int         # runs on an active day: 1..max_runs


class Account(NamedTuple):
    id: str
    environments: tuple   # of Environment, sorted by id
    workspaces: tuple     # of Workspace, sorted by id
    name: str = ""        # the account's name ("" when the profile gives none)


class Row(NamedTuple):
    account_id: str
    environment_id: str
    environment_name: str
    workspace_id: str
    workspace_name: Optional[str]
    date: dt.date
    runs_count: int
    runs_seconds: int

    def to_json(self) -> dict:
        d = self._asdict()
        d["date"] = self.date.isoformat()
        return d


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("|".join((SEED,) + parts).encode("utf-8")).digest()


_B32 = "0123456789abcdefghijklmnopqrstuv"


def make_id(prefix: str, *parts: str) -> str:
    """A Scalr-shaped id ("env-v0o1ld3a4p0jm6g8i") derived from parts: prefix + 17 base32 chars."""
    n = int.from_bytes(_digest("id", prefix, *parts)[:11], "big")
    return prefix + "-" + "".join(_B32[(n >> (5 * i)) & 31] for i in range(17))


_COMPONENTS = ("network", "dns", "vpc", "iam", "db", "cache", "queue", "api", "web", "cdn",
               "k8s", "monitoring", "logging", "secrets", "storage", "batch", "search", "mail")


def _build_account(account_id: str, env_names, n_workspaces: int, activity: float, max_runs: int,
                   hostile: bool = False, account_name: Optional[str] = None) -> Account:
    envs = [Environment(account_id, make_id("env", account_id, name), name) for name in env_names]
    specs = []  # (env index, name, activity)
    if hostile:
        specs += [(0, NAME_QUOTE, activity), (0, NAME_BACKSLASH, activity),
                  (1, NAME_NEWLINE, activity), (0, NAME_UTF8, activity),
                  (1, NAME_NON_BMP, activity), (2, None, activity),
                  (len(envs) - 1, "quoted-env-ws", activity),   # in the env whose name has a quote
                  (2, "archived-legacy", 0.0)]                   # never runs: never in the API
    i = 0
    while len(specs) < n_workspaces:
        env_index = i % len(envs)
        slug = re.sub(r"[^a-z0-9]", "", env_names[env_index].split()[0].lower())
        name = f"{slug}-{_COMPONENTS[i % len(_COMPONENTS)]}-{i:03d}"
        specs.append((env_index, name, activity))
        i += 1
    workspaces = []
    for k, (env_index, name, act) in enumerate(specs):
        env = envs[env_index]
        ws_id = make_id("ws", account_id, str(k), name or "")
        workspaces.append(Workspace(account_id, env.id, env.name, ws_id, name, act, max_runs))
    return Account(account_id, tuple(sorted(envs, key=lambda e: e.id)),
                   tuple(sorted(workspaces, key=lambda w: w.id)),
                   ACCOUNT_NAMES.get(account_id, "") if account_name is None else account_name)


def _small() -> dict:
    return {a.id: a for a in (
        _build_account(ACCOUNT_MAIN, ["production", "staging", "development", ENV_NAME_QUOTE], 31,
                       activity=0.6, max_runs=12, hostile=True),
        _build_account(ACCOUNT_DEMO, ["prod", "qa", "sandbox"], 26, activity=0.5, max_runs=8),
        _build_account(ACCOUNT_TINY, ["default"], 2, activity=0.15, max_runs=3),
        _build_account(ACCOUNT_EMPTY, ["unused"], 3, activity=0.0, max_runs=1),
    )}


def _large() -> dict:
    def names(prefix, n):
        return [f"{prefix}-{i:03d}" for i in range(n)]
    return {a.id: a for a in (
        _build_account(ACCOUNT_MAIN, ["production", "staging", "development", ENV_NAME_QUOTE]
                       + names("team", 46), 6000, activity=0.3, max_runs=6, hostile=True),
        _build_account(ACCOUNT_DEMO, names("demo", 30), 3000, activity=0.3, max_runs=6),
        _build_account(ACCOUNT_TINY, names("tiny", 20), 1000, activity=0.1, max_runs=3),
        _build_account(ACCOUNT_EMPTY, ["unused"], 3, activity=0.0, max_runs=1),
    )}


def many_account_id(i: int) -> str:
    """The id of the i-th (1-based) account of the "many" profiles."""
    return f"acc-m{i:06d}"


def many_profile(n: int) -> str:
    """The name of the "many" profile with n accounts."""
    if not 1 <= n <= MANY_MAX:
        raise ValueError(f"many accounts: {n} is not in 1..{MANY_MAX}")
    return f"many:{n}"


def _many(n: int) -> dict:
    # Plain _build_account rules; the account's index in the name keeps workspace names apart.
    return {a.id: a for a in (
        _build_account(many_account_id(i), ["default"], 2, activity=0.5, max_runs=3,
                       account_name=f"Account {i}")
        for i in range(1, n + 1))}


PROFILES = {"small": _small, "large": _large, "fixed": _small,
            "many": lambda: _many(MANY_DEFAULT)}
_MANY = re.compile(r"many:([0-9]{1,6})")

# The profile "fixed" repeats the usage of this 28-day month of "small" in every month.
FIXED_MONTH = dt.date(2026, 2, 1)
FIXED_MONTH_DAYS = 28


def usage_day(profile: str, day: dt.date) -> Optional[dt.date]:
    """The day whose usage `day` has in profile: day itself, except in "fixed", where it is the
    same day of the month in FIXED_MONTH, or None (no usage at all) for the 29th to the 31st."""
    if profile != "fixed":
        return day
    return FIXED_MONTH.replace(day=day.day) if day.day <= FIXED_MONTH_DAYS else None


@functools.lru_cache(maxsize=None)
def accounts(profile: str = "small") -> dict:
    """{account_id: Account} of a profile (built on first use, then cached)."""
    check_profile(profile)
    m = _MANY.fullmatch(profile)
    return _many(int(m.group(1))) if m else PROFILES[profile]()


def check_profile(profile: str) -> str:
    """profile if it names a profile, else ValueError; an argparse type. Cheap: it builds nothing
    (a large profile is built on first use, after the stand-in has started)."""
    m = _MANY.fullmatch(profile)
    if m and profile == many_profile(int(m.group(1))):  # many:0 raises; many:007 is unknown
        return profile
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r} (want one of {sorted(PROFILES)} "
                         f"or many:N)")
    return profile


TEAMS = ("team:payments", "team:data", "team:platform")
COST_CENTERS = ("cost-center:CC-100", "cost-center:CC-200")
PRODUCTS = ("product:checkout", "product:search")


def workspace_tags(ws: Workspace) -> tuple:
    """The workspace's tag names, sorted: about a quarter have none; the others a team, and some a
    cost centre and a product too."""
    h = _digest("tags", ws.id)
    if h[0] % 4 == 0:
        return ()
    tags = [TEAMS[h[1] % len(TEAMS)]]
    if h[2] % 2 == 0:
        tags.append(COST_CENTERS[h[3] % len(COST_CENTERS)])
    if h[4] % 3 == 0:
        tags.append(PRODUCTS[h[5] % len(PRODUCTS)])
    return tuple(sorted(tags))


def tag_id(account_id: str, name: str) -> str:
    """Tags belong to an account in Scalr: the same name in two accounts is two tags."""
    return make_id("tag", account_id, name)


def is_deleted(ws: Workspace) -> bool:
    """Deleted since it ran: its usage is reported (breakdown-name null for the one without a
    name), but the workspace listing no longer has it."""
    return ws.name is None or (ws.activity > 0 and _digest("deleted", ws.id)[0] < 22)


def listed_workspaces(profile: str, account_id: str) -> tuple:
    """The workspaces Scalr's listing returns for the account, sorted by id (the deleted left
    out); () for an account the profile does not have."""
    acc = accounts(profile).get(account_id)
    return tuple(ws for ws in acc.workspaces if not is_deleted(ws)) if acc else ()


def is_quiet_day(account_id: str, day: dt.date) -> bool:
    """About one day in nine, no workspace of the account runs at all."""
    return _digest("quiet", account_id, day.isoformat())[0] % 9 == 0


def workspace_usage(ws: Workspace, day: dt.date) -> tuple:
    """(runs_count, runs_seconds) of one workspace on one UTC day."""
    if ws.activity <= 0 or is_quiet_day(ws.account_id, day):
        return 0, 0
    h = _digest("usage", ws.id, day.isoformat())
    if h[0] >= ws.activity * 256:
        return 0, 0
    runs = 1 + h[1] % ws.max_runs
    seconds = runs * 15 + int.from_bytes(h[2:5], "big") % (runs * 900)
    return runs, seconds


def _days(start: dt.date, end_inclusive: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= end_inclusive:
        yield day
        day += dt.timedelta(days=1)


def raw_rows(start_date: dt.date, end_date_inclusive: dt.date, profile: str = "small",
             account_ids=None, include_zero: bool = False) -> Iterator[Row]:
    """The raw daily rows of [start_date, end_date_inclusive], ordered by (date, account, workspace).

    Only rows with runs unless include_zero. account_ids limits the accounts (default: all)."""
    accs = accounts(profile)
    selected = [accs[a] for a in (account_ids if account_ids is not None else sorted(accs))
                if a in accs]
    for day in _days(start_date, end_date_inclusive):
        source_day = usage_day(profile, day)
        for acc in selected:
            for ws in acc.workspaces:
                runs, seconds = workspace_usage(ws, source_day) if source_day else (0, 0)
                if runs or include_zero:
                    yield Row(acc.id, ws.environment_id, ws.environment_name, ws.id, ws.name, day,
                              runs, seconds)


def entities(profile: str = "small") -> Iterator[dict]:
    for acc in accounts(profile).values():
        yield {"type": "account", "id": acc.id, "name": acc.name}
        for env in acc.environments:
            yield {"type": "environment", "account_id": acc.id, "id": env.id, "name": env.name}
        for ws in acc.workspaces:
            yield {"type": "workspace", "account_id": acc.id, "environment_id": ws.environment_id,
                   "id": ws.id, "name": ws.name, "activity": ws.activity,
                   "tags": list(workspace_tags(ws)), "deleted": is_deleted(ws)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Dump deterministic sample Scalr usage data.")
    p.add_argument("--from", dest="start", type=dt.date.fromisoformat, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=dt.date.fromisoformat, help="last day, inclusive")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--profile", type=check_profile, default="small",
                   help=f"one of {sorted(PROFILES)} or many:N")
    p.add_argument("--account", action="append", help="only this account (repeatable)")
    p.add_argument("--include-zero", action="store_true", help="also rows without runs")
    p.add_argument("--entities", action="store_true", help="dump accounts/environments/workspaces")
    args = p.parse_args(argv)
    out = sys.stdout
    if args.entities:
        for e in entities(args.profile):
            out.write(json.dumps(e, ensure_ascii=False) + "\n")
        return 0
    if args.start is None or args.end is None:
        p.error("--from and --to are required (or --entities)")
    rows = raw_rows(args.start, args.end, args.profile, args.account, args.include_zero)
    if args.format == "jsonl":
        for r in rows:
            out.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
    else:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(Row._fields)
        for r in rows:
            w.writerow(["" if v is None else v for v in r.to_json().values()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
