#!/bin/sh
# Installs Debian's Chromium for the dashboard's browser test
# (tests/dashboard_browser_test.ts), once: `deno task ci` runs this first.
# Nothing is done when Chromium is already there (or CHROMIUM names one).
set -e
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  SUDO=
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  SUDO=sudo
else
  echo "Chromium not found at $CHROMIUM: install Debian's chromium package, or set CHROMIUM" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing Debian's chromium for the dashboard's browser test" >&2
$SUDO apt-get install -y -q chromium >/dev/null 2>&1 ||
  { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; }
[ -x "$CHROMIUM" ]
