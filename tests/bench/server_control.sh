# Sourced by the benchmark scripts (run.sh, auth_handshakes.sh): stopping the
# relay they started (its pid in SRV_PID) and probing a port.
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
