#!/bin/sh
# Installs the Debian packages the tests drive for real, once: Chromium for
# the dashboard's browser test (tests/dashboard_browser_test.ts) and
# PostgreSQL for the PostgreSQL store's tests (storage/postgres/_cluster.ts
# starts throwaway clusters with its initdb, and openssl makes the TLS test's
# certificate). `deno task ci` runs this first.
# What is already there is left alone: CHROMIUM names another Chromium;
# INTENTBUS_PG_URL (a running server) or INTENTBUS_PG_BIN another PostgreSQL.
set -e
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
missing=
[ -x "$CHROMIUM" ] || missing="$missing chromium"
if [ -z "$INTENTBUS_PG_URL" ] && [ -z "$INTENTBUS_PG_BIN" ] &&
  ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing="$missing postgresql"
fi
# The TLS test's throwaway cluster gets a self-signed certificate from openssl.
command -v openssl >/dev/null || missing="$missing openssl"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  SUDO=
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  SUDO=sudo
else
  echo "Missing Debian packages:$missing. Install them, or set CHROMIUM / INTENTBUS_PG_URL" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing Debian's$missing for the tests" >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -q $missing >/dev/null 2>&1 ||
  { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q $missing >/dev/null; }
[ -x "$CHROMIUM" ]
