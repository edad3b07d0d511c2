#!/bin/bash
# usage: tests/bench/tls_ratio.sh            (after building into build/)
#        REPS=5 TOOLS="bench wsload" tests/bench/tls_ratio.sh
#
# What TLS costs the server per delivery: scenario S1 (100 subscribers, 1
# publisher, 64 B messages, as fast as a 64-message window allows) over ws://
# and then over wss:// against a freshly started wsrelay each, back to back,
# REPS times, with each load generator in TOOLS:
#   bench   wsrelay-bench (--tls --ca, the certificate checked)
#   wsload  ../shared/bench's wsload (-tls-insecure), when it is built
# Prints deliveries per server CPU-second for both and their ratio per
# repetition, then the medians. A benchmark, never a test: compare figures
# only within one run, and look at the load average it prints.
#
# Env: WSRELAY_BIN, WSRELAY_BENCH (defaults: build/bin/...), WSLOAD (default
# $BENCH_WORK/bin/wsload, BENCH_WORK default /tmp/wsrelay-bench), REPS
# (default 3), TOOLS (default "bench wsload"), DURATION (default 10),
# MAX_CONNECTIONS (default 12000, as in compare.sh), OUT (default a new
# temporary folder: configs, the certificate, JSON lines, server logs).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${WSRELAY_BIN:-$root/build/bin/wsrelay}
BENCH=${WSRELAY_BENCH:-$root/build/bin/wsrelay-bench}
WSLOAD=${WSLOAD:-${BENCH_WORK:-/tmp/wsrelay-bench}/bin/wsload}
REPS=${REPS:-3}
TOOLS=${TOOLS:-"bench wsload"}
DURATION=${DURATION:-10}
MAX_CONNECTIONS=${MAX_CONNECTIONS:-12000}
OUT=${OUT:-$(mktemp -d /tmp/wsrelay-tls-ratio.XXXXXX)}
mkdir -p "$OUT"
[ -x "$BIN" ] || { echo "tls_ratio.sh: $BIN is missing: build first" >&2; exit 1; }
for tool in $TOOLS; do
  case $tool in
    bench) [ -x "$BENCH" ] || { echo "tls_ratio.sh: $BENCH is missing" >&2; exit 1; } ;;
    wsload) [ -x "$WSLOAD" ] || { echo "tls_ratio.sh: $WSLOAD is missing (../shared/bench/build.sh)" >&2; exit 1; } ;;
    *) echo "tls_ratio.sh: unknown tool $tool" >&2; exit 1 ;;
  esac
done
ulimit -n 20000 2>/dev/null || true

# A self-signed certificate for 127.0.0.1, which wsrelay-bench checks (--ca).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$OUT/key.pem" -out "$OUT/cert.pem" 2>/dev/null

# shellcheck source=server_control.sh
. "$root/tests/bench/server_control.sh"

# Starts wsrelay (server_control.sh) for ws or wss; sets SRV_PID and PORT.
start_server() {
  local mode=$1 name=$2 tls_yaml=""
  [ "$mode" = wss ] && tls_yaml=$(printf '  tls:\n    enabled: true\n    certificate: "%s"\n    private_key: "%s"' "$OUT/cert.pem" "$OUT/key.pem")
  relay_start "$name" "$MAX_CONNECTIONS" "$tls_yaml"
}

# Deliveries per server CPU-second of one run's JSON line.
efficiency() {
  python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
s = r.get("server") or {}
if "deliveries_per_cpu_s" in s:
    print("%.0f" % s["deliveries_per_cpu_s"])
elif s.get("cpu_pct"):
    print("%.0f" % (r["delivered_per_s"] / (s["cpu_pct"] / 100)))
else:
    print("-")' "$1" 2>/dev/null || echo -
}

run_one() {
  local tool=$1 mode=$2 rep=$3 name="$1-$2-$3"
  start_server "$mode" "$name" || return 1
  case $tool in
    bench)
      local tls=()
      [ "$mode" = wss ] && tls=(--tls --ca "$OUT/cert.pem")
      "$BENCH" --port "$PORT" --subs 100 --pubs 1 --size 64 --rate 0 --window 64 \
        --duration "$DURATION" --warmup 2 --server-pid "$SRV_PID" "${tls[@]}" \
        >"$OUT/$name.json" 2>"$OUT/$name.log" || echo "tls_ratio.sh: $name failed (see $OUT/$name.log)" >&2
      ;;
    wsload)
      local flags=()
      [ "$mode" = wss ] && flags=(-tls-insecure)
      "$WSLOAD" -url "$mode://127.0.0.1:$PORT/ws" -subs 100 -pubs 1 -size 64 -rate 0 -window 64 \
        -duration "${DURATION}s" -warmup 2s -server-pid "$SRV_PID" "${flags[@]}" \
        >"$OUT/$name.json" 2>"$OUT/$name.log" || echo "tls_ratio.sh: $name failed (see $OUT/$name.log)" >&2
      ;;
  esac
  stop_server
  efficiency "$OUT/$name.json" >"$OUT/$name.eff"
}

echo "wsrelay $("$BIN" --version 2>/dev/null | head -1), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ); results in $OUT" >&2
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for rep in $(seq "$REPS"); do
  for tool in $TOOLS; do
    for mode in ws wss; do
      run_one "$tool" "$mode" "$rep"
    done
    echo "[$(date +%T)] $tool rep $rep: ws $(cat "$OUT/$tool-ws-$rep.eff"), wss $(cat "$OUT/$tool-wss-$rep.eff") per server CPU-s; load $(cut -d' ' -f1 /proc/loadavg)" >&2
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-7s %4s %14s %14s %12s\n' tool rep "ws per CPU-s" "wss per CPU-s" "wss cost x"
for tool in $TOOLS; do
  ratios=()
  for rep in $(seq "$REPS"); do
    ws=$(cat "$OUT/$tool-ws-$rep.eff") wss=$(cat "$OUT/$tool-wss-$rep.eff")
    ratio=$(awk -v a="$ws" -v b="$wss" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }')
    ratios+=("$ratio")
    printf '%-7s %4s %14s %14s %12s\n' "$tool" "$rep" "$ws" "$wss" "$ratio"
  done
  printf '%-7s %4s %14s %14s %12s\n' "$tool" median "" "" \
    "$(printf '%s\n' "${ratios[@]}" | grep -v -- - | sort -n | awk '{v[NR] = $1} END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }')"
done
