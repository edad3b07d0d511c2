#!/bin/bash
# usage: tests/fresh-machine/run.sh
#
# The README's quick start on a machine that has nothing: a minimal Debian 12
# root made by debootstrap, a clean export of HEAD (git archive) in it, and in
# there, as a new user would (inside.sh): `.ci/start` to a working relay (test
# page, a WebSocket round trip, /metrics, exit 0 on SIGTERM), then
# `.ci/run --release-only` (the install step, the Release build and its suite).
# Run by .ci/run; needs root, debootstrap and slirp4netns
# (.ci/install-deps --test installs them).
#
# The mirror is the one this machine's apt uses, read at run time (never
# stored here), and the root gets this machine's Debian apt sources. The
# debootstrapped base and the downloaded .debs are kept in $WSRELAY_FRESH_CACHE
# (default /var/cache/wsrelay-fresh-machine) so later runs skip the download;
# every run still installs every package from scratch into a new root.
#
# Isolation: the root runs in its own mount, PID and network namespaces. The
# mounts (/proc, /dev, /dev/pts, /dev/shm) are made in the private mount
# namespace, undone by the trap in the namespace and in any case gone with it,
# so none is ever visible to (or left on) the machine. The PID namespace ends
# every process the run started (relay, brokers) when it ends, and it ends
# with unshare (--kill-child), which the trap stops on any exit or signal. The network
# namespace has its own loopback, so the relay's default ports 8443 and 9090
# collide neither with another run nor with a Prometheus on this machine;
# slirp4netns gives it a way out to the mirror (and nothing in it can reach
# this machine's loopback).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=third_party/apt-sources.sh
. "$repo/third_party/apt-sources.sh"

suite=bookworm
cache=${WSRELAY_FRESH_CACHE:-/var/cache/wsrelay-fresh-machine}
start=$SECONDS

die() {
  echo "fresh-machine: $*" >&2
  exit 1
}
say() { echo "fresh-machine: [$((SECONDS - start)) s] $*"; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, namespaces)"
for tool in debootstrap slirp4netns unshare chroot ip git tar; do
  command -v "$tool" >/dev/null || die "missing '$tool': .ci/install-deps --test installs it"
done
git -C "$repo" rev-parse --verify -q HEAD >/dev/null || die "$repo is not a git checkout with a HEAD"

mirror=$(apt_debian_mirror "")
[ -n "$mirror" ] || die "no Debian mirror in this machine's apt sources"
arch=$(dpkg --print-architecture)

# ---- the cached base ----
mkdir -p "$cache/debs"
base=$cache/$suite-$arch-minbase.tar
if [ ! -f "$base" ]; then
  say "debootstrap $suite ($arch, minbase) from $mirror"
  tmp=$(mktemp -d "$cache/base.XXXXXX")
  # No mount happens here: debootstrap mounts /proc in the target itself and
  # undoes it, but only inside this private mount namespace.
  if ! unshare --mount --propagation private \
    debootstrap --variant=minbase --cache-dir="$cache/debs" "$suite" "$tmp/root" "$mirror" \
    >"$tmp/debootstrap.log" 2>&1; then
    tail -n 20 "$tmp/debootstrap.log" >&2
    rm -rf "$tmp"
    die "debootstrap failed"
  fi
  tar -C "$tmp/root" -cf "$base.tmp" .
  mv "$base.tmp" "$base"
  rm -rf "$tmp"
fi

# ---- this run's root ----
work=$(mktemp -d /var/tmp/wsrelay-fresh.XXXXXX)
root=$work/root
ns_pid=""
slirp_pid=""
cleanup() {
  local status=$?
  # Neither a failing step (errexit) nor a second signal may cut the clean-up
  # short.
  set +e
  trap '' INT TERM
  # The namespaces first, then their way out. unshare blocks SIGTERM while
  # its child runs, so it gets SIGKILL; --kill-child then ends the child, the
  # PID namespace's init, and with it every process in there.
  [ -n "$ns_pid" ] && kill -KILL "$ns_pid" 2>/dev/null && wait "$ns_pid" 2>/dev/null
  [ -n "$slirp_pid" ] && kill "$slirp_pid" 2>/dev/null && wait "$slirp_pid" 2>/dev/null
  # The mounts lived in the namespace only; refuse to delete through one that
  # somehow is still there.
  if grep -q " $work/" /proc/mounts; then
    echo "fresh-machine: mounts left under $work, not removing it" >&2
  elif [ -z "${WSRELAY_FRESH_KEEP:-}" ]; then
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$root"
tar -C "$root" -xf "$base"

# This machine's Debian apt sources (and the mirror lists they name), as a
# fresh Debian 12 machine has its own; files naming other repositories are
# left out, since the root trusts only Debian's keys.
rm -f "$root/etc/apt/sources.list" "$root"/etc/apt/sources.list.d/*
copied=0
while read -r f; do
  if apt_debian_only "$f" ""; then
    cp "$f" "$root$f"
    copied=$((copied + 1))
  fi
done < <(apt_sources_files "")
[ -d /etc/apt/mirrors ] && cp -a /etc/apt/mirrors "$root/etc/apt/"
[ "$copied" -gt 0 ] || echo "deb $mirror $suite main" >"$root/etc/apt/sources.list"
# slirp4netns's DNS forwarder.
echo "nameserver 10.0.2.3" >"$root/etc/resolv.conf"
# What Debian's installer (or a cloud image) writes and debootstrap does not:
# without it "localhost" does not resolve (the TLS tests connect to it).
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# Downloaded .debs are kept between runs (apt checks them against the index).
rm -rf "$root/var/cache/apt/archives"
mkdir -p "$root/var/cache/apt/archives" "$cache/archives/partial"

mkdir "$root/root/wsrelay"
git -C "$repo" archive HEAD | tar -x -C "$root/root/wsrelay"
say "root ready in $work (apt sources: $copied file(s) copied, mirror $mirror)"

# The namespace side: wait for the network, mount, run inside.sh, unmount.
cat >"$work/ns.sh" <<'EOF'
set -eu
root=$1 cache=$2
for _ in $(seq 600); do
  ip -o addr show tap0 2>/dev/null | grep -q 'inet ' && break
  sleep 0.1
done
ip -o addr show tap0 | grep -q 'inet ' || { echo "fresh-machine: no network in the namespace" >&2; exit 1; }
ip link set lo up
undo() {
  for m in var/cache/apt/archives dev/shm dev/pts dev proc; do
    mountpoint -q "$root/$m" && umount "$root/$m"
  done
  return 0
}
trap undo EXIT
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
mount --bind "$cache/archives" "$root/var/cache/apt/archives"
# A new user's clean environment: no CI=true, so tests/browser skips (77)
# rather than fails where Debian 12's node is too old (see inside.sh).
chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /bin/bash /root/wsrelay/tests/fresh-machine/inside.sh
EOF

unshare --mount --propagation private --pid --fork --kill-child --net \
  bash "$work/ns.sh" "$root" "$cache" &
ns_pid=$!
# unshare itself enters the new network namespace: attach slirp4netns to it,
# but only once it has (before, the pid is still in this machine's namespace,
# whose network slirp4netns must never touch).
own_net=$(readlink /proc/self/ns/net)
for _ in $(seq 600); do
  ns_net=$(readlink "/proc/$ns_pid/ns/net" 2>/dev/null || true)
  [ -n "$ns_net" ] && [ "$ns_net" != "$own_net" ] && break
  sleep 0.1
done
if [ -z "$ns_net" ] || [ "$ns_net" = "$own_net" ]; then
  die "unshare did not make a network namespace"
fi
slirp4netns --configure --mtu=65520 --disable-host-loopback "$ns_pid" tap0 >"$work/slirp.log" 2>&1 &
slirp_pid=$!

status=0
wait "$ns_pid" || status=$?
ns_pid=""
if [ "$status" -ne 0 ]; then
  [ -s "$work/slirp.log" ] && sed 's/^/slirp4netns: /' "$work/slirp.log" >&2
  die "FAILED after $((SECONDS - start)) s (exit $status; logs above)"
fi
say "passed in $((SECONDS - start)) s"
