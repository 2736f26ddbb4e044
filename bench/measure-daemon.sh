#!/usr/bin/env bash
# The daemon's own costs, and how they grow with the number of workspaces (docs/performance.md):
#
#   bench/measure-daemon.sh [--scales "1000 10000 100000"] [--sources "postgres scalr_api"]
#                           [--duration SECONDS] [--connections C] [--threads T] [--no-reports]
#                           [--keep]
#
# For every source and scale (workspaces; 10000 is sample_data's "large" profile, the others are
# built by the same rules, see bench/gen_pg_large.py):
#   postgres   a throwaway PostgreSQL 15 cluster loaded with that month of runs;
#   scalr_api  the stand-in Scalr server (tests/scalr_stub via bench/scaled_stub.py) on that profile;
# the daemon is started twice and measured:
#   - polling (poll.interval 3 s + 1 s per 1000 workspaces): the first poll's wall time from launch
#     (the stand-in's caches are cold); the CPU (utime + stime from /proc/PID/stat) the daemon uses
#     from the end of the second poll cycle to the end of the third (one warm poll; "the end" is
#     the last account's log line and then no CPU used for 0.5 s, as the last publication renders
#     after that line); the scalr_exporter_last_poll_duration_seconds it then reports (largest and
#     sum over accounts); VmRSS after the second and third cycles, VmHWM after three;
#   - serving (poll.interval 1h: one poll at start, then only scrapes):
#   - for postgres, the default query (collectors/postgres/queries.h) alone: EXPLAIN ANALYZE's
#     execution time, and psql's round trip for the whole result;
#     exposition bytes (plain and gzip) and series; wrk on /metrics (--duration s, --connections, --threads), plain and gzip: requests/s,
#     p50/p99 latency, the daemon's CPU per request; VmHWM at the end;
#   - at 10000 workspaces, unless --no-reports: `scalr-usage-exporter report` of the month in all
#     four formats, twice (cold, then warm caches): wall, user + system time, max RSS (GNU time),
#     files and bytes written.
# Prints one block per run and a table at the end. Needs what compare-sql-exporter.sh needs, except
# prometheus-sql-exporter. Cleans up everything it starts on exit.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SCALES="1000 10000 100000"
SOURCES="postgres scalr_api"
DURATION=10
CONNECTIONS=8
THREADS=2
REPORTS=1
while (($#)); do
  case $1 in
    --scales) SCALES=$2; shift 2 ;;
    --sources) SOURCES=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --no-reports) REPORTS=0; shift ;;
    --keep) SUE_BENCH_KEEP=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
for s in $SOURCES; do [[ $s == postgres || $s == scalr_api ]] || die "unknown source $s"; done

need_common_tools
need_tools wrk /usr/bin/time
BIN=$(find_binary)
new_dir WORK measure
MONTH=$(date -u +%Y-%m)
MONTH_START="$MONTH-01T00:00:00Z"
MONTH_END=$(date -u -d "$MONTH-01 +1 month" +%Y-%m-01T00:00:00Z)
RESULTS=$WORK/results.txt # lines: SOURCE SCALE KEY VALUE
: >"$RESULTS"

machine_summary
echo "daemon: $BIN ($("$BIN" --version 2>&1 | head -1))"
echo "month: $MONTH; wrk: ${DURATION}s, $CONNECTIONS connections, $THREADS threads"

record() { # record SOURCE SCALE KEY VALUE
  printf '%s %s %s %s\n' "$1" "$2" "$3" "$4" >>"$RESULTS"
  printf '  %-28s %s\n' "$3" "$4"
}

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

polls_done() { grep -c 'msg="poll succeeded"' "$1" || true; }

# wait_polls LOG PID COUNT TIMEOUT: until COUNT accounts have been polled in all.
wait_polls() {
  local log_file=$1 pid=$2 want=$3 deadline=$((SECONDS + $4))
  until (($(polls_done "$log_file") >= want)); do
    alive "$pid" || die "the daemon exited: $(tail -5 "$log_file")"
    if grep -q 'msg="poll failed' "$log_file"; then die "a poll failed: $(grep 'msg="poll failed' "$log_file" | tail -2)"; fi
    ((SECONDS < deadline)) || die "polls did not finish within $4 s: $(tail -3 "$log_file")"
    sleep 0.02
  done
}

# wait_idle PID: until the process has used no CPU for half a second. A poll cycle logs its last
# "poll succeeded" before it publishes (renders) the last snapshot; this waits for that too.
wait_idle() {
  local pid=$1 last now still=0 deadline=$((SECONDS + 120))
  last=$(cpu_ticks "$pid")
  while ((still < 5)); do
    sleep 0.1
    now=$(cpu_ticks "$pid")
    if ((now == last)); then still=$((still + 1)); else still=0; fi
    last=$now
    ((SECONDS < deadline)) || die "process $pid did not go idle within 120 s"
  done
}

# poll_durations URL: the largest and the sum of scalr_exporter_last_poll_duration_seconds. The
# API source polls the accounts one after the other (a cycle takes the sum); with PostgreSQL every
# account's figure includes the one query that read them all (a cycle takes about the largest).
poll_durations() {
  curl -fsS "$1" | awk '/^scalr_exporter_last_poll_duration_seconds\{/ { if ($NF > m) m = $NF; s += $NF } END { printf "%.3f %.3f\n", m, s }'
}

# ---- one measured daemon --------------------------------------------------------------------------
# start_daemon CONFIG LOG: sets DAEMON_PID and DAEMON_URL.
start_daemon() {
  local port
  port=$(awk -F'[:"]' '/listen_address/ { print $(NF-1) }' "$1")
  DAEMON_URL="http://127.0.0.1:$port/metrics"
  "$BIN" --config.file="$1" --log.level=debug >"$2" 2>&1 &
  DAEMON_PID=$!
  track "$DAEMON_PID"
}

stop_daemon() {
  stop_pid "$DAEMON_PID"
  ((STOP_RC == 0)) || die "the daemon exited with $STOP_RC on SIGTERM"
}

# measure SOURCE SCALE YAML ACCOUNTS: YAML = the source's part of the config, ACCOUNTS = how many
# accounts one poll cycle covers.
measure() {
  local source=$1 scale=$2 yaml=$3 accounts=$4 start c1 c2 log_file interval enc durations
  echo "-- $source, $scale workspaces"

  # Polling: cycles poll.interval apart (start to start), longer than a warm poll. The first
  # cycle meets cold caches (the stand-in aggregates an account-month on first use) and may run
  # into the second; the CPU the daemon uses from the end of the second cycle to the end of the
  # third is one warm poll (plus the idle time between them, ~0).
  interval=$((3 + scale / 1000))
  daemon_config "$WORK/poll-$source-$scale.yml" "${interval}s" "$yaml"
  log_file=$WORK/poll-$source-$scale.log
  start=$(date +%s.%N)
  start_daemon "$WORK/poll-$source-$scale.yml" "$log_file"
  wait_polls "$log_file" "$DAEMON_PID" "$accounts" 1800
  record "$source" "$scale" first_poll_wall_s "$(elapsed "$start" "$(date +%s.%N)")"
  wait_polls "$log_file" "$DAEMON_PID" $((2 * accounts)) 1800
  wait_idle "$DAEMON_PID"
  c1=$(cpu_ticks "$DAEMON_PID")
  record "$source" "$scale" rss_after_poll_kb "$(status_kb "$DAEMON_PID" VmRSS)"
  wait_polls "$log_file" "$DAEMON_PID" $((3 * accounts)) 1800
  wait_idle "$DAEMON_PID"
  c2=$(cpu_ticks "$DAEMON_PID")
  record "$source" "$scale" poll_interval_s "$interval"
  record "$source" "$scale" poll_cpu_s "$(awk -v t="$((c2 - c1))" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')"
  record "$source" "$scale" rss_after_3_polls_kb "$(status_kb "$DAEMON_PID" VmRSS)"
  record "$source" "$scale" hwm_polling_kb "$(status_kb "$DAEMON_PID" VmHWM)"
  read -r -a durations < <(poll_durations "$DAEMON_URL")
  record "$source" "$scale" last_poll_duration_s "${durations[0]}"
  record "$source" "$scale" last_poll_duration_sum_s "${durations[1]}"
  stop_daemon

  # Serving: one poll at start, then only scrapes.
  daemon_config "$WORK/serve-$source-$scale.yml" 1h "$yaml"
  log_file=$WORK/serve-$source-$scale.log
  start_daemon "$WORK/serve-$source-$scale.yml" "$log_file"
  wait_polls "$log_file" "$DAEMON_PID" "$accounts" 1800
  wait_idle "$DAEMON_PID"
  while IFS='=' read -r k v; do record "$source" "$scale" "$k" "$v"; done \
    < <("$PYTHON" "$BENCH_DIR/perf_lib.py" exposition "$DAEMON_URL")
  for enc in plain gzip; do
    run_wrk "$WORK/wrk-$source-$scale-$enc.txt" "$DAEMON_PID" "$DAEMON_URL" "$DURATION" \
      "$CONNECTIONS" "$THREADS" "$enc"
    "$PYTHON" "$BENCH_DIR/perf_lib.py" wrk-record "$WORK/wrk-$source-$scale-$enc.txt" "$WRK_TICKS" \
      "$CLK_TCK" "$source" "$scale" "$enc" >>"$RESULTS"
    grep " $scale ${enc}_" "$RESULTS" | grep "^$source " | while read -r _ _ k v; do printf '  %-28s %s\n' "$k" "$v"; done
  done
  record "$source" "$scale" hwm_kb "$(status_kb "$DAEMON_PID" VmHWM)"
  stop_daemon
  if ((REPORTS)) && [[ $scale == 10000 ]]; then report "$source" "$scale" "$WORK/serve-$source-$scale.yml"; fi
}

# report SOURCE SCALE CONFIG: the month's reports in all formats, timed, twice: the first run
# meets cold caches (the stand-in aggregates each account-month on first use, PostgreSQL reads
# from disk), the second shows the exporter's own cost better.
report() {
  local source=$1 scale=$2 config=$3 out run t suffix
  for run in 1 2; do
    out=$WORK/reports-$source-$scale-$run
    suffix=""
    if ((run == 2)); then suffix=_warm; fi
    bg_wait /usr/bin/time -f '%e %U %S %M' -o "$WORK/report-time.txt" \
      "$BIN" report --config.file="$config" --period="$MONTH" --output="$out" \
      >"$WORK/report-$source.out" 2>"$WORK/report-$source.err" ||
      die "report failed: $(tail -3 "$WORK/report-$source.err")"
    read -r -a t <"$WORK/report-time.txt"
    record "$source" "$scale" "report_wall${suffix}_s" "${t[0]}"
    record "$source" "$scale" "report_cpu${suffix}_s" "$(awk -v u="${t[1]}" -v s="${t[2]}" 'BEGIN { printf "%.2f", u + s }')"
  done
  record "$source" "$scale" report_max_rss_kb "${t[3]}"
  record "$source" "$scale" report_files "$(find "$out" -type f | wc -l)"
  record "$source" "$scale" report_bytes "$(du -sb "$out" | cut -f1)"
}

daemon_config() { # daemon_config FILE INTERVAL SOURCE-SPECIFIC-YAML
  cat >"$1" <<EOF
web:
  listen_address: "127.0.0.1:$(free_port)"
poll:
  interval: $2
$3
EOF
}

# ---- PostgreSQL -------------------------------------------------------------------------------------
explain_query() { # the default query alone: EXPLAIN ANALYZE execution time, and a timed round trip
  local scale=$1 query
  query=$("$PYTHON" "$BENCH_DIR/perf_lib.py" default-query "$REPO_ROOT")
  printf "SET TimeZone = 'UTC';\nPREPARE q(timestamptz, timestamptz) AS\n%s;\n" "$query" >"$WORK/query.sql"
  printf "EXPLAIN (ANALYZE, BUFFERS) EXECUTE q('%s', '%s');\n" "$MONTH_START" "$MONTH_END" >>"$WORK/query.sql"
  printf '\\timing on\n\\o /dev/null\nEXECUTE q('"'%s', '%s'"');\nEXECUTE q('"'%s', '%s'"');\n' \
    "$MONTH_START" "$MONTH_END" "$MONTH_START" "$MONTH_END" >>"$WORK/query.sql"
  bg_wait psql_db scalr -f "$WORK/query.sql" >"$WORK/explain-$scale.txt" 2>&1 || die "EXPLAIN failed: $(tail -3 "$WORK/explain-$scale.txt")"
  record postgres "$scale" query_execution_ms "$(awk '/Execution Time:/ { print $3 }' "$WORK/explain-$scale.txt")"
  record postgres "$scale" query_round_trip_ms "$(awk '/^Time:/ { t = $2 } END { print t }' "$WORK/explain-$scale.txt")"
  record postgres "$scale" query_rows "$(psql_db scalr -c "SELECT count(*) FROM (SELECT 1 FROM scalr_runs WHERE finished_at >= '$MONTH_START' AND finished_at < '$MONTH_END' GROUP BY account_id, environment_id, workspace_id, (finished_at AT TIME ZONE 'UTC')::date) r")"
}

if [[ " $SOURCES " == *" postgres "* ]]; then
  pg_start
  loaded=0
  for scale in $SCALES; do
    log "PostgreSQL: loading $scale workspaces"
    if ((loaded)); then pg_reload "$scale" "$MONTH"; else pg_load "$scale" "$MONTH"; loaded=1; fi
    record postgres "$scale" runs "$(psql_db scalr -c 'SELECT count(*) FROM scalr_runs')"
    explain_query "$scale"
    accounts=$(psql_db scalr -c "SELECT count(DISTINCT account_id) FROM scalr_runs WHERE finished_at >= '$MONTH_START' AND finished_at < '$MONTH_END'")
    measure postgres "$scale" "source: postgres
postgres:
  dsn: \"$(pg_dsn)\"
  statement_timeout: 300s" "$accounts"
  done
fi

# ---- the stand-in Scalr API ---------------------------------------------------------------------
if [[ " $SOURCES " == *" scalr_api "* ]]; then
  printf 'bench-token-%s' "$RANDOM$RANDOM" >"$WORK/token"
  chmod 600 "$WORK/token"
  for scale in $SCALES; do
    profile=$("$PYTHON" "$BENCH_DIR/gen_pg_large.py" profile --workspaces "$scale")
    log "stand-in Scalr API: profile $profile"
    "$PYTHON" "$BENCH_DIR/scaled_stub.py" --listen 127.0.0.1:0 --token-file "$WORK/token" \
      --profile "$profile" --port-file "$WORK/stub-$scale.port" >/dev/null 2>"$WORK/stub-$scale.log" &
    stub_pid=$!
    track "$stub_pid"
    for _ in $(seq 200); do [[ -s $WORK/stub-$scale.port ]] && break; sleep 0.05; done
    [[ -s $WORK/stub-$scale.port ]] || die "the stand-in did not start: $(tail -3 "$WORK/stub-$scale.log")"
    measure scalr_api "$scale" "scalr:
  url: http://127.0.0.1:$(cat "$WORK/stub-$scale.port")
  token_file: $WORK/token
  accounts: [acc-ttpu7uslju6igv8, acc-demo2000000001, acc-tiny3000000003, acc-empty400000004]
  timeout: 300s" 4
    stop_pid "$stub_pid"
  done
fi

echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PYTHON" "$BENCH_DIR/perf_lib.py" cost-table "$RESULTS"
if [[ ${SUE_BENCH_KEEP:-0} == 1 ]]; then echo "raw results: $RESULTS"; fi
