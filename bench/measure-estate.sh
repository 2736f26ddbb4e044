#!/usr/bin/env bash
# A whole estate (issue #14, docs/performance.md): 1,000 accounts over 5 Scalr targets, each a
# stand-in answering every request after 50 ms, polled by the real daemon binary:
#
#   bench/measure-estate.sh [--accounts 1000] [--targets 5] [--delay-ms 50] [--runs 3]
#                           [--rate-runs 3] [--baseline-accounts 100] [--mode listed|discover]
#                           [--scenarios "c4 rate10 c1"] [--keep]
#
# Scenarios, each --runs times (rate10 --rate-runs times) with a new daemon, medians at the end:
#   c4      max_concurrency 4, max_requests_per_second 0: the first poll cycle and two steady ones
#           (poll.interval 20 s). Checks: every cycle <= 15 s
#           (scalr_exporter_poll_cycle_duration_seconds), at most 4 requests in flight at any
#           stand-in (its max_in_flight), the daemon's VmHWM < 128 MB.
#   rate10  max_concurrency 4, max_requests_per_second 10: the first cycle only (poll.interval 1h;
#           it takes over a minute). Check: at most 10 + 4 (the bucket's burst, max_concurrency
#           tokens) requests start at any stand-in within any 1 s window; also the mean rate.
#   c1      the baseline: max_concurrency 1 (one request at a time per target), rate 0, on
#           --baseline-accounts accounts, first cycle and two steady ones (poll.interval 10 s);
#           scaled per account to the estate for a ratio.
# --mode listed (default): each target lists its accounts (accounts: [...]); the first cycle asks
# each account's name once (breakdown_by=account), 4 requests an account, later cycles 3.
# --mode discover: each stand-in is a control tower and its target has discover: true; every
# cycle lists the children (a request per 100 children) and then 3 requests an account.
#
# The stand-ins (tests/scalr_stub/scalr_stub.py --profile many --control-tower --delay-ms) run
# for the whole session, each serving its share of acc-m000001..; their stats are read and
# cleared after every cycle (bench/estate_lib.py), so each cycle is counted alone. The script
# exits non-zero if a check is not met or a cycle's requests are not what they should be.
# Cleans up everything it starts on exit.
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ACCOUNTS=1000
TARGETS=5
DELAY_MS=50
RUNS=3
RATE_RUNS=3
BASELINE_ACCOUNTS=100
MODE=listed
SCENARIOS="c4 rate10 c1"
while (($#)); do
  case $1 in
    --accounts) ACCOUNTS=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --delay-ms) DELAY_MS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --rate-runs) RATE_RUNS=$2; shift 2 ;;
    --baseline-accounts) BASELINE_ACCOUNTS=$2; shift 2 ;;
    --mode) MODE=$2; shift 2 ;;
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --keep) SUE_BENCH_KEEP=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[[ $MODE == listed || $MODE == discover ]] || die "--mode is listed or discover"
((ACCOUNTS % TARGETS == 0 && BASELINE_ACCOUNTS % TARGETS == 0)) ||
  die "--accounts and --baseline-accounts must be multiples of --targets"
((BASELINE_ACCOUNTS <= ACCOUNTS)) || die "--baseline-accounts must not exceed --accounts"

need_tools "$PYTHON" curl
BIN=$(find_binary)
LIB=$BENCH_DIR/estate_lib.py
new_dir WORK estate
RESULTS=$WORK/results.txt # lines: SCENARIO RUN KEY VALUE
: >"$RESULTS"
PER_TARGET=$((ACCOUNTS / TARGETS))

machine_summary
echo "daemon: $BIN ($("$BIN" --version 2>&1 | head -1))"
echo "estate: $ACCOUNTS accounts over $TARGETS targets, stand-in delay $DELAY_MS ms, mode $MODE"

record() { # record SCENARIO RUN KEY VALUE
  printf '%s %s %s %s\n' "$1" "$2" "$3" "$4" >>"$RESULTS"
  printf '  %-26s %s\n' "$3" "$4"
}

# ids T N: the first N accounts of target T (1-based), comma-separated. Target T serves
# acc-m((T-1)*PER_TARGET+1) .. acc-m(T*PER_TARGET).
ids() {
  local t=$1 n=$2 i out=""
  for ((i = (t - 1) * PER_TARGET + 1; i <= (t - 1) * PER_TARGET + n; i++)); do
    out+=$(printf 'acc-m%06d,' "$i")
  done
  printf '%s' "${out%,}"
}

# ---- the stand-ins: one per target, its own token and port -----------------------------------
STUB_PORTS=()
for ((t = 1; t <= TARGETS; t++)); do
  printf 'estate-token-%s-%s' "$t" "$RANDOM$RANDOM" >"$WORK/token-$t"
  chmod 600 "$WORK/token-$t"
  "$PYTHON" "$REPO_ROOT/tests/scalr_stub/scalr_stub.py" --listen 127.0.0.1:0 \
    --token-file "$WORK/token-$t" --profile many --many-accounts "$ACCOUNTS" \
    --accounts "$(ids "$t" "$PER_TARGET")" --control-tower --delay-ms "$DELAY_MS" \
    --keep-requests $((5 * PER_TARGET + 100)) --port-file "$WORK/stub-$t.port" \
    >/dev/null 2>"$WORK/stub-$t.log" &
  track "$!"
done
for ((t = 1; t <= TARGETS; t++)); do
  for _ in $(seq 200); do [[ -s $WORK/stub-$t.port ]] && break; sleep 0.05; done
  [[ -s $WORK/stub-$t.port ]] || die "stand-in $t did not start: $(tail -3 "$WORK/stub-$t.log")"
  STUB_PORTS+=("$(cat "$WORK/stub-$t.port")")
done

# config FILE INTERVAL ACCOUNTS_PER_TARGET CONCURRENCY RATE
config() {
  local t
  {
    printf 'web:\n  listen_address: "127.0.0.1:%s"\npoll:\n  interval: %s\n' "$(free_port)" "$2"
    printf 'scalr:\n  timeout: 120s\n  targets:\n'
    for ((t = 1; t <= TARGETS; t++)); do
      printf '    - name: t%s\n      url: http://127.0.0.1:%s\n      token_file: %s\n' \
        "$t" "${STUB_PORTS[t - 1]}" "$WORK/token-$t"
      printf '      max_concurrency: %s\n      max_requests_per_second: %s\n' "$4" "$5"
      if [[ $MODE == discover ]]; then
        # The stand-in serves PER_TARGET children; a smaller scenario excludes the rest.
        printf '      discover: true\n'
        if (($3 < PER_TARGET)); then
          printf '      exclude_accounts: [%s]\n' "$(ids "$t" "$PER_TARGET" | cut -d, -f$(($3 + 1))-)"
        fi
      else
        printf '      accounts: [%s]\n' "$(ids "$t" "$3")"
      fi
    done
  } >"$1"
}

# requests ACCOUNTS_PER_TARGET CYCLE: what one target must see in that cycle. Discovery lists every
# child the stand-in serves (PER_TARGET, excluded ones too), 100 to a page (page_size).
requests() {
  if [[ $MODE == discover ]]; then echo $(((PER_TARGET + 99) / 100 + 3 * $1))
  elif (($2 == 1)); then echo $((4 * $1))
  else echo $((3 * $1)); fi
}

# run SCENARIO RUN INTERVAL CYCLES ACCOUNTS_PER_TARGET CONCURRENCY RATE
run() {
  local scenario=$1 n=$2 interval=$3 cycles=$4 per=$5 cfg log_file port cycle prev="" value
  echo "-- $scenario, run $n: $((per * TARGETS)) accounts, max_concurrency $6, max_requests_per_second $7"
  cfg=$WORK/$scenario-$n.yml
  log_file=$WORK/$scenario-$n.log
  config "$cfg" "$interval" "$per" "$6" "$7"
  port=$(awk -F'[:"]' '/listen_address/ { print $(NF-1) }' "$cfg")
  "$PYTHON" "$LIB" take-stats /dev/null "${STUB_PORTS[@]}" # nothing left from the last run
  "$BIN" --config.file="$cfg" >"$log_file" 2>&1 &
  DAEMON_PID=$!
  track "$DAEMON_PID"
  record "$scenario" "$n" accounts_per_target "$per"
  for ((cycle = 1; cycle <= cycles; cycle++)); do
    value=$(bg_wait "$PYTHON" "$LIB" wait-cycle "http://127.0.0.1:$port/metrics" "$prev" 900 \
      "$DAEMON_PID") || die "$scenario run $n cycle $cycle: $(tail -3 "$log_file")"
    prev=$value
    "$PYTHON" "$LIB" take-stats "$WORK/$scenario-$n-$cycle.json" "${STUB_PORTS[@]}"
    if ((cycle == 1)); then record "$scenario" "$n" first_cycle_s "$value"
    else record "$scenario" "$n" steady_cycle_s "$value"; fi
    "$PYTHON" "$LIB" analyse "$WORK/$scenario-$n-$cycle.json" "$scenario" "$n" "$cycle" \
      "$(requests "$per" "$cycle")" | while read -r s r k v; do record "$s" "$r" "$k" "$v"; done
  done
  record "$scenario" "$n" hwm_kb "$(status_kb "$DAEMON_PID" VmHWM)"
  record "$scenario" "$n" rss_kb "$(status_kb "$DAEMON_PID" VmRSS)"
  record "$scenario" "$n" threads "$(awk '$1 == "Threads:" { print $2 }' "/proc/$DAEMON_PID/status")"
  record "$scenario" "$n" cpu_s "$(awk -v t="$(cpu_ticks "$DAEMON_PID")" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')"
  stop_pid "$DAEMON_PID"
  ((STOP_RC == 0)) || die "the daemon exited with $STOP_RC on SIGTERM"
  grep -q 'level=error' "$log_file" && log "errors logged: $(grep 'level=error' "$log_file" | head -3)"
  return 0
}

for scenario in $SCENARIOS; do
  case $scenario in
    c4) for ((n = 1; n <= RUNS; n++)); do run c4 "$n" 20s 3 "$PER_TARGET" 4 0; done ;;
    rate10) for ((n = 1; n <= RATE_RUNS; n++)); do run rate10 "$n" 1h 1 "$PER_TARGET" 4 10; done ;;
    c1) for ((n = 1; n <= RUNS; n++)); do run c1 "$n" 10s 3 $((BASELINE_ACCOUNTS / TARGETS)) 1 0; done ;;
    *) die "unknown scenario $scenario (c4, rate10, c1)" ;;
  esac
done

echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ ${SUE_BENCH_KEEP:-0} == 1 ]]; then echo "raw results: $RESULTS"; fi
"$PYTHON" "$LIB" table "$RESULTS" \
  '{"cycle_s": 15, "hwm_mb": 128, "cycle_scenarios": ["c4"], "in_flight": {"c4": 4, "rate10": 4, "c1": 1}, "window": {"rate10": 14}}'
