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
echo "PASS: systemd-analyze verify found nothing in wsrelay.service"
