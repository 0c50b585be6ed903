#!/bin/sh
# Removes what termux/install.sh installed: the runit services (server and
# workers), the Termux:Boot script and the app. Keeps the database and the
# keys in ~/.intentbus (a later install.sh reuses them) unless --purge.
#
#   sh uninstall.sh [--purge]
set -eu

PREFIX="${PREFIX:-/data/data/com.termux/files/usr}"
BASE="$HOME/.intentbus"
ENV_FILE="$BASE/env"
SV="$PREFIX/var/service"
# sv finds services by name in SVDIR, which only login shells set.
SVDIR="$SV"
export SVDIR
BOOT="$HOME/.termux/boot/intentbus"

say() { printf 'intentbus: %s\n' "$*"; }

purge=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --purge) purge=1; shift ;;
    -h | --help) sed -n '2,6s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) printf 'intentbus: error: unknown option "%s"\n' "$1" >&2; exit 1 ;;
  esac
done

# Read the database path before anything else goes.
db=""
if [ -f "$ENV_FILE" ]; then
  db="$(
    # shellcheck disable=SC1090 # written by install.sh
    . "$ENV_FILE"
    printf '%s' "${BUS_DB_PATH:-}"
  )"
fi

for dir in "$SV"/intentbus "$SV"/intentbus-worker-*; do
  [ -d "$dir" ] || continue
  name="${dir##*/}"
  say "stopping and removing service $name"
  if command -v sv >/dev/null 2>&1; then
    # down stops the process; exit makes runsv (and the log's) leave too.
    sv down "$name" || true
    sv exit "$name/log" || true
    sv exit "$name" || true
  fi
  # runsv writes into supervise/ until it has exited: retry for up to 10 s.
  i=0
  until rm -rf "$dir" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || rm -rf "$dir"
    sleep 0.1
  done
  [ "$purge" = 0 ] || rm -rf "$PREFIX/var/log/sv/$name"
done

rm -f "$BOOT"
rm -rf "$BASE/app"
say "removed the services, the boot script and $BASE/app"

if [ "$purge" = 1 ]; then
  if [ -n "$db" ]; then
    rm -f "$db" "$db-wal" "$db-shm"
    say "purged the database $db"
  fi
  rm -rf "$BASE"
  say "purged $BASE (keys and data) and the service logs"
else
  say "kept the database and keys in $BASE, and the logs in $PREFIX/var/log/sv/"
  say "(sh uninstall.sh --purge removes them)"
fi
