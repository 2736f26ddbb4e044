-- Schema for the PostgreSQL source of scalr-usage-exporter (`source: postgres`).
--
-- One row per finished Scalr run, written by whatever feeds your run history (webhooks, audit
-- exports, an ETL). The exporter only reads it, with the default query in README.md
-- ("PostgreSQL source"), which sums the runs per UTC day and workspace for the current month.
--
-- Load it with:   psql -v ON_ERROR_STOP=1 -d scalr -f schema.sql
-- It is idempotent (IF NOT EXISTS), so loading it again changes nothing, and loading it over the
-- table of an earlier version upgrades that table in place: the columns added since then are
-- added (ADD COLUMN IF NOT EXISTS, nullable without a default: no rewrite of the table, only a
-- brief lock), and the rows already there keep NULL in them (unknown).
--
-- The exporter needs no more than read access, for example:
--   CREATE ROLE exporter LOGIN PASSWORD '...';
--   GRANT CONNECT ON DATABASE scalr TO exporter;
--   GRANT USAGE ON SCHEMA public TO exporter;
--   GRANT SELECT ON scalr_runs TO exporter;

CREATE TABLE IF NOT EXISTS scalr_runs (
    run_id           text        PRIMARY KEY,          -- Scalr's run id, e.g. run-v0o1ld3a4p0jm6g8i
    account_id       text        NOT NULL,             -- acc-...
    environment_id   text        NOT NULL,             -- env-...
    environment_name text,                             -- NULL when unknown
    workspace_id     text        NOT NULL,             -- ws-...
    workspace_name   text,                             -- NULL when unknown
    finished_at      timestamptz NOT NULL,             -- when the run finished; it counts in that month
    duration_seconds bigint      NOT NULL CHECK (duration_seconds >= 0)  -- billed run time
);

COMMENT ON TABLE scalr_runs IS
    'Finished Scalr runs, one row each; read by scalr-usage-exporter (source: postgres).';

-- Added later, so added separately: the same statement creates them in a new table and upgrades
-- an old one. Both nullable: NULL means unknown, and the default query then takes the value of
-- the latest run that has one (see README.md, "PostgreSQL source").
ALTER TABLE scalr_runs
    ADD COLUMN IF NOT EXISTS account_name   text,
    -- One dimension, counted from 1: the text form the exporter reads is then a plain {a,b} list.
    ADD COLUMN IF NOT EXISTS workspace_tags text[]
        CHECK (array_ndims(workspace_tags) = 1 AND array_lower(workspace_tags, 1) = 1);

COMMENT ON COLUMN scalr_runs.account_name IS
    'The account''s name when the run finished; NULL when unknown. scalr_account_info shows the '
    'name of the account''s latest run that has one.';
COMMENT ON COLUMN scalr_runs.workspace_tags IS
    'The workspace''s tag names when the run finished (e.g. {team:payments,cost-center:CC-100}); '
    'NULL when unknown, {} when it had none. Chargeback rules match on the tags of the '
    'workspace''s latest run that has them.';

-- Every poll reads one month of runs, [first second of the month, first second of the next), over
-- all accounts: a range scan on finished_at.
CREATE INDEX IF NOT EXISTS scalr_runs_finished_at_idx ON scalr_runs (finished_at);
