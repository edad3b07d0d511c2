#!/bin/sh
# systemd-analyze verify on the packaged unit (conf/wsrelay.service.in) with
# its placeholders filled in as an installation would: ExecStart names the
# built binary (which verify requires to exist). --man=no: the man page is not
# installed here. Fails on any warning systemd prints about the unit.
set -eu
unit_in=$1
binary=$2
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze missing (.ci/install-deps --test installs systemd)"; exit 1; }
dir=$(mktemp -d /tmp/wsrelay-unit-XXXXXX)
trap 'rm -rf "$dir"' EXIT
sed -e "s#@WSRELAY_EXEC@#$binary#" -e "s#@WSRELAY_CONFIG_FILE@#/etc/wsrelay/wsrelay.yaml#" \
  "$unit_in" >"$dir/wsrelay.service"
if grep -n '@[A-Z_]*@' "$dir/wsrelay.service"; then
  echo "FAIL: placeholders left in the unit"
  exit 1
fi
out=$(systemd-analyze verify --man=no "$dir/wsrelay.service" 2>&1) || { echo "$out"; echo FAIL; exit 1; }
# verify exits 0 on some problems it only warns about: those fail here too.
if printf '%s\n' "$out" | grep -i 'wsrelay.service'; then
  echo FAIL
  exit 1
fi
grep -q '^Type=notify$' "$dir/wsrelay.service"
# The limits match the default server.max_connections they are worked out
# for (the arithmetic is in the unit's comments): a task per client plus the
# 16 reserved and 128 metrics workers and 32 of the relay's own, and 80 MiB
# plus 128 KiB per client.
clients=$("$binary" --check-config | sed -n 's/^  max_connections: \([0-9]*\)$/\1/p' | head -1)
tasks=$(sed -n 's/^TasksMax=\([0-9]*\)$/\1/p' "$dir/wsrelay.service")
memory=$(sed -n 's/^MemoryMax=\([0-9]*\)G$/\1/p' "$dir/wsrelay.service")
[ -n "$clients" ] && [ -n "$tasks" ] && [ -n "$memory" ] || { echo "FAIL: no max_connections, TasksMax= or MemoryMax=<n>G"; exit 1; }
if [ "$tasks" -lt $((clients + 16 + 128 + 32)) ]; then
  echo "FAIL: TasksMax=$tasks is below $((clients + 16 + 128 + 32)) for max_connections $clients"
  exit 1
fi
if [ $((memory * 1024 * 1024)) -lt $((80 * 1024 + clients * 128)) ]; then
  echo "FAIL: MemoryMax=${memory}G is below 80 MiB + $clients x 128 KiB"
  exit 1
fi
echo "PASS: systemd-analyze verify found nothing in wsrelay.service"
