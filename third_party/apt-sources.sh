# shellcheck shell=bash
# Sourced (bash) by fetch-civetweb.sh and tests/fresh-machine/run.sh: reads a
# machine's apt configuration to find its Debian mirror, and chooses the
# CivetWeb source version. Pure functions over files, so that
# tests/scripts/test_apt_sources.sh can run them over sample trees.
#
# ROOT below is the file system root to read (normally empty, i.e. /):
# every path, including the one inside a mirror+file: URI, is read under it.

# apt_sources_files ROOT
#   The files apt reads, in apt's order: sources.list, then sources.list.d's
#   *.list and *.sources by name.
apt_sources_files() {
  local root=$1 f
  [ -r "$root/etc/apt/sources.list" ] && echo "$root/etc/apt/sources.list"
  for f in "$root"/etc/apt/sources.list.d/*; do
    case "$f" in *.list | *.sources) [ -r "$f" ] && echo "$f" ;; esac
  done
  return 0
}

# apt_source_uris FILE
#   The URIs of FILE's enabled deb/deb-src entries, one a line, in order.
#   One-line format (deb [options] URI suite...) in *.list and sources.list,
#   deb822 stanzas (Types:, URIs:, Enabled:) in *.sources.
apt_source_uris() {
  case "$1" in
    *.sources)
      awk '
        function flush() {
          if (enabled != "no" && types ~ /(^| )deb(-src)?( |$)/) printf "%s", uris
          types = ""; uris = ""; enabled = ""; field = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        /^[ \t]/ { if (field == "uris") for (i = 1; i <= NF; i++) uris = uris $i "\n"
                   else if (field == "types") types = types " " $0
                   next }
        {
          field = tolower($1); sub(/:$/, "", field)
          if (field == "types") { $1 = ""; types = $0 " " }
          else if (field == "uris") for (i = 2; i <= NF; i++) uris = uris $i "\n"
          else if (field == "enabled") enabled = tolower($2)
        }
        END { flush() }' "$1"
      ;;
    *)
      awk '{ sub(/#.*/, ""); gsub(/\[[^]]*\]/, "") }
           $1 == "deb" || $1 == "deb-src" { print $2 }' "$1"
      ;;
  esac
}

# apt_resolve_uri ROOT URI
#   The plain http(s) URIs behind URI: URI itself when it is http(s), the
#   entries of the list for mirror+file: and mirror+http(s): (mirror: too),
#   nothing for other methods (cdrom:, file:, tor+...). A remote list is
#   fetched with apt's own apt-helper, or with $APT_SOURCES_FETCH (URL DEST).
apt_resolve_uri() {
  local root=$1 uri=$2 list="" tmp=""
  case "$uri" in
    http://* | https://*)
      echo "$uri"
      return 0
      ;;
    mirror+file:*)
      list=${uri#mirror+file:}
      list=$root/${list#//}
      ;;
    mirror+http://* | mirror+https://* | mirror://*)
      local url=${uri#mirror+}
      url=${url/#mirror:/http:}
      tmp=$(mktemp)
      ${APT_SOURCES_FETCH:-/usr/lib/apt/apt-helper download-file} "$url" "$tmp" >/dev/null 2>&1 || {
        rm -f "$tmp"
        return 0
      }
      list=$tmp
      ;;
    *) return 0 ;;
  esac
  # A mirror list: one URI a line, maybe followed by tab-separated metadata
  # (priority:, arch:...); # starts a comment.
  [ -r "$list" ] && awk '{ sub(/#.*/, "") } $1 ~ /^https?:\/\// { print $1 }' "$list"
  [ -n "$tmp" ] && rm -f "$tmp"
  return 0
}

# apt_debian_mirror ROOT
#   The machine's Debian archive: the first plain http(s) URI ending in
#   /debian (so never debian-security or a third-party repository), without
#   a trailing slash. Prints nothing when there is none.
apt_debian_mirror() {
  local root=$1 f uri plain
  while read -r f; do
    while read -r uri; do
      while read -r plain; do
        plain=${plain%/}
        case "$plain" in */debian) echo "$plain"; return 0 ;; esac
      done < <(apt_resolve_uri "$root" "$uri")
    done < <(apt_source_uris "$f")
  done < <(apt_sources_files "$root")
  return 0
}

# apt_debian_only FILE ROOT
#   Succeeds when every URI of FILE leads to a Debian archive (…/debian or
#   …/debian-security), so the file can be copied into a fresh Debian root
#   whose only keys are Debian's.
apt_debian_only() {
  local file=$1 root=$2 uri plain n=0
  while read -r uri; do
    case "$uri" in http://* | https://* | mirror+file:* | mirror+http*://* | mirror://*) ;; *) return 1 ;; esac
    while read -r plain; do
      plain=${plain%/}
      case "$plain" in */debian | */debian-security) n=$((n + 1)) ;; *) return 1 ;; esac
    done < <(apt_resolve_uri "$root" "$uri")
  done < <(apt_source_uris "$file")
  [ "$n" -gt 0 ]
}

# civetweb_choose_version PINNED < VERSIONS
#   Chooses the CivetWeb source version to build from the versions an index
#   offers (one a line): PINNED when offered, else the newest one of the same
#   upstream release (PINNED's version without its Debian revision, e.g.
#   1.16+dfsg), else fails with a line saying what was offered.
civetweb_choose_version() {
  local pinned=$1 upstream v best="" offered=""
  upstream=${pinned%-*}
  while read -r v; do
    [ -n "$v" ] || continue
    offered="$offered $v"
    [ "$v" = "$pinned" ] && best=$pinned && break
    [ "${v%-*}" = "$upstream" ] || continue
    if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
  done
  if [ -z "$best" ]; then
    echo "no civetweb $upstream source version offered (offered:${offered:- none})" >&2
    return 1
  fi
  echo "$best"
}

# apt_showsrc_sha256 SHOWSRC VERSION FILE
#   FILE's SHA-256 in the Checksums-Sha256 field of VERSION's stanza of
#   SHOWSRC (the output of `apt-cache showsrc`, which comes from the signed
#   index). Prints nothing when that stanza does not list FILE.
apt_showsrc_sha256() {
  awk -v v="$2" -v f="$3" '
    function flush() { if (cur == v && sum != "") { print sum; found = 1 } cur = ""; sum = "" }
    found { exit }
    /^$/ { flush(); next }
    $1 == "Version:" { cur = $2 }
    /^[^ ]/ { in_sums = 0 }
    /^Checksums-Sha256:/ { in_sums = 1; next }
    in_sums && $3 == f { sum = $1 }
    END { if (!found) flush() }' "$1"
}
