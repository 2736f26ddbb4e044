"""The optional columns of the PostgreSQL source's query contract, account_name and
workspace_tags, with the real daemon against throwaway PostgreSQL 15 clusters (etc/postgres/
schema.sql and the generated runs, helpers.runs_of_row, whose names and tags helpers.py defines).

The expected names and tags are those of the latest run that has them, computed here from the
generated runs (helpers.expected_account_names, expected_workspace_tags). Names show in
scalr_account_info; tags are in no metric of their own, so a `chargeback:` section whose rules
read them shows, through scalr_workspace_chargeback_info, what the daemon made of every
workspace's tags, and helpers.chargeback_classify says independently what that must be.
"""

from __future__ import annotations

import datetime as dt

import helpers
from helpers import sample_data, wait_until
from test_postgres import (EMPTY, MAIN, TINY, account_info_names, assert_exact, current_month,
                           run_binary, wait_up, write_config)


# Tags are in no metric of their own; chargeback rules match on them, so the chargeback info
# metric shows what the exporter made of every workspace's tags.
TAG_CHARGEBACK = {
    "labels": ["team", "cost_center", "named"],
    "rules": [{"match": {"workspace_tag": "team:*"},
               "set": {"team": "{tag:team}", "cost_center": "{tag:cost-center}",
                       "named": "{tag:name}"}}],
    "default": {"team": "untagged"},
}


def chargeback_info(samples) -> dict:
    """{(account_id, workspace_id): (team, cost_center, named)} of scalr_workspace_chargeback_info."""
    out = {}
    for (name, labels), value in samples.items():
        if name == "scalr_workspace_chargeback_info":
            d = dict(labels)
            out[(d["account_id"], d["workspace_id"])] = (d["team"], d["cost_center"], d["named"])
    return out


def expected_chargeback(expected, tags) -> dict:
    """TAG_CHARGEBACK applied (helpers.chargeback_classify) to every workspace of expected with
    the tags given, {(account, workspace): [names]} (absent: none)."""
    out = {}
    for key in expected.workspaces:
        environment = expected.workspace_environments[key]
        facts = {"account_id": key[0], "workspace_id": key[1],
                 "workspace_name": expected.workspace_names[key] or "",
                 "environment_id": environment,
                 "environment_name": expected.environment_names[(key[0], environment)],
                 "tags": tags.get(key, [])}
        out[key] = helpers.chargeback_classify(TAG_CHARGEBACK, facts)
    return out


def test_account_names_and_workspace_tags_come_from_the_latest_run_that_has_them(
        postgres, pg_runs, pg_exporter_factory):
    start, end = current_month()
    expected = helpers.expected_from_runs(pg_runs, start, end)
    names = helpers.expected_account_names(pg_runs, start, end)
    tags = helpers.expected_workspace_tags(pg_runs, start, end)
    # The data must exercise what is tested: names (the renamed account's depends on the day;
    # a rarely used account may have no named run yet this month), runs without a name or tags,
    # workspaces whose latest tags are none at all, and tags that need quoting in an array.
    assert {MAIN, sample_data.ACCOUNT_DEMO} <= set(names) <= set(expected.accounts)
    assert names[helpers.RENAMED_ACCOUNT].startswith(sample_data.ACCOUNT_NAMES[helpers.RENAMED_ACCOUNT])
    assert names[sample_data.ACCOUNT_DEMO] == sample_data.ACCOUNT_NAME_HOSTILE
    in_month = [r for r in pg_runs if start <= r.finished_at.date() < end]
    assert any(r.account_name is None for r in in_month)
    assert any(r.workspace_tags is None for r in in_month)
    assert any(t == [] for t in tags.values())
    assert set(tags) < set(expected.workspaces)  # some workspaces never say
    all_tags = {t for ts in tags.values() for t in ts}
    for hostile in (sample_data.NAME_QUOTE, sample_data.NAME_BACKSLASH, sample_data.NAME_NEWLINE,
                    sample_data.NAME_UTF8):
        assert f"name:{hostile}" in all_tags, hostile

    exporter = pg_exporter_factory(postgres, overrides={"chargeback": TAG_CHARGEBACK})
    samples = wait_up(exporter, expected.accounts)
    assert account_info_names(samples) == {a: names.get(a, "") for a in expected.accounts}
    want = expected_chargeback(expected, tags)
    teams = {v[0] for v in want.values()}
    assert "untagged" in teams and teams & set(helpers.TAG_TEAMS), teams
    got = wait_until(lambda: (lambda g: g if len(g) == len(want) else None)(
        chargeback_info(exporter.metrics())), 30, 0.2, "every workspace labelled")
    assert got == want
    assert_exact(samples, expected)  # the optional columns change no number


def test_account_names_survive_a_filter_and_idle_accounts_stay_unnamed(postgres, pg_runs,
                                                                       pg_exporter_factory):
    start, end = current_month()
    names = helpers.expected_account_names(pg_runs, start, end)
    exporter = pg_exporter_factory(postgres, accounts=[sample_data.ACCOUNT_DEMO, EMPTY])
    samples = wait_up(exporter, [sample_data.ACCOUNT_DEMO, EMPTY])
    # EMPTY has a name in the sample data but no runs, so the database never says it.
    assert account_info_names(samples) == {sample_data.ACCOUNT_DEMO: names[sample_data.ACCOUNT_DEMO],
                                           EMPTY: ""}


WRONG_TAGS_QUERY = """SELECT account_id, environment_id, environment_name, workspace_id,
       workspace_name, (finished_at AT TIME ZONE 'UTC')::date AS date, 1 AS runs_count,
       duration_seconds AS runs_seconds, array_to_string(workspace_tags, ',') AS workspace_tags
  FROM scalr_runs WHERE finished_at >= $1 AND finished_at < $2"""


def test_workspace_tags_of_the_wrong_type_fails_before_listening(postgres, sue_binary, tmp_path):
    config = write_config(tmp_path, postgres, query=WRONG_TAGS_QUERY)
    want = ("postgres.query: column workspace_tags is text, want an array of tag names (text[]; "
            "cast with ::text[])")
    result = run_binary(sue_binary, config)
    assert result.returncode == 1, result.stderr
    assert want in result.stderr and "msg=listening" not in result.stderr
    check = run_binary(sue_binary, config, "--check-config")
    assert check.returncode == 1
    assert check.stderr.startswith(want), check.stderr
    # Cast as the message says, the same query runs.
    fixed = write_config(tmp_path, postgres, query=WRONG_TAGS_QUERY.replace(
        "array_to_string(workspace_tags, ',')", "string_to_array(array_to_string(workspace_tags, "
        "','), ',')::varchar[]"))
    ok = run_binary(sue_binary, fixed, "--check-config")
    assert ok.returncode == 0, ok.stderr


# The table as etc/postgres/schema.sql created it before account_name and workspace_tags.
OLD_SCHEMA = """CREATE TABLE scalr_runs (
    run_id           text        PRIMARY KEY,
    account_id       text        NOT NULL,
    environment_id   text        NOT NULL,
    environment_name text,
    workspace_id     text        NOT NULL,
    workspace_name   text,
    finished_at      timestamptz NOT NULL,
    duration_seconds bigint      NOT NULL CHECK (duration_seconds >= 0)
);
CREATE INDEX scalr_runs_finished_at_idx ON scalr_runs (finished_at);"""


def test_an_old_table_keeps_working_and_is_upgraded_in_place_by_schema_sql(
        postgres_factory, pg_runs, pg_exporter_factory):
    server = postgres_factory(load=False)
    server.psql(f"CREATE ROLE {helpers.PG_USER} LOGIN PASSWORD "
                f"{helpers.sql_literal(helpers.PG_PASSWORD)}", db="postgres")
    server.psql(f"CREATE DATABASE {helpers.PG_DB}", db="postgres")
    server.psql(OLD_SCHEMA + f"; GRANT SELECT ON scalr_runs TO {helpers.PG_USER}")
    server.load_runs(pg_runs, columns=helpers.Run._fields[:8])
    start, end = current_month()
    expected = helpers.expected_from_runs(pg_runs, start, end)

    # An exporter upgraded before its database: the default query does without the new columns.
    exporter = pg_exporter_factory(server, overrides={"chargeback": TAG_CHARGEBACK})
    samples = wait_up(exporter, expected.accounts)
    assert_exact(samples, expected)
    assert account_info_names(samples) == {a: "" for a in expected.accounts}
    assert set(v[0] for v in chargeback_info(samples).values()) == {"untagged"}
    warning = "scalr_runs has no account_name and workspace_tags columns"
    assert exporter.log_text().count(warning) == 1, exporter.log_text()[-3000:]

    # Loading schema.sql again adds the columns (twice: it stays idempotent), keeps every row.
    for _ in range(2):
        server.psql(file=helpers.SCHEMA_SQL)
    columns = server.psql("SELECT column_name || ' ' || udt_name FROM information_schema.columns "
                          "WHERE table_name = 'scalr_runs' ORDER BY ordinal_position")
    assert columns.split("\n")[8:10] == ["account_name text", "workspace_tags _text"]
    assert int(server.psql("SELECT count(*) FROM scalr_runs WHERE account_name IS NULL AND "
                           "workspace_tags IS NULL")) == len(pg_runs)
    assert server.psql("SELECT col_description('scalr_runs'::regclass, 10)").strip()

    # The running exporter reads them from its next poll: the latest run of the month, with a
    # name and tags, in a new workspace.
    last = dt.datetime.combine(end, dt.time(0), dt.timezone.utc) - dt.timedelta(seconds=1)
    run = helpers.Run("run-after-upgrade", TINY, "env-upgrade000000000", "upgrade",
                      "ws-upgrade0000000000", "after-upgrade", last, 60,
                      'Tiny "upgraded"', ("team:upgrade", "cost-center:CC-9"))
    server.load_runs([run])
    samples = wait_until(lambda: (lambda s: s if account_info_names(s).get(TINY)
                                  else None)(exporter.metrics()), 20, 0.1, "the name")
    assert account_info_names(samples) == {**{a: "" for a in expected.accounts},
                                           TINY: 'Tiny "upgraded"'}
    got = wait_until(lambda: chargeback_info(exporter.metrics()).get((TINY, run.workspace_id)),
                     20, 0.1, "the new workspace labelled")
    assert got == ("upgrade", "CC-9", "")
    assert exporter.log_text().count(warning) == 1
