"""--web.config.file: TLS and basic authentication on the real daemon, over real TLS on loopback.

Everything the test trusts is made here, independently of the exporter: a throwaway CA, server and
client certificates from the `openssl` command line, bcrypt hashes from Python's `crypt` module
(libxcrypt), requests with `curl --cacert` and TLS handshakes with `openssl s_client`. Expected
usage numbers come from sample_data's raw rows (helpers.expected_usage), as in test_exporter.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import signal
import socket
import subprocess
import threading
import time
import warnings
from pathlib import Path
from typing import NamedTuple, Optional

import pytest

import helpers
from helpers import sample_data, sample_value, wait_until

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # removed in Python 3.13; fine on Debian 12
    import crypt

MAIN = sample_data.ACCOUNT_MAIN

# Recognisable, so that a leak into a log is easy to find; a colon in the password is legal (only
# the first colon of user:password separates), and the non-ASCII pair checks UTF-8 end to end.
USER = "prometheus"
PASSWORD = "pw-RECOGNISABLE-4417:with colon"
UNICODE_USER = "jürgen"
UNICODE_PASSWORD = "pässwörd-€-RECOGNISABLE"


def bcrypt(password: str, rounds: int = 16) -> str:
    """A $2b$ hash made by libxcrypt through Python, not by the exporter. rounds=16 is cost 04, the
    lowest, so the tests stay fast; the cost does not change what is checked."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=rounds))
    assert hashed.startswith("$2b$04$") and len(hashed) == 60, hashed
    return hashed


# ---- a throwaway PKI ----------------------------------------------------------------------------

def openssl(*args, cwd=None):
    result = subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                            timeout=60)
    assert result.returncode == 0, f"openssl {args}: {result.stderr}"
    return result


class Pki(NamedTuple):
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path            # a CA that signed nothing the server trusts
    stranger_cert: Path       # a client certificate from other_ca
    stranger_key: Path


def make_ca(directory: Path, name: str):
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return key, cert


def issue(directory: Path, name: str, ca_key: Path, ca_cert: Path, extensions: str):
    key, csr, cert = directory / f"{name}.key", directory / f"{name}.csr", directory / f"{name}.crt"
    ext = directory / f"{name}.ext"
    ext.write_text(extensions)
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", f"/CN={name}")
    openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
            "-out", cert, "-days", "2", "-extfile", ext)
    key.chmod(0o600)
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca_key, ca = make_ca(d, "test-ca")
    server_cert, server_key = issue(
        d, "server", ca_key, ca,
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
        "keyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n")
    client_cert, client_key = issue(
        d, "client", ca_key, ca,
        "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n"
        "basicConstraints=CA:FALSE\n")
    other_key, other_ca = make_ca(d, "other-ca")
    stranger_cert, stranger_key = issue(
        d, "stranger", other_key, other_ca,
        "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n"
        "basicConstraints=CA:FALSE\n")
    return Pki(ca, server_cert, server_key, client_cert, client_key, other_ca, stranger_cert,
               stranger_key)


# ---- talking to the daemon -----------------------------------------------------------------------

class Response(NamedTuple):
    curl_exit: int      # 0 when curl got an HTTP response
    status: int         # 0 without one
    headers: str        # raw, lower-cased
    body: bytes
    stderr: str


def curl(url: str, cacert: Optional[Path] = None, user: Optional[str] = None,
         password: Optional[str] = None, extra=(), tmp: Optional[Path] = None) -> Response:
    """One request with curl. Credentials go through a config file on stdin, not argv."""
    tmp = tmp or Path(os.environ.get("TMPDIR", "/tmp"))
    body_file = tmp / f"curl-body-{threading.get_ident()}-{time.monotonic_ns()}"
    args = ["curl", "--silent", "--show-error", "--max-time", "10", "--output", str(body_file),
            "--dump-header", "-", "--write-out", "\n%{http_code}", "--config", "-"]
    if cacert is not None:
        args += ["--cacert", str(cacert)]
    args += list(extra) + [url]
    config = ""
    if user is not None:
        escaped = f"{user}:{password}".replace("\\", "\\\\").replace('"', '\\"')
        config = f'user = "{escaped}"\n'
    result = subprocess.run(args, input=config.encode(), capture_output=True, timeout=30)
    out = result.stdout.decode("utf-8", "replace")
    head, _, code = out.rpartition("\n")
    body = body_file.read_bytes() if body_file.exists() else b""
    body_file.unlink(missing_ok=True)
    return Response(result.returncode, int(code) if code.strip().isdigit() else 0, head.lower(),
                    body, result.stderr.decode("utf-8", "replace"))


def s_client(port: int, *flags, cafile: Optional[Path] = None) -> subprocess.CompletedProcess:
    """One TLS handshake with openssl s_client; output merged, for the reasons it prints."""
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
            *flags]
    if cafile is not None:
        args += ["-CAfile", str(cafile), "-verify_return_error"]
    return subprocess.run(args, input=b"", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=30)


def write_web_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def tls_users_config(pki: Pki, extra: str = "", users: Optional[dict] = None) -> str:
    users = users if users is not None else {USER: bcrypt(PASSWORD),
                                             UNICODE_USER: bcrypt(UNICODE_PASSWORD)}
    lines = ["tls_server_config:", f"  cert_file: {pki.server_cert}", f"  key_file: {pki.server_key}"]
    lines += [extra.rstrip("\n")] if extra else []
    lines += ["basic_auth_users:"] + [f'  "{u}": "{h}"' for u, h in users.items()]
    return "\n".join(lines) + "\n"


def start_with_web_config(exporter_factory, stub, web_config: Path, **kw) -> helpers.Exporter:
    return exporter_factory(stub, accounts=[MAIN], args=[f"--web.config.file={web_config}"],
                            wait_ready=False, **kw)


def https_url(exporter: helpers.Exporter, path: str = "/metrics") -> str:
    return "https://" + exporter.config["web"]["listen_address"] + path


def port_of(exporter: helpers.Exporter) -> int:
    return int(exporter.config["web"]["listen_address"].rsplit(":", 1)[1])


def wait_serving(exporter: helpers.Exporter, pki: Pki, tmp: Path, **curl_kw) -> Response:
    """Waits until an authenticated scrape shows MAIN up; returns that response."""
    def up():
        if not exporter.alive():
            raise helpers.StopWaiting(f"exporter exited with {exporter.proc.returncode}:\n"
                                      f"{exporter.log_text()[-3000:]}")
        r = curl(https_url(exporter), pki.ca, USER, PASSWORD, tmp=tmp, **curl_kw)
        if r.status != 200:
            return None
        samples = helpers.parse_metrics(r.body)
        return r if sample_value(samples, "scalr_up", account_id=MAIN) == 1 else None
    return wait_until(up, 20, 0.1, "an authenticated scrape with MAIN up")


def assert_main_matches_sample_data(body: bytes):
    samples = helpers.parse_metrics(body)
    start = sample_value(samples, "scalr_billing_period_start_timestamp_seconds", account_id=MAIN)
    end = sample_value(samples, "scalr_billing_period_end_timestamp_seconds", account_id=MAIN)
    to_date = lambda ts: dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    expected = helpers.expected_usage(to_date(start), to_date(end), accounts=[MAIN])
    assert sample_value(samples, "scalr_account_runs_total", account_id=MAIN) == \
        expected.accounts[MAIN].runs
    assert sample_value(samples, "scalr_account_run_seconds_total", account_id=MAIN) == \
        expected.accounts[MAIN].seconds


def assert_unauthorized(r: Response):
    assert r.curl_exit == 0, r.stderr
    assert r.status == 401, (r.status, r.body[:200])
    assert re.search(r"^www-authenticate: basic\b", r.headers, re.M), r.headers
    assert b"scalr_" not in r.body


# ---- the tests ----------------------------------------------------------------------------------

def test_tls_with_basic_auth(stub, exporter_factory, pki, tmp_path):
    web = write_web_config(tmp_path / "web.yml", tls_users_config(pki))
    exporter = start_with_web_config(exporter_factory, stub, web)
    ok = wait_serving(exporter, pki, tmp_path)

    # The right password: the metrics, with the sums of the sample data.
    assert ok.headers.startswith("http/1.1 200")
    assert_main_matches_sample_data(ok.body)
    # The non-ASCII user and password, as UTF-8.
    r = curl(https_url(exporter), pki.ca, UNICODE_USER, UNICODE_PASSWORD, tmp=tmp_path)
    assert r.status == 200 and b"scalr_account_runs_total" in r.body

    # Wrong password, no credentials, an unknown user (with a configured user's password), the
    # right password for the other user, an empty password: all 401, alike.
    for user, password in ((USER, PASSWORD + "x"), (USER, PASSWORD[:-1]), (None, None),
                           ("nobody", PASSWORD), (UNICODE_USER, PASSWORD), (USER, "")):
        assert_unauthorized(curl(https_url(exporter), pki.ca, user, password, tmp=tmp_path))
    # A malformed Authorization header.
    for header in ("Basic !!!notbase64", "Basic " + base64.b64encode(b"no-colon").decode(),
                   "Bearer " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()):
        assert_unauthorized(curl(https_url(exporter), pki.ca, extra=["-H", f"Authorization: {header}"],
                                 tmp=tmp_path))

    # The landing page is protected too; the probes are open.
    assert_unauthorized(curl(https_url(exporter, "/"), pki.ca, tmp=tmp_path))
    landing = curl(https_url(exporter, "/"), pki.ca, USER, PASSWORD, tmp=tmp_path)
    assert landing.status == 200 and b"Scalr Usage Exporter" in landing.body
    for path, text in (("/-/healthy", b"Healthy"), ("/-/ready", b"Ready")):
        r = curl(https_url(exporter, path), pki.ca, tmp=tmp_path)
        assert r.status == 200 and text in r.body, (path, r)

    # Without trusting the CA, curl refuses the server: the certificate is what is served.
    r = curl(https_url(exporter, "/-/healthy"), None, tmp=tmp_path)
    assert r.curl_exit != 0 and r.status == 0
    # Plain HTTP to the TLS port gets no HTTP answer.
    r = curl("http://" + exporter.config["web"]["listen_address"] + "/-/healthy", tmp=tmp_path)
    assert r.status not in (200, 401), r
    # ... and the daemon still serves afterwards.
    assert curl(https_url(exporter), pki.ca, USER, PASSWORD, tmp=tmp_path).status == 200


def test_tls_versions(stub, exporter_factory, pki, tmp_path):
    web = write_web_config(tmp_path / "web.yml", tls_users_config(pki))
    exporter = start_with_web_config(exporter_factory, stub, web)
    wait_serving(exporter, pki, tmp_path)
    port = port_of(exporter)

    # SECLEVEL=0 lets this client offer TLS 1.0/1.1 at all, so a refusal is the server's: it
    # answers with a protocol_version alert.
    for flag in ("-tls1", "-tls1_1"):
        old = s_client(port, flag, "-cipher", "DEFAULT@SECLEVEL=0")
        out = old.stdout.decode("utf-8", "replace")
        assert old.returncode != 0, out
        assert "protocol version" in out, out
    for flag, version in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        new = s_client(port, flag, cafile=pki.ca)
        out = new.stdout.decode("utf-8", "replace")
        assert new.returncode == 0, out
        assert re.search(rf"Protocol\s*:\s*{re.escape(version)}", out) or \
            f"New, {version}" in out, out
        assert "Verify return code: 0 (ok)" in out, out
    # curl over TLS 1.2 exactly and over TLS 1.3, with the CA: both work.
    for extra in (["--tlsv1.2", "--tls-max", "1.2"], ["--tlsv1.3"]):
        r = curl(https_url(exporter), pki.ca, USER, PASSWORD, extra=extra + ["--verbose"],
                 tmp=tmp_path)
        assert r.status == 200, (extra, r.stderr)
        wanted = "TLSv1.2" if "1.2" in extra else "TLSv1.3"
        assert re.search(rf"SSL connection using {wanted}", r.stderr), r.stderr


def test_min_version_tls13_refuses_tls12(stub, exporter_factory, pki, tmp_path):
    web = write_web_config(tmp_path / "web.yml",
                           tls_users_config(pki, "  min_version: TLS13\n"))
    exporter = start_with_web_config(exporter_factory, stub, web)
    wait_serving(exporter, pki, tmp_path)
    port = port_of(exporter)
    old = s_client(port, "-tls1_2", cafile=pki.ca)
    assert old.returncode != 0
    assert "protocol version" in old.stdout.decode("utf-8", "replace")
    assert s_client(port, "-tls1_3", cafile=pki.ca).returncode == 0


def test_passwords_never_reach_the_log(stub, exporter_factory, pki, tmp_path):
    web = write_web_config(tmp_path / "web.yml", tls_users_config(pki))
    exporter = start_with_web_config(exporter_factory, stub, web)  # --log.level=debug
    wait_serving(exporter, pki, tmp_path)
    wrong = "wrong-RECOGNISABLE-9921"
    for user, password in ((USER, wrong), ("intruder", wrong), (UNICODE_USER, UNICODE_PASSWORD)):
        curl(https_url(exporter), pki.ca, user, password, tmp=tmp_path)
    exporter.wait_for_log(r"basic authentication failed.*intruder")
    exporter.stop()
    log = exporter.log_text()
    assert re.search(r"level=debug .*basic authentication failed.*user=prometheus", log), log
    for secret in (PASSWORD, wrong, UNICODE_PASSWORD, "RECOGNISABLE"):
        assert secret not in log
    for user, password in ((USER, PASSWORD), (USER, wrong)):
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        assert token not in log and token[:16] not in log
    # The hashes are not secrets in the cryptographic sense, but they have no business in a log.
    assert "$2b$" not in log
    assert "tls=on" in log and "basic_auth_users=2" in log


def test_client_certificates(stub, exporter_factory, pki, tmp_path):
    web = write_web_config(tmp_path / "web.yml", tls_users_config(
        pki, f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca}\n"))
    exporter = start_with_web_config(exporter_factory, stub, web)
    client = ["--cert", str(pki.client_cert), "--key", str(pki.client_key)]
    ok = wait_serving(exporter, pki, tmp_path, extra=client)
    assert_main_matches_sample_data(ok.body)
    # No client certificate, or one from a CA the server does not trust: no HTTP at all.
    for extra in ([], ["--cert", str(pki.stranger_cert), "--key", str(pki.stranger_key)]):
        r = curl(https_url(exporter, "/-/healthy"), pki.ca, extra=extra, tmp=tmp_path)
        assert r.curl_exit != 0 and r.status == 0, r
    # A good certificate still needs the password.
    assert_unauthorized(curl(https_url(exporter), pki.ca, extra=client, tmp=tmp_path))


def test_basic_auth_without_tls_and_headers(stub, exporter_factory, tmp_path):
    web = write_web_config(tmp_path / "web.yml", "\n".join([
        "http_server_config:",
        "  headers:",
        "    X-Frame-Options: deny",
        "    X-Content-Type-Options: nosniff",
        "    Strict-Transport-Security: ''",  # empty: unset
        "basic_auth_users:",
        f"  {USER}: '{bcrypt(PASSWORD)}'",
    ]) + "\n")
    exporter = start_with_web_config(exporter_factory, stub, web)
    url = exporter.metrics_url
    wait_until(lambda: curl(url, None, USER, PASSWORD, tmp=tmp_path).status == 200, 20, 0.1,
               "plain-HTTP scrape with the password")
    assert_unauthorized(curl(url, None, USER, "nope", tmp=tmp_path))
    r = curl(url, None, USER, PASSWORD, tmp=tmp_path)
    assert "x-frame-options: deny" in r.headers and "x-content-type-options: nosniff" in r.headers
    assert "strict-transport-security" not in r.headers
    # The configured headers are on every answer, 401 and the probes included.
    for r in (curl(url, None, tmp=tmp_path), curl(exporter.url + "/-/healthy", None, tmp=tmp_path)):
        assert "x-frame-options: deny" in r.headers, r.headers
    assert "basic authentication without TLS" in exporter.log_text()


def test_empty_flag_means_no_web_config(stub, exporter_factory):
    exporter = exporter_factory(stub, accounts=[MAIN], args=["--web.config.file="])
    assert exporter.scrape().status == 200  # plain HTTP, no authentication


def test_empty_web_config_file_means_plain_http(stub, exporter_factory, tmp_path):
    web = write_web_config(tmp_path / "web.yml", "# nothing configured\n")
    exporter = exporter_factory(stub, accounts=[MAIN], args=[f"--web.config.file={web}"])
    assert exporter.scrape().status == 200
    assert "tls=off" in exporter.log_text()


def test_watchdog_probe_uses_a_loopback_health_port(stub, exporter_factory, pki, tmp_path):
    """Under systemd's watchdog the daemon probes itself; with TLS (and client certificates it
    could not present) that goes to a loopback port in plain HTTP serving /-/healthy only."""
    notify_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify_path))
    sock.settimeout(0.2)
    messages: list = []
    stop = threading.Event()

    def read():
        while not stop.is_set():
            try:
                messages.append(sock.recv(4096).decode())
            except (socket.timeout, OSError):
                continue
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        web = write_web_config(tmp_path / "web.yml", tls_users_config(
            pki, f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca}\n"))
        env = helpers._clean_env()
        env["NOTIFY_SOCKET"] = str(notify_path)
        env["WATCHDOG_USEC"] = "1000000"  # a ping every 0.5 s, each after a successful probe
        exporter = start_with_web_config(exporter_factory, stub, web, env=env)
        client = ["--cert", str(pki.client_cert), "--key", str(pki.client_key)]
        wait_serving(exporter, pki, tmp_path, extra=client)
        pings = lambda: sum(m.split("\n").count("WATCHDOG=1") for m in list(messages))
        first = pings()
        wait_until(lambda: pings() >= first + 3, 10, 0.1, "three more WATCHDOG=1 pings")

        # The loopback port: found from the kernel's socket table, it serves /-/healthy only.
        listening = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True).stdout
        ports = {int(m.group(1)) for line in listening.splitlines()
                 if f"pid={exporter.proc.pid}," in line
                 for m in [re.search(r"127\.0\.0\.1:(\d+)\s", line)] if m}
        ports.discard(port_of(exporter))
        assert len(ports) == 1, listening
        health = f"http://127.0.0.1:{ports.pop()}"
        assert curl(health + "/-/healthy", tmp=tmp_path).status == 200
        for path in ("/metrics", "/", "/-/ready"):
            r = curl(health + path, None, USER, PASSWORD, tmp=tmp_path)
            assert r.status == 404 and b"scalr_" not in r.body, (path, r)
    finally:
        stop.set()
        sock.close()
        reader.join(2)


# ---- invalid web configurations: --check-config and the start, before listening ------------------

def run(binary, *args, timeout=30):
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=helpers._clean_env())


def minimal_config(tmp_path: Path, stub_url: str, port: int) -> Path:
    token = tmp_path / "token"
    token.write_text("tok-WEB-CHECK\n")
    cfg = tmp_path / "config.yml"
    cfg.write_text(f"web:\n  listen_address: 127.0.0.1:{port}\nscalr:\n  url: {stub_url}\n"
                   f"  token_file: {token}\n  accounts: [{MAIN}]\n")
    return cfg


def bad_cases(pki: Pki, tmp_path: Path):
    hashed = bcrypt(PASSWORD)
    missing = tmp_path / "missing.key"
    tls = f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    return {
        # (file text, words the one-line error must contain)
        "unknown key": (tls + "  foo: bar\n",
                        ["web.config.file tls_server_config.foo: unknown key"]),
        "unknown top key": ("basic_auth_user:\n  a: b\n",
                            ["web.config.file basic_auth_user: unknown key, did you mean "
                             "basic_auth_users?"]),
        "missing key file": (f"tls_server_config:\n  cert_file: {pki.server_cert}\n"
                             f"  key_file: {missing}\n",
                             ["tls_server_config.key_file", str(missing), "No such file"]),
        "cert without key": (f"tls_server_config:\n  cert_file: {pki.server_cert}\n",
                             ["tls_server_config.key_file: required with cert_file"]),
        "not a certificate": (f"tls_server_config:\n  cert_file: {not_pem}\n"
                              f"  key_file: {pki.server_key}\n",
                              ["tls_server_config.cert_file", str(not_pem)]),
        "key of another certificate": (f"tls_server_config:\n  cert_file: {pki.server_cert}\n"
                                       f"  key_file: {pki.client_key}\n",
                                       ["tls_server_config.key_file", "is not the key of"]),
        "TLS 1.1": (tls + "  min_version: TLS11\n",
                    ["tls_server_config.min_version: not supported"]),
        "unverified client certs": (tls + "  client_auth_type: RequireAnyClientCert\n",
                                    ["tls_server_config.client_auth_type: not supported"]),
        "ca without client auth": (tls + f"  client_ca_file: {pki.ca}\n",
                                   ["tls_server_config.client_ca_file", "NoClientCert"]),
        "cipher suites": (tls + "  cipher_suites: [TLS_FANCY_CIPHER]\n",
                          ["tls_server_config.cipher_suites[0]: unknown cipher suite"]),
        "http2": ("http_server_config:\n  http2: true\n",
                  ["http_server_config.http2: not supported"]),
        "rate limit": ("rate_limit:\n  interval: 1s\n  burst: 5\n", ["rate_limit: not supported"]),
        "header": ("http_server_config:\n  headers:\n    Server: nginx\n",
                   ["http_server_config.headers.Server"]),
        "plaintext password": ("basic_auth_users:\n  alice: hunter2-RECOGNISABLE\n",
                               ["basic_auth_users.alice: not a bcrypt hash"]),
        "md5 crypt hash": ("basic_auth_users:\n  alice: '$1$abcdefgh$0123456789abcdefghijkl'\n",
                           ["basic_auth_users.alice: not a bcrypt hash"]),
        "truncated bcrypt hash": (f"basic_auth_users:\n  alice: '{hashed[:-1]}'\n",
                                  ["basic_auth_users.alice: not a bcrypt hash"]),
        "colon in user name": (f"basic_auth_users:\n  'a:b': '{hashed}'\n",
                               ["basic_auth_users.\"a:b\"", "cannot contain"]),
        "yaml": ("tls_server_config: [\n", ["web.config.file: YAML syntax error"]),
    }


def test_check_config_validates_the_web_config(sue_binary, stub, pki, tmp_path):
    cfg = minimal_config(tmp_path, stub.url, helpers.free_port())
    good = write_web_config(tmp_path / "good.yml", tls_users_config(pki))
    ok = run(sue_binary, f"--config.file={cfg}", f"--web.config.file={good}", "--check-config")
    assert ok.returncode == 0, ok.stderr
    assert f"{good}: web configuration is valid" in ok.stdout

    for name, (text, words) in bad_cases(pki, tmp_path).items():
        web = write_web_config(tmp_path / "bad.yml", text)
        bad = run(sue_binary, f"--config.file={cfg}", f"--web.config.file={web}", "--check-config")
        assert bad.returncode == 1, (name, bad.stdout, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1, (name, bad.stderr)
        for word in words:
            assert word in bad.stderr, (name, word, bad.stderr)
        assert "RECOGNISABLE" not in bad.stderr + bad.stdout, name

    missing = tmp_path / "nowhere.yml"
    bad = run(sue_binary, f"--config.file={cfg}", f"--web.config.file={missing}", "--check-config")
    assert bad.returncode == 1 and "web.config.file: cannot read" in bad.stderr
    assert str(missing) in bad.stderr


@pytest.mark.parametrize("case", ["unknown key", "missing key file", "plaintext password",
                                  "key of another certificate"])
def test_bad_web_config_fails_before_listening(sue_binary, stub, pki, tmp_path, case):
    port = helpers.free_port()
    cfg = minimal_config(tmp_path, stub.url, port)
    text, words = bad_cases(pki, tmp_path)[case]
    web = write_web_config(tmp_path / "bad.yml", text)
    # Listening would show as an accepted connection while the process runs; it must exit first.
    proc = subprocess.Popen([str(sue_binary), f"--config.file={cfg}", f"--web.config.file={web}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=helpers._clean_env())
    accepted = False
    while proc.poll() is None:
        with socket.socket() as s:
            s.settimeout(0.2)
            accepted = accepted or s.connect_ex(("127.0.0.1", port)) == 0
        time.sleep(0.02)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 1, err
    assert not accepted
    assert "invalid web configuration" in err
    for word in words:
        assert word in err, (word, err)
    assert "RECOGNISABLE" not in err
    assert stub.api_requests() == []  # it did not even start polling


def test_shipped_example_is_valid_once_filled_in(sue_binary, stub, pki, tmp_path):
    example = (helpers.REPO_ROOT / "etc" / "web-config.yml").read_text()
    cfg = minimal_config(tmp_path, stub.url, helpers.free_port())
    # As shipped it refuses to start: the placeholder is no hash (and the files do not exist).
    as_shipped = write_web_config(tmp_path / "as-shipped.yml", example)
    bad = run(sue_binary, f"--config.file={cfg}", f"--web.config.file={as_shipped}",
              "--check-config")
    assert bad.returncode == 1 and "web.config.file " in bad.stderr, bad.stderr
    filled = (example
              .replace("/etc/scalr-usage-exporter/tls/server.crt", str(pki.server_cert))
              .replace("/run/credentials/scalr-usage-exporter.service/tls-key",
                       str(pki.server_key))
              .replace('"<the bcrypt hash of the password>"', f"'{bcrypt(PASSWORD)}'"))
    assert filled.count(str(pki.server_cert)) == 1 and PASSWORD not in filled
    web = write_web_config(tmp_path / "filled.yml", filled)
    ok = run(sue_binary, f"--config.file={cfg}", f"--web.config.file={web}", "--check-config")
    assert ok.returncode == 0, ok.stderr
    # Every commented-out setting is valid too, uncommented (client_ca_file pointing at our CA).
    uncommented = re.sub(r"^(\s*)# ( *(?:\w[\w-]*:|- ))", r"\1\2", filled, flags=re.M)
    uncommented = uncommented.replace("/etc/scalr-usage-exporter/tls/clients-ca.crt", str(pki.ca))
    assert "client_auth_type: RequireAndVerifyClientCert" in uncommented
    for line in ("  cipher_suites:\n    - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n",
                 "http_server_config:\n  http2: false", "    X-Frame-Options: deny"):
        assert line in uncommented, (line, uncommented)
    web = write_web_config(tmp_path / "uncommented.yml", uncommented)
    ok = run(sue_binary, f"--config.file={cfg}", f"--web.config.file={web}", "--check-config")
    assert ok.returncode == 0, (ok.stderr, uncommented)


def test_reload_keeps_the_web_config_and_says_when_the_file_changed(stub, exporter_factory, pki,
                                                                     tmp_path):
    web = write_web_config(tmp_path / "web.yml", tls_users_config(pki))
    exporter = start_with_web_config(exporter_factory, stub, web)
    wait_serving(exporter, pki, tmp_path)
    # An unchanged file: nothing said.
    exporter.signal(signal.SIGHUP)
    exporter.wait_for_log(r"SIGHUP received")
    exporter.wait_for_log(r"msg=\"starting scalr-usage-exporter\"(?s:.*)msg=\"starting")
    assert "web configuration file changed" not in exporter.log_text()
    # A new user: the listener keeps serving the old file, and the log says a restart is needed.
    write_web_config(web, tls_users_config(pki, users={USER: bcrypt(PASSWORD),
                                                       "newcomer": bcrypt("new-password")}))
    exporter.signal(signal.SIGHUP)
    exporter.wait_for_log(r"the web configuration file changed; it applies after a restart")
    assert_unauthorized(curl(https_url(exporter), pki.ca, "newcomer", "new-password", tmp=tmp_path))
    assert curl(https_url(exporter), pki.ca, USER, PASSWORD, tmp=tmp_path).status == 200
    # A broken file: said too, and still served as before.
    write_web_config(web, "tls_server_config:\n  bogus: 1\n")
    exporter.signal(signal.SIGHUP)
    exporter.wait_for_log(r"the web configuration file is invalid now.*tls_server_config\.bogus")
    assert curl(https_url(exporter), pki.ca, USER, PASSWORD, tmp=tmp_path).status == 200


def test_max_version_and_cipher_suites_are_applied(stub, exporter_factory, pki, tmp_path):
    web = write_web_config(tmp_path / "web.yml", tls_users_config(
        pki, "  max_version: TLS12\n"
             "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n"
             "  curve_preferences: [CurveP384]\n"))
    exporter = start_with_web_config(exporter_factory, stub, web)
    wait_serving(exporter, pki, tmp_path)
    port = port_of(exporter)
    assert s_client(port, "-tls1_3", cafile=pki.ca).returncode != 0
    allowed = s_client(port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384", cafile=pki.ca)
    out = allowed.stdout.decode("utf-8", "replace")
    assert allowed.returncode == 0, out
    assert "ECDHE-ECDSA-AES256-GCM-SHA384" in out
    assert re.search(r"Server Temp Key: ECDH, (P-384|secp384r1)", out), out
    other = s_client(port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", cafile=pki.ca)
    assert other.returncode != 0
    assert "handshake failure" in other.stdout.decode("utf-8", "replace")


def test_prometheus_scrapes_over_tls_with_basic_auth(stub, exporter_factory, pki, tmp_path):
    """The real consumer: Debian's Prometheus with scheme https, tls_config and basic_auth."""
    import json
    import shutil

    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not Path(binary).exists():
        pytest.fail("prometheus is required (scripts/install-deps installs it)")
    web = write_web_config(tmp_path / "web.yml", tls_users_config(pki))
    exporter = start_with_web_config(exporter_factory, stub, web)
    ok = wait_serving(exporter, pki, tmp_path)
    target = exporter.config["web"]["listen_address"]
    password_file = tmp_path / "scrape.password"
    password_file.write_text(PASSWORD)
    wrong_file = tmp_path / "wrong.password"
    wrong_file.write_text("not-the-password")

    def job(name, password: Path):
        return {"job_name": name, "scheme": "https", "tls_config": {"ca_file": str(pki.ca)},
                "basic_auth": {"username": USER, "password_file": str(password)},
                "static_configs": [{"targets": [target]}]}
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({"global": {"scrape_interval": "1s"},
                                  "scrape_configs": [job("good", password_file),
                                                     job("wrong", wrong_file)]}))
    port = helpers.free_port()
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen([binary, f"--config.file={config}",
                             f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"

        def query(expr):
            return {item["metric"].get("job", ""): float(item["value"][1])
                    for item in helpers.prometheus_query(url, expr)}
        wait_until(lambda: query("up") == {"good": 1.0, "wrong": 0.0}, 30, 0.5,
                   "up 1 for the good job and 0 for the wrong password")
        runs = wait_until(lambda: query(f'scalr_account_runs_total{{account_id="{MAIN}"}}'), 30,
                          0.5, "the account's runs stored")
        samples = helpers.parse_metrics(ok.body)
        assert runs == {"good": sample_value(samples, "scalr_account_runs_total",
                                             account_id=MAIN)}
        assert_main_matches_sample_data(ok.body)  # ... which is the sum of the sample data
        targets = helpers.http_request(url + "/api/v1/targets", timeout=5).json()
        errors = {t["labels"]["job"]: t["lastError"] for t in targets["data"]["activeTargets"]}
        assert errors["good"] == "" and "401" in errors["wrong"], errors
    finally:
        helpers.terminate(proc, 15)
        log.close()
