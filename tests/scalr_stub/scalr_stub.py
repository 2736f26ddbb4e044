#!/usr/bin/python3
"""A deterministic stand-in for Scalr's `GET /api/iacp/v3/usage-statistics` and
`GET /api/iacp/v3/workspaces`, with injectable faults.

Python 3.11 standard library only. Serves the data of sample_data.py (which exists for any date).

    python3 scalr_stub.py --listen 127.0.0.1:0 --token-file F [--profile small] [--port-file PATH]
                          [--limited-token-file F2] [--fault JSON ...] [--ascii-json]
                          [--tls-cert PEM --tls-key PEM]
                          [--accounts ID[,ID...]] [--control-tower]
                          [--profile many [--many-accounts N]] [--delay-ms MS]
                          [--keep-requests N]
                          [--no-workspaces-read [--no-workspaces-read-status 403|404]]

Prints "listening on http://HOST:PORT" (flushed) once it accepts connections, writes PORT to
--port-file (atomically), logs one line per request to stderr (never a token), exits 0 on
SIGTERM/SIGINT.

With --tls-cert/--tls-key it serves HTTPS only (API and control API alike; "listening on
https://..."); the handshake runs on the connection's own thread, so a client that rejects the
certificate (unknown CA) costs one log line "TLS handshake failed: ..." and nothing else.

A whole estate is several stubs, one per Scalr URL, each with its own port, token and accounts:
  --profile P        the sample_data profile (small, large, fixed, many, many:N);
                     --many-accounts N with --profile many is many:N (default 1000 accounts,
                     acc-m000001 "Account 1" ...)
  --accounts IDS     the accounts this stub serves (comma-separated, each an account of the
                     profile, else it exits 2); default every account of the profile. Any other
                     account is 404, as an account of another Scalr URL would be. The served set
                     can change at run time (POST /__control/accounts).
  --control-tower    the token is a control-tower (parent) account's: breakdown_by=account without
                     filter[account] lists the served accounts (its children), see below.
  --delay-ms MS      every API request is answered after MS milliseconds (before any other
                     processing, so errors and faults too). Each connection has its own thread and
                     the listen backlog is 256, so requests wait concurrently, not in turn.
  --keep-requests N  how many recorded requests /__control/stats keeps (default 2000)
  --no-workspaces-read  the token lacks workspaces:read: the workspaces endpoint answers
                     --no-workspaces-read-status (403 by default, or 404 as Scalr documents for
                     "user unauthorized") for every account, while usage-statistics works as
                     usual. Changeable at run time: POST /__control/settings
                     {"workspaces_read": bool, "workspaces_read_status": 403|404}.

API semantics (see /work/shared/scalr-usage-statistics-api.txt and Scalr's OpenAPI extract
/work/shared/scalr-openapi-usage-statistics.json):
  * Authorization: Bearer <token> must equal the accepted token, else 401 (JSON:API errors body).
    A "limited" token (--limited-token[-file]) authenticates but lacks accounts:billing: every
    account is then 404 (or --limited-status).
  * filter[account] required (400 if absent or empty), except for breakdown_by=account on a
    --control-tower stub; an account the stub does not serve -> 404.
  * filter[date]=between:START,END required; both YYYY-MM-DDTHH:MM:SSZ (else 400), INCLUSIVE at both
    ends like SQL BETWEEN. A daily row for day D is recorded at D T00:00:00Z, so it counts iff
    START <= D T00:00:00Z <= END:
        between:2026-10-01T00:00:00Z,2026-10-31T23:59:59Z  -> Oct 1 .. Oct 31
        between:2026-10-01T00:00:00Z,2026-11-01T00:00:00Z  -> Oct 1 .. Nov 1  (the off-by-one)
        between:2026-10-01T00:00:01Z,...                   -> starts at Oct 2
    START > END gives an empty result (200), like BETWEEN.
  * breakdown_by: absent/empty -> one row per date (breakdown-id/-name null); "environment" or
    "workspace" -> per breakdown; "account" -> per account (below); anything else -> 400.
  * breakdown_by=account: breakdown-id is the account id, breakdown-name its name
    (sample_data's Account.name), relationships.account the row's account. With
    filter[account]=X: X's rows only (how an ordinary token learns its own account's name).
    Without filter[account] (control tower only): the rows of EVERY served account, sorted by
    id. Choice: every child account is listed, those without runs in the period too, because
    Scalr's breakdown of a parent lists its children and discovery must not lose an idle child.
    So breakdown_by=account is the one breakdown that has rows without runs, like a LEFT JOIN
    of accounts to usage: an account with no runs in the period has a single row (date null,
    runs-count 0, runs-seconds 0) with or without total; one with runs has its usual rows (one
    per day with runs, or one for the period with total). Other breakdowns without
    filter[account] stay 400 on a control tower too.
  * total: any non-empty value -> one row per breakdown for the whole period (date null).
  * Rows without runs are omitted (except breakdown_by=account's, above). Order: breakdown-id,
    then date. Item ids: stable sha256 hex.
  * page[number] (default 1, >= 1), page[size] (default 100, 1..; values above 100 are clamped to
    100); a page past the last is empty. meta.pagination + links (absolute URLs) as Scalr.
  * A repeated query parameter -> 400 (a correct client never sends one).
  * Content-Type: application/vnd.api+json; Preference-Applied: profile=preview iff the request's
    Prefer header asked for profile=preview. HTTP/1.1 keep-alive, always Content-Length (except
    the huge fault with "content_length": false). Idle keep-alive connections close after
    --idle-timeout seconds.

Workspaces (GET /api/iacp/v3/workspaces, what workspace enrichment reads; Scalr's OpenAPI extract):
  * The same Authorization rules (401; a limited token gets --limited-status).
  * filter[account] required (400 if absent or empty); an account the stub does not serve -> 404.
  * include: a comma-separated subset of the OpenAPI enum (anything else -> 400); "environment"
    and "tags" put the page's environments and tags in included[] (type environments / tags,
    attributes.name), deduplicated; the other relations are never included.
  * data[]: the account's workspaces that are not deleted (sample_data.listed_workspaces), sorted
    by id, with attributes.name, relationships.environment.data (the workspace's environment) and
    relationships.tags.data (sample_data.workspace_tags, ids sample_data.tag_id), plus a few other
    attributes and relationships with realistic values that a client must skip.
  * page[number] / page[size] and meta.pagination + links exactly as for usage-statistics.
  * A repeated query parameter -> 400.

Control API (same port, no auth, never recorded in stats):
  POST /__control/faults    body: one fault object or a list; appended to the active faults
  GET  /__control/faults    the active faults
  POST /__control/reset     clears faults, restores the startup tokens, settings and served
                            accounts; body {"stats": true} also clears the stats
  POST /__control/token     {"token": "...", "limited_token": "..."}: change accepted tokens
  POST /__control/settings  {"ascii_json": bool, "idle_timeout": seconds, "delay_ms": ms,
                             "workspaces_read": bool, "workspaces_read_status": 403|404}
  POST /__control/accounts  {"accounts": [ID, ...]}: the served accounts from now on (a control
                            tower's children appear and disappear); each must be an account of
                            the profile (else 400, nothing changed); answers {"accounts": [...]}
  GET  /__control/accounts  {"accounts": [ID, ...]}: the served accounts
  GET  /__control/stats     {"total", "in_flight", "max_in_flight", "by_path", "by_status",
                             "by_fault", "requests": [the last --keep-requests (2000): seq, time
                             (wall clock), started, ended (time.monotonic() when the request's
                             headers were read and when its handling ended, None while in flight;
                             CLOCK_MONOTONIC, so comparable with time.monotonic() of any process on
                             the host), method, path, query, params, headers (Authorization
                             replaced by "<redacted>"), auth {present, scheme, valid}, status,
                             fault, bytes, duration_ms]}
                            max_in_flight: the most API requests in flight at once since the
                            stats were last cleared (the --delay-ms wait counts as in flight);
                            a clear keeps the requests in flight in in_flight and max_in_flight
  POST /__control/stats/clear
  GET  /__control/health    "ok"

Fault object: {"mode": M, "count": N (default: until reset), "account": ID, "breakdown_by":
"account"|"environment"|"workspace"|"none", "page": N, "endpoint": "usage-statistics" (the
default) | "workspaces" | "any", ...mode parameters}. A fault without "endpoint" applies to
usage-statistics requests only (as before the workspaces endpoint existed); "breakdown_by" is
"none" for a workspaces request. The first active fault
whose filters match an API request is applied (and its count decremented). "account" matches the
request's filter[account]; "account": "" matches requests WITHOUT one, i.e. a control tower's
discovery (breakdown_by=account over all children): {"mode": "status", "status": 403,
"account": ""} is a control-tower token that may not list its children, and {"mode": "status",
"status": 403, "account": CHILD} one that lacks the right for one child. Modes:
  status      "status" (default 500), "retry_after" (header value), "body" (raw text, optional)
  slow        "seconds" (default 5) sleep, then the normal response
  truncated   normal headers, JSON cut in half; "early_close": false -> Content-Length is the
              cut length (valid HTTP, invalid JSON); true -> full Content-Length, half sent,
              connection closed
  html200     200 text/html maintenance page
  wrong_content_type  normal body, "content_type" (default "text/plain; charset=utf-8")
  pagination_loop     normal page but next-page (and links.next) = "next_page" (default: the
                      current page; "next": always the page after this one, so the pages never
                      end, every one past the data empty)
  huge        200, valid JSON of "mb" MB (default 16); "content_length": false -> no length,
              connection closed at the end
  trickle     normal response; body sent "chunk_bytes" (default 16) every "interval" (0.5) s
  bad_token   401 as if the token were wrong
  drop        close the connection without any response
  close       normal response, then the server closes the keep-alive connection
              ("announce": true adds "Connection: close")
  long_label  normal response, but in a breakdown response the first row's "field"
              ("breakdown-name" by default, or "breakdown-id") is "bytes" (default 2048) bytes of
              "L" (unbroken-down responses are unchanged); in a workspaces response, the first
              workspace's attributes.name
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import http.server
import json
import math
import os
import re
import signal
import ssl
import sys
import threading
import time
import urllib.parse
from collections import Counter, deque

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sample_data  # noqa: E402

API_PATH = "/api/iacp/v3/usage-statistics"
WORKSPACES_PATH = "/api/iacp/v3/workspaces"
ENDPOINTS = {API_PATH: "usage-statistics", WORKSPACES_PATH: "workspaces"}
WORKSPACE_INCLUDES = {"agent-pool", "configuration-version", "created-by", "current-run",
                      "drift-report", "environment", "latest-configuration-version", "latest-run",
                      "locked-by", "locked-by-run", "module", "module-version", "readme-id",
                      "tags", "updated-by", "vcs-provider"}
JSONAPI = "application/vnd.api+json"
MAX_PAGE_SIZE = 100
FAULT_MODES = {"status", "slow", "truncated", "html200", "wrong_content_type", "pagination_loop",
               "huge", "trickle", "bad_token", "drop", "close", "long_label"}
LONG_LABEL_FIELDS = {"breakdown-name", "breakdown-id"}
_TS = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")


class BadRequest(Exception):
    def __init__(self, detail, parameter=None):
        super().__init__(detail)
        self.detail, self.parameter = detail, parameter


def parse_timestamp(text: str, parameter: str) -> dt.datetime:
    m = _TS.fullmatch(text)
    if not m:
        raise BadRequest(f"invalid timestamp {text!r}: want YYYY-MM-DDTHH:MM:SSZ", parameter)
    try:
        return dt.datetime(*map(int, m.groups()), tzinfo=dt.timezone.utc)
    except ValueError as e:
        raise BadRequest(f"invalid timestamp {text!r}: {e}", parameter) from None


def days_between(start: dt.datetime, end: dt.datetime):
    """The first and last day D with start <= D T00:00:00Z <= end (first > last when empty)."""
    first = start.date() if start.time() == dt.time(0) else start.date() + dt.timedelta(days=1)
    return first, end.date()


@functools.lru_cache(maxsize=256)
def usage_rows(profile, account_id, breakdown_by, total, first, last):
    """The aggregated rows, as a tuple of (breakdown_id, breakdown_name, date|None, runs, secs).

    Own aggregation code (the tests compute their expectations separately from raw rows)."""
    sums, names = {}, {}
    for r in sample_data.raw_rows(first, last, profile, [account_id]):
        if breakdown_by == "environment":
            bid, bname = r.environment_id, r.environment_name
        elif breakdown_by == "workspace":
            bid, bname = r.workspace_id, r.workspace_name
        else:
            bid, bname = None, None
        key = (bid, None if total else r.date)
        runs, secs = sums.get(key, (0, 0))
        sums[key] = (runs + r.runs_count, secs + r.runs_seconds)
        names[bid] = bname
    rows = [(bid, names[bid], day, runs, secs) for (bid, day), (runs, secs) in sums.items() if runs]
    rows.sort(key=lambda x: (x[0] or "", x[2] or dt.date.min))
    return tuple(rows)


@functools.lru_cache(maxsize=64)
def account_rows(profile, account_ids, total, first, last):
    """breakdown_by=account rows of the accounts account_ids (a tuple), same shape as usage_rows.

    Every account gets at least one row, like a LEFT JOIN of the accounts to their usage: one
    without runs in the period has a single row (its id, its name, date None, 0, 0)."""
    accs = sample_data.accounts(profile)
    sums = {}
    for r in sample_data.raw_rows(first, last, profile, list(account_ids)) if first <= last else ():
        key = (r.account_id, None if total else r.date)
        runs, secs = sums.get(key, (0, 0))
        sums[key] = (runs + r.runs_count, secs + r.runs_seconds)
    seen = {a for a, _ in sums}
    for a in account_ids:
        if a not in seen:
            sums[(a, None)] = (0, 0)
    rows = [(a, accs[a].name, day, runs, secs) for (a, day), (runs, secs) in sums.items()]
    rows.sort(key=lambda x: (x[0], x[2] or dt.date.min))
    return tuple(rows)


def errors_body(status: int, title: str, detail: str, parameter=None) -> bytes:
    err = {"status": str(status), "title": title, "detail": detail}
    if parameter:
        err["source"] = {"parameter": parameter}
    return json.dumps({"errors": [err]}).encode()


class State:
    """Everything mutable, behind one lock: faults, tokens, settings, stats."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.profile = args.profile
        self.control_tower = args.control_tower
        self.keep_requests = args.keep_requests
        self.initial = dict(token=args.token, limited_token=args.limited_token,
                            ascii_json=args.ascii_json, idle_timeout=args.idle_timeout,
                            delay_ms=args.delay_ms,
                            workspaces_read=not args.no_workspaces_read,
                            workspaces_read_status=args.no_workspaces_read_status,
                            # None: every account of the profile, looked up on first use, so a
                            # large profile is not built before the stand-in listens
                            accounts=args.accounts and self.check_accounts(args.accounts))
        self.limited_status = args.limited_status
        self.faults = []
        self.fault_seq = 0
        self.restore()
        for f in args.fault or []:
            self.add_faults(json.loads(f))
        self.in_flight = 0
        self.clear_stats()

    def restore(self):
        for k, v in self.initial.items():
            setattr(self, k, v)
        self.faults = []

    def clear_stats(self):
        self.requests = deque(maxlen=self.keep_requests)
        self.counters = {"by_path": Counter(), "by_status": Counter(), "by_fault": Counter()}
        self.total = self.seq = 0
        # Requests in flight stay counted (they are counted out when they end), so a clear during
        # a poll cycle neither drives in_flight negative nor forgets them in max_in_flight.
        self.max_in_flight = self.in_flight

    def check_accounts(self, ids):
        """ids as a tuple without repeats, if every one is an account of the profile."""
        known = sample_data.accounts(self.profile)
        if not isinstance(ids, list) or not all(isinstance(a, str) for a in ids):
            raise ValueError(f"accounts must be a list of account ids, got {ids!r}")
        unknown = [a for a in ids if a not in known]
        if unknown:
            raise ValueError(f"not accounts of profile {self.profile}: {', '.join(unknown[:5])}")
        return tuple(dict.fromkeys(ids))

    def served(self):
        """The accounts served now, a tuple (or the profile's dict: every account)."""
        accounts = self.accounts
        return sample_data.accounts(self.profile) if accounts is None else accounts

    def add_faults(self, spec):
        specs = spec if isinstance(spec, list) else [spec]
        for f in specs:
            if not isinstance(f, dict) or f.get("mode") not in FAULT_MODES:
                raise ValueError(f"fault needs a mode in {sorted(FAULT_MODES)}: {f!r}")
            if f.get("endpoint", "usage-statistics") not in ("usage-statistics", "workspaces",
                                                             "any"):
                raise ValueError(f"fault endpoint must be usage-statistics, workspaces or any: {f!r}")
            if f["mode"] == "long_label" and f.get("field", "breakdown-name") not in \
                    LONG_LABEL_FIELDS:
                raise ValueError(f"long_label field must be one of {sorted(LONG_LABEL_FIELDS)}")
        with self.lock:
            for f in specs:
                self.fault_seq += 1
                self.faults.append(dict(f, id=self.fault_seq, applied=0))

    def take_fault(self, params, endpoint="usage-statistics"):
        """The first matching fault, with its count consumed; None when none matches."""
        bd = params.get("breakdown_by") or "none"
        page = params.get("page[number]") or "1"
        account = params.get("filter[account]") or ""  # "": a control tower's discovery request
        with self.lock:
            for f in self.faults:
                if (f.get("endpoint", "usage-statistics") not in (endpoint, "any")
                        or "account" in f and f["account"] != account
                        or "breakdown_by" in f and (f["breakdown_by"] or "none") != bd
                        or "page" in f and str(f["page"]) != page):
                    continue
                f["applied"] += 1
                if f.get("count") is not None and f["applied"] >= f["count"]:
                    self.faults.remove(f)
                return dict(f)
        return None

    def begin(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.total += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.requests.append(entry)

    def end(self, entry):
        with self.lock:
            self.in_flight -= 1
            self.counters["by_path"][entry["path"]] += 1
            self.counters["by_status"][str(entry["status"])] += 1
            if entry["fault"]:
                self.counters["by_fault"][entry["fault"]] += 1

    def stats(self):
        with self.lock:
            return {"total": self.total, "in_flight": self.in_flight,
                    "max_in_flight": self.max_in_flight,
                    **{k: dict(v) for k, v in self.counters.items()},
                    "requests": [dict(r) for r in self.requests]}

    def sleep(self, seconds):
        """Sleep that ends early when the server stops; returns False if it was interrupted."""
        return not self.stop.wait(seconds)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm the body then waits for
    # the client's delayed ACK (~40 ms a response), which made a large poll mostly waiting.
    disable_nagle_algorithm = True
    server_version = "scalr-stub/1"
    state: State  # set on the subclass by make_server

    def setup(self):
        self.timeout = self.state.idle_timeout
        if isinstance(self.request, ssl.SSLSocket):
            # Here, on the connection's thread, rather than in accept(): a client that stalls or
            # rejects the certificate must not hold up the others.
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()

    # ---- plumbing -------------------------------------------------------------------------------

    def log_message(self, fmt, *args):  # default access log is replaced by log_request_line
        pass

    def log_request_line(self, entry):
        q = f"?{entry['query']}" if entry["query"] else ""
        fault = f" fault={entry['fault']}" if entry["fault"] else ""
        sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} "
                         f"{self.client_address[0]} {self.command} {entry['path']}{q} "
                         f"{entry['status']} {entry['bytes']}B {entry['duration_ms']}ms{fault}\n")
        sys.stderr.flush()

    def read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, body: bytes, content_type=JSONAPI, headers=(), length=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.entry_status, self.entry_bytes = status, len(body)
        self.end_entry()
        self.wfile.write(body)

    def send_json(self, status, obj):
        self.send(status, json.dumps(obj, ensure_ascii=False).encode(), "application/json")

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/__control/"):
            body = self.read_body()
            try:
                self.control(url.path, body)
            except (ValueError, TypeError, KeyError) as e:
                self.send_json(400, {"error": str(e)})
            return
        self.read_body()
        self.entry_status, self.entry_bytes = None, 0
        entry = self.request_entry(url)
        self.current_entry = entry
        self.state.begin(entry)
        try:
            self.api(url, entry)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.end_entry()
            self.current_entry = None
            self.log_request_line(entry)

    def end_entry(self):
        """Records the current API request as ended, once. send() calls it just before the body
        goes out: a client cannot have the whole response (and start its next request in that
        slot) before then, so in_flight never counts a request that has already ended for the
        client, whatever the load. Faults that stream their body end it when done."""
        entry = getattr(self, "current_entry", None)
        if entry is None or entry.get("ended") is not None:
            return
        ended = time.monotonic()
        entry.update(status=self.entry_status, bytes=self.entry_bytes, ended=ended,
                     duration_ms=round((ended - entry["started"]) * 1000))
        self.state.end(entry)

    def request_entry(self, url):
        headers, auth = {}, {"present": False, "scheme": None, "valid": False}
        for k, v in self.headers.items():
            if k.lower() in ("authorization", "proxy-authorization", "cookie"):
                headers[k] = "<redacted>"
                if k.lower() == "authorization":
                    scheme, _, cred = v.partition(" ")
                    auth = {"present": True, "scheme": scheme,
                            "valid": scheme == "Bearer" and cred == self.state.token}
            else:
                headers[k] = v
        return {"time": time.time(), "started": time.monotonic(), "ended": None,
                "method": self.command, "path": url.path,
                "query": url.query,
                "params": dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)),
                "headers": headers, "auth": auth, "status": None, "fault": None, "bytes": 0,
                "duration_ms": None}

    # ---- control API ----------------------------------------------------------------------------

    def control(self, path, body):
        st = self.state
        data = json.loads(body) if body.strip() else {}
        if path == "/__control/health":
            self.send(200, b"ok\n", "text/plain")
        elif path == "/__control/faults" and self.command == "POST":
            st.add_faults(data)
            self.send_json(200, {"faults": st.faults})
        elif path == "/__control/faults":
            self.send_json(200, {"faults": st.faults})
        elif path == "/__control/reset" and self.command == "POST":
            with st.lock:
                st.restore()
                if data.get("stats"):
                    st.clear_stats()
            self.send_json(200, {"ok": True})
        elif path == "/__control/token" and self.command == "POST":
            with st.lock:
                for k in ("token", "limited_token"):
                    if k in data:
                        setattr(st, k, data[k])
            self.send_json(200, {"ok": True})
        elif path == "/__control/settings" and self.command == "POST":
            with st.lock:
                if "ascii_json" in data:
                    st.ascii_json = bool(data["ascii_json"])
                if "idle_timeout" in data:
                    st.idle_timeout = float(data["idle_timeout"])
                if "delay_ms" in data:
                    st.delay_ms = max(0.0, float(data["delay_ms"]))
                if "workspaces_read" in data:
                    st.workspaces_read = bool(data["workspaces_read"])
                if "workspaces_read_status" in data:
                    st.workspaces_read_status = int(data["workspaces_read_status"])
            self.send_json(200, {"ok": True})
        elif path == "/__control/accounts" and self.command == "POST":
            served = st.check_accounts(data["accounts"])
            with st.lock:
                st.accounts = served
            self.send_json(200, {"accounts": list(served)})
        elif path == "/__control/accounts":
            self.send_json(200, {"accounts": list(st.served())})
        elif path == "/__control/stats":
            self.send_json(200, st.stats())
        elif path == "/__control/stats/clear" and self.command == "POST":
            with st.lock:
                st.clear_stats()
            self.send_json(200, {"ok": True})
        else:
            self.send_json(404, {"error": f"no control endpoint {self.command} {path}"})

    # ---- the API --------------------------------------------------------------------------------

    def api(self, url, entry):
        st = self.state
        # Before anything else, so every API answer (errors and faults too) takes at least this
        # long; the sleep is on this connection's own thread, so requests wait concurrently.
        if st.delay_ms and not st.sleep(st.delay_ms / 1000):
            self.close_connection = True
            return
        if url.path not in ENDPOINTS or self.command != "GET":
            status = 404 if url.path not in ENDPOINTS else 405
            self.send(status, errors_body(status, "Not Found" if status == 404 else
                                          "Method Not Allowed", f"{self.command} {url.path}"))
            return
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        fault = st.take_fault(params, ENDPOINTS[url.path])
        mode = fault["mode"] if fault else None
        entry["fault"] = mode
        if mode == "drop":
            self.close_connection = True
            self.entry_status = 0
            return
        if mode == "status":
            status = int(fault.get("status", 500))
            headers = [("Retry-After", str(fault["retry_after"]))] if "retry_after" in fault else []
            body = (fault["body"].encode() if "body" in fault else
                    errors_body(status, "Injected fault", f"injected status {status}"))
            self.send(status, body, headers=headers)
            return
        if mode == "bad_token":
            self.send(401, errors_body(401, "Unauthorized", "Invalid or missing token."))
            return
        if mode == "html200":
            self.send(200, b"<!DOCTYPE html>\n<html><head><title>Scalr maintenance</title></head>"
                      b"<body><h1>We'll be back soon</h1></body></html>\n",
                      "text/html; charset=utf-8")
            return
        if mode == "slow" and not st.sleep(float(fault.get("seconds", 5))):
            self.close_connection = True
            return
        if mode == "huge":
            self.send_huge(fault)
            return

        respond = self.workspaces_response if url.path == WORKSPACES_PATH else self.api_response
        status, body, headers = respond(url, params, fault)
        ctype = JSONAPI
        if mode == "wrong_content_type":
            ctype = fault.get("content_type", "text/plain; charset=utf-8")
        if mode == "truncated":
            cut = body[:len(body) // 2]
            early = bool(fault.get("early_close", False))
            self.send(status, cut, ctype, headers, length=len(body) if early else len(cut))
            self.close_connection = early or self.close_connection
            return
        if mode == "close" and fault.get("announce"):
            headers.append(("Connection", "close"))
        if mode == "trickle":
            self.send(status, b"", ctype, headers, length=len(body))
            chunk, interval = int(fault.get("chunk_bytes", 16)), float(fault.get("interval", 0.5))
            for i in range(0, len(body), chunk):
                if i and not st.sleep(interval):
                    self.close_connection = True
                    return
                self.wfile.write(body[i:i + chunk])
                self.wfile.flush()
                self.entry_bytes = i + len(body[i:i + chunk])
            return
        self.send(status, body, ctype, headers)
        if mode == "close":
            self.close_connection = True

    def authenticate(self):
        """(headers, limited, None) for a valid token, (headers, None, 401 response) otherwise."""
        st = self.state
        headers = []
        if re.search(r"(^|[\s;,])profile\s*=\s*preview\b", self.headers.get("Prefer", "")):
            headers.append(("Preference-Applied", "profile=preview"))
        scheme, _, cred = (self.headers.get("Authorization") or "").partition(" ")
        limited = scheme == "Bearer" and st.limited_token and cred == st.limited_token
        if not (scheme == "Bearer" and cred and cred == st.token) and not limited:
            return headers, None, (401, errors_body(401, "Unauthorized",
                                                    "Invalid or missing token."), headers)
        return headers, limited, None

    def api_response(self, url, params, fault):
        """(status, body, headers) of the real API behaviour."""
        st = self.state
        headers, limited, refused = self.authenticate()
        if refused:
            return refused
        try:
            q = self.parse_query(url.query, st.control_tower)
        except BadRequest as e:
            return 400, errors_body(400, "Bad Request", e.detail, e.parameter), headers
        account, served = q["account"], st.served()
        if limited or account and account not in served:
            status = st.limited_status if limited else 404
            detail = f"Account with ID '{account or '(all)'}' not found or user unauthorized."
            return status, errors_body(status, "Not Found" if status == 404 else "Forbidden",
                                       detail), headers
        first, last = days_between(q["start"], q["end"])
        if q["breakdown_by"] == "account":
            ids = (account,) if account else tuple(sorted(served))
            rows = account_rows(st.profile, ids, q["total"], first, last)
        else:
            rows = usage_rows(st.profile, account, q["breakdown_by"], q["total"], first, last) \
                if first <= last else ()
        size, number = q["size"], q["number"]
        total_pages = max(1, math.ceil(len(rows) / size))
        next_page = number + 1 if number < total_pages else None
        prev_page = number - 1 if number > 1 else None
        if fault and fault["mode"] == "pagination_loop":
            wanted = fault.get("next_page", number)
            next_page = number + 1 if wanted == "next" else int(wanted)
        data = [self.item(account, q, row) for row in rows[(number - 1) * size:number * size]]
        if fault and fault["mode"] == "long_label" and data and q["breakdown_by"]:
            field = fault.get("field", "breakdown-name")
            data[0]["attributes"][field] = "L" * int(fault.get("bytes", 2048))
        doc = {
            "data": data,
            "included": None,
            "links": {"self": self.page_link(url.query, number),
                      "first": self.page_link(url.query, 1),
                      "last": self.page_link(url.query, total_pages),
                      "next": next_page and self.page_link(url.query, next_page),
                      "prev": prev_page and self.page_link(url.query, prev_page)},
            "meta": {"pagination": {"current-page": number, "next-page": next_page,
                                    "prev-page": prev_page, "total-count": len(rows),
                                    "total-pages": total_pages}},
        }
        return 200, json.dumps(doc, ensure_ascii=st.ascii_json).encode(), headers

    def workspaces_response(self, url, params, fault):
        """(status, body, headers) of GET /api/iacp/v3/workspaces."""
        st = self.state
        headers, limited, refused = self.authenticate()
        if refused:
            return refused
        try:
            q = self.parse_workspaces_query(url.query)
        except BadRequest as e:
            return 400, errors_body(400, "Bad Request", e.detail, e.parameter), headers
        account = q["account"]
        if limited or account not in st.served():
            status = st.limited_status if limited else 404
            return status, errors_body(status, "Not Found" if status == 404 else "Forbidden",
                                       f"Account with ID '{account}' not found or user "
                                       "unauthorized."), headers
        if not st.workspaces_read:
            status = st.workspaces_read_status
            return status, errors_body(status, "Forbidden" if status == 403 else "Not Found",
                                       "You don't have permission to perform this action "
                                       "(workspaces:read)."), headers
        listed = sample_data.listed_workspaces(st.profile, account)
        size, number = q["size"], q["number"]
        total_pages = max(1, math.ceil(len(listed) / size))
        next_page = number + 1 if number < total_pages else None
        prev_page = number - 1 if number > 1 else None
        if fault and fault["mode"] == "pagination_loop":
            wanted = fault.get("next_page", number)
            next_page = number + 1 if wanted == "next" else int(wanted)
        page = listed[(number - 1) * size:number * size]
        data = [self.workspace_item(account, ws) for ws in page]
        if fault and fault["mode"] == "long_label" and data:
            data[0]["attributes"]["name"] = "L" * int(fault.get("bytes", 2048))
        included = {}
        for ws in page:
            if "environment" in q["include"]:
                included[("environments", ws.environment_id)] = {
                    "type": "environments", "id": ws.environment_id,
                    "attributes": {"name": ws.environment_name, "status": "Active",
                                   "cost-estimation-enabled": False},
                    "relationships": {"account": {"data": {"type": "accounts", "id": account}}},
                    "links": {"self": f"/api/iacp/v3/environments/{ws.environment_id}"}}
            if "tags" in q["include"]:
                for name in sample_data.workspace_tags(ws):
                    tid = sample_data.tag_id(account, name)
                    included[("tags", tid)] = {
                        "type": "tags", "id": tid, "attributes": {"name": name},
                        "relationships": {"account": {"data": {"type": "accounts",
                                                               "id": account}}}}
        link = functools.partial(self.page_link, url.query, path=WORKSPACES_PATH)
        doc = {
            "data": data,
            "included": list(included.values()),
            "links": {"self": link(number), "first": link(1), "last": link(total_pages),
                      "next": next_page and link(next_page), "prev": prev_page and link(prev_page)},
            "meta": {"pagination": {"current-page": number, "next-page": next_page,
                                    "prev-page": prev_page, "total-count": len(listed),
                                    "total-pages": total_pages}},
        }
        return 200, json.dumps(doc, ensure_ascii=st.ascii_json).encode(), headers

    @staticmethod
    def workspace_item(account, ws):
        tags = [{"type": "tags", "id": sample_data.tag_id(account, name)}
                for name in sample_data.workspace_tags(ws)]
        return {"type": "workspaces", "id": ws.id,
                "attributes": {"name": ws.name, "auto-apply": False, "execution-mode": "remote",
                               "iac-platform": "terraform", "terraform-version": "1.5.7",
                               "environment-type": "unmapped", "working-directory": None,
                               "hooks": None, "vcs-repo": None, "var-files": [],
                               "created-at": "2025-01-15T10:00:00Z"},
                "relationships": {
                    "environment": {"data": {"type": "environments", "id": ws.environment_id}},
                    "tags": {"data": tags},
                    "created-by": {"data": None},
                    "current-run": {"data": None},
                    "agent-pool": {"data": None}},
                "links": {"self": f"/api/iacp/v3/workspaces/{ws.id}"}}

    @staticmethod
    def parse_workspaces_query(query):
        params = {}
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
            if k in params:
                raise BadRequest(f"parameter {k} given more than once", k)
            params[k] = v
        account = params.get("filter[account]", "")
        if not account:
            raise BadRequest("filter[account] is required", "filter[account]")
        include = [i for i in params.get("include", "").split(",") if i]
        unknown = [i for i in include if i not in WORKSPACE_INCLUDES]
        if unknown:
            raise BadRequest(f"invalid include {unknown[0]!r}", "include")
        number, size = (Handler.positive(params, name, default)
                        for name, default in (("page[number]", 1), ("page[size]", MAX_PAGE_SIZE)))
        return {"account": account, "include": set(include), "number": number,
                "size": min(size, MAX_PAGE_SIZE)}

    @staticmethod
    def positive(params, name, default):
        text = params.get(name, "")
        if text == "":
            return default
        if not (text.isascii() and text.isdigit()) or int(text) < 1:
            raise BadRequest(f"invalid {name} {text!r}: want a positive integer", name)
        return int(text)

    @staticmethod
    def parse_query(query, control_tower=False):
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        params = {}
        for k, v in pairs:
            if k in params:
                raise BadRequest(f"parameter {k} given more than once", k)
            params[k] = v
        account = params.get("filter[account]", "")
        breakdown = params.get("breakdown_by") or None
        if not account and not (control_tower and breakdown == "account"):
            raise BadRequest("filter[account] is required" +
                             (" (unless breakdown_by=account)" if control_tower else ""),
                             "filter[account]")
        date = params.get("filter[date]", "")
        if not date:
            raise BadRequest("filter[date] is required", "filter[date]")
        op, _, rng = date.partition(":")
        parts = rng.split(",")
        if op != "between" or len(parts) != 2:
            raise BadRequest(f"invalid filter[date] {date!r}: want between:START,END",
                             "filter[date]")
        start, end = (parse_timestamp(p, "filter[date]") for p in parts)
        if breakdown not in (None, "account", "environment", "workspace"):
            raise BadRequest(f"invalid breakdown_by {breakdown!r}: want account, environment or "
                             "workspace", "breakdown_by")

        def positive(name, default):
            text = params.get(name, "")
            if text == "":
                return default
            if not (text.isascii() and text.isdigit()) or int(text) < 1:
                raise BadRequest(f"invalid {name} {text!r}: want a positive integer", name)
            return int(text)

        return {"account": account, "start": start, "end": end, "breakdown_by": breakdown,
                "total": bool(params.get("total")),
                "number": positive("page[number]", 1),
                "size": min(positive("page[size]", MAX_PAGE_SIZE), MAX_PAGE_SIZE)}

    def page_link(self, query, number, path=API_PATH):
        pairs = [(k, v) for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)
                 if k != "page[number]"] + [("page[number]", str(number))]
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        return f"{self.server.scheme}://{host}{path}?" + \
            urllib.parse.urlencode(pairs, safe="[]:,")

    @staticmethod
    def item(account, q, row):
        bid, bname, day, runs, secs = row
        if q["breakdown_by"] == "account":
            account = bid  # a control tower's row belongs to the child account it reports
        date = day.isoformat() if day else None
        key = [account, q["breakdown_by"] or "", bid or "", date or ""]
        if q["total"]:
            key += [q["start"].isoformat(), q["end"].isoformat()]
        return {"type": "usage-statistics",
                "id": hashlib.sha256("|".join(key).encode()).hexdigest(),
                "attributes": {"breakdown-id": bid, "breakdown-name": bname, "date": date,
                               "runs-count": runs, "runs-seconds": secs},
                "relationships": {"account": {"data": {"id": account, "type": "accounts"}}},
                "links": None}

    def send_huge(self, fault):
        size = int(float(fault.get("mb", 16)) * 1024 * 1024)
        head = b'{"data":[],"included":null,"links":{},"meta":{"padding":"'
        tail = (b'","pagination":{"current-page":1,"next-page":null,"prev-page":null,'
                b'"total-count":0,"total-pages":1}}}')
        pad = max(0, size - len(head) - len(tail))
        self.send_response(200)
        self.send_header("Content-Type", JSONAPI)
        if fault.get("content_length", True):
            self.send_header("Content-Length", str(len(head) + pad + len(tail)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.entry_status = 200
        self.wfile.write(head)
        block = b"x" * 65536
        left = pad
        while left > 0:
            self.wfile.write(block[:left])
            left -= min(left, len(block))
            self.entry_bytes = len(head) + pad - left
        self.wfile.write(tail)
        self.entry_bytes = len(head) + pad + len(tail)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default listen backlog is 5: a burst of concurrent connections (a benchmark
    # polls with 20 and more in flight) would see SYNs dropped and retried a second later.
    request_queue_size = 256

    scheme = "http"

    def handle_error(self, request, client_address):  # client went away mid-response: not news
        error = sys.exc_info()[1]
        if isinstance(error, ssl.SSLError):
            sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} "
                             f"{client_address[0]} TLS handshake failed: {error}\n")
            sys.stderr.flush()
        elif not isinstance(error, (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def make_server(args) -> Server:
    state = State(args)
    handler = type("BoundHandler", (Handler,), {"state": state})
    host, _, port = args.listen.rpartition(":")
    server = Server((host.strip("[]") or "127.0.0.1", int(port)), handler)
    server.state = state
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)
        server.scheme = "https"
    return server


def read_token(path):
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Stand-in Scalr usage-statistics API server.")
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT; port 0 picks a free one")
    p.add_argument("--token", help="the accepted bearer token")
    p.add_argument("--token-file", help="file holding the accepted bearer token")
    p.add_argument("--limited-token", help="a valid token lacking accounts:billing")
    p.add_argument("--limited-token-file")
    p.add_argument("--limited-status", type=int, default=404,
                   help="status for the limited token (default 404)")
    p.add_argument("--profile", type=sample_data.check_profile, default="small",
                   help=f"one of {sorted(sample_data.PROFILES)} or many:N (default small)")
    p.add_argument("--many-accounts", type=int, metavar="N",
                   help="with --profile many: serve N synthetic accounts (default "
                        f"{sample_data.MANY_DEFAULT})")
    p.add_argument("--accounts", help="ID[,ID...]: serve only these accounts of the profile")
    p.add_argument("--control-tower", action="store_true",
                   help="a control-tower (parent) account: breakdown_by=account without "
                        "filter[account] lists every served account")
    p.add_argument("--delay-ms", type=float, default=0.0,
                   help="answer every API request after this many milliseconds")
    p.add_argument("--keep-requests", type=int, default=2000, metavar="N",
                   help="the stats keep the last N requests (default 2000)")
    p.add_argument("--no-workspaces-read", action="store_true",
                   help="the token lacks workspaces:read: the workspaces endpoint refuses")
    p.add_argument("--no-workspaces-read-status", type=int, default=403, choices=(403, 404),
                   help="the status of that refusal (default 403)")
    p.add_argument("--port-file", help="write the bound port here")
    p.add_argument("--fault", action="append", help="a fault (JSON object or list) active at start")
    p.add_argument("--ascii-json", action="store_true", help="escape non-ASCII as \\uXXXX")
    p.add_argument("--idle-timeout", type=float, default=30.0,
                   help="close idle keep-alive connections after this many seconds")
    p.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain)")
    p.add_argument("--tls-key", help="the certificate's PEM private key")
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.token_file:
        args.token = read_token(args.token_file)
    if args.limited_token_file:
        args.limited_token = read_token(args.limited_token_file)
    if not args.token:
        p.error("--token or --token-file (non-empty) is required")
    if args.many_accounts is not None:
        if args.profile != "many":
            p.error("--many-accounts goes with --profile many")
        try:
            args.profile = sample_data.many_profile(args.many_accounts)
        except ValueError as e:
            p.error(str(e))
    elif args.profile == "many":
        args.profile = sample_data.many_profile(sample_data.MANY_DEFAULT)
    args.accounts = [a for a in (args.accounts or "").split(",") if a] or None
    if args.delay_ms < 0 or args.keep_requests < 0:
        p.error("--delay-ms and --keep-requests must not be negative")
    for f in args.fault or []:
        try:
            json.loads(f)
        except ValueError as e:
            p.error(f"--fault {f!r}: {e}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        server = make_server(args)
    except (ValueError, OSError) as e:  # OSError: ssl.SSLError, an unreadable certificate
        print(f"scalr_stub: {e}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    if args.port_file:
        tmp = f"{args.port_file}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(f"listening on {server.scheme}://{host}:{port}", flush=True)
    while not stopping.wait(0.5):
        pass
    server.state.stop.set()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
