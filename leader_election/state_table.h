#pragma once
// What report leader election keeps in PostgreSQL, without a connection: the advisory lock's key,
// the statements, and the mapping between the state table's rows and a ScheduleState. The same
// table is shipped as etc/postgres/report_state.sql, for databases where the exporter's role may
// not create tables.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "reports/schedule_state.h"

namespace scalr_usage {

// The key of pg_try_advisory_lock(bigint): FNV-1a 64-bit over the bytes of lock_key (offset basis
// 14695981039346656037, prime 1099511628211, util/fnv1a.h), the unsigned result reinterpreted
// as a two's complement signed 64-bit integer, since PostgreSQL's bigint is signed. So
// "scalr-usage-reports" is 8014759142701856904 (docs/operations.md shows how to compute one).
std::int64_t advisory_lock_key(std::string_view lock_key);

namespace leader_sql {

inline constexpr std::string_view kTable = "scalr_usage_exporter_report_state";

// Keep in step with etc/postgres/report_state.sql (tests/integration/test_leader_election.py
// compares the two tables). One row per lock key and schedule: replicas of different lock keys
// may share a database without sharing their state.
inline constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS scalr_usage_exporter_report_state (\n"
    "  lock_key   text        NOT NULL,\n"
    "  schedule   text        NOT NULL,\n"
    "  period_key text        NOT NULL,\n"
    "  fire_time  timestamptz NOT NULL,\n"
    "  written_at timestamptz NOT NULL,\n"
    "  PRIMARY KEY (lock_key, schedule)\n"
    ")";

// Looked up first, so a role without CREATE on the schema works with a table made beforehand
// (CREATE TABLE IF NOT EXISTS checks the privilege before it looks). Follows search_path.
inline constexpr std::string_view kTableExists =
    "SELECT to_regclass('scalr_usage_exporter_report_state') IS NOT NULL";

// Session settings of the election's connection: a statement that hangs fails instead, and the
// server notices a leader that vanished (power loss, partition) within about 25 s
// (10 s + 3 x 5 s) and ends its session, which frees the lock.
inline constexpr std::string_view kSessionSettings =
    "SET statement_timeout = '10s'; SET lock_timeout = '5s'; "
    "SET idle_in_transaction_session_timeout = '60s'; SET tcp_keepalives_idle = 10; "
    "SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3";

// $1: the key. Session level: held until released or the session ends; never taken twice by one
// session (it would have to be released twice).
inline constexpr std::string_view kTryLock = "SELECT pg_try_advisory_lock($1::bigint)";

// $1: the key. Whether this session holds the lock: pg_locks shows a bigint key as its high half
// in classid and its low half in objid, with objsubid 1.
inline constexpr std::string_view kHoldsLock =
    "SELECT count(*) FROM pg_locks "
    "WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND classid::bigint = (($1::bigint >> 32) & 4294967295) "
    "AND objid::bigint = ($1::bigint & 4294967295) AND objsubid = 1";

// $1: the lock key (text). Times as Unix seconds, which need no time zone.
inline constexpr std::string_view kLoadState =
    "SELECT schedule, period_key, extract(epoch FROM fire_time)::bigint, "
    "extract(epoch FROM written_at)::bigint "
    "FROM scalr_usage_exporter_report_state WHERE lock_key = $1 ORDER BY schedule";

// $1 lock key, $2 schedule, $3 period key, $4 fire time, $5 written at (Unix seconds). Never back
// to an older fire time, like due_reports(): a late write of an old period cannot undo a newer one.
inline constexpr std::string_view kMarkWritten =
    "INSERT INTO scalr_usage_exporter_report_state AS s "
    "(lock_key, schedule, period_key, fire_time, written_at) "
    "VALUES ($1, $2, $3, to_timestamp($4::bigint), to_timestamp($5::bigint)) "
    "ON CONFLICT (lock_key, schedule) DO UPDATE SET period_key = EXCLUDED.period_key, "
    "fire_time = EXCLUDED.fire_time, written_at = EXCLUDED.written_at "
    "WHERE s.fire_time <= EXCLUDED.fire_time";

// The deliveries of the reports written (delivery/dispatcher.h): one row per lock key, schedule,
// account, period and channel; `record` is the delivery layer's JSON (reports/schedule_state.h
// StoredDelivery), never a secret. Keep in step with etc/postgres/report_state.sql.
inline constexpr std::string_view kDeliveryTable = "scalr_usage_exporter_report_delivery";
inline constexpr std::string_view kCreateDeliveryTable =
    "CREATE TABLE IF NOT EXISTS scalr_usage_exporter_report_delivery (\n"
    "  lock_key   text        NOT NULL,\n"
    "  schedule   text        NOT NULL,\n"
    "  account    text        NOT NULL,\n"
    "  period_key text        NOT NULL,\n"
    "  channel    text        NOT NULL,\n"
    "  finished   boolean     NOT NULL,\n"
    "  record     text        NOT NULL,\n"
    "  updated_at timestamptz NOT NULL DEFAULT now(),\n"
    "  PRIMARY KEY (lock_key, schedule, account, period_key, channel)\n"
    ")";
inline constexpr std::string_view kDeliveryTableExists =
    "SELECT to_regclass('scalr_usage_exporter_report_delivery') IS NOT NULL";
// $1: the lock key.
inline constexpr std::string_view kLoadDeliveries =
    "SELECT schedule, account, period_key, channel, finished, record "
    "FROM scalr_usage_exporter_report_delivery WHERE lock_key = $1";
// $1 lock key, $2 schedule, $3 account, $4 period key, $5 channel, $6 finished, $7 record. A
// finished delivery is never made pending again: a late record of an old leader cannot resend.
inline constexpr std::string_view kRecordDelivery =
    "INSERT INTO scalr_usage_exporter_report_delivery AS d "
    "(lock_key, schedule, account, period_key, channel, finished, record) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (lock_key, schedule, account, period_key, channel) DO UPDATE SET "
    "finished = EXCLUDED.finished, record = EXCLUDED.record, updated_at = now() "
    "WHERE NOT d.finished";
// $1 lock key, $2 schedule, $3 the period key before which finished deliveries are forgotten.
inline constexpr std::string_view kPruneDeliveries =
    "DELETE FROM scalr_usage_exporter_report_delivery "
    "WHERE lock_key = $1 AND schedule = $2 AND finished AND period_key < $3";

}  // namespace leader_sql

// One row of the state table, its times in Unix seconds.
struct StateRow {
  std::string schedule;
  std::string period_key;
  std::int64_t fire_time = 0;
  std::int64_t written_at = 0;

  friend bool operator==(const StateRow&, const StateRow&) = default;
};

// The row that records report as written at written_at.
StateRow state_row(const DueReport& report, std::chrono::sys_seconds written_at);

// The rows of one lock key as a ScheduleState (with no file). Throws ScheduleStateError naming
// the table and the schedule for a row that cannot be state: an empty schedule or period key, or
// a schedule twice.
ScheduleState state_from_rows(const std::vector<StateRow>& rows);

struct DeliveryRow {
  DeliveryKey key;
  StoredDelivery delivery;
};

// Adds the delivery rows to state. Throws ScheduleStateError for an empty key part.
void add_delivery_rows(ScheduleState& state, const std::vector<DeliveryRow>& rows);

}  // namespace scalr_usage
