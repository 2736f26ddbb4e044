"""Helpers for the integration tests: the stub server and exporter processes, throwaway PostgreSQL
clusters with generated run history, independent expected sums, an independent Prometheus
text-format parser, and small HTTP/polling utilities.

Standard library only (plus pytest in conftest.py). Nothing here shares code with the stub's
aggregation or with the exporter: expectations are computed from sample_data.raw_rows (API) or
from the generated runs (PostgreSQL) directly.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import math
import os
import re
import signal
import socket
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Callable, NamedTuple, Optional

REPO_ROOT = Path(os.environ.get("SUE_SOURCE_DIR") or Path(__file__).resolve().parents[2])
STUB_DIR = REPO_ROOT / "tests" / "scalr_stub"
STUB_SCRIPT = STUB_DIR / "scalr_stub.py"
API_PATH = "/api/iacp/v3/usage-statistics"
WORKSPACES_PATH = "/api/iacp/v3/workspaces"
if str(STUB_DIR) not in sys.path:
    sys.path.insert(0, str(STUB_DIR))
import sample_data  # noqa: E402  (tests/scalr_stub/sample_data.py)


# ---- small utilities --------------------------------------------------------------------------

def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class StopWaiting(AssertionError):
    """Raised by a wait_until predicate to fail at once (e.g. the process under test exited)."""


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05,
               message: str = "condition") -> object:
    """Calls predicate until it returns something truthy and returns that value. Exceptions raised by
    predicate count as "not yet", except StopWaiting, which propagates at once. On timeout raises
    AssertionError naming `message` and the last value or exception."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except StopWaiting:
            raise
        except Exception as e:  # noqa: BLE001 - "not yet"
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}; last: {last!r}")
        time.sleep(interval)


def prometheus_query(prom_url: str, expr: str) -> list:
    """The result vector of an instant query against a real Prometheus; fails on any error."""
    r = http_request(prom_url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}),
                     timeout=10)
    body = r.json()
    assert r.status == 200 and body["status"] == "success", (expr, body)
    return body["data"]["result"]


def terminate(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited after timeout seconds. No-op if already gone."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class HttpResult(NamedTuple):
    status: int
    headers: dict  # lower-case names
    body: bytes

    def json(self):
        return json.loads(self.body)


def http_request(url: str, method: str = "GET", headers: Optional[dict] = None, body=None,
                 timeout: float = 10.0, context=None) -> HttpResult:
    """One HTTP request with urllib; HTTP error statuses are returned, not raised. context: an
    ssl.SSLContext for https URLs (e.g. one trusting a TlsFiles CA)."""
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return HttpResult(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
    except urllib.error.HTTPError as e:
        return HttpResult(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())


# ---- the stub server --------------------------------------------------------------------------

class StubServer:
    """A running tests/scalr_stub/scalr_stub.py process.

    .url        "http://127.0.0.1:PORT" (what scalr.url in the exporter config gets)
    .api_url    .url + "/api/iacp/v3/usage-statistics"
    .token      the accepted bearer token; .token_file holds it (no trailing newline)
    .profile    the sample_data profile it serves ("many:N" for profile "many"/many_accounts=N,
                so sample_data.raw_rows(..., stub.profile) and expected_usage work for it)
    .accounts   the accounts it serves at startup (and after a reset), a tuple
    .control_tower  whether it answers breakdown_by=account without filter[account]
    .log_path   its stderr (one line per request)
    .ssl_context  None; a TlsStubServer's trusts its CA (used for the control API and .get())

    Options: control_tower, accounts (ids; default all of the profile), delay_ms (every API
    answer after that long), many_accounts (N accounts of profile "many"), keep_requests (how many
    requests the stats keep; default 2000).
    """

    ssl_context = None

    def __init__(self, workdir: Path, token: str = "stub-token-0123456789", profile: str = "small",
                 extra_args=(), faults=(), control_tower: bool = False, accounts=None,
                 delay_ms: Optional[float] = None, many_accounts: Optional[int] = None,
                 keep_requests: Optional[int] = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        if many_accounts is not None or profile == "many":
            profile = sample_data.many_profile(many_accounts or sample_data.MANY_DEFAULT)
        self.token, self.profile, self.control_tower = token, profile, control_tower
        self.accounts = tuple(accounts if accounts is not None else sample_data.accounts(profile))
        self.token_file = self.workdir / "stub.token"
        self.token_file.write_text(token)
        self.port_file = self.workdir / "stub.port"
        self.log_path = self.workdir / "stub.log"
        args = [sys.executable, str(STUB_SCRIPT), "--listen", "127.0.0.1:0",
                "--token-file", str(self.token_file), "--profile", profile,
                "--port-file", str(self.port_file), *extra_args]
        if accounts is not None:
            args += ["--accounts", ",".join(accounts)]
        if control_tower:
            args.append("--control-tower")
        if delay_ms is not None:
            args += ["--delay-ms", str(delay_ms)]
        if keep_requests is not None:
            args += ["--keep-requests", str(keep_requests)]
        for f in faults:
            args += ["--fault", json.dumps(f)]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self._log,
                                     stdin=subprocess.DEVNULL)
        try:
            port = wait_until(self._read_port, timeout=10, interval=0.01, message="stub port file")
        except AssertionError:
            self.stop()
            raise AssertionError(f"stub did not start: {self.log_text()}") from None
        self.port = int(port)
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = self.url + API_PATH

    def _read_port(self):
        if self.proc.poll() is not None:
            raise StopWaiting(f"stub exited with {self.proc.returncode}: {self.log_text()}")
        return self.port_file.exists() and self.port_file.read_text().strip()

    def _control(self, method, path, body=None):
        r = http_request(self.url + "/__control/" + path, method, body=body,
                         headers={"Content-Type": "application/json"} if body is not None else {},
                         context=self.ssl_context)
        if r.status != 200:
            raise AssertionError(f"stub control {path}: {r.status} {r.body!r}")
        return r.json() if r.headers.get("content-type", "").startswith("application/json") \
            else r.body

    def set_fault(self, mode: Optional[str] = None, **params) -> dict:
        """Adds one fault, e.g. set_fault("status", status=503, count=2, retry_after="1") or
        set_fault("slow", seconds=3, account="acc-..."), or set_fault(fault_dict). Faults stack; the
        first matching one applies. Returns the active faults."""
        fault = dict(mode) if isinstance(mode, dict) else dict(params, mode=mode)
        return self._control("POST", "faults", fault)["faults"]

    def set_faults(self, faults: list) -> dict:
        return self._control("POST", "faults", list(faults))["faults"]

    def faults(self) -> list:
        return self._control("GET", "faults")["faults"]

    def reset(self, stats: bool = False) -> None:
        """Clears all faults and restores the startup token/settings/served accounts (stats too if
        stats=True)."""
        self._control("POST", "reset", {"stats": stats})

    def set_token(self, token: Optional[str] = None, limited_token: Optional[str] = None) -> None:
        body = {k: v for k, v in (("token", token), ("limited_token", limited_token)) if v}
        self._control("POST", "token", body)

    def settings(self, **kw) -> None:
        """ascii_json=True (escape non-ASCII as \\uXXXX), idle_timeout=SECONDS, delay_ms=MS."""
        self._control("POST", "settings", kw)

    def set_accounts(self, accounts) -> list:
        """The accounts served from now on (a control tower's children); returns them. Accounts
        of the stub's profile only. reset() restores .accounts."""
        return self._control("POST", "accounts", {"accounts": list(accounts)})["accounts"]

    def served_accounts(self) -> list:
        return self._control("GET", "accounts")["accounts"]

    def stats(self) -> dict:
        """{"total", "in_flight", "max_in_flight", "by_path", "by_status", "by_fault",
        "requests": [...]}; each request: seq, time (wall clock), started and ended
        (time.monotonic() seconds, comparable with this process's; ended None while in flight),
        method, path, query, params (decoded, last value wins), headers (Authorization
        "<redacted>"), auth {present, scheme, valid}, status (None while in flight, 0 for drop),
        fault, bytes, duration_ms. max_in_flight: the most API requests in flight at once since
        the stats were last cleared."""
        return self._control("GET", "stats")

    def clear_stats(self) -> None:
        self._control("POST", "stats/clear", {})

    def api_requests(self) -> list:
        """The recorded requests to the usage-statistics path, oldest first."""
        return [r for r in self.stats()["requests"] if r["path"] == API_PATH]

    def workspace_requests(self) -> list:
        """The recorded requests to the workspaces path (enrichment's listing), oldest first."""
        return [r for r in self.stats()["requests"] if r["path"] == WORKSPACES_PATH]

    def get(self, params: dict, token: Optional[str] = "", headers: Optional[dict] = None,
            timeout: float = 10.0, path: str = API_PATH) -> HttpResult:
        """GET the API with params (urlencoded); token "" = the stub's token, None = no header."""
        import urllib.parse
        h = {"Prefer": "profile=preview"}
        if token is not None:
            h["Authorization"] = f"Bearer {token or self.token}"
        h.update(headers or {})
        return http_request(self.url + path + "?" + urllib.parse.urlencode(params), headers=h,
                            timeout=timeout, context=self.ssl_context)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 5.0) -> Optional[int]:
        """SIGTERM, then SIGKILL after timeout; returns the exit code."""
        terminate(self.proc, timeout)
        self._log.close()
        return self.proc.returncode


# ---- TLS: a throwaway CA and a stub serving HTTPS ---------------------------------------------

class TlsFiles(NamedTuple):
    """PEM files made by make_tls_files."""
    ca_file: Path    # the throwaway CA's certificate: what scalr.ca_file gets
    cert_file: Path  # the server certificate, signed by that CA, for IP:127.0.0.1 and localhost
    key_file: Path   # its private key


def make_tls_files(directory: Path) -> TlsFiles:
    """A throwaway CA and a server certificate it signed (SAN IP:127.0.0.1, DNS:localhost; EC
    P-256; valid for 2 days), made with the openssl CLI in directory. No system trust store knows
    the CA, so a client without it fails verification."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    openssl = shutil.which("openssl") or "/usr/bin/openssl"
    ca_key, ca = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                   "basicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=serverAuth\n")
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args):
        r = subprocess.run([openssl, *map(str, args)], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError(f"openssl {args[0]} failed: {r.stderr}")

    run("req", "-x509", *new_key, "-keyout", ca_key, "-out", ca, "-days", "2",
        "-subj", "/CN=scalr-usage-exporter throwaway test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *new_key, "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
        "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-out", cert, "-days", "2",
        "-extfile", ext)
    return TlsFiles(ca, cert, key)


class TlsStubServer(StubServer):
    """A StubServer serving HTTPS with tls's certificate: .url is "https://127.0.0.1:PORT"; the
    control API and .get() trust tls.ca_file."""

    def __init__(self, workdir: Path, tls: TlsFiles, extra_args=(), **kw):
        import ssl
        super().__init__(workdir, extra_args=["--tls-cert", str(tls.cert_file),
                                              "--tls-key", str(tls.key_file), *extra_args], **kw)
        self.tls = tls
        self.ssl_context = ssl.create_default_context(cafile=str(tls.ca_file))
        self.url = f"https://127.0.0.1:{self.port}"
        self.api_url = self.url + API_PATH


# ---- a real full or read-only filesystem --------------------------------------------------------

class SmallFilesystem:
    """A tmpfs of `size` mounted at path, so that a directory can be made full (ENOSPC) or
    read-only (EROFS) for real; root ignores permission bits, not these. Root only: see
    SmallFilesystem.unavailable(). .fill() / .free(), .read_only() / .writable(), .unmount()
    (idempotent; lazy if something still uses it)."""

    FILLER = ".filler"

    def __init__(self, path: Path, size: str = "1m"):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "sue-test-tmpfs", self.path)
        self.mounted = True

    @staticmethod
    def _mount(*args) -> None:
        r = subprocess.run(["mount", *map(str, args)], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise OSError(f"mount {' '.join(map(str, args))}: {r.stderr.strip()}")

    @staticmethod
    def unavailable() -> Optional[str]:
        """None when a tmpfs can be mounted here; otherwise why not (for a skip message)."""
        if os.geteuid() != 0:
            return "mounting a small tmpfs needs root (a full disk cannot be simulated otherwise)"
        if not shutil.which("mount"):
            return "no mount command"
        probe = Path(tempfile.mkdtemp(prefix="sue-tmpfs-probe-"))
        try:
            fs = SmallFilesystem(probe, "64k")
            fs.unmount()
            return None
        except OSError as e:
            return f"cannot mount a tmpfs here: {e}"
        finally:
            shutil.rmtree(probe, ignore_errors=True)

    def fill(self) -> None:
        """Writes a hidden filler file until the filesystem has no byte left."""
        fd = os.open(self.path / self.FILLER, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            chunk = b"\0" * 65536
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as e:
                    if e.errno == errno.ENOSPC:
                        break
                    raise
            while True:  # the last partial page
                try:
                    os.write(fd, b"\0" * 512)
                except OSError as e:
                    if e.errno == errno.ENOSPC:
                        break
                    raise
        finally:
            os.close(fd)

    def free(self) -> None:
        (self.path / self.FILLER).unlink(missing_ok=True)

    def read_only(self) -> None:
        self._mount("-o", "remount,ro", self.path)

    def writable(self) -> None:
        self._mount("-o", "remount,rw", self.path)

    def unmount(self) -> None:
        if not self.mounted:
            return
        r = subprocess.run(["umount", str(self.path)], capture_output=True, timeout=30)
        if r.returncode != 0:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, timeout=30)
        self.mounted = False


class ReadOnlyDirectory:
    """Makes an existing directory refuse new entries for real, whoever runs the test: a read-only
    bind mount of it (root with CAP_SYS_ADMIN; EROFS), else the immutable attribute (root with
    CAP_LINUX_IMMUTABLE on a filesystem that has it; EPERM), else mode 0555 (not root; EACCES).
    Root ignores permission bits, so chmod alone proves nothing there. .method, .message (the
    strerror text a write into it fails with), .undo() (idempotent)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._undo = None
        if os.geteuid() != 0:
            mode = self.path.stat().st_mode & 0o7777
            self.path.chmod(0o555)
            self.method, self.message = "chmod 0555", "Permission denied"
            self._undo = lambda: self.path.chmod(mode)
        elif self._run("mount", "--bind", self.path, self.path):
            if self._run("mount", "-o", "remount,bind,ro", self.path):
                self.method, self.message = "read-only bind mount", "Read-only file system"
                self._undo = lambda: self._run("umount", self.path)
            else:
                self._run("umount", self.path)
        if self._undo is None and os.geteuid() == 0 and shutil.which("chattr") and \
                self._run("chattr", "+i", self.path):
            self.method, self.message = "chattr +i", "Operation not permitted"
            self._undo = lambda: self._run("chattr", "-i", self.path)
        if self._undo is None:
            raise OSError(f"cannot make {self.path} read-only here (as root: no bind mount, "
                          "no chattr +i)")
        probe = self.path / ".sue-read-only-probe"
        try:
            probe.write_text("x")
        except OSError:
            return
        probe.unlink()
        self.undo()
        raise OSError(f"{self.method} did not make {self.path} read-only")

    @staticmethod
    def _run(*argv) -> bool:
        return subprocess.run([str(a) for a in argv], capture_output=True, timeout=30).returncode == 0

    def undo(self) -> None:
        if self._undo is not None:
            self._undo()
            self._undo = None


# ---- finding secrets in output ------------------------------------------------------------------

def _base64_cores(data: bytes) -> set:
    """For each of the 3 alignments data can have inside a longer base64-encoded text, the part of
    the encoding that depends on data alone; any base64 text containing data contains one."""
    import base64
    cores = set()
    for offset in range(3):
        n = offset + len(data)
        encoded = base64.b64encode(b"\0" * offset + data)
        core = encoded[(0, 2, 3)[offset]:4 * (n // 3)]
        cores.add(core)
        cores.add(core.replace(b"+", b"-").replace(b"/", b"_"))  # the URL-safe alphabet
    return cores


def secret_spellings(secret: str) -> dict:
    """{spelling (bytes): what it is} for the ways a leaked secret could be written: as is,
    percent-encoded (quote and quote_plus, any case of the hex digits), JSON-escaped, and
    base64-encoded at any alignment (standard and URL-safe alphabets)."""
    raw = secret.encode()
    spellings = {raw: "as is"}
    for name, encoded in (("URL-encoded", urllib.parse.quote(secret, safe="")),
                          ("form-encoded", urllib.parse.quote_plus(secret, safe="")),
                          ("JSON-escaped", json.dumps(secret)[1:-1])):
        spellings.setdefault(encoded.encode(), name)
        lower_hex = re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), encoded)
        spellings.setdefault(lower_hex.encode(), name + " (lower-case hex)")
    for core in _base64_cores(raw):
        spellings.setdefault(core, "base64-encoded")
    return spellings


def find_secrets(data, secrets) -> list:
    """[(secret, how it is spelt)] for every secret found in data (str or bytes), any spelling of
    secret_spellings."""
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogateescape")
    found = []
    for secret in secrets:
        for spelling, how in secret_spellings(secret).items():
            if spelling in data:
                found.append((secret, how))
    return found


# ---- expected sums, independent of the stub and the exporter -----------------------------------

class Usage(NamedTuple):
    runs: int = 0
    seconds: int = 0

    def __add__(self, other):  # type: ignore[override]
        return Usage(self.runs + other.runs, self.seconds + other.seconds)


class Expected(NamedTuple):
    accounts: dict           # account_id -> Usage (every requested account, zero if no runs)
    environments: dict       # (account_id, environment_id) -> Usage (only with runs)
    workspaces: dict         # (account_id, workspace_id) -> Usage (only with runs)
    daily: dict              # (account_id, date) -> Usage (only days with runs)
    environment_names: dict  # (account_id, environment_id) -> name
    workspace_names: dict    # (account_id, workspace_id) -> name or None
    workspace_environments: dict  # (account_id, workspace_id) -> environment_id


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0):
            raise ValueError(f"period bounds must be midnight UTC, got {value}")
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def expected_usage(start, end_exclusive, profile: str = "small", accounts=None) -> Expected:
    """Sums of the raw daily rows for the period [start, end_exclusive) (dates, midnight datetimes or
    "YYYY-MM-DD"), at the account, account+environment, account+workspace and account+day levels.
    accounts: the account ids to include (default: all accounts of the profile)."""
    first, end = _as_date(start), _as_date(end_exclusive)
    ids = list(accounts) if accounts is not None else list(sample_data.accounts(profile))
    exp = Expected({a: Usage() for a in ids}, defaultdict(Usage), defaultdict(Usage),
                   defaultdict(Usage), {}, {}, {})
    if end > first:
        for r in sample_data.raw_rows(first, end - dt.timedelta(days=1), profile, ids):
            u = Usage(r.runs_count, r.runs_seconds)
            exp.accounts[r.account_id] += u
            exp.environments[(r.account_id, r.environment_id)] += u
            exp.workspaces[(r.account_id, r.workspace_id)] += u
            exp.daily[(r.account_id, r.date)] += u
            exp.environment_names[(r.account_id, r.environment_id)] = r.environment_name
            exp.workspace_names[(r.account_id, r.workspace_id)] = r.workspace_name
            exp.workspace_environments[(r.account_id, r.workspace_id)] = r.environment_id
    return exp._replace(environments=dict(exp.environments), workspaces=dict(exp.workspaces),
                        daily=dict(exp.daily))


def month_bounds(year: int, month: int):
    """(first day, first day of the next month): the half-open period of a calendar month."""
    start = dt.date(year, month, 1)
    return start, (start + dt.timedelta(days=32)).replace(day=1)


def account_names(profile: str = "small", accounts=None) -> dict:
    """{account_id: name} (what breakdown_by=account and scalr_account_info report), from
    sample_data's account definitions. accounts: the ids to include (default all)."""
    accs = sample_data.accounts(profile)
    return {a: accs[a].name for a in (accounts if accounts is not None else accs)}


def expected_account_breakdown(start, end_exclusive, profile: str = "small",
                               accounts=None) -> dict:
    """{account_id: (Usage, name)}: a breakdown_by=account&total=1 answer for [start,
    end_exclusive), every account listed, zero Usage for one without runs."""
    exp = expected_usage(start, end_exclusive, profile, accounts)
    names = account_names(profile, list(exp.accounts))
    return {a: (u, names[a]) for a, u in exp.accounts.items()}


# ---- politeness: concurrency and rate from the stub's recorded requests ------------------------

def peak_in_flight(requests) -> int:
    """The most requests in flight at once, from their started/ended times (independent of the
    stub's own max_in_flight). A request still in flight counts as never ending."""
    events = sorted([(r["started"], 1) for r in requests] +
                    [(r["ended"], -1) for r in requests if r["ended"] is not None],
                    key=lambda e: (e[0], e[1]))  # an end before a start at the same instant
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def max_started_in_window(requests, window: float = 1.0) -> int:
    """The most requests that started within any `window` seconds (a half-open [t, t+window))."""
    starts = sorted(r["started"] for r in requests)
    best, first = 0, 0
    for last, t in enumerate(starts):
        while starts[first] <= t - window:
            first += 1
        best = max(best, last - first + 1)
    return best


def started_between(requests, start: float, end: float) -> list:
    """The requests that started in (start, end), e.g. during a 429's Retry-After pause (times are
    time.monotonic() seconds, as the stub's)."""
    return [r for r in requests if start < r["started"] < end]


# ---- an independent Prometheus text-format (0.0.4) parser --------------------------------------

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_COMMENT = re.compile(r"#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t](.*))?")
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count",
                                                              "_created"),
             "summary": ("_sum", "_count", "_created")}


class ExpositionError(ValueError):
    pass


class Exposition(NamedTuple):
    samples: dict  # (name, frozenset(labels.items())) -> float
    help: dict     # metric family name -> help text (unescaped)
    types: dict    # metric family name -> type


def _unescape(text: str, allowed: str, line_no: int) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            nxt = text[i + 1:i + 2]
            if nxt not in allowed or not nxt:
                raise ExpositionError(f"line {line_no}: invalid escape \\{nxt}")
            out.append("\n" if nxt == "n" else nxt)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _parse_value(text: str, line_no: int) -> float:
    special = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf, "Inf": math.inf}
    if text in special:
        return special[text]
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
        raise ExpositionError(f"line {line_no}: invalid value {text!r}")
    return float(text)


def _parse_labels(line: str, i: int, line_no: int):
    """Parses `{a="x",b="y"}` starting at line[i] == "{"; returns (labels, index after "}")."""
    labels = {}
    i += 1
    while True:
        while i < len(line) and line[i] in " \t":
            i += 1
        if i < len(line) and line[i] == "}":
            return labels, i + 1
        m = _LABEL_NAME.match(line, i)
        if not m:
            raise ExpositionError(f"line {line_no}: bad label name at column {i + 1}")
        name, i = m.group(), m.end()
        while i < len(line) and line[i] in " \t":
            i += 1
        if line[i:i + 2] != '="':
            raise ExpositionError(f"line {line_no}: expected =\" after label {name}")
        i += 2
        start = i
        while i < len(line) and line[i] != '"':
            i += 2 if line[i] == "\\" else 1
        if i >= len(line):
            raise ExpositionError(f"line {line_no}: unterminated value of label {name}")
        if name in labels:
            raise ExpositionError(f"line {line_no}: duplicate label {name}")
        labels[name] = _unescape(line[start:i], '\\"n', line_no)
        i += 1
        while i < len(line) and line[i] in " \t":
            i += 1
        if i < len(line) and line[i] == ",":
            i += 1
        elif i >= len(line) or line[i] != "}":
            raise ExpositionError(f"line {line_no}: expected , or }} after label {name}")


def parse_exposition(text, strict: bool = True) -> Exposition:
    """Parses the Prometheus text exposition format. Accepts str or (UTF-8) bytes.

    Raises ExpositionError on: invalid UTF-8, malformed lines, bad escapes (only \\\\ \\" \\n in label
    values, \\\\ \\n in HELP), duplicate series, duplicate HELP/TYPE, TYPE after its samples, and in
    strict mode also a missing final newline and a family whose samples are not contiguous."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ExpositionError(f"not UTF-8: {e}") from None
    if strict and text and not text.endswith("\n"):
        raise ExpositionError("the last line must end with a line feed")
    samples, helps, types = {}, {}, {}
    seen_families, current_family = set(), None

    def family_of(name):
        for fam, typ in types.items():
            if name == fam or any(name == fam + s for s in _SUFFIXES.get(typ, ())):
                return fam
        return name

    for line_no, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            m = _COMMENT.fullmatch(line)
            if m:
                kind, name, rest = m.group(1), m.group(2), m.group(3) or ""
                if not _METRIC_NAME.fullmatch(name):
                    raise ExpositionError(f"line {line_no}: bad metric name {name!r}")
                if kind == "HELP":
                    if name in helps:
                        raise ExpositionError(f"line {line_no}: second HELP for {name}")
                    helps[name] = _unescape(rest, "\\n", line_no)
                else:
                    if name in types:
                        raise ExpositionError(f"line {line_no}: second TYPE for {name}")
                    if rest.strip() not in _TYPES:
                        raise ExpositionError(f"line {line_no}: bad type {rest!r}")
                    if name in seen_families:
                        raise ExpositionError(f"line {line_no}: TYPE for {name} after its samples")
                    types[name] = rest.strip()
            continue
        m = _METRIC_NAME.match(line)
        if not m:
            raise ExpositionError(f"line {line_no}: bad metric name in {line!r}")
        name, i = m.group(), m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = _parse_labels(line, i, line_no)
        rest = line[i:].split()
        if not line[i:i + 1] in (" ", "\t") or len(rest) not in (1, 2):
            raise ExpositionError(f"line {line_no}: expected ' value [timestamp]' in {line!r}")
        value = _parse_value(rest[0], line_no)
        if len(rest) == 2 and not re.fullmatch(r"-?\d+", rest[1]):
            raise ExpositionError(f"line {line_no}: bad timestamp {rest[1]!r}")
        key = (name, frozenset(labels.items()))
        if key in samples:
            raise ExpositionError(f"line {line_no}: duplicate series {name}{labels}")
        fam = family_of(name)
        if strict and fam != current_family and fam in seen_families:
            raise ExpositionError(f"line {line_no}: samples of {fam} are not contiguous")
        current_family = fam
        seen_families.add(fam)
        samples[key] = value
    return Exposition(samples, helps, types)


def parse_metrics(text, strict: bool = True) -> dict:
    """{(name, frozenset(labels.items())): value} of a Prometheus text exposition."""
    return parse_exposition(text, strict).samples


def sample_value(samples: dict, name: str, **labels) -> Optional[float]:
    """The value of the series with exactly these labels, or None."""
    return samples.get((name, frozenset(labels.items())))


def values_by(samples: dict, name: str, *label_names) -> dict:
    """{(label values...): value} of every series of one family."""
    return {tuple(dict(labels)[n] for n in label_names): value
            for (family, labels), value in samples.items() if family == name}


def series(samples: dict, name: str, **match) -> dict:
    """{frozenset(labels): value} of the series of `name` whose labels include `match`."""
    return {labels: v for (n, labels), v in samples.items()
            if n == name and all((k, v2) in labels for k, v2 in match.items())}


# ---- the exporter daemon ----------------------------------------------------------------------

def _yaml_scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a valid YAML scalar


def _yaml_flow(v) -> str:
    """A value in YAML's flow style: {a: 1, b: [x, y]}."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_yaml_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_yaml_flow(x) for x in v) + "]"
    return "null" if v is None else _yaml_scalar(v)


def to_yaml(obj, indent: int = 0) -> str:
    """A tiny YAML emitter for nested dicts/lists (no PyYAML needed); list items that are dicts or
    lists (reports.schedules) are written in flow style."""
    pad = "  " * indent
    out = []
    for k, v in obj.items():
        if isinstance(v, dict):
            out.append(f"{pad}{k}:\n{to_yaml(v, indent + 1)}")
        elif isinstance(v, (list, tuple)):
            out.append(f"{pad}{k}:" + ("".join(f"\n{pad}  - {_yaml_flow(x)}" for x in v)
                                       if v else " []") + "\n")
        elif v is None:
            out.append(f"{pad}{k}: null\n")
        else:
            out.append(f"{pad}{k}: {_yaml_scalar(v)}\n")
    return "".join(out)


def deep_merge(base: dict, override: dict) -> dict:
    """A copy of base with override merged in; an override value None deletes the key."""
    out = dict(base)
    for k, v in override.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _clean_env() -> dict:
    """The test process's environment without SCALR_TOKEN and SCALR_USAGE_PG_DSN (the config must
    win) and without libpq's PG* variables (a stray PGPASSWORD would hide a wrong DSN)."""
    return {k: v for k, v in os.environ.items()
            if k not in ("SCALR_TOKEN", "SCALR_USAGE_PG_DSN") and not k.startswith("PG")}


def default_binary() -> Path:
    return Path(os.environ.get("SUE_BINARY") or REPO_ROOT / "build" / "scalr-usage-exporter")


class Exporter:
    """A running scalr-usage-exporter daemon.

    .url          "http://127.0.0.1:PORT"; .metrics_url = .url + telemetry_path
    .config       the config dict written to .config_path (YAML)
    .log_path     its stderr; .stdout_path its stdout
    .proc         the subprocess.Popen
    """

    def __init__(self, workdir: Path, config: dict, binary: Path, args=(), env=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.config_path = self.workdir / "config.yaml"
        self.config_path.write_text(to_yaml(config), encoding="utf-8")
        self.url = "http://" + config["web"]["listen_address"]
        self.metrics_url = self.url + config["web"].get("telemetry_path", "/metrics")
        self.log_path = self.workdir / "exporter.stderr.log"
        self.stdout_path = self.workdir / "exporter.stdout.log"
        self.binary = Path(binary)
        self.argv = [str(self.binary), f"--config.file={self.config_path}", "--log.level=debug",
                     *args]
        self._err, self._out = open(self.log_path, "wb"), open(self.stdout_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdout=self._out, stderr=self._err,
                                     stdin=subprocess.DEVNULL, cwd=self.workdir,
                                     env=env if env is not None else _clean_env())
        self.returncode: Optional[int] = None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def scrape(self, path: Optional[str] = None, timeout: float = 10.0) -> HttpResult:
        r = http_request(self.url + path if path else self.metrics_url, timeout=timeout)
        return r

    def metrics(self, strict: bool = True) -> dict:
        """Scrapes the telemetry path (must be 200) and parses it with parse_metrics."""
        r = self.scrape()
        if r.status != 200:
            raise AssertionError(f"scrape {self.metrics_url}: {r.status} {r.body[:500]!r}")
        return parse_metrics(r.body, strict)

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Waits until the telemetry path answers 200 (fails early if the process exits)."""
        def ready():
            if not self.alive():
                raise StopWaiting(f"exporter exited with {self.proc.returncode}")
            return self.scrape(timeout=2).status == 200
        try:
            wait_until(ready, timeout, 0.05, "exporter to serve " + self.metrics_url)
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- exporter log ---\n{self.log_text()[-4000:]}") from None

    def wait_for_log(self, pattern: str, timeout: float = 10.0) -> re.Match:
        """Waits until a line of its stderr matches the regex; returns the match."""
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.log_text()), timeout, 0.05,
                          f"log line matching {pattern!r}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def signal(self, sig) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait up to timeout, then SIGKILL. Returns the exit code (negative = signal).
        Safe to call twice."""
        terminate(self.proc, timeout)
        self.returncode = self.proc.returncode
        for f in (self._err, self._out):
            f.close()
        return self.returncode


def exporter_config(stub: StubServer, listen_port: int, token_file: Path, accounts=None,
                    overrides: Optional[dict] = None) -> dict:
    """The default test config for an exporter pointed at stub (see conftest.exporter_factory)."""
    cfg = {
        "web": {"listen_address": f"127.0.0.1:{listen_port}", "telemetry_path": "/metrics"},
        "scalr": {
            "url": stub.url,
            "token_file": str(token_file),
            "accounts": list(accounts if accounts is not None else stub.accounts),
            "prefer_profile": "preview",
            "page_size": 100,
            "timeout": "5s",
            "retry": {"max_attempts": 3, "initial_backoff": "100ms", "max_backoff": "1s"},
        },
        "poll": {"interval": "1s"},
    }
    return deep_merge(cfg, overrides or {})


# ---- a throwaway PostgreSQL cluster with generated run history ---------------------------------

PG_BINDIR = Path(os.environ.get("SUE_PG_BINDIR") or "/usr/lib/postgresql/15/bin")
SCHEMA_SQL = REPO_ROOT / "etc" / "postgres" / "schema.sql"
PG_DB = "scalr"
PG_USER = "exporter"
# Recognisable, so a leak is easy to find, with a quote and a space so that DSN quoting and
# escaping are exercised too.
PG_PASSWORD = "pw-RECOGNISABLE-7731'q x"
# Server settings the exporter must not depend on: a far-off time zone (UTC+12:45/+13:45, so a
# local day differs from the UTC day) and a non-ISO DateStyle.
PG_SERVER_TIMEZONE = "Pacific/Chatham"
PG_SERVER_DATESTYLE = "SQL, DMY"


def _as_root() -> bool:
    return os.geteuid() == 0


def _as_db_owner(argv) -> list:
    """initdb and the server refuse to run as root; as root, run them as the postgres user."""
    argv = [str(a) for a in argv]
    return ["runuser", "-u", "postgres", "--", *argv] if _as_root() else argv


def _db_owned_dir(prefix: str) -> Path:
    """A fresh 0700 directory under the system temp dir, owned by the user the server runs as.
    (pytest's tmp_path sits under a root-only directory the postgres user cannot enter.)"""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if _as_root():
        shutil.chown(path, "postgres", "postgres")
    return path


def _pg_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class PostgresTemplate:
    """One initdb'ed data directory; every PostgresServer starts from a copy of it, as initdb takes
    seconds and a copy does not. .remove() deletes it."""

    def __init__(self):
        missing = [b for b in ("initdb", "pg_ctl", "postgres", "psql") if not (PG_BINDIR / b).exists()]
        if missing:
            raise RuntimeError(f"PostgreSQL server binaries {missing} not found in {PG_BINDIR}; "
                               "scripts/install-deps installs postgresql-15 (or set SUE_PG_BINDIR)")
        self.dir = _db_owned_dir("sue-pg-template-")
        self.data = self.dir / "data"
        r = subprocess.run(_as_db_owner([PG_BINDIR / "initdb", "-D", self.data, "-U", "postgres",
                                         "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"]),
                           capture_output=True, text=True, timeout=120, env=_pg_env())
        if r.returncode != 0:
            self.remove()
            raise RuntimeError(f"initdb failed ({r.returncode}): {r.stdout}{r.stderr}")

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1:.port (a copy of a PostgresTemplate), its unix
    socket in its own directory, started on construction.

    Authentication: the superuser postgres is trusted on loopback (the tests' own psql calls); every
    other role needs its password (scram-sha-256), so the exporter's role PG_USER, created by
    .setup_database(), logs in with PG_PASSWORD for real.

    .port, .dir, .log_path (server log), .start(), .stop(mode="fast"), .running(),
    .psql(sql=None, file=None, db=PG_DB, input=None) -> stdout (unaligned, tuples only),
    .setup_database() (role, database, etc/postgres/schema.sql, grants), .load_runs(runs) (COPY),
    .dsn(password=PG_PASSWORD, user=PG_USER, form="kv"|"uri"), .active_queries(fragment),
    .remove() (stops it and deletes everything).
    """

    def __init__(self, template: PostgresTemplate):
        self.dir = _db_owned_dir("sue-pg-")
        self.data = self.dir / "data"
        self.log_path = self.dir / "server.log"
        subprocess.run(_as_db_owner(["cp", "-a", template.data, self.data]), check=True)
        self.port = free_port()
        settings = {
            "listen_addresses": "'127.0.0.1'", "port": self.port,
            "unix_socket_directories": f"'{self.dir}'",
            "max_connections": 40, "shared_buffers": "'16MB'",
            # Throwaway data: durability costs time and buys nothing.
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
            "timezone": sql_literal(PG_SERVER_TIMEZONE), "datestyle": sql_literal(PG_SERVER_DATESTYLE),
            "log_timezone": "'UTC'", "logging_collector": "off",
        }
        conf = "".join(f"{k} = {v}\n" for k, v in settings.items())
        hba = ("local all postgres trust\n"
               "host all postgres 127.0.0.1/32 trust\n"
               "host all all 127.0.0.1/32 scram-sha-256\n")
        with open(self.data / "postgresql.conf", "a") as f:  # later settings win
            f.write("\n# sue integration tests\n" + conf)
        (self.data / "pg_hba.conf").write_text(hba)  # rewritten in place: the owner stays
        self.start()

    def _pg_ctl(self, *args, timeout: float = 60):
        return subprocess.run(_as_db_owner([PG_BINDIR / "pg_ctl", "-D", self.data, *args]),
                              capture_output=True, text=True, timeout=timeout, env=_pg_env())

    def start(self) -> None:
        r = self._pg_ctl("-l", self.log_path, "-w", "-t", "60", "start")
        if r.returncode != 0:
            raise AssertionError(f"pg_ctl start failed: {r.stdout}{r.stderr}\n{self.log_text()[-3000:]}")

    def stop(self, mode: str = "fast") -> None:
        r = self._pg_ctl("-m", mode, "-w", "-t", "60", "stop")
        if r.returncode != 0:
            raise AssertionError(f"pg_ctl stop failed: {r.stdout}{r.stderr}")

    def running(self) -> bool:
        return self._pg_ctl("status").returncode == 0

    def remove(self) -> None:
        if self.data.exists() and self.running():
            self._pg_ctl("-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def psql(self, sql: Optional[str] = None, file: Optional[Path] = None, db: str = PG_DB,
             input: Optional[str] = None) -> str:
        argv = [str(PG_BINDIR / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db]
        argv += ["-c", sql] if sql is not None else ["-f", str(file)]
        r = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=120,
                           env=_pg_env())
        if r.returncode != 0:
            raise AssertionError(f"psql failed ({r.returncode}): {r.stderr}")
        return r.stdout

    def setup_database(self) -> None:
        self.psql(f"CREATE ROLE {PG_USER} LOGIN PASSWORD {sql_literal(PG_PASSWORD)}", db="postgres")
        self.psql(f"CREATE DATABASE {PG_DB}", db="postgres")
        self.psql(file=SCHEMA_SQL)
        self.psql(f"GRANT SELECT ON scalr_runs TO {PG_USER}")

    def load_runs(self, runs, columns=None) -> None:
        """COPY runs (Run tuples) into scalr_runs; columns: only these Run fields (a table of the
        schema before account_name and workspace_tags takes the first eight)."""
        columns = list(columns or Run._fields)

        def field(value) -> str:
            if value is None:
                return "\\N"
            if isinstance(value, (list, tuple)):
                value = pg_array_literal(value)
            text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
            return (text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
                    .replace("\t", "\\t"))
        data = "".join("\t".join(field(getattr(run, c)) for c in columns) + "\n" for run in runs)
        self.psql(f"COPY scalr_runs ({', '.join(columns)}) FROM STDIN", input=data)

    def dsn(self, password: str = PG_PASSWORD, user: str = PG_USER, form: str = "kv") -> str:
        if form == "uri":
            quote = lambda t: urllib.parse.quote(t, safe="")
            return f"postgresql://{quote(user)}:{quote(password)}@127.0.0.1:{self.port}/{PG_DB}"
        escaped = password.replace("\\", "\\\\").replace("'", "\\'")
        return f"host=127.0.0.1 port={self.port} dbname={PG_DB} user={user} password='{escaped}'"

    def active_queries(self, fragment: str, application_name: Optional[str] = None) -> int:
        """How many other sessions (of application_name, if given) are running a statement
        containing fragment."""
        where = "" if application_name is None else \
            f" AND application_name = {sql_literal(application_name)}"
        return int(self.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            f"AND pid <> pg_backend_pid() AND position({sql_literal(fragment)} in query) > 0"
            + where))


def pg_array_literal(items) -> str:
    """A PostgreSQL array input literal of text elements, every element quoted: {"a","b \\"c\\""}."""
    quote = lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "{" + ",".join(quote(t) for t in items) + "}"


class Run(NamedTuple):
    """One row of scalr_runs, in its column order."""
    run_id: str
    account_id: str
    environment_id: str
    environment_name: Optional[str]
    workspace_id: str
    workspace_name: Optional[str]
    finished_at: dt.datetime  # aware, UTC
    duration_seconds: int
    account_name: Optional[str] = None  # None: NULL (unknown)
    workspace_tags: Optional[tuple] = None  # None: NULL (unknown); (): the workspace had none


def _hash_int(*parts) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def runs_of_row(row) -> list:
    """A sample_data daily row expanded into its individual runs, deterministically: runs_count
    runs, unevenly long but summing exactly to runs_seconds, finishing at times within that UTC day
    (microseconds included)."""
    n = row.runs_count
    base, extra = divmod(row.runs_seconds, n)
    durations = [base + (1 if i < extra else 0) for i in range(n)]
    for i in range(n - 1):  # move part of each run's time to the next: uneven, same sum
        shift = _hash_int(row.workspace_id, row.date, i, "shift") % (durations[i] + 1)
        durations[i] -= shift
        durations[i + 1] += shift
    day = dt.datetime.combine(row.date, dt.time(0), dt.timezone.utc)
    runs = []
    for i, seconds in enumerate(durations):
        h = _hash_int(row.workspace_id, row.date, i, "time")
        finished = day + dt.timedelta(seconds=h % 86400, microseconds=(h >> 24) % 1_000_000)
        runs.append(Run(f"run-{_hash_int(row.workspace_id, row.date, i, 'id'):016x}",
                        row.account_id, row.environment_id, row.environment_name, row.workspace_id,
                        row.workspace_name, finished, seconds,
                        run_account_name(row.account_id, row.workspace_id, row.date),
                        run_workspace_tags(row.workspace_id, row.workspace_name, row.date)))
    return runs


# ---- account names and workspace tags of the generated runs (scalr_runs' optional columns) -----
# Defined here rather than in sample_data, which the stand-in Scalr server's tests own. Like the
# stand-in's workspaces, tags are "team:..." and "cost-center:CC-...". Each value depends only on
# the account or workspace and the day of the month: every run of a workspace on one day says the
# same, so "the latest run that has one" is the exporter's rule exactly (its ties never arise), and
# the golden profile "fixed" (the same days every month) gives the same in every month. Some runs
# say nothing (NULL), the renamed account and some workspaces' tags change from day to day, and
# some workspaces lose their tags on odd days, so which run is the latest always matters.

RENAMED_ACCOUNT = sample_data.ACCOUNT_MAIN
FORMER_NAME = " (former name)"  # RENAMED_ACCOUNT's name on odd days of the month ends with it
TAG_TEAMS = ("payments", "data", "platform", "web")


def run_account_name(account_id: str, workspace_id: str, day: dt.date) -> Optional[str]:
    """The account name a generated run carries: sample_data's, None (NULL) for the runs of a third
    of the workspaces and for accounts without a name there."""
    name = sample_data.ACCOUNT_NAMES.get(account_id)
    if not name or _hash_int(workspace_id, "account-name") % 3 == 0:
        return None
    return name + FORMER_NAME if account_id == RENAMED_ACCOUNT and day.day % 2 == 1 else name


def run_workspace_tags(workspace_id: str, workspace_name: Optional[str],
                       day: dt.date) -> Optional[tuple]:
    """The tags a generated run carries, unsorted and with a duplicate as a feed might write
    them; None (NULL) when the run does not say, () when the workspace has none."""
    h = _hash_int(workspace_id, "tags")
    kind = h % 6
    if kind == 0 or (kind == 1 and day.day % 3 == 0):
        return None
    if kind == 3 and day.day % 2 == 1:
        return ()
    team = "legacy" if kind == 2 and day.day % 2 == 1 else TAG_TEAMS[(h >> 8) % len(TAG_TEAMS)]
    tags = [f"team:{team}", f"cost-center:CC-{100 * (1 + (h >> 16) % 3)}"]
    if workspace_name:  # the hostile names make hostile tags: quotes, backslashes, newlines
        tags.append(f"name:{workspace_name}")
    return tuple(tags + [tags[0]])


def _latest_values(runs, start, end_exclusive, key, value) -> dict:
    """{key(run): value(run)} of the latest run (by finished_at) in [start, end_exclusive) whose
    value is not None, per key."""
    lo, hi = (dt.datetime.combine(d, dt.time(0), dt.timezone.utc) for d in (start, end_exclusive))
    latest = {}
    for r in runs:
        if lo <= r.finished_at < hi and value(r) is not None:
            k = key(r)
            if k not in latest or r.finished_at > latest[k][0]:
                latest[k] = (r.finished_at, value(r))
    return {k: v for k, (_, v) in latest.items()}


def expected_account_names(runs, start, end_exclusive) -> dict:
    """{account_id: name} from the runs of [start, end_exclusive) (dates): the name of the
    account's latest run with one (accounts without are absent: their name is "")."""
    return _latest_values(runs, start, end_exclusive, lambda r: r.account_id,
                          lambda r: r.account_name or None)


def expected_workspace_tags(runs, start, end_exclusive) -> dict:
    """{(account_id, workspace_id): sorted tag names} from the runs of [start, end_exclusive)
    (dates): the tags of the workspace's latest run that has them, sorted, once each (workspaces
    without are absent: they have none)."""
    return {k: sorted(set(v)) for k, v in _latest_values(
        runs, start, end_exclusive, lambda r: (r.account_id, r.workspace_id),
        lambda r: r.workspace_tags).items()}


class Boundary(NamedTuple):
    """The runs placed exactly at the period boundaries (all in ACCOUNT_TINY, environment
    "boundary"): .first finishes at the first instant of the current month (counted); .last at the
    last second and the last microsecond of the previous month (not counted); .next at the first
    instant of the next month (not counted)."""
    account_id: str
    environment_id: str
    first: str  # workspace ids
    last: str
    next: str


BOUNDARY = Boundary(sample_data.ACCOUNT_TINY,
                    sample_data.make_id("env", sample_data.ACCOUNT_TINY, "boundary"),
                    *(sample_data.make_id("ws", sample_data.ACCOUNT_TINY, "boundary", name)
                      for name in ("first", "last", "next")))


def boundary_runs(start: dt.date, end: dt.date) -> list:
    month_start = dt.datetime.combine(start, dt.time(0), dt.timezone.utc)
    next_month = dt.datetime.combine(end, dt.time(0), dt.timezone.utc)
    b = BOUNDARY
    run = lambda run_id, ws, name, at, seconds: Run(run_id, b.account_id, b.environment_id,
                                                    "boundary", ws, name, at, seconds)
    return [
        run("run-boundary-first", b.first, "boundary-first", month_start, 777),
        run("run-boundary-last", b.last, "boundary-last", month_start - dt.timedelta(seconds=1), 999),
        run("run-boundary-last-us", b.last, "boundary-last",
            month_start - dt.timedelta(microseconds=1), 555),
        run("run-boundary-next", b.next, "boundary-next", next_month, 333),
    ]


def generate_runs(today: Optional[dt.date] = None, profile: str = "small") -> list:
    """The run history the PostgreSQL tests load: every sample_data run of the previous month and
    of the current month up to today (UTC), plus the boundary runs."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    start, end = month_bounds(today.year, today.month)
    previous_start = (start - dt.timedelta(days=1)).replace(day=1)
    runs = [run for row in sample_data.raw_rows(previous_start, today, profile)
            for run in runs_of_row(row)]
    return runs + boundary_runs(start, end)


def expected_from_runs(runs, start, end_exclusive, accounts=None, where=None) -> Expected:
    """Sums of the runs that finished in [start, end_exclusive) (dates or datetimes, UTC) at the
    account, environment, workspace and UTC-day levels, counted run by run. accounts: only these,
    each present even without runs (default: the accounts that have runs in the period). where: an
    extra filter on Run."""
    to_dt = lambda d: d if isinstance(d, dt.datetime) else dt.datetime.combine(
        d, dt.time(0), dt.timezone.utc)
    lo, hi = to_dt(start), to_dt(end_exclusive)
    chosen = [r for r in runs if lo <= r.finished_at < hi and (where is None or where(r))
              and (accounts is None or r.account_id in accounts)]
    ids = list(accounts) if accounts is not None else sorted({r.account_id for r in chosen})
    exp = Expected({a: Usage() for a in ids}, defaultdict(Usage), defaultdict(Usage),
                   defaultdict(Usage), {}, {}, {})
    for r in chosen:
        u = Usage(1, r.duration_seconds)
        exp.accounts[r.account_id] += u
        exp.environments[(r.account_id, r.environment_id)] += u
        exp.workspaces[(r.account_id, r.workspace_id)] += u
        exp.daily[(r.account_id, r.finished_at.astimezone(dt.timezone.utc).date())] += u
        exp.environment_names[(r.account_id, r.environment_id)] = r.environment_name or ""
        exp.workspace_names[(r.account_id, r.workspace_id)] = r.workspace_name
        exp.workspace_environments[(r.account_id, r.workspace_id)] = r.environment_id
    return exp._replace(environments=dict(exp.environments), workspaces=dict(exp.workspaces),
                        daily=dict(exp.daily))


def postgres_exporter_config(listen_port: int, dsn: Optional[str] = None, accounts=(),
                             overrides: Optional[dict] = None) -> dict:
    """The default test config for an exporter on the PostgreSQL source (see
    conftest.pg_exporter_factory). dsn None: no postgres.dsn key (dsn_file or the environment)."""
    cfg = {
        "web": {"listen_address": f"127.0.0.1:{listen_port}", "telemetry_path": "/metrics"},
        "source": "postgres",
        "postgres": {"accounts": list(accounts), "statement_timeout": "5s"},
        "poll": {"interval": "1s"},
    }
    if dsn is not None:
        cfg["postgres"]["dsn"] = dsn
    return deep_merge(cfg, overrides or {})


# ---- chargeback rules, implemented here independently of the daemon (chargeback/rules.h) ------

def _chargeback_pattern_matches(pattern: str, value: str) -> bool:
    """A leading ~ is a regular expression, searched; otherwise a glob (* and ?) on the whole
    value. The tests' patterns use only syntax where Python's re and ECMAScript agree."""
    if pattern.startswith("~"):
        return re.search(pattern[1:], value) is not None
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _chargeback_expand(template: str, facts: dict, matched_tag) -> str:
    def tag_value(key):
        candidates = ([matched_tag] if matched_tag else []) + sorted(facts.get("tags", []))
        for tag in candidates:
            if tag.startswith(key + ":"):
                return tag[len(key) + 1:]
        return ""

    def placeholder(m):
        name = m.group(1)
        return tag_value(name[4:]) if name.startswith("tag:") else facts.get(name) or ""

    out, i = [], 0
    while i < len(template):
        if template[i] in "{}" and template[i:i + 2] in ("{{", "}}"):
            out.append(template[i])
            i += 2
        elif template[i] == "{":
            end = template.index("}", i)
            out.append(placeholder(re.match(r"\{([^}]*)\}", template[i:end + 1])))
            i = end + 1
        else:
            out.append(template[i])
            i += 1
    return "".join(out)


def chargeback_classify(section: dict, facts: dict) -> tuple:
    """The label values (in section["labels"] order) the chargeback: section gives a workspace.
    facts: account_id, environment_id, environment_name, workspace_id, workspace_name (missing or
    None is ""), tags (list of tag names)."""
    labels = section["labels"]
    for rule in section.get("rules") or []:
        matched_tag, ok = None, True
        for key, pattern in (rule.get("match") or {}).items():
            if key == "workspace_tag":
                hits = [t for t in sorted(facts.get("tags", []))
                        if _chargeback_pattern_matches(pattern, t)]
                ok = ok and bool(hits)
                if hits and matched_tag is None:
                    matched_tag = hits[0]
            else:
                ok = ok and _chargeback_pattern_matches(pattern, facts.get(key) or "")
        if ok:
            chosen = rule.get("set") or {}
            return tuple(_chargeback_expand(chosen[l], facts, matched_tag) if l in chosen else ""
                         for l in labels)
    fallback = section.get("default") or {}
    return tuple(_chargeback_expand(fallback[l], facts, None) if l in fallback else ""
                 for l in labels)
