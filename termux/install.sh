#!/bin/sh
# Installs Intent Bus on Termux (Android) as termux-services (runit) services
# that Termux:Boot starts at boot. Safe to run again: an upgrade keeps the
# database and the keys. See termux/README.md.
#
#   sh install.sh [--package FILE|SPEC] [--port N] [--host ADDR] [--db PATH]
#                 [--driver auto|node:sqlite|better-sqlite3]
#                 [--worker GOAL --command CMD [--worker-name NAME]]
#                 [--no-server] [--url URL --api-key KEY]
set -eu

DEFAULT_PACKAGE="@intentbus/server"
PREFIX="${PREFIX:-/data/data/com.termux/files/usr}"
BASE="$HOME/.intentbus"
APP="$BASE/app"
ENV_FILE="$BASE/env"
SV="$PREFIX/var/service"
BOOT="$HOME/.termux/boot/intentbus"

say() { printf 'intentbus: %s\n' "$*"; }
die() {
  printf 'intentbus: error: %s\n' "$*" >&2
  exit 1
}
# A mistake in how the script was called: exit 2, as the intentbus CLI does.
bad_usage() {
  printf 'intentbus: error: %s\n' "$*" >&2
  exit 2
}
usage() { sed -n '2,9s/^# \{0,1\}//p' "$0"; }
need_arg() { [ "$#" -ge 2 ] || bad_usage "$1 needs a value"; }

package="" port="" host="" db="" driver="" url="" api_key=""
worker_goal="" worker_cmd="" worker_name="" no_server=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --package) need_arg "$@"; package="$2"; shift 2 ;;
    --port) need_arg "$@"; port="$2"; shift 2 ;;
    --host) need_arg "$@"; host="$2"; shift 2 ;;
    --db) need_arg "$@"; db="$2"; shift 2 ;;
    --driver) need_arg "$@"; driver="$2"; shift 2 ;;
    --worker) need_arg "$@"; worker_goal="$2"; shift 2 ;;
    --command) need_arg "$@"; worker_cmd="$2"; shift 2 ;;
    --worker-name) need_arg "$@"; worker_name="$2"; shift 2 ;;
    --url) need_arg "$@"; url="$2"; shift 2 ;;
    --api-key) need_arg "$@"; api_key="$2"; shift 2 ;;
    --no-server) no_server=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) bad_usage "unknown option \"$1\" (see --help)" ;;
  esac
done

# A port out of range would only show as a service that never stays up.
# Leading zeros and more than 5 digits are refused before test(1) compares.
case "$port" in
  "") ;;
  *[!0-9]* | 0* | ??????*) bad_usage "invalid --port: \"$port\" (1 to 65535)" ;;
  *) [ "$port" -le 65535 ] || bad_usage "invalid --port: \"$port\" (1 to 65535)" ;;
esac
case "$driver" in
  "" | auto | node:sqlite | better-sqlite3) ;;
  *) bad_usage "invalid --driver: \"$driver\" (auto, node:sqlite or better-sqlite3)" ;;
esac
if [ -n "$worker_goal" ] && [ -z "$worker_cmd" ]; then
  bad_usage "--worker needs --command"
fi
if [ -n "$worker_cmd" ] && [ -z "$worker_goal" ]; then
  bad_usage "--command needs --worker"
fi
# Every worker service is named intentbus-worker-*, so a later run, the boot
# script and uninstall.sh find them all.
has_workers() {
  for d in "$SV"/intentbus-worker-*; do [ ! -d "$d" ] || return 0; done
  return 1
}
if [ "$no_server" = 1 ] && [ -z "$worker_goal" ] && ! has_workers; then
  bad_usage "--no-server only makes sense with --worker"
fi

# Absolute form of a path whose last components may not exist yet, with the
# existing part's symlinks resolved (~/storage/shared is a symlink).
resolve() {
  case "$1" in /*) p="$1" ;; *) p="$(pwd)/$1" ;; esac
  tail=""
  while [ ! -d "$p" ]; do
    tail="/${p##*/}$tail"
    p="${p%/*}"
    [ -n "$p" ] || p="/"
  done
  printf '%s%s\n' "$(cd -P "$p" && pwd -P)" "$tail" | sed 's#^//#/#'
}

# SQLite's WAL needs shared-memory locking, which Android's shared storage
# (FUSE/sdcardfs) does not provide: the database must stay in Termux's $HOME.
refuse_shared_storage() {
  case "$1" in
    /sdcard | /sdcard/* | /storage | /storage/* | /mnt/sdcard* | /mnt/media_rw* | \
      /data/media* | "$HOME"/storage | "$HOME"/storage/*)
      die "refusing database on shared storage: \"$1\" (WAL locking fails there; keep it under \$HOME, e.g. $BASE/data/intentbus.db)"
      ;;
  esac
}

# Single-quoted shell word, safe to write into a sourced file.
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

random_key() {
  node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))'
}

# Checked before anything is installed, on the path as given and resolved.
if [ -n "$db" ]; then
  case "$db" in /*) refuse_shared_storage "$db" ;; esac
  refuse_shared_storage "$(resolve "$db")"
fi

# --- what earlier runs installed, from the env file -------------------------
# Read before anything is installed, so a contradicting option changes nothing.
first_install=1
unset BUS_SECRET BUS_ADMIN_SECRET BUS_DB_PATH INTENTBUS_HOST INTENTBUS_PORT \
  INTENTBUS_DRIVER INTENTBUS_DRIVER_OPTION INTENTBUS_PACKAGE INTENT_BUS_URL INTENT_API_KEY 2>/dev/null || true
if [ -f "$ENV_FILE" ]; then
  # shellcheck disable=SC1090 # written by this script
  . "$ENV_FILE"
  # A server install always keeps BUS_SECRET here and a worker-only one never
  # has it: a later run without --no-server keeps a worker-only install one,
  # rather than making it a server with new keys.
  if [ -n "${BUS_SECRET:-}" ]; then
    first_install=0
    [ "$no_server" = 0 ] ||
      bad_usage "--no-server: this phone runs the server (its keys are in $ENV_FILE); a worker for it needs no --no-server"
  else
    no_server=1
    [ -n "$worker_goal" ] || has_workers ||
      bad_usage "this install is a worker only (--no-server) and has no worker left: give --worker GOAL --command CMD"
  fi
fi

# A worker-only phone works for a server elsewhere: it must be told where.
if [ "$no_server" = 1 ]; then
  [ -n "$url" ] || [ -n "${INTENT_BUS_URL:-}" ] ||
    bad_usage "--no-server needs --url URL and --api-key KEY (the server's)"
  [ -n "$api_key" ] || [ -n "${INTENT_API_KEY:-}" ] ||
    bad_usage "--no-server needs --api-key KEY and --url URL (the server's)"
fi

# --- packages ---------------------------------------------------------------
pkg_install() {
  say "pkg install $*"
  pkg install -y "$@"
}
command -v node >/dev/null 2>&1 || pkg_install nodejs-lts
command -v npm >/dev/null 2>&1 || pkg_install npm
if ! command -v sv >/dev/null 2>&1 || ! command -v sv-enable >/dev/null 2>&1 ||
  ! command -v svlogd >/dev/null 2>&1; then
  pkg_install termux-services
fi
command -v node >/dev/null 2>&1 || die "node is missing after pkg install"
NODE="$(command -v node)"

# --- settings: options, then the env file (read above), then defaults -------
[ -z "$package" ] || INTENTBUS_PACKAGE="$package"
INTENTBUS_PACKAGE="${INTENTBUS_PACKAGE:-$DEFAULT_PACKAGE}"
case "$INTENTBUS_PACKAGE" in
  # A relative tarball path is made absolute: npm runs in $APP.
  *.tgz | *.tar.gz) INTENTBUS_PACKAGE="$(resolve "$INTENTBUS_PACKAGE")" ;;
esac
[ -z "$host" ] || INTENTBUS_HOST="$host"
[ -z "$port" ] || INTENTBUS_PORT="$port"
[ -z "$db" ] || BUS_DB_PATH="$db"
[ -z "$driver" ] || INTENTBUS_DRIVER_OPTION="$driver"
INTENTBUS_HOST="${INTENTBUS_HOST:-127.0.0.1}"
INTENTBUS_PORT="${INTENTBUS_PORT:-8080}"
BUS_DB_PATH="$(resolve "${BUS_DB_PATH:-$BASE/data/intentbus.db}")"
refuse_shared_storage "$BUS_DB_PATH"
# The option as given is kept apart from the driver it chose, so "auto"
# chooses again after Node is upgraded.
INTENTBUS_DRIVER_OPTION="${INTENTBUS_DRIVER_OPTION:-auto}"
# The workers beside the server get an API key issued for them (after the
# npm install, straight in the database) when they have none: on the first
# run, or after the INTENT_API_KEY line was deleted. Any key they have is
# kept, the master key of an install older than that too: intents are private
# to their publisher's key, so the user's scripts, publishing with the key
# they were shown, must keep publishing with the workers' key. --api-key
# gives them that key instead.
issue_worker_key=0
if [ "$no_server" = 0 ]; then
  BUS_SECRET="${BUS_SECRET:-$(random_key)}"
  BUS_ADMIN_SECRET="${BUS_ADMIN_SECRET:-$(random_key)}"
  [ -n "$api_key" ] || [ -n "${INTENT_API_KEY:-}" ] || issue_worker_key=1
fi
[ -z "$url" ] || INTENT_BUS_URL="$url"
[ -z "$api_key" ] || INTENT_API_KEY="$api_key"
case "$INTENTBUS_HOST" in
  0.0.0.0 | ::) local_host=127.0.0.1 ;;
  *:*) local_host="[$INTENTBUS_HOST]" ;;
  *) local_host="$INTENTBUS_HOST" ;;
esac
INTENT_BUS_URL="${INTENT_BUS_URL:-http://$local_host:$INTENTBUS_PORT}"
[ "$issue_worker_key" = 1 ] || [ -n "${INTENT_API_KEY:-}" ] ||
  die "no API key for the workers"

# auto: node:sqlite when this Node has it (22.13+), else build better-sqlite3.
use_driver="$INTENTBUS_DRIVER_OPTION"
# A worker alone needs no SQLite driver at all.
[ "$no_server" = 0 ] || use_driver=none
if [ "$use_driver" = auto ]; then
  if "$NODE" -e 'require("node:sqlite")' >/dev/null 2>&1; then
    use_driver=node:sqlite
  else
    use_driver=better-sqlite3
  fi
fi
if [ "$use_driver" = node:sqlite ] &&
  ! "$NODE" -e 'require("node:sqlite")' >/dev/null 2>&1; then
  die "this Node ($("$NODE" --version)) has no node:sqlite: use --driver better-sqlite3 or pkg upgrade nodejs-lts"
fi
if [ "$use_driver" = better-sqlite3 ]; then
  missing=""
  command -v python3 >/dev/null 2>&1 || missing="$missing python"
  command -v make >/dev/null 2>&1 || missing="$missing make"
  command -v c++ >/dev/null 2>&1 || missing="$missing clang"
  command -v ar >/dev/null 2>&1 || missing="$missing binutils"
  # shellcheck disable=SC2086 # word splitting wanted: a list of packages
  [ -z "$missing" ] || pkg_install $missing
fi

# --- the app, in its own npm prefix -----------------------------------------
umask 077
mkdir -p "$APP" "$(dirname "$BUS_DB_PATH")" "$HOME/.termux/boot"
chmod 700 "$BASE"
old="$(umask)"
umask 022
# Rewritten every time, so a rerun never accumulates dependencies. npm 11
# runs a dependency's install script only when allowScripts names it.
cat >"$APP/package.json" <<'EOF'
{
  "name": "intentbus-termux",
  "private": true,
  "description": "Intent Bus installed by termux/install.sh",
  "allowScripts": { "better-sqlite3": true }
}
EOF
omit=""
[ "$use_driver" = better-sqlite3 ] || omit="--omit=optional"
if [ "$use_driver" = better-sqlite3 ] && [ -d "$PREFIX/include/node" ] &&
  [ -z "${npm_config_nodedir:-}" ]; then
  # Termux's own Node headers are patched for building on the phone; the
  # nodejs.org headers node-gyp downloads otherwise need android_ndk_path.
  npm_config_nodedir="$PREFIX"
  export npm_config_nodedir
fi
say "installing $INTENTBUS_PACKAGE into $APP (driver $use_driver)"
# shellcheck disable=SC2086 # $omit is one flag or nothing
(cd "$APP" && npm install --no-audit --no-fund --omit=dev $omit \
  "$INTENTBUS_PACKAGE")
BIN="$APP/node_modules/.bin/intentbus"
[ -e "$BIN" ] || die "the package installed no intentbus command: $BIN"
umask "$old"
if [ "$issue_worker_key" = 1 ]; then
  # Offline, in the database: a server running on it accepts the key at once.
  INTENT_API_KEY="$("$BIN" keys create termux-workers --db "$BUS_DB_PATH" \
    --driver "$use_driver")" ||
    die "could not issue the workers' API key (a package older than intentbus keys create --db? give the workers a key with --api-key KEY)"
  case "$INTENT_API_KEY" in
    ib_*) ;;
    *) die "intentbus keys create printed no API key" ;;
  esac
fi

# --- the env file: secrets and settings, mode 600 ---------------------------
tmp="$ENV_FILE.tmp.$$"
(
  umask 077
  {
    echo "# Intent Bus settings, written by termux/install.sh (mode 600)."
    [ -z "${BUS_SECRET:-}" ] || echo "BUS_SECRET=$(quote "$BUS_SECRET")"
    [ -z "${BUS_ADMIN_SECRET:-}" ] ||
      echo "BUS_ADMIN_SECRET=$(quote "$BUS_ADMIN_SECRET")"
    echo "BUS_DB_PATH=$(quote "$BUS_DB_PATH")"
    echo "INTENTBUS_HOST=$(quote "$INTENTBUS_HOST")"
    echo "INTENTBUS_PORT=$(quote "$INTENTBUS_PORT")"
    echo "INTENTBUS_DRIVER_OPTION=$(quote "$INTENTBUS_DRIVER_OPTION")"
    echo "INTENTBUS_DRIVER=$(quote "$use_driver")"
    echo "INTENTBUS_PACKAGE=$(quote "$INTENTBUS_PACKAGE")"
    echo "INTENT_BUS_URL=$(quote "$INTENT_BUS_URL")"
    echo "INTENT_API_KEY=$(quote "$INTENT_API_KEY")"
  } >"$tmp"
)
chmod 600 "$tmp"
mv -f "$tmp" "$ENV_FILE"

# --- runit services ---------------------------------------------------------
# write_service NAME: the run script comes on stdin; log/run is svlogd into
# $PREFIX/var/log/sv/NAME, as termux-services' own services do.
write_service() {
  dir="$SV/$1"
  mkdir -p "$dir/log"
  # A new service stays down until sv-enable, so runsvdir cannot start it
  # half-written.
  [ -f "$dir/run" ] || : >"$dir/down"
  cat >"$dir/run.tmp"
  chmod 755 "$dir/run.tmp"
  mv -f "$dir/run.tmp" "$dir/run"
  cat >"$dir/log/run.tmp" <<EOF
#!$PREFIX/bin/sh
mkdir -p "$PREFIX/var/log/sv/$1"
exec svlogd -tt "$PREFIX/var/log/sv/$1"
EOF
  chmod 755 "$dir/log/run.tmp"
  mv -f "$dir/log/run.tmp" "$dir/log/run"
}

# enable_service NAME: start now and at every start of the service daemon;
# restart when it was already running, so an upgrade runs the new code. sv
# fails while runsvdir has not yet seen a new service (it looks every 5 s) or
# the daemon is not running: without the down file, runsv starts it anyway.
enable_service() {
  if [ -f "$SV/$1/down" ]; then
    rm -f "$SV/$1/down"
    sv-enable "$1" >/dev/null 2>&1 || later="$later $1"
  else
    sv restart "$1" >/dev/null 2>&1 || later="$later $1"
  fi
}

run_header="#!$PREFIX/bin/sh
# Written by termux/install.sh. runit runs this in the foreground.
# shellcheck disable=SC1091,SC3045 # the env file; ulimit -n is in every sh here
exec 2>&1
set -a
. $(quote "$ENV_FILE")
set +a
PATH=$(quote "$(dirname "$NODE")"):\"\$PATH\"
# Each open connection (a long-poll is one) holds a descriptor: use them all.
ulimit -n \"\$(ulimit -Hn)\" 2>/dev/null || true"

services=""
if [ "$no_server" = 0 ]; then
  write_service intentbus <<EOF
$run_header
exec $(quote "$BIN") serve --host "\$INTENTBUS_HOST" --port "\$INTENTBUS_PORT" \\
  --db "\$BUS_DB_PATH" --driver "\$INTENTBUS_DRIVER"
EOF
  services=" intentbus"
fi

# A worker's goal and command live in conf beside its run script, so every
# run rewrites and restarts the workers earlier runs made; a new --worker adds
# one, or replaces the one of the same name.
if [ -n "$worker_goal" ]; then
  worker_name="intentbus-worker-$(printf '%s' "${worker_name:-$worker_goal}" |
    tr -c 'A-Za-z0-9_.-' '-')"
  dir="$SV/$worker_name"
  mkdir -p "$dir"
  # As in write_service: a new service stays down until sv-enable.
  [ -f "$dir/run" ] || : >"$dir/down"
  {
    echo "# Written by termux/install.sh: what this worker runs; run reads it."
    echo "WORKER_GOAL=$(quote "$worker_goal")"
    echo "WORKER_COMMAND=$(quote "$worker_cmd")"
    # runsv starts run in the service directory: the command runs from the
    # directory this script was run in, so a relative ./script.sh works.
    echo "WORKER_DIR=$(quote "$(pwd -P)")"
  } >"$dir/conf.tmp"
  mv -f "$dir/conf.tmp" "$dir/conf"
fi
for worker_dir in "$SV"/intentbus-worker-*; do
  [ -d "$worker_dir" ] || continue
  # One an older install.sh made has no conf: its run script runs the same
  # $BIN, so a restart alone runs the new package.
  if [ -f "$worker_dir/conf" ]; then
    write_service "${worker_dir##*/}" <<EOF
$run_header
. $(quote "$worker_dir/conf")
# A conf written before WORKER_DIR existed: the command runs from \$HOME, as
# it does, with a notice, when that directory is gone (a deleted clone).
cd "\${WORKER_DIR:-\$HOME}" 2>/dev/null || {
  echo "intentbus: \$WORKER_DIR is gone; the command runs from \$HOME" >&2
  cd "\$HOME" || exit 111
}
exec $(quote "$BIN") work "\$WORKER_GOAL" -- sh -c "\$WORKER_COMMAND"
EOF
  fi
  services="$services ${worker_dir##*/}"
done

# --- Termux:Boot: wake lock, then the service daemon -------------------------
mkdir -p "$HOME/.termux/boot"
cat >"$BOOT.tmp" <<EOF
#!$PREFIX/bin/sh
# Written by termux/install.sh: keeps the CPU awake and starts the services.
termux-wake-lock
if [ -f "$PREFIX/etc/profile.d/start-services.sh" ]; then
  . "$PREFIX/etc/profile.d/start-services.sh"
else
  export SVDIR="$SV"
  for d in "$SV"/intentbus "$SV"/intentbus-worker-*; do
    [ ! -d "\$d" ] || sv up "\${d##*/}"
  done
fi
EOF
chmod 700 "$BOOT.tmp"
mv -f "$BOOT.tmp" "$BOOT"

# start-services.sh (termux-services) sets SVDIR and LOGDIR and starts the
# daemon unless it runs: right after pkg install termux-services it does not.
if [ -f "$PREFIX/etc/profile.d/start-services.sh" ]; then
  # shellcheck disable=SC1091 # termux-services' own script
  . "$PREFIX/etc/profile.d/start-services.sh"
fi
SVDIR="$SV"
export SVDIR
later=""
for s in $services; do enable_service "$s"; done

say "services:$services; database $BUS_DB_PATH; logs in $PREFIX/var/log/sv/"
say "server URL: $INTENT_BUS_URL (settings in $ENV_FILE)"
[ -z "$later" ] ||
  say "starting within seconds:$later (sv status intentbus; if the service daemon is not running, open a new Termux session)"
# The key to publish with is the workers' one: they claim only intents
# published with their key (or public ones).
if [ "$issue_worker_key" = 1 ]; then
  say "API key for your scripts and the workers (shown once; INTENT_API_KEY in $ENV_FILE): $INTENT_API_KEY"
fi
if [ "$first_install" = 1 ] && [ "$no_server" = 0 ]; then
  say "the master key stays in $ENV_FILE as BUS_SECRET"
  say "admin token (X-Admin-Token): $BUS_ADMIN_SECRET"
fi
if [ "$no_server" = 0 ] && [ "$INTENT_API_KEY" = "$BUS_SECRET" ]; then
  say "the workers use the master key; for a key of their own, delete the INTENT_API_KEY line of $ENV_FILE, run this installer again, then publish with the key it prints"
fi
