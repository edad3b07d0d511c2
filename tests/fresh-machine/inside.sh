#!/bin/bash
# Run by run.sh inside the fresh Debian 12 root, as root with a clean
# environment, in /root/wsrelay (a `git archive` of the tree). Does what the
# README's quick start tells a new user to do, and checks it the way they
# would.
set -euo pipefail
cd /root/wsrelay
start=$SECONDS
say() { echo "fresh-machine: [inside, $((SECONDS - start)) s] $*"; }
fail() {
  echo "fresh-machine: FAILED: $*" >&2
  exit 1
}

# GET over bash's /dev/tcp (a minimal root has no curl): prints the response.
http_get() {
  local port=$1 path=$2
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$path" >&3
  timeout 30 cat <&3
  exec 3<&-
}

# .ci/start in the background, checked as a user would: the test page, a
# WebSocket round trip, /metrics; then SIGTERM and exit 0.
start_and_check() {
  local what=$1 log=/root/start-$2.log relay deadline page echo metrics status
  say "$what: .ci/start"
  .ci/start >"$log" 2>&1 &
  relay=$!
  # Installing and building take minutes; the relay's port answering is the
  # condition, with a deadline far above any machine's speed.
  deadline=$((SECONDS + 3600))
  until (exec 3<>/dev/tcp/127.0.0.1/8443) 2>/dev/null; do
    if ! kill -0 "$relay" 2>/dev/null; then
      cat "$log" >&2
      fail "$what: .ci/start exited before the relay listened"
    fi
    [ "$SECONDS" -lt "$deadline" ] || fail "$what: .ci/start: no listener on 8443 after an hour"
    sleep 1
  done
  say "$what: relay listening"

  page=$(http_get 8443 /) || fail "test page: no answer"
  grep -q '^HTTP/1.[01] 200' <<<"$page" || fail "test page: $(head -n1 <<<"$page")"
  grep -qi '<html' <<<"$page" || fail "test page: the answer is no HTML page"
  say "$what: test page answers 200 with HTML"

  echo=$(build/bin/wsrelay-client --send "fresh machine $$" --timeout 30 ws://127.0.0.1:8443/ws) ||
    fail "wsrelay-client --send failed"
  [ "$echo" = "fresh machine $$" ] || fail "WebSocket round trip: sent 'fresh machine $$', got '$echo'"
  say "$what: WebSocket round trip works"

  metrics=$(http_get 9090 /metrics) || fail "/metrics: no answer"
  grep -q '^HTTP/1.[01] 200' <<<"$metrics" || fail "/metrics: $(head -n1 <<<"$metrics")"
  grep -q '^wsrelay_connections_total 1$' <<<"$metrics" ||
    fail "/metrics: no wsrelay_connections_total 1 after one client"
  say "$what: /metrics answers and counted the client"

  kill -TERM "$relay"
  status=0
  wait "$relay" || status=$?
  [ "$status" -eq 0 ] || { cat "$log" >&2; fail "$what: the relay exited $status on SIGTERM"; }
  say "$what: SIGTERM, relay exited 0"
}

# ---- the first command, on the machine that has nothing ----
start_and_check "README step 1" first

# ---- the second command ----
# --release-only: the install step (--test), the Release build and its whole
# suite. The ASan and TSan suites, fuzzing and lint run the same code on the
# same packages as CI's own .ci/run, which already runs them; here they
# would only double CI's time (see .ci/run).
say "README step 2: .ci/run --release-only"
.ci/run --release-only || fail ".ci/run --release-only failed"

# ---- and the first again, after the second installed the test packages ----
# (in the other order, and again: nothing to install, build/ reused).
start_and_check "step 1 again" again
say "passed"
