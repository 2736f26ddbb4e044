-- Schema for the PostgreSQL source of scalr-usage-exporter (`source: postgres`).
--
-- One row per finished Scalr run, written by whatever feeds your run history (webhooks, audit
-- exports, an ETL). The exporter only reads it, with the default query in README.md
-- ("PostgreSQL source"), which sums the runs per UTC day and workspace for the current month.
--
-- Load it with:   psql -v ON_ERROR_STOP=1 -d scalr -f schema.sql
-- It is idempotent (IF NOT EXISTS), so loading it again changes nothing.
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

-- Every poll reads one month of runs, [first second of the month, first second of the next), over
-- all accounts: a range scan on finished_at.
CREATE INDEX IF NOT EXISTS scalr_runs_finished_at_idx ON scalr_runs (finished_at);
