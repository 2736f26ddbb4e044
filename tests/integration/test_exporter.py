"""The real daemon binary against the stand-in Scalr server, over real HTTP on loopback.

Expected numbers are computed here from sample_data's raw daily rows (helpers.expected_usage), not
from the stub's aggregation nor from the exporter's, so a wrong filter, a lost page or a wrong sum
anywhere shows up as a mismatch.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

import helpers
from helpers import values_by, sample_data, sample_value, series, wait_until

MAIN = sample_data.ACCOUNT_MAIN


def current_period(samples, account):
    start = sample_value(samples, "scalr_billing_period_start_timestamp_seconds", account_id=account)
    end = sample_value(samples, "scalr_billing_period_end_timestamp_seconds", account_id=account)
    assert start is not None and end is not None, "no billing period exposed for " + account
    to_date = lambda ts: dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    return to_date(start), to_date(end)


def wait_all_up(exporter, accounts, timeout=20):
    def all_up():
        samples = exporter.metrics()
        return samples if all(sample_value(samples, "scalr_up", account_id=a) == 1
                              for a in accounts) else None
    return wait_until(all_up, timeout, 0.1, "every account up")


def assert_matches_sample_data(samples, accounts):
    start, end = current_period(samples, accounts[0])
    today = dt.datetime.now(dt.timezone.utc)
    assert start <= today < end
    assert (start.day, start.hour, start.minute, start.second) == (1, 0, 0, 0)
    assert (end - dt.timedelta(seconds=1)).month == start.month and end.day == 1
    expected = helpers.expected_usage(start, end, accounts=accounts)

    for account in accounts:
        assert sample_value(samples, "scalr_account_runs_total", account_id=account) == \
            expected.accounts[account].runs, account
        assert sample_value(samples, "scalr_account_run_seconds_total", account_id=account) == \
            expected.accounts[account].seconds, account

    for level, key_label, wanted in (("environment", "environment_id", expected.environments),
                                      ("workspace", "workspace_id", expected.workspaces)):
        for suffix, field in (("runs_total", "runs"), ("run_seconds_total", "seconds")):
            got = values_by(samples, f"scalr_{level}_{suffix}", "account_id", key_label)
            assert got == {key: getattr(usage, field) for key, usage in wanted.items()}, level

    # Names (the hostile ones included) survive escaping and parsing; a null name is "".
    for (name, labels), _ in samples.items():
        labels = dict(labels)
        if name == "scalr_workspace_runs_total":
            key = (labels["account_id"], labels["workspace_id"])
            assert labels["workspace_name"] == (expected.workspace_names[key] or "")
        if name == "scalr_environment_runs_total":
            key = (labels["account_id"], labels["environment_id"])
            assert labels["environment_name"] == expected.environment_names[key]


def test_exposes_exact_sums_of_the_sample_data_at_three_levels(stub, exporter):
    accounts = exporter.config["scalr"]["accounts"]
    samples = wait_all_up(exporter, accounts)
    assert_matches_sample_data(samples, accounts)
    names = {dict(l).get("workspace_name") for (n, l) in samples if n == "scalr_workspace_runs_total"}
    for hostile in (sample_data.NAME_QUOTE, sample_data.NAME_BACKSLASH, sample_data.NAME_NEWLINE,
                    sample_data.NAME_UTF8, ""):
        assert hostile in names, hostile


def test_many_small_pages_give_the_same_sums(stub, exporter_factory):
    exporter = exporter_factory(stub, overrides={"scalr": {"page_size": 3}})
    accounts = exporter.config["scalr"]["accounts"]
    samples = wait_all_up(exporter, accounts)
    assert_matches_sample_data(samples, accounts)
    pages = {r["params"].get("page[number]") for r in stub.api_requests()}
    assert {"1", "2", "3"} <= pages


def test_requests_follow_the_api_page(stub, exporter):
    wait_all_up(exporter, exporter.config["scalr"]["accounts"])
    requests = stub.api_requests()
    assert requests
    for r in requests:
        headers = {k.lower(): v for k, v in r["headers"].items()}
        assert r["auth"]["present"] and r["auth"]["scheme"] == "Bearer" and r["auth"]["valid"]
        assert headers.get("prefer") == "profile=preview"
        assert "application/vnd.api+json" in headers.get("accept", "")
        between = r["params"]["filter[date]"]
        assert re.fullmatch(r"between:\d{4}-\d\d-01T00:00:00Z,\d{4}-\d\d-\d\dT23:59:59Z", between)
        assert r["params"]["page[size]"] == "100"
    breakdowns = {r["params"].get("breakdown_by") for r in requests}
    # "account": each listed account's name, asked once (filtered to it, as the others).
    assert breakdowns == {None, "environment", "workspace", "account"}
    for r in requests:
        assert r["params"].get("filter[account]"), r["query"]


def test_empty_prefer_profile_sends_no_prefer_header(stub, exporter_factory):
    exporter = exporter_factory(stub, overrides={"scalr": {"prefer_profile": ""}})
    wait_all_up(exporter, exporter.config["scalr"]["accounts"])
    for r in stub.api_requests():
        assert "prefer" not in {k.lower() for k in r["headers"]}


def test_promtool_check_metrics_is_clean(stub, exporter):
    wait_all_up(exporter, exporter.config["scalr"]["accounts"])
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    text = exporter.scrape().body
    result = subprocess.run([promtool, "check", "metrics"], input=text,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == b"" and result.stderr.strip() == b"", result.stdout + result.stderr


def test_every_family_has_help_and_type(stub, exporter):
    wait_all_up(exporter, exporter.config["scalr"]["accounts"])
    parsed = helpers.parse_exposition(exporter.scrape().body)
    families = set(parsed.types)
    for family in ("scalr_account_runs_total", "scalr_account_run_seconds_total",
                   "scalr_environment_runs_total", "scalr_environment_run_seconds_total",
                   "scalr_workspace_runs_total", "scalr_workspace_run_seconds_total",
                   "scalr_billing_period_start_timestamp_seconds",
                   "scalr_billing_period_end_timestamp_seconds", "scalr_up",
                   "scalr_exporter_last_success_timestamp_seconds",
                   "scalr_exporter_last_poll_duration_seconds", "scalr_exporter_poll_errors_total",
                   "scalr_exporter_api_requests_total", "scalr_exporter_build_info"):
        assert family in families, family
        assert parsed.help.get(family), family
    assert "cached" in parsed.help["scalr_workspace_runs_total"]
    assert parsed.types["scalr_account_runs_total"] == "counter"
    assert parsed.types["scalr_up"] == "gauge"


def test_http_endpoints(stub, exporter):
    accounts = exporter.config["scalr"]["accounts"]
    wait_all_up(exporter, accounts)
    plain = exporter.scrape()
    assert plain.status == 200
    assert plain.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "content-encoding" not in plain.headers
    zipped = helpers.http_request(exporter.metrics_url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers.get("content-encoding") == "gzip"
    assert len(zipped.body) < len(plain.body)
    # The process_* metrics (resident memory, CPU time) may move between the two scrapes.
    def steady(body):
        return {k: v for k, v in helpers.parse_metrics(body).items()
                if not k[0].startswith("process_")}
    assert steady(gzip.decompress(zipped.body)) == steady(plain.body)
    refused = helpers.http_request(exporter.metrics_url, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    landing = exporter.scrape("/")
    assert landing.status == 200 and b'href="/metrics"' in landing.body
    assert exporter.scrape("/-/healthy").status == 200
    assert exporter.scrape("/-/ready").status == 200
    assert exporter.scrape("/nope").status == 404
    assert helpers.http_request(exporter.metrics_url, method="POST", body=b"x").status == 405
    build = series(exporter.metrics(), "scalr_exporter_build_info")
    assert list(build.values()) == [1]


def test_ready_only_after_the_first_poll(stub, exporter_factory):
    stub.set_fault("slow", seconds=3)
    exporter = exporter_factory(stub, accounts=[MAIN])
    assert exporter.scrape("/-/ready").status == 503
    assert exporter.scrape("/-/healthy").status == 200
    wait_until(lambda: exporter.scrape("/-/ready").status == 200, 30, 0.1, "ready")


def test_values_survive_rate_limits_and_server_errors(stub, exporter_factory):
    exporter = exporter_factory(stub, accounts=[MAIN])
    samples = wait_all_up(exporter, [MAIN])
    before = sample_value(samples, "scalr_account_runs_total", account_id=MAIN)
    stub.set_faults([{"mode": "status", "status": 429, "retry_after": "1", "count": 1},
                     {"mode": "status", "status": 500, "count": 1}])

    def faults_used():
        codes = series(exporter.metrics(), "scalr_exporter_api_requests_total")
        return codes.get(frozenset({("target", "default"), ("code", "429")})) and codes.get(
            frozenset({("target", "default"), ("code", "500")}))
    wait_until(faults_used, 20, 0.1, "429 and 500 seen by the exporter")
    time.sleep(2.5)  # a couple more polls
    samples = exporter.metrics()
    assert sample_value(samples, "scalr_up", account_id=MAIN) == 1
    assert sample_value(samples, "scalr_account_runs_total", account_id=MAIN) == before
    # Each fault hit once and was retried within the same poll, so no poll failed.
    assert sample_value(samples, "scalr_exporter_poll_errors_total", account_id=MAIN,
                        reason="rate_limited") == 0
    assert sample_value(samples, "scalr_exporter_poll_errors_total", account_id=MAIN,
                        reason="server_error") == 0
    assert_matches_sample_data(samples, [MAIN])


def test_persistent_server_errors_keep_last_good_values(stub, exporter_factory):
    exporter = exporter_factory(stub, accounts=[MAIN])
    samples = wait_all_up(exporter, [MAIN])
    stub.set_fault("status", status=503)
    wait_until(lambda: sample_value(exporter.metrics(), "scalr_up", account_id=MAIN) == 0, 20, 0.1)
    samples = exporter.metrics()
    assert sample_value(samples, "scalr_exporter_poll_errors_total", account_id=MAIN,
                        reason="server_error") >= 1
    assert_matches_sample_data(samples, [MAIN])
    # Bounded retries: max_attempts (3) per request, never a tight loop.
    polls = sample_value(samples, "scalr_exporter_poll_errors_total", account_id=MAIN,
                         reason="server_error")
    n503 = sample_value(samples, "scalr_exporter_api_requests_total", target="default",
                        code="503")
    assert n503 <= 3 * (polls + 1)
    stub.reset()
    wait_all_up(exporter, [MAIN])


@pytest.mark.parametrize("fault, reason", [
    ({"mode": "truncated"}, "bad_response"),
    ({"mode": "html200"}, "bad_response"),
    ({"mode": "wrong_content_type"}, "bad_response"),
    ({"mode": "pagination_loop", "page": 1}, "bad_response"),
    ({"mode": "slow", "seconds": 4}, "timeout"),
])
def test_bad_responses_are_counted_and_last_good_values_kept(stub, exporter_factory, fault, reason):
    exporter = exporter_factory(stub, accounts=[MAIN], overrides={"scalr": {
        "timeout": "1s", "page_size": 10,
        "retry": {"max_attempts": 2, "initial_backoff": "100ms", "max_backoff": "200ms"}}})
    wait_all_up(exporter, [MAIN])
    stub.set_fault(fault)
    wait_until(lambda: (sample_value(exporter.metrics(), "scalr_exporter_poll_errors_total",
                                     account_id=MAIN, reason=reason) or 0) >= 1,
               30, 0.1, f"a {reason} error")
    samples = exporter.metrics()
    assert sample_value(samples, "scalr_up", account_id=MAIN) == 0
    assert_matches_sample_data(samples, [MAIN])
    stub.reset()
    wait_all_up(exporter, [MAIN])


def test_unauthorized_sets_up_to_zero_and_recovers(stub_factory, exporter_factory):
    token = "tok-RECOGNISABLE-SECRET-4242"
    stub = stub_factory(token=token)
    exporter = exporter_factory(stub, token=token)
    accounts = exporter.config["scalr"]["accounts"]
    wait_all_up(exporter, accounts)
    stub.set_fault("bad_token")
    wait_until(lambda: all(sample_value(exporter.metrics(), "scalr_up", account_id=a) == 0
                           for a in accounts), 20, 0.1, "every account down")
    time.sleep(2.5)  # several more failing polls
    samples = exporter.metrics()
    for a in accounts:
        assert sample_value(samples, "scalr_exporter_poll_errors_total", account_id=a,
                            reason="unauthorized") >= 2
    assert_matches_sample_data(samples, accounts)  # last good values still served
    # Not retried: one 401 per account and poll.
    n401 = sample_value(samples, "scalr_exporter_api_requests_total", target="default",
                        code="401")
    polls = sum(sample_value(samples, "scalr_exporter_poll_errors_total", account_id=a,
                             reason="unauthorized") for a in accounts)
    assert n401 == polls
    # Logged once per state change, not once per poll.
    log = exporter.log_text()
    failures = [l for l in log.splitlines() if "level=error" in l and "unauthorized" in l
                and f"account={MAIN}" in l]
    assert len(failures) == 1, failures
    stub.reset()
    wait_all_up(exporter, accounts)
    assert re.search(rf"msg=\"poll recovered\" account={MAIN}", exporter.log_text())
    # The token appears nowhere the exporter writes.
    exporter.stop()
    assert token not in exporter.log_text()
    assert token not in exporter.stdout_path.read_text()


def test_token_without_billing_permission_is_not_found(stub_factory, exporter_factory):
    stub = stub_factory(extra_args=["--limited-token", "limited-token-77"])
    exporter = exporter_factory(stub, accounts=[MAIN], token="limited-token-77")
    wait_until(lambda: (sample_value(exporter.metrics(), "scalr_exporter_poll_errors_total",
                                     account_id=MAIN, reason="not_found") or 0) >= 1, 20, 0.1)
    samples = exporter.metrics()
    assert sample_value(samples, "scalr_up", account_id=MAIN) == 0
    assert sample_value(samples, "scalr_account_runs_total", account_id=MAIN) is None


def test_unknown_account_is_not_found_and_others_still_served(stub, exporter_factory):
    exporter = exporter_factory(stub, accounts=[MAIN, "acc-doesnotexist00"])
    wait_until(lambda: (sample_value(exporter.metrics(), "scalr_exporter_poll_errors_total",
                                     account_id="acc-doesnotexist00", reason="not_found") or 0) >= 1,
               20, 0.1)
    samples = wait_all_up(exporter, [MAIN])
    assert_matches_sample_data(samples, [MAIN])
    assert sample_value(samples, "scalr_up", account_id="acc-doesnotexist00") == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_mid_poll(stub, exporter_factory, sig):
    stub.set_fault("slow", seconds=30)
    exporter = exporter_factory(stub, accounts=[MAIN], overrides={"scalr": {"timeout": "60s"}})
    wait_until(lambda: stub.stats()["in_flight"] >= 1, 10, 0.05, "a request in flight")
    started = time.monotonic()
    exporter.signal(sig)
    exporter.proc.wait(10)
    assert time.monotonic() - started < 5
    assert exporter.proc.returncode == 0
    assert "shutting down" in exporter.log_text()


def run_binary(sue_binary, *args, env=None):
    return subprocess.run([str(sue_binary), *args], capture_output=True, text=True, timeout=30,
                          env=env if env is not None else {"PATH": os.environ.get("PATH", "")})


def test_version_flag(sue_binary):
    result = run_binary(sue_binary, "--version")
    assert result.returncode == 0
    assert re.match(r"scalr-usage-exporter, version \d+\.\d+\.\d+ \(revision \S+\)", result.stdout)


def test_check_config(sue_binary, tmp_path):
    token = tmp_path / "token"
    token.write_text("tok-CHECK-SECRET\n")
    good = tmp_path / "good.yml"
    good.write_text(f"scalr:\n  url: https://example.scalr.io\n  token_file: {token}\n"
                    "  accounts: [acc-1]\n")
    ok = run_binary(sue_binary, f"--config.file={good}", "--check-config")
    assert ok.returncode == 0, ok.stderr

    cases = {
        "scalr.tokne_file": f"scalr:\n  url: https://x.scalr.io\n  tokne_file: {token}\n"
                            "  accounts: [a]\n",
        "scalr.page_size": f"scalr:\n  url: https://x.scalr.io\n  token_file: {token}\n"
                           "  accounts: [a]\n  page_size: many\n",
        "poll.interval": f"scalr:\n  url: https://x.scalr.io\n  token_file: {token}\n"
                         "  accounts: [a]\npoll:\n  interval: 5 minutes\n",
        "scalr.url": f"scalr:\n  url: not a url\n  token_file: {token}\n  accounts: [a]\n",
        "scalr.token_file": f"scalr:\n  url: https://x.scalr.io\n  token_file: {tmp_path}/missing\n"
                            "  accounts: [a]\n",
    }
    for key, text in cases.items():
        path = tmp_path / "bad.yml"
        path.write_text(text)
        bad = run_binary(sue_binary, f"--config.file={path}", "--check-config")
        assert bad.returncode != 0, key
        assert key in bad.stderr, (key, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
        assert "tok-CHECK-SECRET" not in bad.stderr + bad.stdout


def test_invalid_config_fails_before_listening(sue_binary, tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("scalr:\n  url: https://x.scalr.io\n  accounts: [a]\n")  # no token anywhere
    port = helpers.free_port()
    result = run_binary(sue_binary, f"--config.file={path}", f"--web.listen-address=127.0.0.1:{port}")
    assert result.returncode != 0
    assert "scalr.token_file" in result.stderr


def test_unknown_flag_is_a_usage_error(sue_binary):
    result = run_binary(sue_binary, "--web.listen-adress=:1")
    assert result.returncode == 2
    assert "--web.listen-adress" in result.stderr


def test_token_from_environment_and_listen_address_flag(stub, sue_binary, tmp_path):
    port = helpers.free_port()
    cfg = tmp_path / "c.yml"
    cfg.write_text(f"web:\n  listen_address: 127.0.0.1:1\nscalr:\n  url: {stub.url}\n"
                   f"  accounts: [{MAIN}]\npoll:\n  interval: 1s\n")
    env = {"PATH": os.environ.get("PATH", ""), "SCALR_TOKEN": stub.token}
    proc = subprocess.Popen([str(sue_binary), f"--config.file={cfg}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.format=json"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        def up():
            r = helpers.http_request(f"http://127.0.0.1:{port}/metrics", timeout=2)
            return r.status == 200 and sample_value(helpers.parse_metrics(r.body), "scalr_up",
                                                    account_id=MAIN) == 1
        wait_until(up, 20, 0.1, "up via SCALR_TOKEN on the flag's address")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    import json as _json
    lines = [_json.loads(line) for line in err.splitlines() if line.strip()]
    assert any(line.get("msg") == "listening" for line in lines)
    assert stub.token not in err


# ---- connections --------------------------------------------------------------------------------

def _held_connection(exporter, idle: bool) -> socket.socket:
    """A client that holds a connection open: idle after one keep-alive request (idle=True), or
    stalled in the middle of its request headers."""
    host, port = exporter.config["web"]["listen_address"].rsplit(":", 1)
    conn = socket.create_connection((host, int(port)), timeout=10)
    if idle:
        conn.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: test\r\n\r\n")
        response = b""
        while True:  # read exactly one response: the headers, then Content-Length bytes
            chunk = conn.recv(4096)
            assert chunk, f"closed before the answer: {response!r}"
            response += chunk
            head, separator, body = response.partition(b"\r\n\r\n")
            length = re.search(rb"\r\nContent-Length: *(\d+)", head, re.I)
            if separator and length and len(body) >= int(length.group(1)):
                break
        assert response.startswith(b"HTTP/1.1 200"), response[:100]
        assert not re.search(rb"\r\nConnection: *close", head, re.I), "not kept alive"
    else:
        conn.sendall(b"GET /metrics HTTP/1.1\r\nHost: te")
    return conn


def test_idle_and_stalled_clients_do_not_hold_up_a_scrape(stub, exporter_factory):
    """Every open connection holds a server thread (keep-alive idling included). Far more clients
    than the 8 threads the server once had, idle or stalled, leave the scrape unaffected."""
    exporter = exporter_factory(stub)
    accounts = exporter.config["scalr"]["accounts"]
    wait_all_up(exporter, accounts)
    held = []
    try:
        held += [_held_connection(exporter, idle=True) for _ in range(24)]
        held += [_held_connection(exporter, idle=False) for _ in range(24)]
        r = exporter.scrape(timeout=5)
        assert r.status == 200
        assert_matches_sample_data(helpers.parse_metrics(r.body), accounts)
    finally:
        for conn in held:
            conn.close()


def test_web_max_connections_is_the_number_of_clients_served_at_once(stub, exporter_factory):
    exporter = exporter_factory(stub, overrides={"web": {"max_connections": 3}})
    held = [_held_connection(exporter, idle=True) for _ in range(3)]
    try:
        # A fourth client waits for a free thread ...
        with pytest.raises(OSError):  # a timeout, as URLError or TimeoutError
            exporter.scrape(timeout=1.5)
        # ... and is served once one of the three leaves.
        held.pop().close()
        assert exporter.scrape(timeout=10).status == 200
    finally:
        for conn in held:
            conn.close()
