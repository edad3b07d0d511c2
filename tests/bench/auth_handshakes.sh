#!/bin/bash
# usage: tests/bench/auth_handshakes.sh [CONNECTIONS] [ROUNDS]   (defaults 2000, 3)
#
# What access control costs a handshake: WebSocket handshakes per second
# with auth.mode none, jwt HS256 and jwt ES256 (the token in the
# access_token query parameter, made by tests/support/jwt_tool.py). Each
# round starts a fresh relay and opens CONNECTIONS clients with
# build/bin/wsrelay-bench --idle at full speed; the rate is connections
# over the time to open them all. Prints the median of ROUNDS per mode, and
# the server's CPU time per handshake (utime + stime from /proc, steadier
# than the rate on a busy machine).
# A benchmark, never a test: compare figures only within one run.
#
# Env: WSRELAY_BIN, WSRELAY_BENCH (default build/bin/...), OUT (a folder
# for the logs; default a new temporary one).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${WSRELAY_BIN:-$root/build/bin/wsrelay}
BENCH=${WSRELAY_BENCH:-$root/build/bin/wsrelay-bench}
N=${1:-2000}
ROUNDS=${2:-3}
OUT=${OUT:-$(mktemp -d /tmp/wsrelay-auth-bench.XXXXXX)}
for f in "$BIN" "$BENCH"; do
  [ -x "$f" ] || { echo "auth_handshakes.sh: $f is missing: build first" >&2; exit 1; }
done
ulimit -n $((N * 2 + 1000)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"

/usr/bin/python3 "$root/tests/support/jwt_tool.py" keys "$OUT"
token() { # alg key
  /usr/bin/python3 "$root/tests/support/jwt_tool.py" tokens \
    "{\"alg\":\"$1\",\"key\":\"$OUT/$2\",\"exp_in\":3600,\"claims\":{\"sub\":\"bench\"}}"
}
HS=$(token HS256 secret)
ES=$(token ES256 ec256.key)

# shellcheck source=server_control.sh
. "$root/tests/bench/server_control.sh"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# One round: prints handshakes per second, errors and server CPU µs per
# handshake.
round() { # mode query
  local mode=$1 query=$2 port
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  {
    echo "server:"
    echo "  listen: \"127.0.0.1:$port\""
    echo "  max_connections: $((N + 16))"
    echo "  document_root: \"\""
    echo "metrics:"
    echo "  enabled: false"
    echo "auth:"
    case $mode in
      none) echo "  mode: none" ;;
      HS256) printf '  mode: jwt\n  jwt:\n    algorithms: [HS256]\n    secret_file: "%s"\n' "$OUT/secret" ;;
      ES256) printf '  mode: jwt\n  jwt:\n    algorithms: [ES256]\n    public_keys_file: "%s"\n' "$OUT/ec256.pub" ;;
    esac
    echo "logging:"
    echo "  level: warn"
  } >"$OUT/$mode.yaml"
  "$BIN" --config-file "$OUT/$mode.yaml" 2>>"$OUT/$mode.log" &
  SRV_PID=$!
  for _ in $(seq 300); do port_open "$port" && break; sleep 0.1; done
  # Let CivetWeb finish starting its workers before measuring.
  local last=0 now
  for _ in $(seq 100); do
    now=$(ls "/proc/$SRV_PID/task" | wc -l)
    [ "$now" = "$last" ] && break
    last=$now
    sleep 0.3
  done
  local t0 t1 result
  t0=$(cpu_ticks "$SRV_PID")
  result=$("$BENCH" --port "$port" --path "/ws$query" --idle "$N" --hold 0 --connect-rate 0 \
    2>>"$OUT/$mode.log")
  t1=$(cpu_ticks "$SRV_PID")
  stop_server
  TICKS=$((t1 - t0)) HZ=$(getconf CLK_TCK) /usr/bin/python3 -c '
import json, os, sys
r = json.loads(sys.argv[1])
ok = r["connected"] - r["connect_errors"]
cpu_us = int(os.environ["TICKS"]) / int(os.environ["HZ"]) * 1e6 / max(ok, 1)
print("%.0f %d %.0f" % (ok / r["connect_s"], r["connect_errors"], cpu_us))' "$result"
}

printf '%-8s %12s %16s   %s\n' mode "handshakes/s" "server CPU us/hs" "(medians of $ROUNDS rounds of $N: each round; errors)"
for mode in none HS256 ES256; do
  case $mode in
    none) q="" ;;
    HS256) q="?access_token=$HS" ;;
    ES256) q="?access_token=$ES" ;;
  esac
  rates=()
  cpus=()
  errors=0
  for _ in $(seq "$ROUNDS"); do
    read -r rate err cpu < <(round "$mode" "$q")
    rates+=("$rate")
    cpus+=("$cpu")
    errors=$((errors + err))
  done
  median() { printf '%s\n' "$@" | sort -n | sed -n "$(((ROUNDS + 1) / 2))p"; }
  printf '%-8s %12s %16s   (%s / %s us; %d errors)\n' "$mode" "$(median "${rates[@]}")" \
    "$(median "${cpus[@]}")" "${rates[*]}" "${cpus[*]}" "$errors"
done
echo "logs: $OUT"
