"""Workspace enrichment with the Scalr API source: the real daemon against the stand-in Scalr
server over loopback, its workspace listing (GET /api/iacp/v3/workspaces) giving each workspace
series its environment.

Expected relations come from sample_data (each workspace's environment, is_deleted), expected
numbers from its raw rows (helpers.expected_usage), never from the exporter's output.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import time

import pytest

import helpers
from helpers import sample_data, sample_value, series, values_by, wait_until

ACCOUNTS = list(sample_data.accounts("small"))
ERRORS = "scalr_exporter_enrichment_errors_total"
ENRICH_FAILED = "cannot list the workspaces for enrichment"


def expected_environments(accounts=ACCOUNTS) -> dict:
    """{(account, workspace): (environment_id, environment_name)} as the listing says: the
    workspace's environment, or ("", "") for one deleted since (absent from the listing)."""
    relations = {}
    for account in accounts:
        for ws in sample_data.accounts("small")[account].workspaces:
            relations[(account, ws.id)] = ("", "") if sample_data.is_deleted(ws) else \
                (ws.environment_id, ws.environment_name)
    return relations


def current_month():
    now = dt.datetime.now(dt.timezone.utc)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start, end


def wait_all_up(exporter, accounts, timeout=30, also=lambda samples: True):
    def ready():
        samples = exporter.metrics()
        return samples if all(sample_value(samples, "scalr_up", account_id=a) == 1
                              for a in accounts) and also(samples) else None
    return wait_until(ready, timeout, 0.1, "every account up")


def workspace_labels(samples) -> dict:
    """{(account, workspace): labels} of scalr_workspace_runs_total."""
    return {(dict(l)["account_id"], dict(l)["workspace_id"]): dict(l)
            for (name, l) in samples if name == "scalr_workspace_runs_total"}


def assert_usage_exact(samples, accounts):
    start, end = current_month()
    expected = helpers.expected_usage(start, end, accounts=accounts)
    for account in accounts:
        assert sample_value(samples, "scalr_account_runs_total", account_id=account) == \
            expected.accounts[account].runs, account
        assert sample_value(samples, "scalr_account_run_seconds_total", account_id=account) == \
            expected.accounts[account].seconds, account
    for suffix, field in (("runs_total", "runs"), ("run_seconds_total", "seconds")):
        got = values_by(samples, f"scalr_workspace_{suffix}", "account_id", "workspace_id")
        assert got == {k: getattr(u, field) for k, u in expected.workspaces.items()}, suffix
    return expected


def polls_of(stub, account) -> int:
    """The account's poll cycles so far: its unbroken-down usage requests (page 1)."""
    return sum(1 for r in stub.api_requests() if r["params"].get("filter[account]") == account
               and "breakdown_by" not in r["params"] and r["params"].get("page[number]") == "1")


def test_environment_labels_equal_the_stand_ins_relations(stub, exporter_factory):
    """One poll cycle (interval 1h): every API workspace series carries the environment the
    stand-in relates it to, a deleted workspace empty ones; one listing per account, observed
    like every other request, and no enrichment error."""
    exporter = exporter_factory(stub, overrides={"poll": {"interval": "1h"}})
    samples = wait_all_up(exporter, ACCOUNTS, also=lambda s: sample_value(
        s, "scalr_exporter_poll_cycle_duration_seconds") is not None)
    expected = assert_usage_exact(samples, ACCOUNTS)
    relations = expected_environments()
    labels = workspace_labels(samples)
    assert set(labels) == set(expected.workspaces)
    deleted = 0
    for key, got in labels.items():
        assert (got["environment_id"], got["environment_name"]) == relations[key], key
        deleted += relations[key] == ("", "")
    assert deleted >= 3  # the check above covered deleted workspaces too
    # The hostile environment name survives escaping like the environment series' own.
    assert any(l["environment_name"] == sample_data.ENV_NAME_QUOTE for l in labels.values())

    listings = stub.workspace_requests()
    assert sorted(r["params"]["filter[account]"] for r in listings) == sorted(ACCOUNTS)
    for r in listings:
        assert r["auth"]["valid"] and r["status"] == 200
        assert r["params"]["include"] == "environment,tags"
        assert (r["params"]["page[size]"], r["params"]["page[number]"]) == ("100", "1")
    # Every response counted, the listing's too (one cycle, so the stand-in's count is final).
    assert sample_value(samples, "scalr_exporter_api_requests_total", target="default",
                        code="200") == len(stub.api_requests()) + len(listings)
    errors = series(samples, ERRORS, target="default")
    assert len(errors) == 11 and set(errors.values()) == {0}


def test_the_listing_waits_for_enrich_interval_across_polls(stub, exporter_factory):
    exporter = exporter_factory(stub, accounts=[sample_data.ACCOUNT_MAIN])
    wait_all_up(exporter, [sample_data.ACCOUNT_MAIN])
    first = polls_of(stub, sample_data.ACCOUNT_MAIN)
    wait_until(lambda: polls_of(stub, sample_data.ACCOUNT_MAIN) >= first + 4, 60, 0.2,
               "four more poll cycles")
    assert len(stub.workspace_requests()) == 1
    labels = workspace_labels(exporter.metrics())
    relations = expected_environments([sample_data.ACCOUNT_MAIN])
    assert {k: (l["environment_id"], l["environment_name"]) for k, l in labels.items()} == \
        {k: relations[k] for k in labels}


@pytest.mark.parametrize("status, reason", [(403, "forbidden"), (404, "not_found")])
def test_without_workspaces_read_usage_stays_exact(stub_factory, exporter_factory, status,
                                                   reason):
    """A token without workspaces:read: usage is exact, every workspace series has empty
    environment labels (the same label set), the error is counted per listing and logged once,
    and the listing is not asked again within enrich_interval."""
    token = "tok-NO-WORKSPACES-READ-7731"
    stub = stub_factory(token=token, extra_args=[
        "--no-workspaces-read", "--no-workspaces-read-status", str(status)])
    exporter = exporter_factory(stub)
    wait_all_up(exporter, ACCOUNTS, also=lambda s: sample_value(
        s, ERRORS, target="default", reason=reason) == len(ACCOUNTS))
    first = polls_of(stub, sample_data.ACCOUNT_MAIN)
    wait_until(lambda: polls_of(stub, sample_data.ACCOUNT_MAIN) >= first + 3, 60, 0.2,
               "three more poll cycles")
    samples = exporter.metrics()
    assert_usage_exact(samples, ACCOUNTS)
    for key, labels in workspace_labels(samples).items():
        assert (labels["environment_id"], labels["environment_name"]) == ("", ""), key
    for account in ACCOUNTS:
        assert sample_value(samples, "scalr_up", account_id=account) == 1
        assert sample_value(samples, "scalr_exporter_poll_errors_total", account_id=account,
                            reason=reason) == 0
    assert sample_value(samples, ERRORS, target="default", reason=reason) == len(ACCOUNTS)
    assert [r["status"] for r in stub.workspace_requests()] == [status] * len(ACCOUNTS)
    assert sample_value(samples, "scalr_exporter_api_requests_total", target="default",
                        code=str(status)) == len(ACCOUNTS)

    log = exporter.log_text()
    failures = [line for line in log.splitlines()
                if "level=error" in line and ENRICH_FAILED in line]
    assert len(failures) == 1, failures
    assert f"reason={reason}" in failures[0] and "target=default" in failures[0]
    assert token not in log


def test_disabled_enrichment_gives_no_environment_labels(stub, exporter_factory):
    exporter = exporter_factory(stub, overrides={"scalr": {"enrich_workspaces": False}})
    samples = wait_all_up(exporter, ACCOUNTS)
    assert_usage_exact(samples, ACCOUNTS)
    for key, labels in workspace_labels(samples).items():
        assert "environment_id" not in labels and "environment_name" not in labels, key
    assert not series(samples, ERRORS)
    time.sleep(1.5)  # another poll cycle
    assert stub.workspace_requests() == []


def previous_month():
    first_of_this = dt.datetime.now(dt.timezone.utc).date().replace(day=1)
    start = (first_of_this - dt.timedelta(days=1)).replace(day=1)
    return start, first_of_this, start.strftime("%Y-%m")


def assert_json_report_environments(document, accounts):
    relations = expected_environments(accounts)
    start, end, _ = previous_month()
    expected = helpers.expected_usage(start, end, accounts=accounts)
    seen = {}
    for account in document["accounts"]:
        for ws in account["workspaces"]:
            key = (account["account_id"], ws["id"])
            seen[key] = (ws["environment_id"], ws["environment_name"])
            assert (ws["runs"], ws["run_seconds"]) == \
                (expected.workspaces[key].runs, expected.workspaces[key].seconds), key
    assert set(seen) == set(expected.workspaces)
    assert seen == {k: relations[k] for k in seen}
    return seen


def test_on_demand_json_report_fills_environments(stub, sue_binary, tmp_path):
    token_file = tmp_path / "scalr.token"
    token_file.write_text(stub.token + "\n")
    config = helpers.exporter_config(stub, helpers.free_port(), token_file, None, None)
    path = tmp_path / "config.yaml"
    path.write_text(helpers.to_yaml(config), encoding="utf-8")
    _, _, key = previous_month()
    result = subprocess.run([str(sue_binary), "report", f"--config.file={path}",
                             f"--period={key}", "--output=-", "--format=json"],
                            capture_output=True, text=True, timeout=120, env=helpers._clean_env())
    assert result.returncode == 0, result.stderr
    seen = assert_json_report_environments(json.loads(result.stdout), ACCOUNTS)
    assert ("", "") in seen.values() and len(set(seen.values())) > 4


def test_scheduled_report_shares_the_pollers_listing(stub, exporter_factory, tmp_path):
    """The report scheduler's source shares the target's cache with the poller's: one listing per
    account for both, and the catch-up report's workspaces have their environments."""
    output = tmp_path / "reports"
    exporter = exporter_factory(stub, overrides={"reports": {
        "output_dir": str(output),
        "schedules": [{"name": "monthly", "cron": "* * * * *", "period": "previous_month",
                       "formats": ["json"]}]}})
    wait_until(lambda: sample_value(exporter.metrics(),
                                    "scalr_exporter_report_last_success_timestamp_seconds",
                                    schedule="monthly") is not None, 60, 0.2, "the catch-up report")
    wait_all_up(exporter, ACCOUNTS)
    _, _, key = previous_month()
    seen = {}
    for account in ACCOUNTS:
        document = json.loads((output / "monthly" / f"scalr-usage_{account}_{key}.json")
                              .read_text(encoding="utf-8"))
        seen.update(assert_json_report_environments(document, [account]))
    assert ("", "") in seen.values() and len(set(seen.values())) > 4
    listings = [r["params"]["filter[account]"] for r in stub.workspace_requests()]
    assert sorted(listings) == sorted(ACCOUNTS)
    assert not re.search(r"level=error", exporter.log_text())
