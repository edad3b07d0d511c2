#!/bin/bash
# usage: tests/bench/run.sh            (from anywhere; after building into build/)
#        SCENARIOS="S1 S5" tests/bench/run.sh
#
# The benchmark scenarios S1-S5 of ../shared/bench/README.md with our own
# load generator (build/bin/wsrelay-bench) against a freshly started wsrelay
# per scenario, on free loopback ports. Prints one table: deliveries/s,
# deliveries per server CPU-second, loss, latency, memory per idle connection.
# A benchmark, never a test: figures depend on the machine and on whatever
# else runs on it, so compare them only with figures from the same run.
#
# Env: WSRELAY_BIN (default build/bin/wsrelay), WSRELAY_BENCH (default
# build/bin/wsrelay-bench), SCENARIOS (default "S1 S2 S3 S4 S5"), OUT (a
# folder for the JSON lines and server logs; default a new temporary one).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${WSRELAY_BIN:-$root/build/bin/wsrelay}
BENCH=${WSRELAY_BENCH:-$root/build/bin/wsrelay-bench}
SCENARIOS=${SCENARIOS:-"S1 S2 S3 S4 S5"}
OUT=${OUT:-$(mktemp -d /tmp/wsrelay-run.XXXXXX)}
mkdir -p "$OUT"
for f in "$BIN" "$BENCH"; do
  [ -x "$f" ] || { echo "run.sh: $f is missing: build first (.ci/build build)" >&2; exit 1; }
done
# 10 000 idle clients (S4) need a descriptor each, on both ends.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

scenario_args() {
  case "$1" in
    S1) echo "--subs 100 --pubs 1 --size 64 --rate 0 --duration 10 --warmup 2" ;;
    S2) echo "--subs 1000 --pubs 1 --size 64 --rate 200 --duration 10 --warmup 2 --connect-rate 2000" ;;
    S3) echo "--subs 2000 --pubs 4 --size 1024 --rate 50 --duration 10 --warmup 2 --connect-rate 2000" ;;
    S4) echo "--idle 10000 --hold 20 --connect-rate 2000" ;;
    # S5 twice: with the stalled client, and without it for the others' p99 to compare with.
    S5) echo "--subs 100 --stalled 1 --pubs 1 --size 1024 --rate 500 --duration 20 --warmup 2" ;;
    S5ref) echo "--subs 100 --pubs 1 --size 1024 --rate 500 --duration 20 --warmup 2" ;;
    # Rooms (issue 16): 1000 rooms of 10 subscribers and 1 publisher each,
    # against one room with the same fan-out and the same total deliveries
    # (R1: 10 subscribers, 1 publisher at 1000x the rate; R1wide: the same
    # 11 000 clients in one room, 1 publisher). Run with rooms.enabled.
    R1000) echo "--rooms 1000 --subs 10000 --pubs 1000 --size 64 --rate 2 --duration 10 --warmup 2 --connect-rate 2000" ;;
    R1) echo "--rooms 1 --subs 10 --pubs 1 --size 64 --rate 2000 --duration 10 --warmup 2" ;;
    # Churn: a steady room (100 subscribers, 1 publisher at 500/s) while
    # 500 clients per second join and leave other rooms, against the same
    # room without the churn.
    C500) echo "--rooms 1 --subs 100 --pubs 1 --size 64 --rate 500 --duration 10 --warmup 2 --churn 500" ;;
    C0) echo "--rooms 1 --subs 100 --pubs 1 --size 64 --rate 500 --duration 10 --warmup 2" ;;
    R1wide) echo "--rooms 1 --subs 10000 --pubs 1 --size 64 --rate 2 --duration 10 --warmup 2 --connect-rate 2000" ;;
    *) return 1 ;;
  esac
}

# shellcheck source=server_control.sh
. "$root/tests/bench/server_control.sh"

# Starts wsrelay with the benchmark's config (server_control.sh); rooms on
# for the rooms and churn scenarios.
start_server() {
  local name=$1 rooms_yaml=""
  case "$name" in
    R* | C*) rooms_yaml=$(printf 'rooms:\n  enabled: true\n  max_rooms: 2000') ;;
  esac
  relay_start "$name" 12000 "$rooms_yaml"
}

# user + system CPU-seconds of a process, from /proc/PID/stat
cpu_seconds() {
  local stat fields
  stat=$(cat "/proc/$1/stat") || { echo 0; return; }
  # after the command name: state is field 0, utime 11 and stime 12
  read -r -a fields <<<"${stat##*) }"
  awk -v u="${fields[11]}" -v s="${fields[12]}" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f\n", (u + s) / hz }'
}

run_one() {
  local sc=$1 args cpu0 cpu1
  args=$(scenario_args "$sc") || { echo "run.sh: unknown scenario $sc" >&2; return 1; }
  start_server "$sc" || return 1
  awk '/^VmRSS:/ {print $2}' "/proc/$SRV_PID/status" >"$OUT/$sc.pool_kb"
  cpu0=$(cpu_seconds "$SRV_PID")
  echo "[$(date +%T)] $sc: wsrelay-bench $args" >&2
  # shellcheck disable=SC2086 # args is a list of options
  if ! "$BENCH" --port "$PORT" --text --server-pid "$SRV_PID" $args >"$OUT/$sc.json" 2>"$OUT/$sc.log"; then
    echo "run.sh: $sc failed (see $OUT/$sc.log)" >&2
  fi
  cpu1=$(cpu_seconds "$SRV_PID")
  echo "$cpu0 $cpu1" | awk '{printf "%.2f\n", $2 - $1}' >"$OUT/$sc.cpu"
  stop_server
}

list=()
for sc in $SCENARIOS; do
  list+=("$sc")
  [ "$sc" = S5 ] && list+=(S5ref)
done
for sc in "${list[@]}"; do run_one "$sc"; done

echo
echo "wsrelay $("$BIN" --version 2>/dev/null | head -1), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ); results in $OUT"
echo "server CPU-s: the whole run (connects, warm-up, drain) from /proc; per server CPU-s: the measured window only"
printf '%-6s %14s %16s %10s %8s %10s %10s %12s %s\n' scen "deliveries/s" "per server CPU-s" "server CPU-s" loss "p50 ms" "p99 ms" "KiB/idle conn" notes
for sc in "${list[@]}"; do
  f=$OUT/$sc.json
  [ -s "$f" ] || { printf '%-6s (no result, see %s)\n' "$sc" "$OUT/$sc.log"; continue; }
  notes=""
  if [ "$(json "$f" stalled)" != "-" ] && [ "$(json "$f" stalled)" != 0 ]; then
    notes="stalled cut: $(json "$f" stalled_cut) of $(json "$f" stalled)"
  fi
  [ "$(json "$f" server_disconnects)" != "-" ] && [ "$(json "$f" server_disconnects)" != 0 ] &&
    notes="$notes others cut: $(json "$f" server_disconnects)"
  if [ "$sc" = S4 ]; then
    notes="connected $(json "$f" connected), survived $(json "$f" survived);"
    notes="$notes pool before: $(awk '{printf "%.1f", $1 / 12016}' "$OUT/$sc.pool_kb") KiB per worker thread"
  fi
  awk -v sc="$sc" -v dps="$(json "$f" delivered_per_s)" -v eff="$(json "$f" deliveries_per_cpu_s)" \
    -v cpu="$(cat "$OUT/$sc.cpu")" -v loss="$(json "$f" loss)" -v p50="$(json "$f" p50)" \
    -v p99="$(json "$f" p99)" -v kib="$(json "$f" kb_per_conn)" -v notes="$notes" '
    function num(v, fmt, scale) { return v == "-" ? "-" : sprintf(fmt, v / scale) }
    BEGIN {
      printf "%-6s %14s %16s %10s %8s %10s %10s %12s %s\n", sc, num(dps, "%.0f", 1), num(eff, "%.0f", 1),
        cpu, (loss == "-" ? "-" : sprintf("%.2f%%", loss * 100)), num(p50, "%.2f", 1000),
        num(p99, "%.2f", 1000), num(kib, "%.1f", 1), notes
    }'
done
