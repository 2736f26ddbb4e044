"""A whole Scalr estate: the real daemon polling several stand-in Scalr servers (one per account
URL, each on its own port with its own token), a control tower among them whose children are
discovered every cycle, over real HTTP on loopback.

Expected usage is summed here from sample_data's raw rows (helpers.expected_usage) for the accounts
each stand-in serves; request counts, concurrency and rates come from the stand-ins' own records
of the requests they got (started/ended on CLOCK_MONOTONIC), never from the exporter.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

import pytest

import helpers
from helpers import (sample_data, sample_value, series, started_between, values_by,
                     wait_until)

MAIN, DEMO = sample_data.ACCOUNT_MAIN, sample_data.ACCOUNT_DEMO
TINY, EMPTY = sample_data.ACCOUNT_TINY, sample_data.ACCOUNT_EMPTY
M = sample_data.many_account_id  # M(1) == "acc-m000001"
USAGE_FAMILIES = ("scalr_account_runs_total", "scalr_account_run_seconds_total",
                  "scalr_environment_runs_total", "scalr_workspace_runs_total",
                  "scalr_up", "scalr_exporter_last_success_timestamp_seconds")


class Site(NamedTuple):
    """One target of the estate: its name in the config and the stand-in behind it."""
    name: str
    stub: helpers.StubServer
    accounts: tuple  # what the target polls: its configured accounts, or the tower's children


def token_file(tmp_path: Path, name: str, token: str) -> Path:
    path = tmp_path / f"{name}.token"
    path.write_text(token + "\n")
    path.chmod(0o600)
    return path


def target_entry(tmp_path: Path, site: Site, token=None, **settings) -> dict:
    """The scalr.targets item of site: its token in a file of its own, its accounts listed unless
    settings say discover: true."""
    entry = {"name": site.name, "url": site.stub.url,
             "token_file": str(token_file(tmp_path, site.name, token or site.stub.token))}
    if not settings.get("discover"):
        entry["accounts"] = list(site.accounts)
    entry.update(settings)
    return entry


@pytest.fixture
def estate_factory(tmp_path, sue_binary):
    """start(scalr, interval="1s", env=None): a daemon whose scalr: block is the test defaults
    (prefer_profile preview, timeout 5s, retry 3 attempts from 100ms to 1s) followed by `scalr`'s
    keys in their order (targets, and settings the targets default from); stopped at teardown."""
    started = []

    def start(scalr: dict, interval: str = "1s", env=None) -> helpers.Exporter:
        config = {
            "web": {"listen_address": f"127.0.0.1:{helpers.free_port()}",
                    "telemetry_path": "/metrics"},
            "scalr": {"prefer_profile": "preview", "timeout": "5s",
                      "retry": {"max_attempts": 3, "initial_backoff": "100ms",
                                "max_backoff": "1s"},
                      **scalr},
            "poll": {"interval": interval},
        }
        exp = helpers.Exporter(tmp_path / f"exporter{len(started)}", config, sue_binary, (), env)
        started.append(exp)
        exp.wait_ready()
        return exp

    yield start
    for exp in started:
        exp.stop()


def write_config(exporter, config: dict) -> None:
    exporter.config = config
    exporter.config_path.write_text(helpers.to_yaml(config), encoding="utf-8")


def period_of(samples, account):
    to_date = lambda ts: dt.datetime.fromtimestamp(ts, dt.timezone.utc).date()
    start = sample_value(samples, "scalr_billing_period_start_timestamp_seconds",
                         account_id=account)
    end = sample_value(samples, "scalr_billing_period_end_timestamp_seconds", account_id=account)
    assert start is not None and end is not None, f"no billing period for {account}"
    return to_date(start), to_date(end)


def wait_up(exporter, accounts, timeout=30.0, also=lambda samples: True):
    """Waits until every account has scalr_up 1 (and also(samples) holds); returns the samples."""
    def check():
        if not exporter.alive():
            raise helpers.StopWaiting(f"exporter exited: {exporter.log_text()[-3000:]}")
        samples = exporter.metrics()
        ok = all(sample_value(samples, "scalr_up", account_id=a) == 1 for a in accounts)
        return samples if ok and also(samples) else None
    return wait_until(check, timeout, 0.1,
                      f"{sorted(accounts)} up\n{exporter.log_text()[-3000:]}")


def assert_exact_usage(samples, site: Site, accounts=None):
    """The account, environment and workspace series of site's accounts equal the sums of
    sample_data's raw rows of the stand-in's profile, and the account's name and target are
    right."""
    accounts = list(accounts if accounts is not None else site.accounts)
    start, end = period_of(samples, accounts[0])
    exp = helpers.expected_usage(start, end, site.stub.profile, accounts)
    names = helpers.account_names(site.stub.profile, accounts)
    for a in accounts:
        assert sample_value(samples, "scalr_account_runs_total", account_id=a) == \
            exp.accounts[a].runs, (site.name, a)
        assert sample_value(samples, "scalr_account_run_seconds_total", account_id=a) == \
            exp.accounts[a].seconds, (site.name, a)
        info = series(samples, "scalr_account_info", account_id=a)
        assert info == {frozenset({"account_id": a, "account_name": names[a],
                                   "target": site.name}.items()): 1}, (site.name, a, info)
    for level, key, wanted in (("environment", "environment_id", exp.environments),
                               ("workspace", "workspace_id", exp.workspaces)):
        got = {k: v for k, v in values_by(samples, f"scalr_{level}_runs_total", "account_id",
                                          key).items() if k[0] in accounts}
        assert got == {k: u.runs for k, u in wanted.items()}, (site.name, level)


def requests_total(samples, target) -> float:
    return sum(series(samples, "scalr_exporter_api_requests_total", target=target).values())


def account_series(samples, account) -> list:
    return [(name, dict(labels)) for name, labels in samples
            if dict(labels).get("account_id") == account]


def discoveries(requests) -> list:
    """The control tower's discovery requests: breakdown_by=account without filter[account]."""
    return [r for r in requests if r["params"].get("breakdown_by") == "account"
            and "filter[account]" not in r["params"]]


def of_account(requests, account) -> list:
    return [r for r in requests if r["params"].get("filter[account]") == account]


def start_estate(stub_factory, **tower_kw):
    """Two plain targets on the small profile and a control tower with three children."""
    acme = Site("acme", stub_factory(token="acme-token-0123456789", accounts=[MAIN, DEMO]),
                (MAIN, DEMO))
    beta = Site("beta", stub_factory(token="beta-token-0123456789", accounts=[TINY, EMPTY]),
                (TINY, EMPTY))
    children = (M(1), M(2), M(3))
    tower = Site("tower", stub_factory(token="tower-token-0123456789", many_accounts=6,
                                       control_tower=True, accounts=children, **tower_kw),
                 children)
    return acme, beta, tower


# ---- 1. the estate ----------------------------------------------------------------------------

def test_estate_of_two_targets_and_a_control_tower(stub_factory, estate_factory, tmp_path):
    """One poll cycle (the interval is an hour) over the three targets: exact usage for every
    account, names and targets, every target up, and the exporter's request count per target equal
    to what that target's stand-in received, all with that target's own token."""
    sites = start_estate(stub_factory)
    acme, beta, tower = sites
    targets = [target_entry(tmp_path, acme), target_entry(tmp_path, beta),
               target_entry(tmp_path, tower, discover=True)]
    exporter = estate_factory({"targets": targets}, interval="1h")
    everyone = [a for s in sites for a in s.accounts]
    samples = wait_up(exporter, everyone, also=lambda s: sample_value(
        s, "scalr_exporter_poll_cycle_duration_seconds") is not None)

    for site in sites:
        assert_exact_usage(samples, site)
        assert sample_value(samples, "scalr_exporter_target_up", target=site.name) == 1
        # Usage requests and each account's workspace listing (enrichment, on by default).
        requests = site.stub.api_requests() + site.stub.workspace_requests()
        assert len(site.stub.workspace_requests()) == len(site.accounts), site.name
        assert requests and all(r["auth"]["valid"] for r in requests), site.name
        assert requests_total(samples, site.name) == len(requests), site.name
        codes = values_by(samples, "scalr_exporter_api_requests_total", "target", "code")
        assert codes.get((site.name, "200")) == len(requests), site.name
        histogram = sample_value(samples, "scalr_exporter_api_request_duration_seconds_count",
                                 target=site.name)
        assert histogram == len(requests), site.name
    assert {dict(l)["account_id"] for n, l in samples if n == "scalr_account_info"} == \
        set(everyone)
    # The tower found its children by one listing; the plain targets asked for each account's
    # name once (breakdown_by=account with filter[account]).
    assert len(discoveries(tower.stub.api_requests())) == 1
    for site in (acme, beta):
        named = [r["params"]["filter[account]"] for r in site.stub.api_requests()
                 if r["params"].get("breakdown_by") == "account"]
        assert sorted(named) == sorted(site.accounts), site.name


# ---- 2. failure isolation ---------------------------------------------------------------------

def test_a_wrong_token_fails_only_its_own_target(stub_factory, estate_factory, tmp_path):
    sites = start_estate(stub_factory)
    acme, beta, tower = sites
    targets = [target_entry(tmp_path, acme, token="acme-token-WRONG-98765"),
               target_entry(tmp_path, beta), target_entry(tmp_path, tower, discover=True)]
    exporter = estate_factory({"targets": targets})
    healthy = [a for s in (beta, tower) for a in s.accounts]

    def acme_refused(samples):
        return all((sample_value(samples, "scalr_exporter_poll_errors_total", account_id=a,
                                 reason="unauthorized") or 0) >= 2 for a in acme.accounts)
    samples = wait_up(exporter, healthy, also=acme_refused)
    for a in acme.accounts:
        assert sample_value(samples, "scalr_up", account_id=a) == 0, a
        assert sample_value(samples, "scalr_account_runs_total", account_id=a) is None, a
        for other in ("forbidden", "not_found", "server_error", "connection"):
            assert sample_value(samples, "scalr_exporter_poll_errors_total", account_id=a,
                                reason=other) == 0, (a, other)
    assert sample_value(samples, "scalr_exporter_target_up", target="acme") == 0
    for site in (beta, tower):
        assert sample_value(samples, "scalr_exporter_target_up", target=site.name) == 1
        assert_exact_usage(samples, site)
        for a in site.accounts:
            assert sample_value(samples, "scalr_exporter_poll_errors_total", account_id=a,
                                reason="unauthorized") == 0, a
    assert all(r["status"] == 401 for r in acme.stub.api_requests())
    assert "acme-token-WRONG-98765" not in exporter.log_text()
    assert "acme-token-WRONG-98765" not in exporter.scrape().body.decode()

    acme.stub.set_token("acme-token-WRONG-98765")  # the stand-in now takes the configured token
    samples = wait_up(exporter, [*acme.accounts, *healthy], also=lambda s: sample_value(
        s, "scalr_exporter_target_up", target="acme") == 1)
    for site in sites:
        assert_exact_usage(samples, site)


# ---- 3. discovery -----------------------------------------------------------------------------

def test_discovery_follows_the_towers_children(stub_factory, estate_factory, tmp_path):
    tower = Site("tower", stub_factory(token="tower-token-0123456789", many_accounts=8,
                                       control_tower=True, accounts=[M(1), M(2), M(3)]),
                 (M(1), M(3)))
    targets = [target_entry(tmp_path, tower, discover=True, exclude_accounts=[M(2)])]
    exporter = estate_factory({"targets": targets})
    samples = wait_up(exporter, tower.accounts)
    assert_exact_usage(samples, tower)
    # Excluded: never polled, never shown.
    assert account_series(samples, M(2)) == []
    assert of_account(tower.stub.api_requests(), M(2)) == []

    # A new child: polled in the cycle whose discovery first lists it.
    added_at = time.monotonic()
    tower.stub.set_accounts([M(1), M(2), M(3), M(4)])
    grown = tower._replace(accounts=(M(1), M(3), M(4)))
    samples = wait_up(exporter, grown.accounts)
    assert_exact_usage(samples, grown)
    requests = tower.stub.api_requests()
    after = [d["started"] for d in discoveries(requests) if d["started"] > added_at]
    first_fetch = min(r["started"] for r in of_account(requests, M(4)))
    assert after and after[0] < first_fetch < (after[1] if len(after) > 1 else float("inf"))

    # A child gone: gone from the output after the next discovery, and no longer asked for.
    tower.stub.set_accounts([M(2), M(3), M(4)])
    shrunk = tower._replace(accounts=(M(3), M(4)))
    wait_until(lambda: account_series(exporter.metrics(), M(1)) == [], 20, 0.1, "M(1) gone")
    removed_at = time.monotonic()
    samples = wait_up(exporter, shrunk.accounts)
    assert_exact_usage(samples, shrunk)
    wait_until(lambda: len([d for d in discoveries(tower.stub.api_requests())
                            if d["started"] > removed_at]) >= 2, 20, 0.1, "two more cycles")
    assert [r for r in of_account(tower.stub.api_requests(), M(1))
            if r["started"] > removed_at] == []

    # Discovery failing: 9 answers of 500 are 3 failed discoveries (3 attempts each). Meanwhile
    # the last list is kept and its accounts polled, and a child added meanwhile waits for a
    # discovery that works.
    def errors(samples):
        return sample_value(samples, "scalr_exporter_discovery_errors_total", target="tower",
                            reason="server_error")
    assert errors(exporter.metrics()) == 0
    failing_since = time.monotonic()
    tower.stub.set_fault("status", status=500, account="", count=9)
    tower.stub.set_accounts([M(2), M(3), M(4), M(5)])
    # While fewer than 3 failures are counted, no discovery has worked since the fault began.
    samples = wait_until(lambda: (lambda s: s if 1 <= errors(s) <= 2 else None)(exporter.metrics()),
                         30, 0.05, "a failed discovery")
    assert account_series(samples, M(5)) == []
    assert_exact_usage(samples, shrunk)

    final = tower._replace(accounts=(M(3), M(4), M(5)))
    samples = wait_up(exporter, final.accounts, also=lambda s: errors(s) == 3)
    assert_exact_usage(samples, final)
    requests = tower.stub.api_requests()
    failed = [d for d in discoveries(requests) if d["started"] > failing_since]
    assert [d["status"] for d in failed[:9]] == [500] * 9
    last_failure = failed[8]["ended"]
    assert min(r["started"] for r in of_account(requests, M(5))) > last_failure
    for a in shrunk.accounts:
        polled = [r for r in of_account(requests, a)
                  if failing_since < r["started"] < last_failure and r["status"] == 200]
        assert polled, f"{a} not polled while discovery failed"
    wait_until(lambda: len([d for d in discoveries(tower.stub.api_requests())
                            if d["status"] == 200 and d["started"] > last_failure]) >= 3,
               20, 0.1, "more good discoveries")
    assert errors(exporter.metrics()) == 3


# ---- 4. politeness ----------------------------------------------------------------------------

# How late the stub may see a request the exporter sent, under load (scheduling, not network).
ARRIVAL_JITTER = 0.4
# How late the exporter may act on a 429 the stub has sent, plus that jitter.
PAUSE_GRACE = 0.5

def test_concurrency_and_rate_bounds_per_target(stub_factory, estate_factory, tmp_path):
    """A slow target with max_concurrency 2 has exactly 2 requests in flight at its peak; a fast
    one limited to 5 requests per second gets at most 5 + its burst (max_concurrency, 2) in any
    second."""
    slow = Site("slow", stub_factory(token="slow-token-0123456789", many_accounts=6,
                                     delay_ms=200), tuple(M(i) for i in range(1, 7)))
    rated = Site("rated", stub_factory(token="rated-token-0123456789", many_accounts=12,
                                       accounts=[M(i) for i in range(7, 13)]),
                 tuple(M(i) for i in range(7, 13)))
    targets = [target_entry(tmp_path, slow, max_concurrency=2, max_requests_per_second=0),
               target_entry(tmp_path, rated, max_concurrency=2, max_requests_per_second=5)]
    exporter = estate_factory({"targets": targets})
    wait_up(exporter, slow.accounts + rated.accounts, timeout=60)
    wait_until(lambda: len(rated.stub.api_requests()) >= 30, 30, 0.1, "30 rated requests")

    stats = slow.stub.stats()
    assert stats["max_in_flight"] == 2
    assert helpers.peak_in_flight(slow.stub.api_requests()) == 2

    requests = rated.stub.api_requests()
    # The exporter paces when it sends; the stub sees when its handler starts, which a loaded
    # machine can delay by a scheduling hiccup and so bunch arrivals up. Allowing arrivals up to
    # ARRIVAL_JITTER late, any 1 s of arrivals holds what was sent in 1 s + ARRIVAL_JITTER: at
    # most 2 + 5 * 1.4 = 9 requests. A broken rate limit sends 20 and more a second here.
    assert helpers.max_started_in_window(requests, 1.0) <= 2 + math.floor(5 * (1 + ARRIVAL_JITTER))
    starts = sorted(r["started"] for r in requests)
    span = starts[-1] - starts[0]
    assert len(starts) <= 2 + 5 * span + 1, (len(starts), span)  # +1: the bucket's first token


def test_429_pauses_the_whole_target_not_the_others(stub_factory, estate_factory, tmp_path):
    """A 429 with Retry-After: 2 on one request: no request to that target starts until the pause
    is over, though its other worker had work, while another target is polled meanwhile; a longer
    Retry-After pauses it for retry.max_backoff only."""
    limited = Site("limited", stub_factory(
        token="limited-token-0123456789", delay_ms=300,
        faults=[{"mode": "status", "status": 429, "retry_after": "2", "count": 1,
                 "breakdown_by": "workspace", "account": DEMO}]),
        (MAIN, DEMO, TINY, EMPTY))
    busy = Site("busy", stub_factory(token="busy-token-0123456789", many_accounts=4, delay_ms=250),
                tuple(M(i) for i in range(1, 5)))
    targets = [target_entry(tmp_path, limited, max_concurrency=2, max_requests_per_second=0,
                            retry={"max_backoff": "3s"}),
               target_entry(tmp_path, busy, max_concurrency=1, max_requests_per_second=0)]
    exporter = estate_factory({"targets": targets}, interval="2s")
    samples = wait_up(exporter, limited.accounts + busy.accounts, timeout=60)
    assert_exact_usage(samples, limited)

    requests = limited.stub.api_requests()
    refused = [r for r in requests if r["status"] == 429]
    assert len(refused) == 1
    ended = refused[0]["ended"]
    # The exporter learns of the 429 a moment after the stand-in sent it, and the stand-in sees a
    # request a moment after it was sent; a request the other worker sent in that moment is no
    # breach. PAUSE_GRACE covers both on a loaded machine; each request taking 0.3 s, a target
    # that did not pause would still start several within the rest of the 2 s.
    during = started_between(requests, ended + PAUSE_GRACE, ended + 2.0)
    assert during == [], [(r["started"] - ended, r["query"]) for r in during]
    resumed = [r["started"] - ended for r in requests if r["started"] > ended + PAUSE_GRACE]
    assert resumed and min(resumed) >= 1.9, resumed
    others = started_between(busy.stub.api_requests(), ended, ended + 2.0)
    assert len(others) >= 2, "the other target was not polled during the pause"

    # A Retry-After longer than retry.max_backoff (3s) pauses the target for max_backoff only.
    limited.stub.set_fault("status", status=429, retry_after="600", count=1)
    refused = wait_until(lambda: [r for r in limited.stub.api_requests()
                                  if r["status"] == 429 and r["ended"] and r["ended"] > ended],
                         30, 0.05, "the second 429")
    second = refused[0]["ended"]
    resumed = wait_until(lambda: [r["started"] - second for r in limited.stub.api_requests()
                                  if r["started"] > second + PAUSE_GRACE], 30, 0.1,
                         "requests again")
    assert 2.9 <= min(resumed) < 60, resumed


# ---- 5. configuration -------------------------------------------------------------------------

def run_check_config(sue_binary, config: dict, path: Path):
    path.write_text(helpers.to_yaml(config), encoding="utf-8")
    return subprocess.run([str(sue_binary), f"--config.file={path}", "--check-config"],
                          capture_output=True, text=True, timeout=30,
                          env=helpers._clean_env())


def test_config_errors_name_the_targets(sue_binary, tmp_path):
    token = token_file(tmp_path, "t", "tok-TARGETS-SECRET")
    a = {"name": "acme", "url": "https://acme.scalr.io", "token_file": str(token),
         "accounts": ["acc-one", "acc-x"]}
    b = {"name": "beta", "url": "https://beta.scalr.io", "token_file": str(token),
         "accounts": ["acc-x"]}
    cases = [
        ([a, b], {}, ["scalr.targets[1].accounts", "acc-x", "scalr.targets[0] (acme)"]),
        ([a, dict(b, name="acme", accounts=["acc-two"])], {},
         ["scalr.targets[1].name", '"acme"', "scalr.targets[0]"]),
        ([a], {"url": "https://x.scalr.io"}, ["scalr.url", "scalr.targets"]),
        ([a, {k: v for k, v in b.items() if k != "name"}], {}, ["scalr.targets[1].name"]),
        ([a, {k: v for k, v in b.items() if k != "url"}], {}, ["scalr.targets[1].url"]),
        ([a, {k: v for k, v in b.items() if k != "token_file"}], {},
         ["scalr.targets[1].token_file"]),
        ([a, dict(b, token_env="SUE_NOT_SET_ANYWHERE", token_file=None)], {},
         ["scalr.targets[1].token_env", "SUE_NOT_SET_ANYWHERE"]),
        ([a, dict(b, name="Beta!")], {}, ["scalr.targets[1].name"]),
        ([a, dict(b, accounts=["acc-two"], max_concurrency=65)], {},
         ["scalr.targets[1].max_concurrency"]),
        ([a, dict(b, discover=True)], {}, ["scalr.targets[1].accounts"]),
    ]
    for targets, block, wanted in cases:
        targets = [{k: v for k, v in t.items() if v is not None} for t in targets]
        result = run_check_config(sue_binary, {"scalr": {"targets": targets, **block}},
                                  tmp_path / "bad.yml")
        assert result.returncode != 0, wanted
        for text in wanted:
            assert text in result.stderr, (text, result.stderr)
        assert "tok-TARGETS-SECRET" not in result.stderr + result.stdout
    ok = run_check_config(sue_binary, {"scalr": {"targets": [a, dict(b, accounts=["acc-two"])]}},
                          tmp_path / "good.yml")
    assert ok.returncode == 0, ok.stderr


def test_targets_inherit_the_blocks_settings(stub_factory, estate_factory, tmp_path):
    """scalr.page_size 7, written after the targets, reaches every target that does not set its
    own; a target's own page_size wins; a token may come from an environment variable."""
    acme, beta, tower = start_estate(stub_factory)
    env = dict(helpers._clean_env(), SUE_TEST_BETA_TOKEN=beta.stub.token)
    beta_entry = target_entry(tmp_path, beta)
    del beta_entry["token_file"]
    beta_entry["token_env"] = "SUE_TEST_BETA_TOKEN"
    targets = [target_entry(tmp_path, acme), beta_entry,
               target_entry(tmp_path, tower, discover=True, page_size=2)]
    exporter = estate_factory({"targets": targets, "page_size": 7}, interval="1h", env=env)
    assert "page_size: 7" in exporter.config_path.read_text().split("targets:")[1]
    everyone = [a for s in (acme, beta, tower) for a in s.accounts]
    samples = wait_up(exporter, everyone, also=lambda s: sample_value(
        s, "scalr_exporter_poll_cycle_duration_seconds") is not None)
    for site, size in ((acme, "7"), (beta, "7"), (tower, "2")):
        assert_exact_usage(samples, site)
        requests = site.stub.api_requests()
        assert {r["params"]["page[size]"] for r in requests} == {size}, site.name
        # Every target keeps the block's prefer_profile (and timeout and retry).
        assert all({k.lower(): v for k, v in r["headers"].items()}.get("prefer") ==
                   "profile=preview" for r in requests), site.name
    # Small pages really were followed: the tower's listing of 3 children has 2 pages, and so
    # does MAIN's workspace breakdown whenever more than 7 of its workspaces have runs.
    pages = lambda site: {r["params"]["page[number]"] for r in site.stub.api_requests()}
    assert "2" in pages(tower)
    start, end = period_of(samples, MAIN)
    if len(helpers.expected_usage(start, end, accounts=[MAIN]).workspaces) > 7:
        assert "2" in pages(acme)
    assert beta.stub.token not in exporter.log_text()


# ---- 6. signals -------------------------------------------------------------------------------

def test_sigterm_mid_cycle_exits_promptly(stub_factory, estate_factory, tmp_path):
    slow = Site("slow", stub_factory(token="slow-token-0123456789", many_accounts=40,
                                     delay_ms=500), tuple(M(i) for i in range(1, 41)))
    tower = Site("tower", stub_factory(token="tower-token-0123456789", many_accounts=50,
                                       control_tower=True,
                                       accounts=[M(i) for i in range(41, 51)], delay_ms=500),
                 tuple(M(i) for i in range(41, 51)))
    targets = [target_entry(tmp_path, slow, max_requests_per_second=0),
               target_entry(tmp_path, tower, discover=True, max_requests_per_second=0)]
    exporter = estate_factory({"targets": targets})
    wait_until(lambda: len(slow.stub.api_requests()) >= 8 and slow.stub.stats()["in_flight"] >= 2,
               30, 0.05, "the cycle well under way")
    assert sample_value(exporter.metrics(), "scalr_exporter_poll_cycle_duration_seconds") is None
    exporter.signal(signal.SIGTERM)
    try:
        code = exporter.proc.wait(20)
    except subprocess.TimeoutExpired:
        pytest.fail("still running 20 s after SIGTERM")
    assert code == 0, exporter.log_text()[-3000:]
    assert "shutting down" in exporter.log_text()


def test_sighup_swaps_targets_while_polls_are_in_flight(stub_factory, estate_factory, tmp_path):
    acme = Site("acme", stub_factory(token="acme-token-0123456789", accounts=[MAIN, DEMO],
                                     delay_ms=150), (MAIN, DEMO))
    beta = Site("beta", stub_factory(token="beta-token-0123456789", accounts=[TINY, EMPTY],
                                     delay_ms=300), (TINY, EMPTY))
    gamma = Site("gamma", stub_factory(token="gamma-token-0123456789", many_accounts=3),
                 tuple(M(i) for i in range(1, 4)))
    targets = [target_entry(tmp_path, acme, max_concurrency=1),
               target_entry(tmp_path, beta, max_concurrency=1)]
    exporter = estate_factory({"targets": targets})
    wait_up(exporter, acme.accounts + beta.accounts, timeout=60)

    swapped = helpers.deep_merge(exporter.config, {"scalr": {"targets": [
        target_entry(tmp_path, acme, max_concurrency=1), target_entry(tmp_path, gamma)]}})
    wait_until(lambda: beta.stub.stats()["in_flight"] >= 1 and acme.stub.stats()["in_flight"] >= 1,
               30, 0.02, "requests in flight to both targets")
    write_config(exporter, swapped)
    exporter.signal(signal.SIGHUP)

    def swapped_in(samples):
        return (sample_value(samples, "scalr_exporter_config_last_reload_successful") == 1 and
                all(account_series(samples, a) == [] for a in beta.accounts) and
                sample_value(samples, "scalr_exporter_target_up", target="beta") is None)
    samples = wait_up(exporter, acme.accounts + gamma.accounts, timeout=60, also=swapped_in)
    assert exporter.alive()
    assert_exact_usage(samples, acme)
    assert_exact_usage(samples, gamma)
    assert sample_value(samples, "scalr_exporter_target_up", target="gamma") == 1
    assert {dict(l)["target"] for n, l in samples if n == "scalr_account_info"} == \
        {"acme", "gamma"}
    # (scalr_exporter_api_requests_total and the request duration histogram are counts since
    # start and keep the dropped target's label; this test does not pin that either way.)
    # The dropped target is no longer polled: nothing new reaches it over two more acme cycles.
    beta_seen = beta.stub.stats()["total"]
    acme_seen = acme.stub.stats()["total"]
    wait_until(lambda: acme.stub.stats()["total"] >= acme_seen + 12, 30, 0.1, "two acme cycles")
    assert beta.stub.stats()["total"] == beta_seen
    assert exporter.alive()


# ---- 7. the exposition ------------------------------------------------------------------------

def test_promtool_accepts_the_estates_exposition(stub_factory, estate_factory, tmp_path):
    """Every family of several targets at once (one down, one failing discovery after a good one,
    histograms per target) passes promtool check metrics and the strict parser."""
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    sites = start_estate(stub_factory)
    acme, beta, tower = sites
    targets = [target_entry(tmp_path, acme, token="acme-token-WRONG-98765"),
               target_entry(tmp_path, beta), target_entry(tmp_path, tower, discover=True)]
    exporter = estate_factory({"targets": targets})
    wait_up(exporter, beta.accounts + tower.accounts)
    tower.stub.set_fault("status", status=503, account="")
    wait_until(lambda: (sample_value(exporter.metrics(), "scalr_exporter_discovery_errors_total",
                                     target="tower", reason="server_error") or 0) >= 1,
               30, 0.1, "a failed discovery")
    body = exporter.scrape().body
    exposition = helpers.parse_exposition(body)
    for family in ("scalr_account_info", "scalr_exporter_target_up",
                   "scalr_exporter_discovery_errors_total",
                   "scalr_exporter_poll_cycle_duration_seconds",
                   "scalr_exporter_api_requests_total",
                   "scalr_exporter_api_request_duration_seconds"):
        assert exposition.help.get(family), family
    assert exposition.types["scalr_exporter_api_request_duration_seconds"] == "histogram"
    assert exposition.types["scalr_exporter_discovery_errors_total"] == "counter"
    assert {dict(l)["target"] for n, l in exposition.samples
            if n == "scalr_exporter_api_request_duration_seconds_count"} == {"acme", "beta",
                                                                            "tower"}
    result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                            timeout=30)
    assert result.returncode == 0, (result.stdout + result.stderr).decode()
    assert (result.stdout + result.stderr).strip() == b"", (result.stdout + result.stderr)
