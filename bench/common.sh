# shellcheck shell=bash
# Shared by bench/compare-sql-exporter.sh and bench/measure-daemon.sh (sourced, not run).
#
# Process and temp-dir bookkeeping with one EXIT trap, tool checks, free ports, a throwaway
# PostgreSQL 15 cluster loaded by bench/gen_pg_large.py, and /proc readings. Works as root (the
# cluster then runs as the postgres user, as initdb and postgres refuse root) and as any other user.
# Processes are stopped by the ids recorded here, never by name.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
PYTHON=/usr/bin/python3  # Debian's, whatever python3 comes first on PATH
PG_BINDIR=${SUE_PG_BINDIR:-/usr/lib/postgresql/15/bin}
CLK_TCK=$(getconf CLK_TCK)  # ticks per second of /proc/PID/stat
export CLK_TCK

_pids=()      # started in the background; stopped (TERM, then KILL) on exit
_dirs=()      # removed on exit
_pg_data=""   # a running cluster's data directory, stopped on exit

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "${0##*/}" "$*" >&2
  exit 1
}

# alive PID: running (an exited child that was not waited for yet is a zombie: not alive).
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $state && $state != Z* ]]
}

# ours PID: still a child of this shell. Bash may reap an exited child by itself, after which its
# id can belong to someone else's process: never signal an id that is not (still) our child.
ours() { [[ $(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ') == "$$" ]]; }

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "${_pids[@]}"; do
    if ours "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pid in "${_pids[@]}"; do
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    if ours "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n $_pg_data && -d $_pg_data ]]; then
    as_db_owner "$PG_BINDIR/pg_ctl" -D "$_pg_data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [[ ${SUE_BENCH_KEEP:-0} == 1 && ${#_dirs[@]} -gt 0 ]]; then
    log "keeping ${_dirs[*]} (SUE_BENCH_KEEP=1)"
  else
    for d in "${_dirs[@]}"; do rm -rf -- "$d"; done
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# need_tools TOOL...: every tool must be an executable path or a command on PATH.
need_tools() {
  local missing=() t
  for t in "$@"; do
    if [[ $t == */* ]]; then [[ -x $t ]] || missing+=("$t"); else command -v "$t" >/dev/null || missing+=("$t"); fi
  done
  ((${#missing[@]} == 0)) || die "missing: ${missing[*]} (run scripts/install-deps)"
}

# The daemon binary: $SUE_BINARY, else build/scalr-usage-exporter.
find_binary() {
  local b=${SUE_BINARY:-$REPO_ROOT/build/scalr-usage-exporter}
  [[ -x $b ]] || die "no daemon binary at $b (build it: cmake -S . -B build && cmake --build build, or set SUE_BINARY)"
  printf '%s\n' "$b"
}

need_common_tools() {
  need_tools "$PYTHON" curl "$PG_BINDIR/initdb" "$PG_BINDIR/pg_ctl" "$PG_BINDIR/postgres" \
    "$PG_BINDIR/psql"
  if [[ $(id -u) == 0 ]]; then need_tools runuser; fi
}

# new_dir VAR NAME [postgres]: a new temp dir in VAR, removed on exit (not in a subshell: the
# list must reach the trap). postgres makes it the cluster's (when root).
new_dir() {
  local d
  d=$(mktemp -d "${TMPDIR:-/tmp}/sue-bench-$2.XXXXXX") || die "mktemp failed"
  _dirs+=("$d")
  if [[ ${3:-} == postgres && $(id -u) == 0 ]]; then chown postgres:postgres "$d"; fi
  printf -v "$1" '%s' "$d"
}

# Remember a background process for the exit trap; forget it once it has been waited for (its id
# may then be reused by a process that is not ours).
track() { _pids+=("$1"); }
untrack() {
  local keep=() p
  for p in "${_pids[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  _pids=("${keep[@]}")
}

# bg_wait CMD...: CMD in the background, waited for. Bash runs a trap only after the foreground
# command ends, so a long CMD in the foreground would hold up Ctrl-C or SIGTERM (and the cleanup);
# `wait` returns at once. Returns CMD's exit status.
bg_wait() {
  local pid rc=0
  "$@" &
  pid=$!
  track "$pid"
  wait "$pid" || rc=$?
  untrack "$pid"
  return "$rc"
}

# stop_pid PID: stop one tracked process (TERM, wait up to 10 s, KILL); its exit status in STOP_RC.
# Not in $(...): only the shell that started the process can collect its status.
stop_pid() {
  local pid=$1
  STOP_RC=0
  if ours "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
  for _ in $(seq 100); do
    alive "$pid" || break
    sleep 0.1
  done
  if ours "$pid" && alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || STOP_RC=$?
  untrack "$pid"
}

free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

as_db_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_start: initdb + start a cluster on a free loopback port, its socket in its own directory.
# Sets PG_PORT, PG_DIR. Trust authentication: a throwaway cluster on loopback, no secrets.
pg_start() {
  new_dir PG_DIR pg postgres
  local data=$PG_DIR/data
  as_db_owner env -u PGDATA "$PG_BINDIR/initdb" -D "$data" -U postgres -A trust -E UTF8 \
    --no-locale --no-sync >"$PG_DIR/initdb.log" 2>&1 || die "initdb failed: $(tail -5 "$PG_DIR/initdb.log")"
  PG_PORT=$(free_port)
  as_db_owner tee -a "$data/postgresql.conf" >/dev/null <<EOF
# sue bench: throwaway data, durability buys nothing
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
shared_buffers = '256MB'
work_mem = '64MB'
max_connections = 40
fsync = off
synchronous_commit = off
full_page_writes = off
timezone = 'UTC'
logging_collector = off
EOF
  _pg_data=$data
  as_db_owner "$PG_BINDIR/pg_ctl" -D "$data" -l "$PG_DIR/server.log" -w -t 60 start >/dev/null ||
    die "pg_ctl start failed: $(tail -5 "$PG_DIR/server.log")"
}

psql_db() { # psql_db DB ARGS...: as the superuser over loopback
  local db=$1
  shift
  env -u PGPASSWORD -u PGSERVICE "$PG_BINDIR/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 \
    -p "$PG_PORT" -U postgres -d "$db" "$@"
}

# pg_load WORKSPACES MONTH: database scalr, role exporter (login, read only), the shipped schema,
# and the generated runs streamed into COPY.
pg_load() {
  local workspaces=$1 month=$2
  psql_db postgres -c "CREATE ROLE exporter LOGIN" -c "CREATE DATABASE scalr" >/dev/null
  psql_db scalr -f "$REPO_ROOT/etc/postgres/schema.sql" >/dev/null
  psql_db scalr -c "GRANT SELECT ON scalr_runs TO exporter" >/dev/null
  bg_wait pg_copy_runs "$workspaces" "$month" || die "loading the runs failed"
}

pg_copy_runs() { # pg_copy_runs WORKSPACES MONTH: generated runs into scalr_runs, then ANALYZE
  set -o pipefail
  "$PYTHON" "$BENCH_DIR/gen_pg_large.py" copy --workspaces "$1" --month "$2" |
    psql_db scalr -c "COPY scalr_runs (run_id, account_id, environment_id, environment_name, workspace_id, workspace_name, finished_at, duration_seconds) FROM STDIN" &&
    psql_db scalr -c "VACUUM ANALYZE scalr_runs" >/dev/null
}

# pg_reload WORKSPACES MONTH: the same table emptied and loaded again (another scale).
pg_reload() {
  psql_db scalr -c "TRUNCATE scalr_runs" >/dev/null
  bg_wait pg_copy_runs "$1" "$2" || die "loading the runs failed"
}

pg_dsn() { printf 'host=127.0.0.1 port=%s dbname=scalr user=exporter' "$PG_PORT"; }

# /proc readings of one process.
cpu_ticks() { # utime + stime of PID and its direct children (nginx's workers), in clock ticks
  local pid total=0 ticks
  for pid in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
    ticks=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + ticks))
  done
  echo "$total"
}
status_kb() { # status_kb PID VmHWM|VmRSS
  awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

# run_wrk OUT PID URL DURATION CONNECTIONS THREADS plain|gzip: one wrk run (JSON summary line by
# bench/wrk-latency.lua) into OUT; the CPU ticks the server PID used meanwhile in WRK_TICKS.
run_wrk() {
  local out=$1 pid=$2 url=$3 duration=$4 conns=$5 threads=$6 enc=$7 before after
  local args=(-t "$threads" -c "$conns" -d "${duration}s" --timeout 60s -s "$BENCH_DIR/wrk-latency.lua")
  [[ $enc == gzip ]] && args+=(-H 'Accept-Encoding: gzip')
  before=$(cpu_ticks "$pid")
  bg_wait wrk "${args[@]}" "$url" >"$out" 2>&1 || die "wrk failed: $(tail -5 "$out")"
  after=$(cpu_ticks "$pid")
  alive "$pid" || die "process $pid exited during the load"
  WRK_TICKS=$((after - before))
}

# static_start DIR PLAIN GZIP: nginx serving the file PLAIN as /metrics (and GZIP, with
# Content-Encoding: gzip, to a client that accepts it), the way a static file server does it best:
# sendfile, keep-alive, one worker per CPU. Its pid in STATIC_PID, its port in STATIC_PORT. The
# physical floor of serving those bytes on this machine, to measure an exporter against.
static_start() {
  local dir=$1 user=""
  mkdir -p "$dir/www" "$dir/tmp"
  cp "$2" "$dir/www/metrics"
  cp "$3" "$dir/www/metrics.gz"
  STATIC_PORT=$(free_port)
  # As root the workers would run as nobody, who cannot read the 0700 work dir.
  [[ $(id -u) == 0 ]] && user="user root;"
  cat >"$dir/nginx.conf" <<EOF
$user
daemon off;
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  gzip_static on;
  client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  server {
    listen 127.0.0.1:$STATIC_PORT;
    root $dir/www;
    default_type "text/plain; version=0.0.4; charset=utf-8";
  }
}
EOF
  nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log" >"$dir/nginx.log" 2>&1 &
  STATIC_PID=$!
  track "$STATIC_PID"
  for _ in $(seq 100); do
    curl -fso /dev/null "http://127.0.0.1:$STATIC_PORT/metrics" && return 0
    alive "$STATIC_PID" || break
    sleep 0.1
  done
  die "nginx did not start: $(tail -5 "$dir/error.log" "$dir/nginx.log" 2>/dev/null)"
}

machine_summary() {
  local model
  model=$(lscpu 2>/dev/null | awk -F: '/^Model name/ { gsub(/^[ \t]+/, "", $2); print $2; exit }')
  printf 'machine: %s, nproc %s, %s MB RAM, %s; load average %s\n' "${model:-unknown}" "$(nproc)" \
    "$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)" "$(uname -r)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'date: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
