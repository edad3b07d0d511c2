#!/bin/bash
# usage: tests/bench/clients_25k.sh          (as root, after building into build/)
#        IDLE=25000 ACTIVE=100 RATE=500 SIZE=1024 tests/bench/clients_25k.sh
#
# 25 000 idle clients held, plus 100 active subscribers and one publisher at
# 500 messages/s among them: what the active ones' latency is, how much
# memory the relay holds, and how fast the idle ones connected. One client
# pins one CivetWeb worker thread, so the relay runs 25 000 threads: more than
# Debian's default kernel limits allow (kernel.pid_max 32768 for the whole
# machine, vm.max_map_count 65530 at two maps per thread). This script raises
# kernel.pid_max, kernel.threads-max and vm.max_map_count where they are too
# low for the run, and puts back every value it changed when it exits,
# however it exits (trap); descriptors (ulimit -n) are raised for this
# script's processes only. A benchmark, never a test: not in ctest or CI,
# and its figures depend on the machine and on whatever else runs on it
# (the load average is printed with them).
#
# The idle clients sit in a room of their own (rooms.enabled): in the active
# clients' room they would be sent every message, 500 x 25 000 deliveries a
# second, and be idle no more.
#
# Source ports: a client's connection needs a local port of its own for
# each server address it connects to (net.ipv4.ip_local_port_range, 28 232
# ports by default), so the relay listens on three loopback addresses and
# the idle clients are spread over two of them (the active ones use the
# third). Every client comes from 127.0.0.1, so the per-address limits are
# off in the relay's config.
#
# Env: WSRELAY_BIN (default build/bin/wsrelay), WSRELAY_BENCH (default
# build/bin/wsrelay-bench), IDLE (25000), ACTIVE (100 subscribers), RATE
# (the publisher's messages/s, 500), SIZE (payload bytes, 1024), DURATION
# (measured seconds, 20), CONNECT_RATE (new idle connections per second per
# address, 4000), OUT (a folder for the logs and JSON lines; default a new
# temporary one).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${WSRELAY_BIN:-$root/build/bin/wsrelay}
BENCH=${WSRELAY_BENCH:-$root/build/bin/wsrelay-bench}
IDLE=${IDLE:-25000}
ACTIVE=${ACTIVE:-100}
RATE=${RATE:-500}
SIZE=${SIZE:-1024}
DURATION=${DURATION:-20}
CONNECT_RATE=${CONNECT_RATE:-4000}
OUT=${OUT:-$(mktemp -d /tmp/wsrelay-25k.XXXXXX)}
mkdir -p "$OUT"
for f in "$BIN" "$BENCH"; do
  [ -x "$f" ] || { echo "clients_25k.sh: $f is missing: build first (.ci/build build)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "clients_25k.sh: run as root (it raises kernel limits for the run)" >&2; exit 1; }

max_connections=$((IDLE + ACTIVE + 100))
# Threads and maps the run needs on top of what the machine already uses:
# CivetWeb's workers (max_connections + 16), two maps each (stack and guard
# page), and the relay's own check keeps 1024 tasks and 4096 maps spare.
need_tasks=$((max_connections + 4096))
need_maps=$((2 * max_connections + 16384))

# Descriptors, for this script's processes: the relay needs one per client
# and checks for max_connections + 64 at start-up; each half of the idle
# clients needs one per connection. Raising the hard limit takes root's
# CAP_SYS_RESOURCE, which a container may not grant: checked before any
# kernel limit is touched.
nofile=$((max_connections + 1024))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$nofile" ]; then
  if ulimit -Hn "$nofile" 2>/dev/null; then
    hard=$nofile
  elif [ "$hard" -lt $((max_connections + 64)) ]; then
    echo "clients_25k.sh: cannot raise the descriptor limit to $nofile (hard limit $hard;" \
      "that takes CAP_SYS_RESOURCE): at most IDLE=$((hard - 64 - 100 - ACTIVE)) here" >&2
    exit 1
  else
    nofile=$hard
  fi
fi
ulimit -Sn "$nofile"

# ---- kernel limits: raised for the run, put back on exit ----
changed=()
restore_limits() {
  local entry key value
  for entry in "${changed[@]}"; do
    key=${entry%%=*}
    value=${entry#*=}
    sysctl -q -w "$key=$value" >/dev/null || echo "clients_25k.sh: could not restore $key=$value" >&2
  done
  changed=()
}
raise() { # key minimum
  local have
  have=$(sysctl -n "$1")
  if [ "$have" -lt "$2" ]; then
    changed+=("$1=$have")
    sysctl -q -w "$1=$2" >/dev/null
    echo "raised $1 from $have to $2 for this run" >&2
  fi
}
tasks_in_use=$(awk '{split($4, t, "/"); print t[2]}' /proc/loadavg)

# shellcheck source=server_control.sh
. "$root/tests/bench/server_control.sh"
IDLE_PIDS=()
cleanup() {
  local p
  for p in "${IDLE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_server
  restore_limits
}
trap cleanup EXIT
trap 'exit 130' INT TERM

raise kernel.pid_max $((tasks_in_use + need_tasks > 131072 ? tasks_in_use + need_tasks : 131072))
raise kernel.threads-max $((tasks_in_use + need_tasks > 131072 ? tasks_in_use + need_tasks : 131072))
raise vm.max_map_count $((need_maps > 262144 ? need_maps : 262144))

# ---- the relay ----
# Idle clients join room "idle", the active ones room "live": in one room
# the idle ones would get every message too.
RELAY_HOSTS="127.0.0.1 127.0.0.2 127.0.0.3" relay_start wsrelay "$max_connections" \
  "$(printf 'rooms:\n  enabled: true\n  default: ""')" || exit 1

status() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
threads=$(status "$SRV_PID" Threads)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "[$(date +%T)] relay up on port $PORT: $threads threads, $(status "$SRV_PID" VmRSS) KiB" >&2

# ---- the active clients alone first: the same relay, no idle client ----
# (latency on a shared machine moves between runs; this is the figure to
# hold the one with idle clients against)
active_run() { # output file
  "$BENCH" --host 127.0.0.1 --port "$PORT" --path /ws/live --subs "$ACTIVE" --pubs 1 --size "$SIZE" \
    --rate "$RATE" --duration "$DURATION" --warmup 2 --server-pid "$SRV_PID" >"$1" 2>"$1.log" ||
    echo "clients_25k.sh: an active run failed (see $1.log)" >&2
}
echo "[$(date +%T)] the active clients alone" >&2
active_run "$OUT/active-alone.json"
# The baseline for the idle clients' memory: after the active ones came and
# went, so that what they left allocated is not charged to the idle ones.
sleep 1
rss_empty=$(status "$SRV_PID" VmRSS)
threads_empty=$(status "$SRV_PID" Threads)
echo "[$(date +%T)] $rss_empty KiB; connecting $IDLE idle clients" >&2

# ---- the idle clients, in two halves on two server addresses ----
# Held until well after the active run (which starts once both halves are
# connected), so that each half reports how many of its clients lasted.
hold=$((DURATION + 45))
half=$((IDLE / 2))
"$BENCH" --host 127.0.0.2 --port "$PORT" --path /ws/idle --idle "$half" --hold "$hold" \
  --connect-rate "$CONNECT_RATE" >"$OUT/idle-a.json" 2>"$OUT/idle-a.log" &
IDLE_PIDS+=($!)
"$BENCH" --host 127.0.0.3 --port "$PORT" --path /ws/idle --idle $((IDLE - half)) --hold "$hold" \
  --connect-rate "$CONNECT_RATE" >"$OUT/idle-b.json" 2>"$OUT/idle-b.log" &
IDLE_PIDS+=($!)
connect_start=$(date +%s.%N)
# Each prints "N of M connected in S s; holding" once its connects are done.
for _ in $(seq 1200); do
  [ "$(grep -l 'connected in' "$OUT/idle-a.log" "$OUT/idle-b.log" 2>/dev/null | wc -l)" = 2 ] && break
  kill -0 "$SRV_PID" 2>/dev/null || { echo "clients_25k.sh: the relay exited (see $OUT/wsrelay.server.log)" >&2; exit 1; }
  sleep 0.1
done
connect_end=$(date +%s.%N)
connected=$(sed -n 's/.*: \([0-9]*\) of [0-9]* connected in.*/\1/p' "$OUT/idle-a.log" "$OUT/idle-b.log" |
  awk '{s += $1} END {print s + 0}')
sleep 2 # the last handshakes' allocations settle
rss_idle=$(status "$SRV_PID" VmRSS)
threads_idle=$(status "$SRV_PID" Threads)
echo "[$(date +%T)] $connected idle clients connected; $rss_idle KiB; running the active ones" >&2

# ---- the active clients, among the idle ones ----
active_run "$OUT/active.json"
rss_after=$(status "$SRV_PID" VmRSS)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

echo "[$(date +%T)] active run done; waiting for the idle clients' hold to end" >&2
for p in "${IDLE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
IDLE_PIDS=()
stop_server

a=$OUT/active.json
echo
echo "wsrelay $("$BIN" --version 2>/dev/null | head -1), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB," \
  "kernel $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ); results in $OUT"
echo "load average (1/5/15 min) at start: $load_start; at end: $load_end"
awk -v idle="$IDLE" -v connected="$connected" -v t0="$connect_start" -v t1="$connect_end" \
  -v rate="$CONNECT_RATE" 'BEGIN {
    s = t1 - t0; printf "idle clients: %d of %d connected in %.1f s (%.0f connects/s; offered %d/s on each of 2 addresses)\n",
      connected, idle, s, connected / s, rate }'
echo "idle clients that lasted the whole hold: $(($(json "$OUT/idle-a.json" survived) + $(json "$OUT/idle-b.json" survived)))"
awk -v e="$rss_empty" -v i="$rss_idle" -v a="$rss_after" -v n="$connected" -v te="$threads_empty" \
  -v ti="$threads_idle" 'BEGIN {
    printf "relay memory: %.1f MiB before the idle clients (%d threads), %.1f MiB with the idle clients (%d threads), %.1f MiB after the active run\n",
      e / 1024, te, i / 1024, ti, a / 1024
    if (n > 0) printf "per idle client: %.1f KiB\n", (i - e) / n }'
echo "active: $ACTIVE subscribers, 1 publisher at $RATE msg/s of $SIZE bytes, $DURATION s each:"
for f in "$OUT/active-alone.json" "$a"; do
  case $f in *alone*) what="alone          " ;; *) what="with the idle ones" ;; esac
  echo "  $what: delivered/s $(json "$f" delivered_per_s), loss $(json "$f" loss)," \
    "latency p50 $(json "$f" p50) us, p99 $(json "$f" p99) us, max $(json "$f" max) us," \
    "server disconnects $(json "$f" server_disconnects)"
done
