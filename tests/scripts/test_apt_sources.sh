#!/bin/bash
# usage: test_apt_sources.sh
# Unit test of third_party/apt-sources.sh (which mirror a machine's apt
# configuration names, which CivetWeb version is chosen) over the sample
# trees in samples/, and of fetch-civetweb.sh's local-tarball path over
# tarballs made here (version choice, its printed SHA-256, the one-line
# failure of a patch that no longer applies). No network.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
third_party=$(cd "$here/../../third_party" && pwd)
samples=$here/samples
# shellcheck source=third_party/apt-sources.sh
. "$third_party/apt-sources.sh"

failures=0
check() {
  local name=$1 want=$2 got=$3
  if [ "$got" = "$want" ]; then
    echo "ok   $name"
  else
    echo "FAIL $name: expected '$want', got '$got'"
    failures=$((failures + 1))
  fi
}

# ---- the mirror ----
check "cloud image: first entry of the mirror+file list" \
  "https://cdn-aws.deb.debian.org/debian" "$(apt_debian_mirror "$samples/cloud")"
check "deb822: disabled stanza and third-party file skipped, continuation URIs, slash dropped" \
  "http://ftp.example.test/debian" "$(apt_debian_mirror "$samples/deb822")"
check "sources.list: comments, security, cdrom and [options] skipped" \
  "https://mirror.example.test/debian" "$(apt_debian_mirror "$samples/oneline")"
fake_fetch() { cp "$samples/remote-list/${1##*/}" "$2"; }
check "mirror+http: the list fetched, its first entry" \
  "http://remote-mirror.example.test/debian" \
  "$(APT_SOURCES_FETCH=fake_fetch apt_debian_mirror "$samples/remote-list")"
check "mirror+http: an unreachable list gives nothing" "" \
  "$(APT_SOURCES_FETCH=false apt_debian_mirror "$samples/remote-list")"
check "no Debian archive: nothing" "" "$(apt_debian_mirror "$samples/none")"
check "no apt configuration at all: nothing" "" "$(apt_debian_mirror "$samples/does-not-exist")"

check "source files in apt's order" \
  "$samples/oneline/etc/apt/sources.list $samples/oneline/etc/apt/sources.list.d/other.list" \
  "$(apt_sources_files "$samples/oneline" | tr '\n' ' ' | sed 's/ $//')"
only() { apt_debian_only "$1" "$2" && echo yes || echo no; }
check "Debian-only: cloud sources" yes "$(only "$samples/cloud/etc/apt/sources.list.d/debian.sources" "$samples/cloud")"
check "Debian-only: not the third-party file" no \
  "$(only "$samples/deb822/etc/apt/sources.list.d/a-nodesource.sources" "$samples/deb822")"
check "Debian-only: not a file mixing Debian and others" no \
  "$(only "$samples/none/etc/apt/sources.list.d/other.sources" "$samples/none")"
check "Debian-only: not a cdrom entry" no "$(only "$samples/oneline/etc/apt/sources.list" "$samples/oneline")"

# ---- the version ----
pin=1.16+dfsg-2+deb13u1
choose() { civetweb_choose_version "$pin" 2>&1 || echo "(failed)"; }
check "pinned version offered: taken" "$pin" \
  "$(printf '1.16+dfsg-2+deb13u2\n%s\n1.16+dfsg-3\n' "$pin" | choose)"
check "pin gone: the newest 1.16 (dpkg order, u10 > u9)" "1.16+dfsg-2+deb13u10" \
  "$(printf '1.16+dfsg-2+deb13u9\n1.16+dfsg-2+deb13u10\n1.16+dfsg-2\n' | choose)"
check "pin gone, only another upstream: fails naming what was offered" \
  "no civetweb 1.16+dfsg source version offered (offered: 1.17+dfsg-1 1.15+dfsg-4)
(failed)" "$(printf '1.17+dfsg-1\n1.15+dfsg-4\n' | choose)"
check "nothing offered: fails" "no civetweb 1.16+dfsg source version offered (offered: none)
(failed)" "$(printf '' | choose)"

# ---- the signed index's sums ----
showsrc=$samples/showsrc/civetweb.txt
check "index sum: the file of that version's stanza" \
  bbbb000000000000000000000000000000000000000000000000000000000002 \
  "$(apt_showsrc_sha256 "$showsrc" 1.16+dfsg-2+deb13u2 civetweb_1.16+dfsg-2+deb13u2.debian.tar.xz)"
check "index sum: Version after the sums, last stanza" \
  cccc000000000000000000000000000000000000000000000000000000000003 \
  "$(apt_showsrc_sha256 "$showsrc" 1.16+dfsg-2+deb13u1 civetweb_1.16+dfsg-2+deb13u1.debian.tar.xz)"
check "index sum: never another version's file" "" \
  "$(apt_showsrc_sha256 "$showsrc" 1.16+dfsg-2+deb13u1 civetweb_1.16+dfsg-2+deb13u2.debian.tar.xz)"
check "index sum: a version not in the index" "" \
  "$(apt_showsrc_sha256 "$showsrc" 1.16+dfsg-3 civetweb_1.16+dfsg.orig.tar.xz)"

# ---- fetch-civetweb.sh over local tarballs ----
# A copy of the script beside patches of our own making, and a tiny source
# package: an orig tarball and a debian tarball with one Debian patch.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tp=$work/third_party
mkdir -p "$tp/patches" "$work/pkg/civetweb-1.16/src" "$work/pkg/debian/patches" "$work/tarballs"
cp "$third_party/fetch-civetweb.sh" "$third_party/apt-sources.sh" "$tp/"
printf 'int one;\n' >"$work/pkg/civetweb-1.16/src/civetweb.c"
cat >"$work/pkg/debian/patches/debian-fix.patch" <<'EOF'
--- a/src/civetweb.c
+++ b/src/civetweb.c
@@ -1 +1 @@
-int one;
+int two;
EOF
printf '# Debian series\ndebian-fix.patch\n' >"$work/pkg/debian/patches/series"
cat >"$tp/patches/0001-ours.patch" <<'EOF'
--- a/src/civetweb.c
+++ b/src/civetweb.c
@@ -1 +1 @@
-int two;
+int three;
EOF
version=1.16+dfsg-2+deb13u7
tar -C "$work/pkg" -cJf "$work/tarballs/civetweb_1.16+dfsg.orig.tar.xz" civetweb-1.16
tar -C "$work/pkg" -cJf "$work/tarballs/civetweb_$version.debian.tar.xz" debian

out=$("$tp/fetch-civetweb.sh" "$work/w1" "$work/tarballs" 2>"$work/err")
check "tarballs: the tree's path printed" "$work/w1/civetweb-src" "$out"
check "tarballs: Debian's patch, then ours" "int three;" "$(cat "$work/w1/civetweb-src/src/civetweb.c" 2>&1)"
check "tarballs: the version used is printed" yes \
  "$(grep -q "using civetweb $version from" "$work/err" && echo yes || echo no)"
sum=$(sha256sum "$work/tarballs/civetweb_$version.debian.tar.xz" | cut -d' ' -f1)
check "tarballs: its SHA-256 is printed" yes "$(grep -q "sha256 $sum" "$work/err" && echo yes || echo no)"
check "tarballs: a second run reuses the tree" "$work/w1/civetweb-src" \
  "$("$tp/fetch-civetweb.sh" "$work/w1" /nonexistent 2>&1)"

mv "$work/tarballs/civetweb_$version.debian.tar.xz" "$work/tarballs/civetweb_1.17-1.debian.tar.xz"
"$tp/fetch-civetweb.sh" "$work/w2" "$work/tarballs" >/dev/null 2>"$work/err"
check "tarballs: another upstream release is refused" \
  "fetch-civetweb: civetweb_1.17-1.debian.tar.xz is not CivetWeb 1.16+dfsg, which our patches are made for" \
  "$(cat "$work/err")"
mv "$work/tarballs/civetweb_1.17-1.debian.tar.xz" "$work/tarballs/civetweb_$version.debian.tar.xz"

sed -i 's/-int two;/-int twenty;/' "$tp/patches/0001-ours.patch"
"$tp/fetch-civetweb.sh" "$work/w3" "$work/tarballs" >/dev/null 2>"$work/err"
check "a patch of ours that no longer applies: one clear line" \
  "fetch-civetweb: our (third_party/patches/) patch 0001-ours.patch no longer applies to civetweb $version" \
  "$(grep -v -e '^fetch-civetweb: using' -e '^fetch-civetweb:   sha256' "$work/err")"
check "a failed patch leaves no tree" no "$([ -e "$work/w3/civetweb-src" ] && echo yes || echo no)"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
