-- The schedule state of scalr-usage-exporter's report leader election (reports.leader_election).
--
-- Replicas with the same lock_key elect one writer of the scheduled reports through a PostgreSQL
-- advisory lock, and keep here which period each schedule last wrote, so that a new leader never
-- writes a period again and catches up a missed one exactly once. One row per lock key and
-- schedule; the exporter reads and writes only its own lock key's rows.
--
-- The exporter creates this table itself when it leads for the first time, if its role may
-- (CREATE on the schema). Otherwise create it beforehand with:
--   psql -v ON_ERROR_STOP=1 -d scalr -f report_state.sql
-- It is idempotent (IF NOT EXISTS). The exporter's role then needs, for example:
--   GRANT CONNECT ON DATABASE scalr TO exporter;
--   GRANT USAGE ON SCHEMA public TO exporter;
--   GRANT SELECT, INSERT, UPDATE ON scalr_usage_exporter_report_state TO exporter;
--   GRANT SELECT, INSERT, UPDATE, DELETE ON scalr_usage_exporter_report_delivery TO exporter;
-- (The table is found through the role's search_path, like any unqualified name.)

CREATE TABLE IF NOT EXISTS scalr_usage_exporter_report_state (
  lock_key   text        NOT NULL,
  schedule   text        NOT NULL,
  period_key text        NOT NULL,
  fire_time  timestamptz NOT NULL,
  written_at timestamptz NOT NULL,
  PRIMARY KEY (lock_key, schedule)
);

COMMENT ON TABLE scalr_usage_exporter_report_state IS
    'The last report period each schedule of scalr-usage-exporter wrote, per leader election lock key.';

-- The deliveries of the written reports (reports.schedules[].webhook, .email): one row per lock key,
-- schedule, account, period and channel, so a new leader continues the pending ones and never
-- sends a sent one again. `record` is the exporter's own JSON (the summary, the file names, the
-- attempts); it never holds a password or a webhook URL. Finished rows of older periods are
-- deleted as the schedule moves on.
CREATE TABLE IF NOT EXISTS scalr_usage_exporter_report_delivery (
  lock_key   text        NOT NULL,
  schedule   text        NOT NULL,
  account    text        NOT NULL,
  period_key text        NOT NULL,
  channel    text        NOT NULL,
  finished   boolean     NOT NULL,
  record     text        NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (lock_key, schedule, account, period_key, channel)
);

COMMENT ON TABLE scalr_usage_exporter_report_delivery IS
    'The deliveries (email, webhook) of the reports scalr-usage-exporter wrote, per leader election lock key.';
