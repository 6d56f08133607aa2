#!/usr/bin/env bash
# N PetaKota replicas (`petakota serve`, one process each) behind a private nginx, all on one PostGIS primary.
# Usage: scripts/cluster.sh start | stop | status
#   REPLICAS           how many API replicas (default 3); `start` with fewer than are running stops the extra ones
#   CLUSTER_PORT       where nginx listens on 127.0.0.1 (default 8080)
#   REPLICA_PORT_BASE  replica i listens on 127.0.0.1:REPLICA_PORT_BASE+i-1 (default 8101)
#   CLUSTER_DIR        nginx.conf, pid files and logs (default var/cluster)
#   DATABASE_URL       the primary every replica reads and writes (scripts/devenv.sh env gives the local one)
#   PETAKOTA_READ_DATABASE_URL  optional streaming read replica (scripts/replica.sh), given to every replica
# Idempotent: `start` keeps the replicas that run and rewrites and reloads nginx; `stop` stops what runs.
# Each replica answers with X-PetaKota-Replica: replica-i, so a request can be traced to the one that served it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
REPLICAS="${REPLICAS:-3}"
CLUSTER_PORT="${CLUSTER_PORT:-8080}"
REPLICA_PORT_BASE="${REPLICA_PORT_BASE:-8101}"
CLUSTER_DIR="$(mkdir -p "${CLUSTER_DIR:-var/cluster}" && cd "${CLUSTER_DIR:-var/cluster}" && pwd)"
PETAKOTA="${PETAKOTA:-$ROOT/.venv/bin/petakota}"
NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
START_SECONDS="${START_SECONDS:-90}"

log() { printf '\033[1;34m[cluster]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[cluster]\033[0m %s\n' "$*" >&2; exit 1; }

[[ "$REPLICAS" =~ ^[1-9][0-9]*$ ]] || die "REPLICAS must be a whole number from 1, got '$REPLICAS'"
for p in "$CLUSTER_PORT" "$REPLICA_PORT_BASE"; do
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -ge 1024 ] && [ "$p" -le 65535 ] \
    || die "ports must be numbers from 1024 to 65535, got '$p' (CLUSTER_PORT, REPLICA_PORT_BASE)"
done

replica_port() { echo $((REPLICA_PORT_BASE + $1 - 1)); }
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
healthy() { curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:$1/healthz"; }

# The replica indexes that have a pid file (running or left behind), in order.
known_replicas() {
  local f
  for f in "$CLUSTER_DIR"/replica-*.pid; do
    [ -e "$f" ] || continue
    f="${f##*/replica-}"; echo "${f%.pid}"
  done | sort -n
}

start_replica() {
  local i="$1" port pidfile
  port="$(replica_port "$i")"
  pidfile="$CLUSTER_DIR/replica-$i.pid"
  if pid_alive "$pidfile"; then return; fi
  port_taken "$port" && die "port $port (replica $i) is taken by another program: set REPLICA_PORT_BASE"
  # PYTHONPATH: the replicas serve this checkout's code, even when .venv was installed from another checkout.
  local vars=(PETAKOTA_REPLICA_NAME="replica-$i" PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}")
  # Read replica: with PETAKOTA_READ_DATABASE_URL set, every API replica sends its reads there (writes, and the
  # writer's next reads, stay on DATABASE_URL). Unset: everything goes to the primary.
  if [ -n "${PETAKOTA_READ_DATABASE_URL:-}" ]; then
    vars+=(PETAKOTA_READ_DATABASE_URL="$PETAKOTA_READ_DATABASE_URL")
  fi
  log "starting replica-$i on 127.0.0.1:$port"
  env "${vars[@]}" nohup "$PETAKOTA" serve --host 127.0.0.1 --port "$port" \
    >>"$CLUSTER_DIR/replica-$i.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

# SIGTERM to every pid file given (requests in flight finish), then SIGKILL to those still running after 10 s.
stop_pids() {
  local f pids=()
  for f in "$@"; do
    if pid_alive "$f"; then pids+=("$(cat "$f")"); kill -TERM "${pids[-1]}" 2>/dev/null || true; fi
  done
  for _ in $(seq 100); do
    local left=0 p
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left=1; done
    [ "$left" = 1 ] || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then log "pid $p did not stop in 10 s: killing it"; kill -KILL "$p" || true; fi
  done
  for f in "$@"; do log "stopped $(basename "$f" .pid)"; rm -f "$f"; done
}

wait_healthy() {
  local i="$1" port deadline
  port="$(replica_port "$i")"
  deadline=$((SECONDS + START_SECONDS))
  until healthy "$port"; do
    pid_alive "$CLUSTER_DIR/replica-$i.pid" \
      || { tail -n 20 "$CLUSTER_DIR/replica-$i.log" >&2; die "replica-$i exited (its log above)"; }
    [ "$SECONDS" -lt "$deadline" ] \
      || die "replica-$i is not healthy after ${START_SECONDS} s (log: $CLUSTER_DIR/replica-$i.log)"
    sleep 0.3
  done
}

write_nginx_conf() {
  local servers="" i
  for i in $(seq "$REPLICAS"); do
    # One failure takes a replica out for 5 s; nginx then tries it again.
    servers+="        server 127.0.0.1:$(replica_port "$i") max_fails=1 fail_timeout=5s;"$'\n'
  done
  mkdir -p "$CLUSTER_DIR/nginx-tmp"
  awk -v servers="${servers%$'\n'}" -v dir="$CLUSTER_DIR" -v port="$CLUSTER_PORT" '
    /@@UPSTREAM_SERVERS@@/ { print servers; next }
    { gsub(/@@RUN_DIR@@/, dir); gsub(/@@LISTEN_PORT@@/, port); print }
  ' deploy/nginx.conf.template >"$CLUSTER_DIR/nginx.conf.new"
  "$NGINX" -t -q -p "$CLUSTER_DIR" -c "$CLUSTER_DIR/nginx.conf.new" -e "$CLUSTER_DIR/nginx-error.log" \
    || die "nginx refused the configuration ($CLUSTER_DIR/nginx.conf.new)"
  mv "$CLUSTER_DIR/nginx.conf.new" "$CLUSTER_DIR/nginx.conf"
}

nginx_run() { "$NGINX" -p "$CLUSTER_DIR" -c "$CLUSTER_DIR/nginx.conf" -e "$CLUSTER_DIR/nginx-error.log" "$@"; }

start() {
  [ -x "$NGINX" ] || die "nginx is not installed: run scripts/devenv.sh setup (or apt-get install nginx)"
  [ -x "$PETAKOTA" ] || die "$PETAKOTA is missing: run scripts/devenv.sh setup"
  [ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set: eval \"\$(scripts/devenv.sh env)\" first"
  local i
  local extra=()
  for i in $(known_replicas); do [ "$i" -le "$REPLICAS" ] || extra+=("$CLUSTER_DIR/replica-$i.pid"); done
  [ ${#extra[@]} -eq 0 ] || stop_pids "${extra[@]}"
  for i in $(seq "$REPLICAS"); do start_replica "$i"; done
  for i in $(seq "$REPLICAS"); do wait_healthy "$i"; done
  write_nginx_conf
  if pid_alive "$CLUSTER_DIR/nginx.pid"; then
    nginx_run -s reload
    log "nginx reloaded: $REPLICAS replica(s) behind 127.0.0.1:$CLUSTER_PORT"
  else
    port_taken "$CLUSTER_PORT" && die "port $CLUSTER_PORT is taken by another program: set CLUSTER_PORT"
    nginx_run
    log "nginx started: $REPLICAS replica(s) behind http://127.0.0.1:$CLUSTER_PORT"
  fi
  local deadline=$((SECONDS + 10))
  until healthy "$CLUSTER_PORT"; do
    [ "$SECONDS" -lt "$deadline" ] || die "nginx does not answer on $CLUSTER_PORT (log: $CLUSTER_DIR/nginx-error.log)"
    sleep 0.2
  done
}

stop() {
  if pid_alive "$CLUSTER_DIR/nginx.pid"; then
    nginx_run -s quit
    for _ in $(seq 100); do pid_alive "$CLUSTER_DIR/nginx.pid" || break; sleep 0.1; done
    log "stopped nginx"
  fi
  local i files=()
  for i in $(known_replicas); do files+=("$CLUSTER_DIR/replica-$i.pid"); done
  [ ${#files[@]} -eq 0 ] || stop_pids "${files[@]}"
}

# One line per part; exit status 0 when every part runs and answers, 3 otherwise.
status() {
  local ok=0 i port state
  if pid_alive "$CLUSTER_DIR/nginx.pid" && healthy "$CLUSTER_PORT"; then
    echo "nginx      127.0.0.1:$CLUSTER_PORT  up (pid $(cat "$CLUSTER_DIR/nginx.pid"))"
  else
    echo "nginx      127.0.0.1:$CLUSTER_PORT  down"; ok=3
  fi
  for i in $(known_replicas); do
    port="$(replica_port "$i")"
    if ! pid_alive "$CLUSTER_DIR/replica-$i.pid"; then state="down"; ok=3
    elif healthy "$port"; then state="up (pid $(cat "$CLUSTER_DIR/replica-$i.pid"))"
    else state="running, not healthy (pid $(cat "$CLUSTER_DIR/replica-$i.pid"))"; ok=3
    fi
    echo "replica-$i  127.0.0.1:$port  $state"
  done
  [ -n "$(known_replicas)" ] || { echo "no replicas"; ok=3; }
  return $ok
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: scripts/cluster.sh start|stop|status (REPLICAS, CLUSTER_PORT, REPLICA_PORT_BASE, CLUSTER_DIR)" ;;
esac
