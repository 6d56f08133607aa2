#!/usr/bin/env bash
# Sets up what `make run` and `make test` need, idempotently:
#   system packages (apt, as root or with sudo), .venv with the project installed,
#   a private PostGIS cluster under var/ (unless DATABASE_URL is set), the database and its migrations.
# Usage: scripts/devenv.sh setup | start-db | stop-db | env
# The cluster is durable (fsync, synchronous_commit, full_page_writes on): a power cut loses no committed edit.
# PETAKOTA_PG_DURABLE=0 (make test, make bench) trades that for speed; a durable start restarts a cluster that
# runs without it. PETAKOTA_PG_PORT and PETAKOTA_PG_DATADIR place the cluster elsewhere.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PORT="${PETAKOTA_PG_PORT:-5439}"
DURABLE="${PETAKOTA_PG_DURABLE:-1}"
VENV="$ROOT/.venv"
SYSTEM_PACKAGES_EXTRA=(gdal-bin chromium poppler-utils python3-qgis nginx)

log() { printf '\033[1;34m[petakota]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[petakota]\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
  else return 1
  fi
}

apt_install() {
  command -v apt-get >/dev/null || die "Please install: $* (no apt-get on this machine)"
  log "installing system packages: $*"
  if [ ! -f /tmp/.petakota-apt-updated ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
      || die "Cannot run apt-get as root. Please install: $* (Debian/Ubuntu package names)"
    touch /tmp/.petakota-apt-updated 2>/dev/null || true
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "Cannot install system packages. Please install: $*"
}

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

ensure_system_packages() {
  local missing=()
  for pkg in "${SYSTEM_PACKAGES_EXTRA[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ -z "${DATABASE_URL:-}" ]; then
    [ -n "$(pg_bindir)" ] || missing+=(postgresql)
  fi
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  if [ -z "${DATABASE_URL:-}" ]; then
    local bindir version
    bindir="$(pg_bindir)"
    version="$(basename "$(dirname "$bindir")")"
    [ -f "/usr/share/postgresql/$version/extension/postgis.control" ] || apt_install "postgresql-$version-postgis-3"
  fi
}

ensure_venv() {
  local stamp="$VENV/.installed"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating .venv"
    python3 -m venv "$VENV" || die "python3 -m venv failed: install python3-venv (Debian/Ubuntu)"
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    log "installing PetaKota and its dependencies into .venv"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -e ".[test]"
    touch "$stamp"
  fi
}

# The cluster runs as `postgres` when we are root (Postgres refuses root); it needs a directory that user
# can reach, so fall back to /var/tmp when the project lives somewhere private (e.g. /root).
pg_user() { if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_datadir() {
  if [ -n "${PETAKOTA_PG_DATADIR:-}" ]; then
    echo "$PETAKOTA_PG_DATADIR"
  elif [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$ROOT"; then
    echo "$ROOT/var/pg"
  else
    echo "/var/tmp/petakota-pg-$(echo "$ROOT" | cksum | cut -d' ' -f1)"
  fi
}

durability_settings() {
  local value=on
  [ "$DURABLE" != 0 ] || value=off
  echo "-c fsync=$value -c synchronous_commit=$value -c full_page_writes=$value"
}

# "on" when the server on $PORT runs with every durability setting on.
running_durable() {
  local names="'fsync', 'synchronous_commit', 'full_page_writes'"
  "$(pg_bindir)/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qtA \
    -c "SELECT bool_and(setting = 'on') FROM pg_settings WHERE name IN ($names)" | grep -qx t
}

# The server on $PORT is the cluster in $datadir (line 4 of postmaster.pid is its port).
ours() { [ -f "$1/postmaster.pid" ] && [ "$(sed -n 4p "$1/postmaster.pid")" = "$PORT" ]; }

start_db() {
  [ -z "${DATABASE_URL:-}" ] || { log "DATABASE_URL is set: using it, no private cluster"; return; }
  local bindir datadir
  bindir="$(pg_bindir)"
  datadir="$(pg_datadir)"
  if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    # A durable start never keeps a cluster that runs without fsync; a test run keeps a durable one.
    if [ "$DURABLE" = 0 ] || running_durable; then return; fi
    if ! ours "$datadir"; then
      log "warning: PostgreSQL on port $PORT runs without fsync and is not the cluster in $datadir: left as it is"
      return
    fi
    log "restarting PostgreSQL on 127.0.0.1:$PORT with fsync on"
    as_pg "$bindir/pg_ctl" -D "$datadir" -m fast -w -t 60 stop >/dev/null
    # Written while fsync was off may still sit in the OS cache only: flush it before trusting the disk.
    as_pg "$bindir/initdb" --sync-only -D "$datadir" >/dev/null
  fi
  mkdir -p "$datadir"
  [ "$(id -u)" != 0 ] || chown postgres "$datadir"
  chmod 700 "$datadir"
  if [ ! -f "$datadir/PG_VERSION" ]; then
    log "creating a private PostGIS cluster in $datadir"
    as_pg "$bindir/initdb" -D "$datadir" --auth=trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if [ "$DURABLE" = 0 ]; then log "starting PostgreSQL on 127.0.0.1:$PORT (fsync off: for tests only)"
  else log "starting PostgreSQL on 127.0.0.1:$PORT"; fi
  as_pg "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w -t 60 \
    -o "-p $PORT -k $datadir -c listen_addresses=127.0.0.1 -c max_connections=200 $(durability_settings)" \
    start >/dev/null \
    || { tail -n 20 "$datadir/server.log" >&2; die "PostgreSQL did not start (log above)"; }
}

stop_db() {
  [ -z "${DATABASE_URL:-}" ] || return 0
  local datadir
  datadir="$(pg_datadir)"
  [ -f "$datadir/postmaster.pid" ] || { log "no private cluster running"; return 0; }
  as_pg "$(pg_bindir)/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null && log "PostgreSQL stopped"
}

ensure_database() {
  [ -z "${DATABASE_URL:-}" ] || return 0
  local psql="$(pg_bindir)/psql -h 127.0.0.1 -p $PORT -U postgres -qtA"
  if [ "$($psql -d postgres -c "SELECT 1 FROM pg_database WHERE datname='petakota'")" != 1 ]; then
    $psql -d postgres -c "CREATE DATABASE petakota" >/dev/null
  fi
}

# The environment the Makefile passes to the service and the tests.
print_env() {
  if [ -z "${DATABASE_URL:-}" ]; then
    echo "export DATABASE_URL=postgresql://postgres@127.0.0.1:$PORT/petakota"
    echo "export PETAKOTA_TEST_DATABASE_URL=\${PETAKOTA_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:$PORT/petakota_test}"
  fi
}

case "${1:-setup}" in
  setup) ensure_system_packages; ensure_venv; start_db; ensure_database ;;
  start-db) start_db; ensure_database ;;
  stop-db) stop_db ;;
  env) print_env ;;
  *) die "unknown command: $1" ;;
esac
