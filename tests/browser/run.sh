#!/bin/sh
# usage: run.sh WSRELAY_BIN WWW_DIR ARTIFACT_DIR
# Runs the browser test (browser.test.mjs) after making sure its npm
# dependencies are installed. Without node, npm or Chromium it fails under CI
# (CI=true) and is skipped with exit 77 elsewhere.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
chromium=${CHROMIUM:-/usr/bin/chromium}

missing=""
command -v node >/dev/null 2>&1 || missing="$missing node"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -x "$chromium" ] || missing="$missing chromium"
# playwright-core needs node 20 or newer (Debian 12's own nodejs is 18).
if command -v node >/dev/null 2>&1 &&
  [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  missing="$missing node>=20 (found $(node --version))"
fi
if [ -n "$missing" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "test_browser: FAILED: missing$missing; .ci/install-deps --test installs them" >&2
    exit 1
  fi
  echo "test_browser: SKIPPED: missing$missing; install them with .ci/install-deps --test"
  exit 77
fi

# npm ci only when node_modules is missing or older than the lockfile it was
# installed from. The lock serialises concurrent runs (several build trees
# share this folder); flock on a directory needs no file of its own.
stamp="$here/node_modules/.wsrelay-lock-stamp"
if ! cmp -s "$here/package-lock.json" "$stamp" 2>/dev/null; then
  flock "$here" sh -c '
    cd "$1"
    if ! cmp -s package-lock.json "$2" 2>/dev/null; then
      npm ci --no-audit --no-fund --loglevel=error >&2
      cp package-lock.json "$2"
    fi' sh "$here" "$stamp"
fi

exec node "$here/browser.test.mjs" "$@"
