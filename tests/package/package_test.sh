#!/bin/bash
# usage: package_test.sh contents|unit BUILD_DIR WORK_DIR VERSION VERSION_STRING
#
# contents: builds the .deb and the .tar.gz with cpack and checks them from
#   the outside: control fields, conffiles, the file list, the generated
#   configuration and unit, the man page; runs `--version` and
#   `--check-config` from each; and leaves the .deb unpacked in WORK_DIR/root
#   for the other package tests.
# unit: `systemd-analyze verify` of the packaged unit, pointed at that root's
#   binary and man page.
set -euo pipefail

step=$1
build=$(cd "$2" && pwd)
work=$3
version=$4
version_string=$5
arch=$(dpkg --print-architecture)
deb=$work/out/wsrelay_${version}-1_${arch}.deb
tgz_name=wsrelay-${version}-linux-$(uname -m)
root=$work/root

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
need() {
  command -v "$1" >/dev/null || fail "$1 is missing (.ci/install-deps --test installs it)"
}
# Runs a command; on failure shows what it printed.
run_logged() {
  local log=$1
  shift
  local status=0
  "$@" >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$log" >&2
    fail "$* exited $status"
  fi
}

check_deb() {
  local depends listing path
  field() { dpkg-deb --field "$deb" "$1"; }
  [ "$(field Package)" = wsrelay ] || fail "Package is '$(field Package)'"
  [ "$(field Version)" = "$version-1" ] || fail "Version is '$(field Version)', not $version-1"
  [ "$(field Architecture)" = "$arch" ] || fail "Architecture is '$(field Architecture)'"
  # From dpkg-shlibdeps, so each library the binaries link must be named.
  depends=$(field Depends)
  for lib in libc6 libssl3 libyaml-0-2 libhiredis0.14 libnats3.4 libjansson4 libcurl4 libjwt0; do
    grep -Eq "(^|, )$lib( |,|$)" <<<"$depends" || fail "Depends lacks $lib: $depends"
  done

  dpkg-deb --control "$deb" "$work/control"
  [ "$(cat "$work/control/conffiles")" = /etc/wsrelay/wsrelay.yaml ] ||
    fail "conffiles is '$(cat "$work/control/conffiles")'"

  listing=$(dpkg-deb --contents "$deb" | awk '{ print $6 }')
  local expected=(
    ./usr/bin/wsrelay
    ./etc/wsrelay/wsrelay.yaml
    ./usr/share/wsrelay/www/index.html
    ./usr/share/man/man8/wsrelay.8.gz
    ./usr/share/doc/wsrelay/README.md
    ./usr/share/doc/wsrelay/CHANGELOG.md
    ./usr/lib/systemd/system/wsrelay.service
  )
  # The client ships whenever the build has it.
  [ -x "$build/bin/wsrelay-client" ] && expected+=(./usr/bin/wsrelay-client)
  for path in "${expected[@]}"; do
    grep -qxF "$path" <<<"$listing" || fail "the .deb lacks $path"
  done
  # Only /usr and /etc/wsrelay, and nothing of a /usr/local or /usr/etc
  # layout leaking in from the build's own prefix.
  local stray
  stray=$(grep -vE '^\./($|usr/|etc/$|etc/wsrelay/)' <<<"$listing" || true)
  stray+=$(grep -E '^\./usr/(local|etc)/' <<<"$listing" || true)
  [ -z "$stray" ] || fail "unexpected paths in the .deb: $stray"

  rm -rf "$root"
  dpkg --extract "$deb" "$root"
}

# The program's own report of its version: one source, the project version.
check_version() {
  local bin=$1 out
  out=$("$bin" --version)
  [[ "$out" == "wsrelay $version_string (CivetWeb "* ]] || fail "$bin --version says: $out"
}

check_man() {
  local page=$1 warnings
  if ! command -v groff >/dev/null; then
    echo "groff not installed: man page rendering not checked"
    return
  fi
  warnings=$(gzip -dc "$page" | groff -man -Tutf8 -ww -z 2>&1)
  [ -z "$warnings" ] || fail "groff warns about $page: $warnings"
}

contents() {
  need cpack
  need dpkg-deb
  rm -rf "$work"
  mkdir -p "$work"
  run_logged "$work/cpack.log" cpack --config "$build/CPackConfig.cmake" -B "$work/out"
  [ -f "$deb" ] || fail "cpack made no $deb"
  [ -f "$work/out/$tgz_name.tar.gz" ] || fail "cpack made no $tgz_name.tar.gz"

  check_deb
  check_version "$root/usr/bin/wsrelay"
  if [ -x "$root/usr/bin/wsrelay-client" ]; then
    run_logged "$work/client-help.log" "$root/usr/bin/wsrelay-client" --help
  fi
  local config=$root/etc/wsrelay/wsrelay.yaml
  grep -qx '  document_root: "/usr/share/wsrelay/www"' "$config" ||
    fail "the packaged configuration does not serve /usr/share/wsrelay/www"
  run_logged "$work/check-deb.log" "$root/usr/bin/wsrelay" --config-file "$config" --check-config
  grep -qx 'ExecStart=/usr/bin/wsrelay --config-file /etc/wsrelay/wsrelay.yaml' \
    "$root/usr/lib/systemd/system/wsrelay.service" || fail "the unit's ExecStart is wrong"
  check_man "$root/usr/share/man/man8/wsrelay.8.gz"

  # The tarball is relocatable: its configuration finds the test page
  # relative to itself, wherever the tree is unpacked.
  mkdir "$work/tgz"
  tar -xzf "$work/out/$tgz_name.tar.gz" -C "$work/tgz"
  local tree=$work/tgz/$tgz_name docroot
  for path in bin/wsrelay etc/wsrelay/wsrelay.yaml share/wsrelay/www/index.html \
    share/man/man8/wsrelay.8.gz lib/systemd/system/wsrelay.service; do
    [ -e "$tree/$path" ] || fail "the .tar.gz lacks $path"
  done
  check_version "$tree/bin/wsrelay"
  run_logged "$work/check-tgz.log" "$tree/bin/wsrelay" \
    --config-file "$tree/etc/wsrelay/wsrelay.yaml" --check-config
  docroot=$(sed -n 's/^  document_root: "\(.*\)"$/\1/p' "$work/check-tgz.log")
  [ -f "$docroot/index.html" ] || fail "the .tar.gz's document_root '$docroot' has no index.html"

  # cmake --install into a prefix of our own: the unit names that prefix.
  run_logged "$work/install.log" cmake --install "$build" --prefix "$work/prefix"
  grep -qx "ExecStart=$work/prefix/bin/wsrelay --config-file $work/prefix/etc/wsrelay/wsrelay.yaml" \
    "$work/prefix/lib/systemd/system/wsrelay.service" ||
    fail "cmake --install --prefix: the unit's ExecStart does not name the prefix"
  echo "package contents: ok ($(basename "$deb"), $tgz_name.tar.gz)"
}

unit() {
  command -v systemd-analyze >/dev/null || {
    echo "systemd-analyze not installed: unit not verified"
    exit 77
  }
  # verify checks every setting and that ExecStart's binary is executable.
  # A copy runs the unpacked binary, since /usr/bin/wsrelay is not
  # installed here; --root= instead would lack the host's sysinit.target
  # and friends, which the unit's default dependencies need. With man
  # installed, Documentation=man:wsrelay(8) must resolve to the packaged
  # page as well.
  local dir=$work/unit out man=no
  mkdir -p "$dir"
  sed "s#^ExecStart=/usr/bin/wsrelay #ExecStart=$root/usr/bin/wsrelay #" \
    "$root/usr/lib/systemd/system/wsrelay.service" >"$dir/wsrelay.service"
  grep -q "^ExecStart=$root/" "$dir/wsrelay.service" || fail "no ExecStart=/usr/bin/wsrelay to point at $root"
  command -v man >/dev/null && man=yes
  out=$(MANPATH=$root/usr/share/man systemd-analyze verify --man=$man "$dir/wsrelay.service" 2>&1) ||
    fail "systemd-analyze verify: $out"
  # It only warns, with status 0, about unknown or misspelt settings.
  [ -z "$out" ] || fail "systemd-analyze verify complains: $out"
  echo "package unit: ok (man page checked: $man)"
}

case $step in
contents) contents ;;
unit) unit ;;
*) fail "unknown step $step" ;;
esac
