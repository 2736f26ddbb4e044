"""Chargeback in the metrics: scalr_workspace_chargeback_info labels every workspace as the
`chargeback:` rules say (first match, globs, ~regular expressions, tags, the default), for the
PostgreSQL source and for the API source with workspace enrichment; SIGHUP swaps the rules; a bad
rule is refused naming it. The expected labels come from helpers.chargeback_classify, the rule
semantics written again in Python, applied to the test data's own relations, never read back from
the daemon. (Reports: test_report_chargeback.py; Prometheus recording rules and the dashboard's
By team row: test_prometheus_e2e.py.)"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess

import helpers
from helpers import sample_data, wait_until

INFO = "scalr_workspace_chargeback_info"

# Every kind of rule hits at least one workspace of the sample data (asserted below): a glob on
# the environment name, a searched regular expression on the workspace name, two keys that must
# both match, and the default for the rest.
SECTION = {
    "labels": ["team", "cost_center"],
    "rules": [
        {"match": {"environment_name": "prod*"}, "set": {"team": "payments", "cost_center": "CC-100"}},
        {"match": {"workspace_name": "~[05]$"}, "set": {"team": "data"}},
        {"match": {"account_id": sample_data.ACCOUNT_TINY, "workspace_id": "ws-*"},
         "set": {"team": "tiny-{workspace_name}"}},
    ],
    "default": {"team": "unallocated", "cost_center": "CC-{account_id}"},
}


def current_month():
    today = dt.datetime.now(dt.timezone.utc).date()
    return helpers.month_bounds(today.year, today.month)


def info_labels(samples) -> dict:
    """{(account_id, workspace_id): (team, cost_center)} of the info series, each exactly 1."""
    out = {}
    for (name, labels), value in samples.items():
        if name != INFO:
            continue
        assert value == 1, labels
        d = dict(labels)
        assert set(d) == {"account_id", "workspace_id", "team", "cost_center"}, d
        out[(d["account_id"], d["workspace_id"])] = (d["team"], d["cost_center"])
    return out


def expected_labels(expected, section, tags=None) -> dict:
    """What the rules give every workspace of `expected` (helpers.Expected), from the data's own
    names and environment relation; tags: {(account, workspace): [tag names]}."""
    out = {}
    for (account, workspace) in expected.workspaces:
        env = expected.workspace_environments.get((account, workspace), "")
        facts = {"account_id": account, "workspace_id": workspace,
                 "workspace_name": expected.workspace_names.get((account, workspace), ""),
                 "environment_id": env,
                 "environment_name": expected.environment_names.get((account, env), ""),
                 "tags": (tags or {}).get((account, workspace), [])}
        out[(account, workspace)] = helpers.chargeback_classify(section, facts)
    return out


def rule_hits(expected_by_workspace) -> set:
    """Which of SECTION's rules decided at least one workspace, told apart by the team they set."""
    def decided_by(team):
        return {"payments": 0, "data": 1, "unallocated": "default"}.get(
            team, 2 if team.startswith("tiny-") else None)
    return {decided_by(team) for team, _ in expected_by_workspace.values()}


def test_postgres_workspaces_are_labelled_as_the_rules_say(postgres, pg_runs, pg_exporter_factory):
    start, end = current_month()
    expected = helpers.expected_from_runs(pg_runs, start, end)
    want = expected_labels(expected, SECTION)
    assert rule_hits(want) == {0, 1, 2, "default"}, "the data must exercise every rule"
    exporter = pg_exporter_factory(postgres, overrides={"chargeback": SECTION})
    got = wait_until(lambda: info_labels(exporter.metrics()) or None, 30, 0.2, "chargeback info")
    got = wait_until(lambda: (lambda g: g if len(g) == len(want) else None)(
        info_labels(exporter.metrics())), 30, 0.2, "every workspace labelled")
    assert got == want
    # The usage series keep their label sets: no chargeback label on them.
    for (name, labels) in exporter.metrics():
        if name.startswith("scalr_workspace_run"):
            assert "team" not in dict(labels), labels


def test_sighup_swaps_the_rules_and_a_bad_rule_is_refused_naming_it(postgres, pg_runs,
                                                                   pg_exporter_factory):
    start, end = current_month()
    expected = helpers.expected_from_runs(pg_runs, start, end)
    exporter = pg_exporter_factory(postgres, overrides={"chargeback": SECTION})
    wait_until(lambda: len(info_labels(exporter.metrics())) == len(expected.workspaces), 30, 0.2,
               "every workspace labelled")

    # A rule with an invalid regular expression: the reload is refused, the running rules stay.
    bad = helpers.deep_merge(exporter.config, {"chargeback": {"rules": SECTION["rules"] + [
        {"match": {"workspace_name": "~(unclosed"}, "set": {"team": "x"}}]}})
    exporter.config_path.write_text(helpers.to_yaml(bad), encoding="utf-8")
    exporter.signal(signal.SIGHUP)
    exporter.wait_for_log(r"chargeback\.rules\[3\]\.match\.workspace_name: invalid regular "
                          r"expression", 15)
    assert helpers.sample_value(exporter.metrics(), "scalr_exporter_config_last_reload_successful") == 0
    assert info_labels(exporter.metrics()) == expected_labels(expected, SECTION)

    # New labels and rules: every workspace relabelled, the old label names gone.
    swapped = {"labels": ["product"],
               "rules": [{"match": {"environment_name": "~^(staging|qa)$"}, "set": {"product": "{environment_name}-stack"}}],
               "default": {"product": "core"}}
    good = dict(exporter.config, chargeback=swapped)
    exporter.config_path.write_text(helpers.to_yaml(good), encoding="utf-8")
    exporter.signal(signal.SIGHUP)
    want = expected_labels(expected, swapped)
    assert {v for v in want.values()} >= {("core",), ("staging-stack",), ("qa-stack",)}

    def relabelled():
        got = {}
        for (name, labels), _ in exporter.metrics().items():
            if name == INFO:
                d = dict(labels)
                if set(d) != {"account_id", "workspace_id", "product"}:
                    return None
                got[(d["account_id"], d["workspace_id"])] = (d["product"],)
        return got if len(got) == len(want) else None
    assert wait_until(relabelled, 30, 0.2, "relabelled after SIGHUP") == want


def test_a_bad_rule_fails_the_start_and_check_config(sue_binary, tmp_path, postgres):
    config = helpers.postgres_exporter_config(helpers.free_port(), postgres.dsn(), (), {
        "chargeback": {"labels": ["team"], "rules": [{"match": {"workspace_team": "x"}}]}})
    path = tmp_path / "config.yaml"
    path.write_text(helpers.to_yaml(config), encoding="utf-8")
    for extra in ([], ["--check-config"]):
        r = subprocess.run([str(sue_binary), f"--config.file={path}", *extra],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1, (extra, r.stderr)
        assert "chargeback.rules[0].match.workspace_team: unknown match key" in r.stderr, r.stderr


def test_without_a_chargeback_section_there_is_no_info_metric(postgres, pg_exporter_factory):
    exporter = pg_exporter_factory(postgres)
    wait_until(lambda: helpers.sample_value(exporter.metrics(), "scalr_exporter_source_up") == 1,
               30, 0.2, "source up")
    text = exporter.scrape().body
    assert INFO not in (text.decode() if isinstance(text, bytes) else text)
