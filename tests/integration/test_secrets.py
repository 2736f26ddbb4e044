"""No secret in any output: the daemon at --log.level=debug is taken through every error path (API
faults, 401 with a wrong token, TLS and DNS failures, PostgreSQL with a wrong password, a killed
backend and a statement timeout, a failing report write, failed reloads), and the commands
(--check-config, `report`) through theirs, with a recognisable token and DSN password. Standard
output, standard error, every scrape of /metrics, every report file and the state file are kept
and searched at the end for the secrets as written, URL-encoded or base64-encoded
(helpers.find_secrets); test_the_scan_finds_planted_secrets shows the search would find them.
"""

from __future__ import annotations

import base64
import re
import signal
import subprocess
import urllib.parse
from pathlib import Path

import pytest

import helpers
from helpers import sample_data, sample_value, wait_until

TOKEN = "tok-SECRET-7f3a9c"
PASSWORD = "pw-SECRET-91bd"
SECRETS = (TOKEN, PASSWORD)
PG_ROLE = "sue_secret"
MAIN = sample_data.ACCOUNT_MAIN
TINY = sample_data.ACCOUNT_TINY
REASONS = ("unauthorized", "forbidden", "not_found", "rate_limited", "server_error",
           "client_error", "timeout", "connection", "bad_response", "too_large", "database")
STARTED = 'msg="starting scalr-usage-exporter"'


def binary() -> Path:
    path = helpers.default_binary()
    if not path.is_file():
        pytest.skip(f"exporter binary {path} not built (set SUE_BINARY)")
    return path


class Outputs:
    """Everything the exporter wrote, by where it came from, for one search at the end."""

    def __init__(self):
        self.items = []  # (where, bytes)

    def add(self, where: str, data) -> None:
        self.items.append((where, data.encode() if isinstance(data, str) else data))

    def add_files(self, directory: Path) -> None:
        """Every file under directory: reports, the state file, hidden ones included."""
        for path in sorted(Path(directory).rglob("*")):
            if path.is_file():
                self.add(str(path), path.read_bytes())

    def add_exporter(self, exporter: helpers.Exporter) -> None:
        self.add(f"{exporter.workdir.name} stderr", exporter.log_path.read_bytes())
        self.add(f"{exporter.workdir.name} stdout", exporter.stdout_path.read_bytes())

    def add_run(self, what: str, result: subprocess.CompletedProcess) -> None:
        self.add(f"{what} stdout", result.stdout or "")
        self.add(f"{what} stderr", result.stderr or "")

    def scrape(self, exporter: helpers.Exporter, what: str) -> dict:
        """Scrapes /metrics (kept) and returns the parsed samples."""
        body = exporter.scrape().body
        self.add(f"/metrics after {what}", body)
        return helpers.parse_metrics(body)

    def leaks(self) -> list:
        return [(where, secret, how) for where, data in self.items
                for secret, how in helpers.find_secrets(data, SECRETS)]

    def assert_clean(self) -> None:
        assert len(self.items) > 10
        assert not self.leaks(), self.leaks()


def test_the_scan_finds_planted_secrets(tmp_path):
    """The search would fail the tests if a secret leaked, in any of the spellings, wherever it
    is kept; and it does not cry wolf at fragments."""
    odd = "p@ss w/rd+1"  # a password with characters that URL-encoding changes
    plants = {
        "as is": (TOKEN, f'level=debug msg="x" error="Authorization: Bearer {TOKEN}"'),
        "URL-encoded": (odd, "postgresql://u:" + urllib.parse.quote(odd, safe="") + "@h/db"),
        "form-encoded": (odd, "password=" + urllib.parse.quote_plus(odd)),
        "lower-case hex": (odd, re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(),
                                       urllib.parse.quote(odd, safe=""))),
        "base64 at offset 0": (TOKEN, base64.b64encode(TOKEN.encode()).decode()),
        "base64 at offset 1": (PASSWORD, base64.b64encode(("u:" + PASSWORD).encode()).decode()),
        "base64 at offset 2": (TOKEN, "Basic " + base64.b64encode(
            ("us:" + TOKEN + "!").encode()).decode()),
        "URL-safe base64": (odd, base64.urlsafe_b64encode(b"\xff\xfe" + odd.encode()).decode()),
    }
    for name, (secret, text) in plants.items():
        outputs = Outputs()
        outputs.add("clean", "nothing to see: tok-SECRET pw-SECRET 7f3a9c 91bd p@ss")
        (tmp_path / name).mkdir()
        (tmp_path / name / ".scalr-usage-exporter-state.json").write_text(text)
        outputs.add_files(tmp_path / name)
        found = [(where, s) for where, data in outputs.items
                 for s, _ in helpers.find_secrets(data, SECRETS + (odd,))]
        assert found == [(str(tmp_path / name / ".scalr-usage-exporter-state.json"), secret)], \
            (name, found)
    # And through assert_clean itself.
    outputs = Outputs()
    outputs.add("a scrape", f'scalr_up{{account_id="{PASSWORD}"}} 1\n' * 11)
    with pytest.raises(AssertionError):
        outputs.assert_clean()


# ---- the API source ------------------------------------------------------------------------------

def errors(samples, account=MAIN) -> dict:
    return {r: sample_value(samples, "scalr_exporter_poll_errors_total", account_id=account,
                            reason=r) or 0 for r in REASONS}


def reload(exporter: helpers.Exporter, config: dict, expect_ok: bool = True) -> None:
    exporter.config = config
    exporter.config_path.write_text(helpers.to_yaml(config), encoding="utf-8")
    log = exporter.log_text()
    started, failed = log.count(STARTED), log.count('msg="reload failed')
    exporter.signal(signal.SIGHUP)
    if expect_ok:
        wait_until(lambda: exporter.log_text().count(STARTED) > started, 20, 0.05, "the reload")
    else:
        wait_until(lambda: exporter.log_text().count('msg="reload failed') > failed, 20, 0.05,
                   "the rejected reload")


def test_api_error_paths_leak_nothing(tmp_path):
    exporter_binary = binary()
    outputs = Outputs()
    tls = helpers.make_tls_files(tmp_path / "tls")
    stub = helpers.StubServer(tmp_path / "stub", token=TOKEN)
    tls_stub = helpers.TlsStubServer(tmp_path / "tls-stub", tls, token=TOKEN)
    token_file = tmp_path / "scalr.token"
    token_file.write_text(TOKEN + "\n")
    reports = tmp_path / "reports"
    base = helpers.exporter_config(stub, helpers.free_port(), token_file, [MAIN], {
        "scalr": {"timeout": "1s", "max_pages": 5,
                  "retry": {"max_attempts": 2, "initial_backoff": "100ms",
                            "max_backoff": "200ms"}}})
    env = dict(helpers._clean_env(), RES_OPTIONS="timeout:1 attempts:1")
    exporter = None
    try:
        exporter = helpers.Exporter(tmp_path / "exporter", base, exporter_binary, env=env)
        exporter.wait_ready()

        def counted(reason: str, what: str) -> None:
            """Waits until one more poll failed with reason, keeping the scrapes on the way."""
            before = errors(outputs.scrape(exporter, what + " (before)"))[reason]
            wait_until(lambda: errors(outputs.scrape(exporter, what))[reason] > before, 30, 0.2,
                       f"{what}: a {reason} error\n{exporter.log_text()[-2000:]}")

        wait_until(lambda: sample_value(outputs.scrape(exporter, "start"), "scalr_up",
                                        account_id=MAIN) == 1, 20, 0.1, "up")
        faults = [
            ({"mode": "status", "status": 500}, "server_error"),
            ({"mode": "status", "status": 429, "retry_after": "1"}, "rate_limited"),
            ({"mode": "status", "status": 403}, "forbidden"),
            ({"mode": "status", "status": 404}, "not_found"),
            ({"mode": "status", "status": 400}, "client_error"),
            # A proxy echoing the request's headers in its error page.
            ({"mode": "status", "status": 502,
              "body": f"<html>upstream failed; you sent Authorization: Bearer {TOKEN}</html>"},
             "server_error"),
            ({"mode": "bad_token"}, "unauthorized"),
            ({"mode": "html200"}, "bad_response"),
            ({"mode": "wrong_content_type", "content_type": f"text/plain; x={TOKEN}"},
             "bad_response"),
            ({"mode": "truncated"}, "bad_response"),
            ({"mode": "truncated", "early_close": True}, "connection"),
            ({"mode": "drop"}, "connection"),
            ({"mode": "huge", "mb": 20, "content_length": False}, "too_large"),
            ({"mode": "trickle", "chunk_bytes": 64, "interval": 0.4}, "timeout"),
            ({"mode": "pagination_loop", "page": 1}, "bad_response"),
            ({"mode": "pagination_loop", "next_page": "next"}, "too_large"),
            ({"mode": "long_label", "bytes": 2048}, "too_large"),
        ]
        for spec, reason in faults:
            stub.set_fault(spec)
            counted(reason, f"fault {spec}")
            stub.reset()

        # A token the server no longer accepts: a real 401.
        stub.set_token(token="the-token-scalr-accepts-now")
        counted("unauthorized", "a wrong token")
        stub.reset()

        # Connection refused, DNS failure, unknown CA; then TLS verified with scalr.ca_file.
        stub.stop()
        counted("connection", "connection refused")
        stub = helpers.StubServer(tmp_path / "stub-again", token=TOKEN,
                                  extra_args=["--listen", f"127.0.0.1:{stub.port}"])
        reload(exporter, helpers.deep_merge(base, {"scalr": {
            "url": f"https://scalr-stub.invalid:{stub.port}", "timeout": "10s"}}))
        counted("connection", "a DNS failure")
        reload(exporter, helpers.deep_merge(base, {"scalr": {"url": tls_stub.url}}))
        counted("connection", "an unknown CA")
        with_ca = helpers.deep_merge(base, {"scalr": {"url": tls_stub.url,
                                                      "ca_file": str(tls.ca_file)}})
        reload(exporter, with_ca)
        wait_until(lambda: sample_value(outputs.scrape(exporter, "TLS with ca_file"), "scalr_up",
                                        account_id=MAIN) == 1, 20, 0.1, "up over TLS")

        # A configuration the reload rejects (the token file is unreadable now).
        reload(exporter, helpers.deep_merge(with_ca, {"scalr": {
            "token_file": str(tmp_path / "missing.token")}}), expect_ok=False)

        # Reports: a write that fails (a file where the directory should be), then one that works.
        blocker = tmp_path / "blocker"
        blocker.write_text("not a directory\n")
        schedule = {"name": "secrets", "cron": "* * * * *", "period": "previous_month",
                    "formats": ["csv", "json", "html", "focus"]}
        with_reports = lambda directory: helpers.deep_merge(base, {
            "billing": {"included_runs": 10, "overage_price": 1.5},
            "reports": {"output_dir": str(directory), "schedules": [schedule]}})
        reload(exporter, with_reports(blocker / "reports"))
        wait_until(lambda: (sample_value(outputs.scrape(exporter, "a failed report"),
                                         "scalr_exporter_report_errors_total",
                                         schedule="secrets") or 0) >= 1, 30, 0.1,
                   "a report error")
        reload(exporter, with_reports(reports))
        wait_until(lambda: sample_value(outputs.scrape(exporter, "a written report"),
                                        "scalr_exporter_report_last_success_timestamp_seconds",
                                        schedule="secrets"), 30, 0.1, "a written report")
        assert (reports / ".scalr-usage-exporter-state.json").is_file()
        assert len(list((reports / "secrets").iterdir())) == 4
    finally:
        if exporter is not None:
            exporter.stop()
        stub.stop()
        tls_stub.stop()
    # Every path above really ran at debug level.
    log = exporter.log_text()
    assert "level=debug" in log and 'msg="poll failed again"' in log
    assert 'msg="retrying Scalr API request"' in log and 'msg="reload failed' in log
    outputs.add_exporter(exporter)
    outputs.add_files(reports)
    outputs.assert_clean()
    assert "xxxxx" in log  # the echoed token was there, and was redacted


# ---- commands and configuration errors -----------------------------------------------------------

def run(*args, env=None, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary()), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout,
                          env=env if env is not None else helpers._clean_env())


def test_commands_and_config_errors_leak_nothing(tmp_path):
    outputs = Outputs()
    stub = helpers.StubServer(tmp_path / "stub", token=TOKEN)
    try:
        token_file = tmp_path / "scalr.token"
        token_file.write_text(TOKEN + "\n")
        config = helpers.exporter_config(stub, helpers.free_port(), token_file, [MAIN, TINY])
        good = tmp_path / "good.yaml"
        good.write_text(helpers.to_yaml(config))

        def check(name: str, text: str, *args, env=None, want=1):
            path = tmp_path / f"{name}.yaml"
            path.write_text(text)
            result = run(f"--config.file={path}", "--log.level=debug", *args, env=env)
            assert result.returncode == want, (name, result)
            outputs.add_run(name, result)
            return result

        check("check-config-good", helpers.to_yaml(config), "--check-config", want=0)
        env_token = dict(helpers._clean_env(), SCALR_TOKEN=TOKEN)
        no_token_file = helpers.deep_merge(config, {"scalr": {"token_file": None}})
        check("check-config-env-token", helpers.to_yaml(no_token_file), "--check-config",
              env=env_token, want=0)
        # Where a careless error message would quote the secret.
        inner_space = tmp_path / "spaced.token"
        inner_space.write_text(f"{TOKEN} {TOKEN}\n")
        for name, changed in {
            "token-with-whitespace": {"scalr": {"token_file": str(inner_space)}},
            "url-with-credentials": {"scalr": {"url": f"https://user:{TOKEN}@example.scalr.io"}},
            "url-with-token-query": {"scalr": {"url": f"https://example.scalr.io/?token={TOKEN}"}},
            "unknown-key": {"scalr": {"tokne": TOKEN}},
        }.items():
            result = check(name, helpers.to_yaml(helpers.deep_merge(config, changed)),
                           "--check-config")
            assert result.stderr.strip(), name
        # A YAML syntax error on the line holding the token.
        check("yaml-syntax-error", helpers.to_yaml(config) + f'extra: "{TOKEN}\n  : [\n',
              "--check-config")
        check("yaml-syntax-error-daemon", helpers.to_yaml(config) + f"bad: [{TOKEN}\n")

        # The report command: success, an account that fails, and a token the server refuses.
        key = "2026-10"
        out = tmp_path / "report-out"
        result = run("report", f"--config.file={good}", "--log.level=debug", f"--period={key}",
                     f"--output={out}")
        assert result.returncode == 0, result.stderr
        outputs.add_run("report", result)
        result = run("report", f"--config.file={good}", "--log.level=debug", f"--period={key}",
                     "--account=acc-doesnotexist00", f"--output={out}")
        assert result.returncode == 1
        outputs.add_run("report unknown account", result)
        stub.set_token(token="another-token")
        result = run("report", f"--config.file={good}", "--log.level=debug", f"--period={key}",
                     "--format=json", "--output=-")
        assert result.returncode == 1 and "unauthorized" in result.stderr
        outputs.add_run("report refused", result)
        outputs.add_files(out)
        assert len(list(out.iterdir())) == 8
    finally:
        stub.stop()
    outputs.assert_clean()


# ---- the PostgreSQL source -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def secret_pg(pg_template, pg_runs):
    """A cluster whose exporter role PG_ROLE has the recognisable PASSWORD."""
    server = helpers.PostgresServer(pg_template)
    try:
        server.setup_database()
        server.load_runs(pg_runs)
        server.psql(f"CREATE ROLE {PG_ROLE} LOGIN PASSWORD {helpers.sql_literal(PASSWORD)}",
                    db="postgres")
        server.psql(f"GRANT SELECT ON scalr_runs TO {PG_ROLE}")
        yield server
    finally:
        server.remove()


def pg_dsn(server, form="kv", password=PASSWORD) -> str:
    return server.dsn(password=password, user=PG_ROLE, form=form)


def terminate_exporter_backends(server) -> None:
    server.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'scalr-usage-exporter'")


def test_postgres_error_paths_leak_nothing(secret_pg, tmp_path):
    outputs = Outputs()
    server = secret_pg
    config = helpers.postgres_exporter_config(helpers.free_port(), pg_dsn(server), [MAIN],
                                              {"postgres": {"statement_timeout": "1s"}})
    exporter = helpers.Exporter(tmp_path / "exporter", config, binary())
    locker = None
    try:
        exporter.wait_ready()

        def counted(reason: str, what: str) -> None:
            before = errors(outputs.scrape(exporter, what + " (before)"))[reason]
            wait_until(lambda: errors(outputs.scrape(exporter, what))[reason] > before, 30, 0.2,
                       f"{what}: a {reason} error\n{exporter.log_text()[-2000:]}")

        def up(what: str) -> None:
            wait_until(lambda: sample_value(outputs.scrape(exporter, what), "scalr_up",
                                            account_id=MAIN) == 1, 30, 0.1, what)

        up("start")
        # Wrong password: the role's password changes, the kept connection goes.
        server.psql(f"ALTER ROLE {PG_ROLE} PASSWORD 'something-else'", db="postgres")
        terminate_exporter_backends(server)
        counted("database", "a wrong password")
        server.psql(f"ALTER ROLE {PG_ROLE} PASSWORD {helpers.sql_literal(PASSWORD)}",
                    db="postgres")
        up("the right password again")

        # A statement timeout on a locked table.
        env = dict(helpers._pg_env(), PGAPPNAME="sue-secret-locker")
        locker = subprocess.Popen(
            [str(helpers.PG_BINDIR / "psql"), "-X", "-q", "-h", "127.0.0.1", "-p",
             str(server.port), "-U", "postgres", "-d", helpers.PG_DB, "-c",
             "BEGIN; LOCK TABLE scalr_runs IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3600)"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        counted("timeout", "a locked table")
        server.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'sue-secret-locker'")
        locker.wait(20)
        locker = None
        up("the lock released")

        # The server going away under the kept connection, and refusing connections.
        server.stop("immediate")
        counted("database", "the server stopped")
        server.start()
        up("the server back")

        # The same through a URI DSN, with the password percent-encoded in it.
        reload(exporter, helpers.deep_merge(config, {"postgres": {"dsn": pg_dsn(server, "uri")}}))
        server.psql(f"ALTER ROLE {PG_ROLE} PASSWORD 'something-else'", db="postgres")
        terminate_exporter_backends(server)
        counted("database", "a wrong password, URI DSN")
        server.psql(f"ALTER ROLE {PG_ROLE} PASSWORD {helpers.sql_literal(PASSWORD)}",
                    db="postgres")
        up("the URI DSN working")
        # A reload the daemon rejects: the DSN cannot be parsed.
        reload(exporter, helpers.deep_merge(config, {"postgres": {
            "dsn": f"host=127.0.0.1 password={PASSWORD} port"}}), expect_ok=False)
    finally:
        if locker:
            locker.kill()
        exporter.stop()
    log = exporter.log_text()
    assert "level=debug" in log and "reason=timeout" in log and "reason=database" in log
    outputs.add_exporter(exporter)

    # --check-config and the report command against the database, and with a wrong password.
    def check(name: str, dsn: str, *args, want: int):
        path = tmp_path / f"{name}.yaml"
        path.write_text(helpers.to_yaml(helpers.deep_merge(config, {"postgres": {"dsn": dsn}})))
        result = run(*args[:1], f"--config.file={path}", "--log.level=debug", *args[1:])
        assert result.returncode == want, (name, result)
        outputs.add_run(name, result)
        return result

    check("check-config", pg_dsn(server), "--check-config", want=0)
    wrong = check("check-config-wrong-password", pg_dsn(server, password=PASSWORD + "-nope"),
                  "--check-config", want=0)  # an unreachable database is no config error
    assert "password authentication failed" in wrong.stderr
    check("check-config-malformed", f"host=127.0.0.1 password={PASSWORD} port", "--check-config",
          want=1)
    # libpq parses this one and only fails connecting: a warning, not a configuration error.
    bad_port = check("check-config-bad-port-uri",
                     f"postgresql://{PG_ROLE}:{PASSWORD}@127.0.0.1:notaport/x", "--check-config",
                     want=0)
    assert "notaport" in bad_port.stderr
    out = tmp_path / "pg-reports"
    check("report", pg_dsn(server), "report", "--period=2026-10", f"--output={out}", want=0)
    check("report-wrong-password", pg_dsn(server, "uri", PASSWORD + "-nope"), "report",
          "--period=2026-10", f"--output={out}", want=1)
    outputs.add_files(out)
    assert any(out.iterdir())
    outputs.assert_clean()
