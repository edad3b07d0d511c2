#!/bin/bash
# Fetch CivetWeb 1.16 as Debian 13 (trixie) ships it, verify it, unpack it and
# apply Debian's patches, then ours.
#
# usage: fetch-civetweb.sh WORK_DIR [TARBALL_DIR]
#   Leaves the patched tree in WORK_DIR/civetweb-src and prints its path (on
#   standard output; every message goes to standard error).
#   TARBALL_DIR: build without the network from the source package's two
#   tarballs in a local folder, civetweb_1.16+dfsg.orig.tar.xz and
#   civetweb_<version>.debian.tar.xz (e.g. from `apt-get source
#   --download-only civetweb` on a machine with trixie's sources).
#
# Why a private apt configuration: the machine runs Debian 12 and we must not
# touch its apt setup, yet the fixed CivetWeb (CVE-2025-55763, stale
# Sec-WebSocket-Protocol) only exists in trixie's source package. We point a
# throw-away apt state at trixie's Sources index, signed by the keys the
# machine already trusts, and use the same mirror the machine is set up for
# (apt-sources.sh reads it: sources.list, *.list, deb822 *.sources, plain or
# mirror+file/mirror+http(s) URIs).
#
# Which version: the pinned one below, checked against its pinned SHA-256
# sums. It leaves trixie's index when a newer update ships there; then the
# newest version of the same upstream release (1.16+dfsg) is taken, checked
# against the signed index's own SHA-256 sums, and its version and sums are
# printed. Any other upstream release stops the build: our patches are made
# for 1.16.
set -euo pipefail

work=${1:?usage: fetch-civetweb.sh WORK_DIR [TARBALL_DIR]}
tarballs=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=third_party/apt-sources.sh
. "$here/apt-sources.sh"

pinned="1.16+dfsg-2+deb13u1"
pinned_orig_sha="41dbfd68cd3b914ce440a5813f21058813b61a972600cc04fb8233a0d2d04fe4"
pinned_deb_sha="1e5f56ab5592026dc5cd90302cfaa5a66b889f8959440e64dc0e373d18165ebb"

src="$work/civetweb-src"
# The stamp names the pin, our patch set and the version used, so a changed
# pin or patch refetches; a tree made from a later 1.16 update is kept.
patch_sum=$(find "$here/patches" -name '*.patch' -print0 | sort -z | xargs -0 -r cat | sha256sum | cut -c1-16)
if [ -f "$src/.wsrelay-stamp" ]; then
  read -r stamp_pin stamp_sum _ <"$src/.wsrelay-stamp" || true
  if [ "${stamp_pin:-}" = "$pinned" ] && [ "${stamp_sum:-}" = "$patch_sum" ]; then
    echo "$src"
    exit 0
  fi
fi

die() {
  echo "fetch-civetweb: $*" >&2
  exit 1
}
note() { echo "fetch-civetweb: $*" >&2; }
for tool in apt-get apt-cache sha256sum tar xz patch dpkg; do
  command -v "$tool" >/dev/null || die "missing tool '$tool' (apt-get install apt tar xz-utils patch)"
done

sha() { sha256sum "$1" | cut -d' ' -f1; }
# orig and debian tarball names of a source version (no epoch in file names).
orig_name() {
  local v=${1#*:}
  echo "civetweb_${v%-*}.orig.tar.xz"
}
deb_name() { echo "civetweb_${1#*:}.debian.tar.xz"; }

# check_pinned DIR: DIR holds the pinned version's tarballs with their sums.
check_pinned() {
  local f want got
  for f in "$(orig_name "$pinned")=$pinned_orig_sha" "$(deb_name "$pinned")=$pinned_deb_sha"; do
    want=${f#*=}
    f=$1/${f%%=*}
    [ -f "$f" ] || die "$(basename "$f") is missing in $1"
    got=$(sha "$f")
    [ "$got" = "$want" ] || die "$(basename "$f"): sha256 $got, expected $want"
  done
}

if [ -n "$tarballs" ]; then
  # ---- local tarballs ----
  [ -d "$tarballs" ] || die "tarball folder $tarballs does not exist"
  dl=$(cd "$tarballs" && pwd)
  if [ -f "$dl/$(deb_name "$pinned")" ]; then
    version=$pinned
    check_pinned "$dl"
  else
    debs=("$dl"/civetweb_*.debian.tar.xz)
    [ -f "${debs[0]}" ] || die "no civetweb_<version>.debian.tar.xz in $dl"
    [ ${#debs[@]} -eq 1 ] || die "several civetweb_*.debian.tar.xz in $dl: keep one"
    version=$(basename "${debs[0]}" .debian.tar.xz)
    version=${version#civetweb_}
    civetweb_choose_version "$pinned" <<<"$version" >/dev/null 2>&1 ||
      die "$(basename "${debs[0]}") is not CivetWeb ${pinned%-*}, which our patches are made for"
    [ -f "$dl/$(orig_name "$version")" ] || die "$(orig_name "$version") is missing in $dl"
    note "using civetweb $version from $dl (pinned $pinned is not there; no index to check it against):"
    note "  sha256 $(sha "$dl/$(orig_name "$version")")  $(orig_name "$version")"
    note "  sha256 $(sha "$dl/$(deb_name "$version")")  $(deb_name "$version")"
  fi
else
  # ---- trixie's source index, through the machine's mirror ----
  uri=$(apt_debian_mirror "")
  [ -n "$uri" ] || die "no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d/ (or pass a tarball folder: -DCIVETWEB_TARBALL_DIR=...)"

  apt_dir="$work/apt"
  rm -rf "$apt_dir"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/sourceparts" "$apt_dir/download" "$apt_dir/cache/archives/partial"
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -r "$keyring" ] || die "$keyring missing (apt-get install debian-archive-keyring)"
  echo "deb-src [signed-by=$keyring] $uri trixie main" >"$apt_dir/sources.list"

  apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/sourceparts"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Get::List-Cleanup=0"
    -o "Debug::NoLocking=1"
  )
  apt-get "${apt_opts[@]}" -qq update >"$apt_dir/update.log" 2>&1 ||
    die "apt-get update of the private trixie source index from $uri failed (see $apt_dir/update.log)"

  apt-cache "${apt_opts[@]}" showsrc civetweb >"$apt_dir/showsrc.txt" 2>/dev/null || true
  version=$(awk '$1 == "Version:" { print $2 }' "$apt_dir/showsrc.txt" |
    civetweb_choose_version "$pinned" 2>"$apt_dir/choose.log") ||
    die "$(cat "$apt_dir/choose.log") in trixie's index at $uri"

  # The mirror may answer 404 for the .dsc while the tarballs arrive, so the
  # exit code is not the verdict: the SHA-256 sums below are.
  (cd "$apt_dir/download" &&
    apt-get "${apt_opts[@]}" -qq source --download-only "civetweb=$version" >"$apt_dir/source.log" 2>&1) || true
  dl=$apt_dir/download

  # Every file against the signed index's Checksums-Sha256 of that version.
  for f in "$(orig_name "$version")" "$(deb_name "$version")"; do
    [ -f "$dl/$f" ] || die "$f was not downloaded (see $apt_dir/source.log)"
    want=$(apt_showsrc_sha256 "$apt_dir/showsrc.txt" "$version" "$f")
    got=$(sha "$dl/$f")
    if [ -z "$want" ] || [ "$got" != "$want" ]; then
      die "$f: sha256 $got, the index says ${want:-nothing}"
    fi
  done
  if [ "$version" = "$pinned" ]; then
    check_pinned "$dl"
  else
    note "civetweb $pinned has left trixie's index; using $version (checked against the signed index):"
    note "  sha256 $(sha "$dl/$(orig_name "$version")")  $(orig_name "$version")"
    note "  sha256 $(sha "$dl/$(deb_name "$version")")  $(deb_name "$version")"
  fi
fi

rm -rf "$src" "$src.tmp"
mkdir -p "$src.tmp"
tar -xJf "$dl/$(orig_name "$version")" -C "$src.tmp" --strip-components=1
tar -xJf "$dl/$(deb_name "$version")" -C "$src.tmp"

# One line when a patch no longer applies: whose patch, and to which version.
apply() {
  patch -d "$src.tmp" -p1 --forward --batch --quiet <"$1" >/dev/null 2>&1 ||
    die "$2 patch $(basename "$1") no longer applies to civetweb $version"
}
while read -r p _; do
  case "$p" in '' | '#'*) continue ;; esac
  apply "$src.tmp/debian/patches/$p" "Debian's"
done <"$src.tmp/debian/patches/series"
for p in "$here"/patches/*.patch; do
  [ -e "$p" ] && apply "$p" "our (third_party/patches/)"
done

echo "$pinned $patch_sum $version" >"$src.tmp/.wsrelay-stamp"
mv "$src.tmp" "$src"
echo "$src"
