"""pytest fixtures for the integration tests (stub Scalr server + the real exporter daemon).

Fixtures
  stub                    a fresh stub (profile "small") for this test: a helpers.StubServer with
                          .url, .api_url, .token, .token_file, .profile, .log_path,
                          .set_fault(mode, **params), .set_faults(list), .faults(), .reset(stats=False),
                          .set_token(token=None, limited_token=None), .settings(ascii_json=..,
                          idle_timeout=..), .stats(), .clear_stats(), .api_requests(),
                          .get(params, token="", headers=None), .log_text(), .stop()
  stub_factory(**kw)      starts more stubs: kw = token="...", profile="small"|"large",
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
        exp = helpers.Exporter(workdir, config, sue_binary, args, env)
        started.append(exp)
        if wait_ready:
            exp.wait_ready()
        return exp

    yield start
    for exp in started:
        exp.stop()


@pytest.fixture
def exporter(exporter_factory, stub) -> helpers.Exporter:
    return exporter_factory(stub)
