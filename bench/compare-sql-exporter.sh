#!/usr/bin/env bash
# Side by side: scalr-usage-exporter (`source: postgres`) and Debian's prometheus-sql-exporter
# (justwatchcom sql_exporter 0.4.5) serving the same usage from the same throwaway PostgreSQL 15
# cluster, loaded with the "large" profile (bench/gen_pg_large.py: 3 accounts with runs, 100
# environments, ~10,000 workspaces, every day of the current UTC month).
#
#   bench/compare-sql-exporter.sh [--duration SECONDS] [--workspaces N] [--connections C]
#                                 [--threads T] [--idle SECONDS] [--keep]
#
# Steps: load the cluster; start each exporter alone and time its first complete /metrics; check
# that both expose the same numbers, series by series, and that they equal the sums counted from
# the generated runs; drive each /metrics with wrk (same duration, connections and threads; plain,
# then with Accept-Encoding: gzip); read each process's peak RSS (VmHWM) and its CPU over an idle
# stretch; print the table and the ratios. Exits 1 if the numbers differ or a run saw errors.
# Last, the same wrk runs against nginx serving our exposition's exact bytes from a file (sendfile):
# the floor of serving that many bytes on this machine, which the latency targets are read against.
#
# Needs the daemon binary ($SUE_BINARY, default build/scalr-usage-exporter), wrk,
# prometheus-sql-exporter, nginx-light and postgresql-15 (scripts/install-deps). Runs as root (the cluster then
# runs as postgres) or as any user. Everything it starts is stopped, and its temp dirs removed, on
# exit (--keep or SUE_BENCH_KEEP=1 keeps the dirs).
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DURATION=30
WORKSPACES=10000
CONNECTIONS=8
THREADS=2
IDLE=20
while (($#)); do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --workspaces) WORKSPACES=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --idle) IDLE=$2; shift 2 ;;
    --keep) SUE_BENCH_KEEP=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

need_common_tools
need_tools wrk prometheus-sql-exporter nginx
BIN=$(find_binary)
new_dir WORK run
MONTH=$(date -u +%Y-%m)  # the month both exporters report on: the current one

machine_summary | tee "$WORK/machine.txt"
echo "daemon: $BIN ($("$BIN" --version 2>&1 | head -1))"
echo "sql_exporter: $(dpkg-query -W -f='${Package} ${Version}' prometheus-sql-exporter 2>/dev/null || echo unknown)"
echo "wrk: $DURATION s per run, $CONNECTIONS connections, $THREADS threads"

log "PostgreSQL: $WORKSPACES workspaces, $MONTH"
pg_start
t0=$(date +%s.%N)
pg_load "$WORKSPACES" "$MONTH"
t1=$(date +%s.%N)
bg_wait "$PYTHON" "$BENCH_DIR/gen_pg_large.py" expected --workspaces "$WORKSPACES" --month "$MONTH" \
  >"$WORK/expected.json"
log "loaded $(psql_db scalr -c 'SELECT count(*) FROM scalr_runs') runs in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

# launch SIDE NAME PORT TIMEOUT CMD...: starts CMD in the background (output in $WORK/SIDE.log),
# waits for its first complete /metrics on PORT and records the seconds from launch in
# $WORK/SIDE.vals. SIDE is ours or sqlx (how perf_lib.py tells their expositions apart); the pid is
# left in LAUNCHED_PID.
launch() {
  local side=$1 name=$2 port=$3 timeout=$4 start
  shift 4
  log "starting $name"
  start=$(date +%s.%N)
  "$@" >"$WORK/$side.log" 2>&1 &
  LAUNCHED_PID=$!
  track "$LAUNCHED_PID"
  bg_wait "$PYTHON" "$BENCH_DIR/perf_lib.py" complete "http://127.0.0.1:$port/metrics" "$side" \
    "$WORK/expected.json" "$start" "$timeout" "$LAUNCHED_PID" >"$WORK/$side.ttfc" ||
    die "$name: no complete metrics; log: $(tail -5 "$WORK/$side.log")"
  echo "ttfc_s=$(cat "$WORK/$side.ttfc")" >>"$WORK/$side.vals"
}

# ---- scalr-usage-exporter -----------------------------------------------------------------------
OURS_PORT=$(free_port)
cat >"$WORK/ours.yml" <<EOF
web:
  listen_address: "127.0.0.1:$OURS_PORT"
source: postgres
postgres:
  dsn: "$(pg_dsn)"
  statement_timeout: 60s
poll:
  interval: 1h   # one poll at start; the benchmark measures serving, not polling
EOF
launch ours scalr-usage-exporter "$OURS_PORT" 120 "$BIN" --config.file="$WORK/ours.yml"
OURS_PID=$LAUNCHED_PID

# ---- sql_exporter ---------------------------------------------------------------------------------
SQLX_PORT=$(free_port)
sed -e "s#@CONNECTION@#postgres://exporter@127.0.0.1:$PG_PORT/scalr?sslmode=disable#" \
  -e "s#@INTERVAL@#1h#" "$BENCH_DIR/sql-exporter/sql-exporter.yml" >"$WORK/sqlx.yml"
# Its environment as the Debian unit gives it (/etc/default/prometheus-sql-exporter), minus PGHOST.
launch sqlx sql_exporter "$SQLX_PORT" 180 env GOGC=40 GOMAXPROCS=4 LOGLEVEL=warn \
  /usr/bin/prometheus-sql-exporter -config.file="$WORK/sqlx.yml" \
  -web.listen-address="127.0.0.1:$SQLX_PORT"
SQLX_PID=$LAUNCHED_PID

# ---- same numbers? ----------------------------------------------------------------------------------
curl -fsS -o "$WORK/ours.metrics" "http://127.0.0.1:$OURS_PORT/metrics"
curl -fsS -o "$WORK/sqlx.metrics" "http://127.0.0.1:$SQLX_PORT/metrics"
log "comparing the two expositions"
"$PYTHON" "$BENCH_DIR/perf_lib.py" compare "$WORK/ours.metrics" "$WORK/sqlx.metrics" \
  "$WORK/expected.json" || die "the exporters disagree (files kept with --keep)"
for side in ours sqlx; do
  port=$OURS_PORT
  [[ $side == sqlx ]] && port=$SQLX_PORT
  "$PYTHON" "$BENCH_DIR/perf_lib.py" exposition "http://127.0.0.1:$port/metrics" >>"$WORK/$side.vals"
  echo "clk_tck=$CLK_TCK" >>"$WORK/$side.vals"
done

# ---- load ---------------------------------------------------------------------------------------------
# load SIDE PID PORT plain|gzip: one wrk run, and the server's CPU ticks during it.
load() {
  local side=$1 pid=$2 port=$3 enc=$4
  log "wrk: $side, $enc, ${DURATION}s"
  run_wrk "$WORK/$side.wrk_$enc.txt" "$pid" "http://127.0.0.1:$port/metrics" "$DURATION" \
    "$CONNECTIONS" "$THREADS" "$enc"
  echo "wrk_${enc}_cpu_ticks=$WRK_TICKS" >>"$WORK/$side.vals"
}
load ours "$OURS_PID" "$OURS_PORT" plain
load ours "$OURS_PID" "$OURS_PORT" gzip
load sqlx "$SQLX_PID" "$SQLX_PORT" plain
load sqlx "$SQLX_PID" "$SQLX_PORT" gzip

# ---- the floor: the same bytes from nginx ---------------------------------------------------------
curl -fsS -H 'Accept-Encoding: gzip' -o "$WORK/ours.metrics.gz" "http://127.0.0.1:$OURS_PORT/metrics"
gzip -t "$WORK/ours.metrics.gz" || die "the gzip exposition does not decompress"
static_start "$WORK/nginx" "$WORK/ours.metrics" "$WORK/ours.metrics.gz"
cmp -s "$WORK/ours.metrics" <(curl -fsS "http://127.0.0.1:$STATIC_PORT/metrics") ||
  die "nginx does not serve the exposition's bytes"
load static "$STATIC_PID" "$STATIC_PORT" plain
load static "$STATIC_PID" "$STATIC_PORT" gzip
echo "clk_tck=$CLK_TCK" >>"$WORK/static.vals"
stop_pid "$STATIC_PID"

# ---- idle -------------------------------------------------------------------------------------------
log "idle CPU over ${IDLE}s (no scrapes; both exporters between background runs)"
bg_wait sleep 2
o0=$(cpu_ticks "$OURS_PID")
s0=$(cpu_ticks "$SQLX_PID")
bg_wait sleep "$IDLE"
o1=$(cpu_ticks "$OURS_PID")
s1=$(cpu_ticks "$SQLX_PID")
awk -v t="$((o1 - o0))" -v hz="$CLK_TCK" -v s="$IDLE" 'BEGIN { printf "idle_cpu_pct=%.4f\n", 100 * t / hz / s }' >>"$WORK/ours.vals"
awk -v t="$((s1 - s0))" -v hz="$CLK_TCK" -v s="$IDLE" 'BEGIN { printf "idle_cpu_pct=%.4f\n", 100 * t / hz / s }' >>"$WORK/sqlx.vals"
echo "hwm_kb=$(status_kb "$OURS_PID" VmHWM)" >>"$WORK/ours.vals"
echo "hwm_kb=$(status_kb "$SQLX_PID" VmHWM)" >>"$WORK/sqlx.vals"

echo
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg) (other load on the machine skews latency)"
status=0
"$PYTHON" "$BENCH_DIR/perf_lib.py" summary "$WORK" || status=$?
if [[ ${SUE_BENCH_KEEP:-0} == 1 ]]; then echo "results: $WORK/results.json"; fi
exit "$status"
