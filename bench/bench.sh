#!/usr/bin/env bash
# `make bench`: sets up what the benchmark needs (idempotent), then runs bench/run.py.
#   the project's setup (private PostGIS on 127.0.0.1:5439, .venv), wrk, MapServer 8 and spawn-fcgi (apt), bench/.venv with the peers.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '\033[1;34m[bench]\033[0m %s\n' "$*" >&2; }
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
  else echo "bench: needs root or sudo to install $*" >&2; return 1
  fi
}

[ -z "${DATABASE_URL:-}" ] || { echo "bench: runs on the private cluster; unset DATABASE_URL" >&2; exit 2; }
# The benchmark database is scratch: like the tests, it may run without fsync (`make run` restarts it durable).
PETAKOTA_PG_DURABLE="${PETAKOTA_PG_DURABLE:-0}" scripts/devenv.sh setup

if ! command -v wrk >/dev/null; then
  log "installing wrk (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi

if ! command -v mapserv >/dev/null || ! command -v spawn-fcgi >/dev/null; then
  log "installing MapServer 8 and spawn-fcgi (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    mapserver-bin cgi-mapserver spawn-fcgi >/dev/null
fi

VENV=bench/.venv
if [ ! -x "$VENV/bin/python" ] || [ bench/requirements.txt -nt "$VENV/.installed" ]; then
  log "installing tipg and TiTiler into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null
  "$VENV/bin/pip" install -q -r bench/requirements.txt
  touch "$VENV/.installed"
fi

"$VENV/bin/python" bench/run.py "$@"
# Siting: the analysis itself, in the project's own environment, on the benchmark database's sample city.
eval "$(scripts/devenv.sh env)"
DATABASE_URL="${DATABASE_URL%/*}/petakota_bench" PETAKOTA_DATA_DIR=bench/var .venv/bin/python bench/siting.py
# Region siting on Dask: a synthetic ~7,000 km2 region at 10 m (criteria rasters generated once under bench/var).
DATABASE_URL="${DATABASE_URL%/*}/petakota_bench" PETAKOTA_DATA_DIR=bench/var PYTHONPATH=. .venv/bin/python bench/region.py
# Park coverage and change detection over the same region (their sections appended to the same report).
PYTHONPATH=. .venv/bin/python bench/region_coverage.py
# Cities: scoped against unscoped on the same database, and adopting Kabupaten Deli Serdang.
DATABASE_URL="${DATABASE_URL%/*}/petakota_bench" PETAKOTA_DATA_DIR=bench/var PYTHONPATH=. .venv/bin/python bench/cities.py
# RDTR: importing a 5,000-zone plan and conformity checks on it.
DATABASE_URL="${DATABASE_URL%/*}/petakota_bench" PYTHONPATH=. .venv/bin/python bench/rdtr.py
# Cached tiles while siting runs: a PetaKota with 2 workers on the same database.
PORT=8791
DATABASE_URL="${DATABASE_URL%/*}/petakota_bench" PETAKOTA_DATA_DIR=bench/var \
  .venv/bin/petakota serve --port "$PORT" --workers 2 >bench/out/serve-siting.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 1; done
.venv/bin/python bench/tiles_during_siting.py --url "http://127.0.0.1:$PORT" --seconds 20 \
  --out docs/benchmarks-tiles-during-siting.md
# Programmes: importing a 500-programme SIPD-style work plan and the dashboard's data for it.
DATABASE_URL="${DATABASE_URL%/*}/petakota_bench" PYTHONPATH=. .venv/bin/python bench/programmes.py
# Static embeds: the full export of the public map's archive against `export-embed --update` after 1 and 50 edits.
DATABASE_URL="${DATABASE_URL%/*}/petakota_bench" PYTHONPATH=. .venv/bin/python bench/embed_incremental.py
# Printing: the city on A3 and the atlas of its kelurahan.
DATABASE_URL="${DATABASE_URL%/*}/petakota_bench" PETAKOTA_DATA_DIR=bench/var PYTHONPATH=. .venv/bin/python bench/printing.py
# Web maps: the embed and the planner map in Chromium, ready time and page weight, on Fast 3G and unthrottled.
DATABASE_URL="${DATABASE_URL%/*}/petakota_bench" PETAKOTA_DATA_DIR=bench/var PYTHONPATH=. .venv/bin/python bench/webmap.py
# WMS GetMap: PetaKota's /wms beside MapServer 8 (FastCGI), the same layers and style, cold and cached.
DATABASE_URL="${DATABASE_URL%/*}/petakota_bench" PYTHONPATH=. .venv/bin/python bench/wms_mapserver.py
# Read replica: its lag under 20 edits/s through the API, on a primary and a streaming replica of their own.
PYTHONPATH=. .venv/bin/python bench/replica_lag.py
# Replicas: 1 and 3 API processes behind nginx (scripts/cluster.sh): cached tiles, an edit reaching every replica,
# and whether a cache shared by the replicas would pay.
DATABASE_URL="${DATABASE_URL%/*}/petakota_bench" PETAKOTA_DATA_DIR=bench/var PYTHONPATH=. .venv/bin/python bench/cluster.py
