"""pytest fixtures for the integration tests (stub Scalr server + the real exporter daemon).

Fixtures
  stub                    a fresh stub (profile "small") for this test: a helpers.StubServer with
                          .url, .api_url, .token, .token_file, .profile, .log_path,
                          .set_fault(mode, **params), .set_faults(list), .faults(), .reset(stats=False),
                          .set_token(token=None, limited_token=None), .settings(ascii_json=..,
                          idle_timeout=..), .stats(), .clear_stats(), .api_requests(),
                          .get(params, token="", headers=None), .log_text(), .stop()
  stub_factory(**kw)      starts more stubs: kw = token="...", profile="small"|"large"|"fixed",
                          extra_args=["--limited-token", "t2", ...], faults=[{...}, ...]
  sue_binary              Path of the daemon (env SUE_BINARY, default <repo>/build/scalr-usage-exporter);
                          the test is SKIPPED if it does not exist
  exporter_factory(stub, accounts=None, overrides=None, token=None, args=(), env=None,
                   wait_ready=True)
                          writes config.yaml (helpers.exporter_config: web.listen_address on a free
                          port, web.telemetry_path /metrics, scalr.url=stub.url, scalr.token_file
                          (containing `token`, default the stub's), scalr.accounts (default: all
                          accounts of the stub's profile), prefer_profile "preview", page_size 100,
                          timeout "5s", retry {max_attempts 3, initial_backoff "100ms", max_backoff
                          "1s"}, poll.interval "1s"; `overrides` is deep-merged, a None value deletes
                          a key), starts `<binary> --config.file=... --log.level=debug` with stderr
                          in exporter.stderr.log, and (wait_ready) waits until /metrics answers 200.
                          Returns a helpers.Exporter: .url, .metrics_url, .config, .config_path,
                          .log_path, .proc, .scrape(path=None) -> HttpResult, .metrics() -> parsed
                          samples, .wait_ready(), .wait_for_log(regex), .log_text(), .alive(),
                          .signal(sig), .stop() -> exit code (SIGTERM, then SIGKILL after 10 s).
                          Every exporter and stub is stopped at teardown.
  exporter                exporter_factory(stub) with the defaults

PostgreSQL (the postgres source; see helpers.PostgresServer):
  pg_template             session: one initdb'ed cluster directory that servers are copied from
  pg_runs                 session: helpers.generate_runs(), the run history every server is loaded
                          with (sample_data's previous and current month, plus helpers.BOUNDARY runs)
  postgres                session: a running server with helpers.PG_USER/PG_PASSWORD, the shipped
                          schema and pg_runs loaded. Shared: tests must not change its data (create
                          their own tables if they need other data) and must not stop it.
  postgres_factory(load=True)
                          function-scoped servers of the same kind, for tests that stop, restart or
                          change them; removed at teardown
  pg_exporter_factory(server=None, accounts=(), overrides=None, dsn=None, dsn_via="config",
                      args=(), env=None, wait_ready=True)
                          an exporter on the postgres source (helpers.postgres_exporter_config:
                          statement_timeout 5s, poll.interval 1s). dsn defaults to server.dsn();
                          dsn_via "config" (postgres.dsn), "file" (postgres.dsn_file) or "env"
                          (SCALR_USAGE_PG_DSN). Returns a helpers.Exporter, stopped at teardown.

Plain helpers (import helpers): wait_until(pred, timeout=10, interval=0.05, message=...),
free_port(), http_request(url, method, headers, body, timeout) -> HttpResult(status, headers, body),
expected_usage(start, end_exclusive, profile="small", accounts=None) -> Expected (accounts,
environments, workspaces, daily as Usage(runs, seconds); names), month_bounds(y, m),
parse_metrics(text) -> {(name, frozenset(labels.items())): value}, parse_exposition(text) ->
Exposition(samples, help, types), sample_value(samples, name, **labels), series(samples, name,
**match), sample_data (the module: ACCOUNT_MAIN, NAME_QUOTE, raw_rows(...), ...).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import helpers


def _launch(started, workdir, config, binary, args, env, wait_ready) -> helpers.Exporter:
    """Starts an exporter, remembers it for teardown, and optionally waits until it serves."""
    exp = helpers.Exporter(workdir, config, binary, args, env)
    started.append(exp)
    if wait_ready:
        exp.wait_ready()
    return exp


@pytest.fixture
def stub_factory(tmp_path):
    started = []

    def start(**kw) -> helpers.StubServer:
        s = helpers.StubServer(tmp_path / f"stub{len(started)}", **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def stub(stub_factory) -> helpers.StubServer:
    return stub_factory()


@pytest.fixture
def sue_binary() -> Path:
    path = helpers.default_binary()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.skip(f"exporter binary {path} not built (set SUE_BINARY)")
    return path


@pytest.fixture
def exporter_factory(tmp_path, sue_binary):
    started = []

    def start(stub: helpers.StubServer, accounts=None, overrides=None, token=None, args=(),
              env=None, wait_ready=True) -> helpers.Exporter:
        workdir = tmp_path / f"exporter{len(started)}"
        workdir.mkdir(parents=True)
        token_file = workdir / "scalr.token"
        token_file.write_text((token if token is not None else stub.token) + "\n")
        token_file.chmod(0o600)
        config = helpers.exporter_config(stub, helpers.free_port(), token_file, accounts,
                                         overrides)
        return _launch(started, workdir, config, sue_binary, args, env, wait_ready)

    yield start
    for exp in started:
        exp.stop()


@pytest.fixture
def exporter(exporter_factory, stub) -> helpers.Exporter:
    return exporter_factory(stub)


@pytest.fixture(scope="session")
def pg_template():
    template = helpers.PostgresTemplate()
    yield template
    template.remove()


@pytest.fixture(scope="session")
def pg_runs():
    return helpers.generate_runs()


def _loaded_server(template, runs, load=True) -> helpers.PostgresServer:
    server = helpers.PostgresServer(template)
    try:
        if load:
            server.setup_database()
            server.load_runs(runs)
    except BaseException:
        server.remove()
        raise
    return server


@pytest.fixture(scope="session")
def postgres(pg_template, pg_runs):
    server = _loaded_server(pg_template, pg_runs)
    yield server
    server.remove()


@pytest.fixture
def postgres_factory(pg_template, pg_runs):
    started = []

    def start(load=True) -> helpers.PostgresServer:
        server = _loaded_server(pg_template, pg_runs, load)
        started.append(server)
        return server

    yield start
    for server in started:
        server.remove()


@pytest.fixture
def pg_exporter_factory(tmp_path, sue_binary):
    started = []

    def start(server=None, accounts=(), overrides=None, dsn=None, dsn_via="config", args=(),
              env=None, wait_ready=True) -> helpers.Exporter:
        workdir = tmp_path / f"pg-exporter{len(started)}"
        workdir.mkdir(parents=True)
        dsn = dsn if dsn is not None else server.dsn()
        env = dict(env if env is not None else helpers._clean_env())
        config_dsn = None
        if dsn_via == "config":
            config_dsn = dsn
        elif dsn_via == "file":
            dsn_file = workdir / "pg.dsn"
            dsn_file.write_text(dsn + "\n")
            dsn_file.chmod(0o600)
            overrides = helpers.deep_merge({"postgres": {"dsn_file": str(dsn_file)}},
                                           overrides or {})
        elif dsn_via == "env":
            env["SCALR_USAGE_PG_DSN"] = dsn
        else:
            raise ValueError(dsn_via)
        config = helpers.postgres_exporter_config(helpers.free_port(), config_dsn, accounts,
                                                  overrides)
        return _launch(started, workdir, config, sue_binary, args, env, wait_ready)

    yield start
    for exp in started:
        exp.stop()
