#!/bin/bash
# usage: tests/bench/auth_handshakes.sh [CONNECTIONS] [ROUNDS]   (defaults 2000, 3)
#
# What access control costs a handshake: WebSocket handshakes per second
# with auth.mode none, jwt HS256 and jwt ES256 (the token in the
# access_token query parameter, made by tests/support/jwt_tool.py). Each
# round starts a fresh relay and opens CONNECTIONS clients with
# build/bin/wsrelay-bench --idle at full speed; the rate is connections
# over the time to open them all. Prints the median of ROUNDS per mode.
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

# One round: prints handshakes per second.
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
  "$BENCH" --port "$port" --path "/ws$query" --idle "$N" --hold 0 --connect-rate 0 \
    2>>"$OUT/$mode.log" | /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
ok = r["connected"] - r["connect_errors"]
print("%.0f %d" % (ok / r["connect_s"], r["connect_errors"]))'
  stop_server
}

printf '%-12s %12s %s\n' mode "handshakes/s" "(median of $ROUNDS rounds of $N; errors)"
for mode in none HS256 ES256; do
  case $mode in
    none) q="" ;;
    HS256) q="?access_token=$HS" ;;
    ES256) q="?access_token=$ES" ;;
  esac
  rates=()
  errors=0
  for _ in $(seq "$ROUNDS"); do
    read -r rate err < <(round "$mode" "$q")
    rates+=("$rate")
    errors=$((errors + err))
  done
  median=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n "$(((ROUNDS + 1) / 2))p")
  printf '%-12s %12s (%s; %d errors)\n' "$mode" "$median" "${rates[*]}" "$errors"
done
echo "logs: $OUT"
