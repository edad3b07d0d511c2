# shellcheck shell=bash
# Sourced by the benchmark scripts (run.sh, tls_ratio.sh, clients_25k.sh,
# auth_handshakes.sh): starting a relay with the benchmark's config
# (relay_start), stopping the relay they started (its pid in SRV_PID),
# probing a port, reading a figure from a JSON line.
SRV_PID=""
stop_server() {
  if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
    kill -TERM "$SRV_PID"
    for _ in $(seq 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SRV_PID" 2>/dev/null && kill -KILL "$SRV_PID"
    wait "$SRV_PID" 2>/dev/null || true
  fi
  SRV_PID=""
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# relay_start NAME MAX_CONNECTIONS [YAML]
# Starts $BIN with the benchmark's config (as ../shared/bench's
# peers/wsrelay/start.sh writes it, plus the per-address limits off: every
# benchmark client comes from 127.0.0.1) on a free port below the ephemeral
# range (32768 and up, where the clients' own ports would collide with it),
# on each address of RELAY_HOSTS (default 127.0.0.1). YAML goes after the
# server section's keys: indented by two spaces it belongs to that section
# (tls), at the margin it is a section of its own (rooms). Writes
# $OUT/NAME.yaml and $OUT/NAME.server.log; sets PORT and SRV_PID. Returns
# once the port answers and the thread count has stopped growing (before
# patch 0013 CivetWeb created its max_connections workers after binding,
# seconds at 12 000, which a run measured too early was charged with; the
# pool now grows with the clients, so this returns at once, and it stays for
# a binary built before); 1 when the relay did not start.
relay_start() {
  local name=$1 max=$2 extra=${3:-} listen host threads before
  for _ in 1 2 3 4 5; do
    PORT=$((20000 + RANDOM % 12000))
    port_open "$PORT" && continue
    listen=""
    for host in ${RELAY_HOSTS:-127.0.0.1}; do listen="$listen${listen:+, }\"$host:$PORT\""; done
    cat >"$OUT/$name.yaml" <<YAML
server:
  listen: [$listen]
  websocket_path: "/ws"
  document_root: ""
  max_connections: $max
  max_message_bytes: 1048576
$extra
limits:
  max_connections_per_address: 0
  handshakes_per_address_per_second: 0
metrics:
  enabled: false
logging:
  level: "warn"
YAML
    "$BIN" --config-file "$OUT/$name.yaml" >"$OUT/$name.server.log" 2>&1 &
    SRV_PID=$!
    for _ in $(seq 300); do
      if port_open "$PORT"; then
        threads=$(awk '/^Threads:/ {print $2}' "/proc/$SRV_PID/status")
        for _ in $(seq 600); do
          sleep 0.5
          before=$threads
          threads=$(awk '/^Threads:/ {print $2}' "/proc/$SRV_PID/status" 2>/dev/null) || break
          [ "$threads" = "$before" ] && return 0
        done
        return 0
      fi
      kill -0 "$SRV_PID" 2>/dev/null || break
      sleep 0.1
    done
    stop_server
  done
  echo "$(basename "$0"): wsrelay did not start (see $OUT/$name.server.log)" >&2
  return 1
}

# A number from a one-line JSON object ("-" when absent).
json() {
  local v
  v=$(grep -o "\"$2\":[-0-9.e+]*" "$1" | head -1 | cut -d: -f2)
  echo "${v:--}"
}
