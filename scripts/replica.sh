#!/usr/bin/env bash
# The streaming read replica: a second local PostgreSQL cluster, a physical copy of the primary made with
# `pg_basebackup -R`, replaying the primary's WAL as a hot standby. The API sends its reads there when
# PETAKOTA_READ_DATABASE_URL points at it (`scripts/replica.sh env` prints that), its writes to the primary.
# Usage: scripts/replica.sh start | stop | status | drop | env
#   start   copies the primary (first time only) and starts the standby; a running standby is left as it is
#   stop    stops the standby, keeping its copy (a later start resumes streaming where it stopped)
#   status  running or not, its replay position and its lag behind the primary (exit 3 when not running)
#   drop    stops the standby and deletes its copy (the next start copies the primary again)
#   env     the environment the API processes need to read from the replica
# The primary is DATABASE_URL, else the private cluster of scripts/devenv.sh (127.0.0.1:PETAKOTA_PG_PORT).
# PETAKOTA_REPLICA_PORT (5440) and PETAKOTA_REPLICA_DATADIR place the standby; PETAKOTA_PG_DURABLE=0 runs it
# without fsync (tests, benchmarks: a crashed copy is dropped and copied again).
# The primary needs nothing beyond initdb's defaults: wal_level=replica, max_wal_senders=10 and a
# `host replication all 127.0.0.1/32` line in pg_hba.conf. No replication slot is made, so a stopped standby
# never fills the primary's disk; one stopped longer than the primary keeps its WAL is dropped and started again.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PORT="${PETAKOTA_REPLICA_PORT:-5440}"
PRIMARY="${DATABASE_URL:-postgresql://postgres@127.0.0.1:${PETAKOTA_PG_PORT:-5439}/petakota}"
PRIMARY="${PRIMARY/postgresql+psycopg:/postgresql:}"
DURABLE="${PETAKOTA_PG_DURABLE:-1}"

log() { printf '\033[1;34m[replica]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[replica]\033[0m %s\n' "$*" >&2; exit 1; }

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
BIN="$(pg_bindir)"
[ -n "$BIN" ] || die "PostgreSQL is not installed: run scripts/devenv.sh setup first"

# Like devenv.sh: as root the cluster runs as `postgres`, in a directory that user can reach.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

datadir() {
  if [ -n "${PETAKOTA_REPLICA_DATADIR:-}" ]; then
    echo "$PETAKOTA_REPLICA_DATADIR"
  elif [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$ROOT"; then
    echo "$ROOT/var/pg-replica"
  else
    echo "/var/tmp/petakota-pg-replica-$(echo "$ROOT" | cksum | cut -d' ' -f1)"
  fi
}
DATADIR="$(datadir)"

# The database name of the primary's URL: the replica serves the same one.
database() { local tail="${PRIMARY##*/}"; echo "${tail%%\?*}"; }

psql_replica() { "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qtAX "$@"; }

# The server on $PORT is the standby in $DATADIR (line 4 of postmaster.pid is its port).
ours() { [ -f "$DATADIR/postmaster.pid" ] && [ "$(sed -n 4p "$DATADIR/postmaster.pid")" = "$PORT" ]; }

durability_settings() {
  local value=on
  [ "$DURABLE" != 0 ] || value=off
  echo "-c fsync=$value -c synchronous_commit=$value -c full_page_writes=$value"
}

copy_primary() {
  "$BIN/pg_isready" -q -d "$PRIMARY" || die "the primary ($PRIMARY) is not running: scripts/devenv.sh start-db"
  log "copying the primary into $DATADIR (pg_basebackup)"
  rm -rf "$DATADIR"
  mkdir -p "$DATADIR"
  [ "$(id -u)" != 0 ] || chown postgres "$DATADIR"
  chmod 700 "$DATADIR"
  # -R writes standby.signal and primary_conninfo; -X stream copies the WAL written during the copy.
  # (The primary's socket in its data directory is skipped, as it should be: not worth a warning.)
  if ! as_pg "$BIN/pg_basebackup" -d "$PRIMARY" -D "$DATADIR" -R -X stream --checkpoint=fast \
      2> >(grep -v 'skipping special file' >&2) >/dev/null; then
    rm -rf "$DATADIR"
    die "pg_basebackup failed: the primary needs a 'host replication' line for 127.0.0.1 in pg_hba.conf"
  fi
  rm -f "$DATADIR/server.log" "$DATADIR/postmaster.opts"  # the primary's, not ours
}

start() {
  if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    ours || die "port $PORT is taken by another server: set PETAKOTA_REPLICA_PORT"
    return 0
  fi
  [ -f "$DATADIR/PG_VERSION" ] && [ -f "$DATADIR/standby.signal" ] || copy_primary
  log "starting the read replica on 127.0.0.1:$PORT"
  # A standby's max_connections may not be below the primary's (devenv.sh runs it with 200; asked when it runs);
  # hot_standby_feedback keeps the primary's vacuum from cancelling long reads here.
  local connections
  connections="$("$BIN/psql" -d "$PRIMARY" -qtAX -c 'SHOW max_connections' 2>/dev/null || echo 200)"
  if ! as_pg "$BIN/pg_ctl" -D "$DATADIR" -l "$DATADIR/server.log" -w -t 120 \
    -o "-p $PORT -k $DATADIR -c listen_addresses=127.0.0.1 -c max_connections=$connections -c hot_standby=on \
        -c hot_standby_feedback=on $(durability_settings)" start >/dev/null; then
    tail -n 20 "$DATADIR/server.log" >&2
    die "the read replica did not start (log above); 'scripts/replica.sh drop' then start copies the primary again"
  fi
  [ "$(psql_replica -c 'SELECT pg_is_in_recovery()')" = t ] || die "the server on $PORT is not a standby"
}

stop() {
  [ -f "$DATADIR/postmaster.pid" ] || { log "the read replica is not running"; return 0; }
  as_pg "$BIN/pg_ctl" -D "$DATADIR" -m fast -w -t 60 stop >/dev/null && log "read replica stopped"
}

status() {
  if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" || ! ours; then
    echo "read replica: not running (port $PORT, $DATADIR)"
    exit 3
  fi
  local replay primary_lsn lag
  replay="$(psql_replica -c 'SELECT pg_last_wal_replay_lsn()')"
  primary_lsn="$("$BIN/psql" -d "$PRIMARY" -qtAX -c 'SELECT pg_current_wal_lsn()' 2>/dev/null || true)"
  if [ -n "$primary_lsn" ]; then
    lag="$(psql_replica -c "SELECT greatest(0, pg_wal_lsn_diff('$primary_lsn', '$replay'))::bigint")"
    echo "read replica: running on 127.0.0.1:$PORT ($DATADIR), replayed $replay, $lag bytes behind the primary"
  else
    echo "read replica: running on 127.0.0.1:$PORT ($DATADIR), replayed $replay, primary unreachable"
  fi
}

drop() {
  stop
  rm -rf "$DATADIR"
  log "read replica copy deleted"
}

case "${1:-status}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  drop) drop ;;
  env) echo "export PETAKOTA_READ_DATABASE_URL=postgresql://postgres@127.0.0.1:$PORT/$(database)" ;;
  *) die "unknown command: $1 (start | stop | status | drop | env)" ;;
esac
