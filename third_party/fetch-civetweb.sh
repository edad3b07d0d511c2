#!/bin/bash
# Fetch CivetWeb 1.16 as Debian 13 (trixie) ships it, verify it, unpack it and
# apply Debian's patches, then ours.
#
# usage: fetch-civetweb.sh WORK_DIR
#   Leaves the patched tree in WORK_DIR/civetweb-src and prints its path.
#
# Why a private apt configuration: the machine runs Debian 12 and we must not
# touch its apt setup, yet the fixed CivetWeb (CVE-2025-55763, stale
# Sec-WebSocket-Protocol) only exists in trixie's source package. We point a
# throw-away apt state at trixie's Sources index, signed by the keys the
# machine already trusts, and use the same mirror the machine is set up for.
set -euo pipefail

work=${1:?usage: fetch-civetweb.sh WORK_DIR}
here=$(cd "$(dirname "$0")" && pwd)

version="1.16+dfsg-2+deb13u1"
orig="civetweb_1.16+dfsg.orig.tar.xz"
orig_sha="41dbfd68cd3b914ce440a5813f21058813b61a972600cc04fb8233a0d2d04fe4"
deb="civetweb_${version}.debian.tar.xz"
deb_sha="1e5f56ab5592026dc5cd90302cfaa5a66b889f8959440e64dc0e373d18165ebb"

src="$work/civetweb-src"
# The stamp names the version and our patch set, so a changed patch refetches.
patch_sum=$(find "$here/patches" -name '*.patch' -print0 | sort -z | xargs -0 -r cat | sha256sum | cut -c1-16)
stamp_want="$version $patch_sum"
if [ -f "$src/.wsrelay-stamp" ] && [ "$(cat "$src/.wsrelay-stamp")" = "$stamp_want" ]; then
  echo "$src"
  exit 0
fi

die() { echo "fetch-civetweb: $*" >&2; exit 1; }
for tool in apt-get sha256sum tar xz patch; do
  command -v "$tool" >/dev/null || die "missing tool '$tool' (apt-get install apt tar xz-utils patch)"
done

# The machine's Debian mirror: first URI of a deb822 .sources file, else of a
# one-line sources.list entry. Security mirrors carry no trixie main suite.
mirror_uri() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    uri=$(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f" |
      grep -v -- '-security' | grep -m1 '/debian/\?$' || true)
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    uri=$(awk '$1 == "deb" || $1 == "deb-src" {
                 for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "$f" |
      grep -v -- '-security' | grep -m1 '/debian/\?$' || true)
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
}
uri=$(mirror_uri)
[ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"

apt_dir="$work/apt"
rm -rf "$apt_dir"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/sourceparts" "$apt_dir/download"
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
mkdir -p "$apt_dir/cache/archives/partial"
apt-get "${apt_opts[@]}" -qq update >"$apt_dir/update.log" 2>&1 ||
  die "apt-get update of the private trixie source index failed (see $apt_dir/update.log)"

# The mirror may answer 404 for the .dsc while the tarballs arrive, so the
# exit code is not the verdict: the pinned SHA-256 sums below are.
(cd "$apt_dir/download" &&
  apt-get "${apt_opts[@]}" -qq source --download-only "civetweb=$version" >"$apt_dir/source.log" 2>&1) || true

check() {
  local file=$1 want=$2 got
  [ -f "$apt_dir/download/$file" ] || die "$file was not downloaded (see $apt_dir/source.log)"
  got=$(sha256sum "$apt_dir/download/$file" | cut -d' ' -f1)
  [ "$got" = "$want" ] || die "$file: sha256 $got, expected $want"
}
check "$orig" "$orig_sha"
check "$deb" "$deb_sha"

rm -rf "$src" "$src.tmp"
mkdir -p "$src.tmp"
tar -xJf "$apt_dir/download/$orig" -C "$src.tmp" --strip-components=1
tar -xJf "$apt_dir/download/$deb" -C "$src.tmp"

apply() {
  patch -d "$src.tmp" -p1 --forward --batch --quiet <"$1" >/dev/null ||
    die "patch $(basename "$1") does not apply"
}
while read -r p _; do
  case "$p" in '' | '#'*) continue ;; esac
  apply "$src.tmp/debian/patches/$p"
done <"$src.tmp/debian/patches/series"
for p in "$here"/patches/*.patch; do
  [ -e "$p" ] && apply "$p"
done

echo "$stamp_want" >"$src.tmp/.wsrelay-stamp"
mv "$src.tmp" "$src"
echo "$src"
