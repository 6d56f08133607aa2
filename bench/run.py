"""`make bench`: PetaKota side by side with its peers (tipg for vector tiles and items, TiTiler for raster
tiles) and with PostGIS's own ST_AsMVT, on the same PostGIS, the same data and the same machine.

Run by bench/bench.sh with bench/.venv's Python (tipg, TiTiler, psycopg); PetaKota runs from the project's
.venv. Prints the figures and writes docs/benchmarks.md (and bench/out/results.json).
Environment: BENCH_SECONDS (5) per run (each scenario runs in 3 rounds), BENCH_WARMUP (5) s of warm-up first,
BENCH_QUIET_WAIT (240) s at most in all to wait for an idle machine. `run.py --report` rewrites the doc from
bench/out/results.json without measuring.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import math
import os
import platform
import random
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from importlib.metadata import version
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
VAR = BENCH / "var"  # PETAKOTA_DATA_DIR of the bench database (its rasters)
LUA = BENCH / "paths.lua"
DOC = ROOT / "docs" / "benchmarks.md"
PETAKOTA = ROOT / ".venv" / "bin" / "petakota"
PG = "postgresql://postgres@127.0.0.1:5439"
DB = "petakota_bench"
DB_URL = f"{PG}/{DB}"
PSQL = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))[-1]

N_BUILDINGS = 200_000
SEED = 1275  # Kemendagri code of Binjai
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
RUNS = 3  # wrk runs per measurement: each run spreads its connections over the workers anew
WARMUP = int(os.environ.get("BENCH_WARMUP", "5"))
WORKERS = 2  # uvicorn worker processes, the same for every server
CONNS = 8  # wrk connections (2 wrk threads)
WARM_PASSES = 2  # before measuring cached tiles: 8 clients, each this many passes over the list, a new connection each
NODELAY = BENCH / "nodelay"  # sitecustomize.py that gives every server TCP_NODELAY (see there)
CAP = 10_000  # features per tile: PetaKota's PETAKOTA_TILE_FEATURE_CAP and tipg's TIPG_MAX_FEATURES_PER_TILE
BUFFER = 64  # MVT buffer in tile pixels (of 4096): PetaKota's; tipg is set to the same
MARKER = f"petakota bench buildings v1 n={N_BUILDINGS}"

DECLARATION = {
    "id": "buildings", "title": {"id": "Bangunan", "en": "Buildings"}, "geometry_type": "MultiPolygon",
    "fields": [{"name": "jenis", "type": "text", "title": {"id": "Jenis", "en": "Kind"}},
               {"name": "lantai", "type": "integer", "title": {"id": "Lantai", "en": "Floors"}}],
    "source": "bench", "illustrative": True,
}

# The floor: the same tile content as PetaKota's (same columns, buffer, cap, sub-pixel polygons dropped) from a
# plain prepared statement, no HTTP and no app.
RAW_MVT = f"""
WITH b AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env,
                  ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => {BUFFER / 4096}) AS env_buffered,
                  (ST_XMax(ST_TileEnvelope(%(z)s, %(x)s, %(y)s)) - ST_XMin(ST_TileEnvelope(%(z)s, %(x)s, %(y)s)))
                    / 256.0 AS pixel)
SELECT ST_AsMVT(t, 'buildings', 4096, 'geom', 'id') FROM (
  SELECT * FROM (SELECT id, jenis, lantai, ST_AsMVTGeom(geom_3857, b.env, 4096, {BUFFER}, true) AS geom
                 FROM buildings, b
                 WHERE geom_3857 && b.env_buffered AND ST_Area(ST_Envelope(geom_3857)) > power(b.pixel, 2)) s
  WHERE geom IS NOT NULL LIMIT {CAP}) t
"""


def log(msg: str) -> None:
    print(f"\033[1;34m[bench]\033[0m {msg}", file=sys.stderr, flush=True)


def sh(cmd: list, env: dict | None = None, quiet: bool = True) -> str:
    p = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return p.stdout


def petakota_env(**extra) -> dict:
    return {**os.environ, "DATABASE_URL": DB_URL, "PETAKOTA_DATA_DIR": str(VAR), **extra}


# --- data --------------------------------------------------------------------------------------------------

def setup_database() -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone():
            log(f"creating database {DB}")
            conn.execute(f"CREATE DATABASE {DB}")
    env = petakota_env()
    sh([PETAKOTA, "db", "upgrade"], env)
    if (VAR / "rasters" / "elevation.tif").is_file():
        sh([PETAKOTA, "load-sample", "--if-empty"], env)
    else:
        log("loading the sample city into petakota_bench (rasters into bench/var)")
        sh([PETAKOTA, "load-sample"], env)
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        marker = conn.execute("SELECT obj_description(to_regclass('public.buildings'), 'pg_class')").fetchone()[0]
        if marker != MARKER:
            log(f"generating {N_BUILDINGS:,} buildings over the city (bench/buildings.sql, ~15 s)")
            sh([PSQL, "-h", "127.0.0.1", "-p", "5439", "-U", "postgres", "-d", DB, "-v", f"n={N_BUILDINGS}",
                "-v", "ON_ERROR_STOP=1", "-q", "-1", "-f", BENCH / "buildings.sql"])
            conn.execute("VACUUM ANALYZE buildings")
            conn.execute(f"COMMENT ON TABLE buildings IS '{MARKER}'")
        # Registered directly (the table exists already; POST /admin/layers would create it).
        conn.execute("INSERT INTO layer_registry (id, declaration) VALUES ('buildings', %s::jsonb) "
                     "ON CONFLICT (id) DO UPDATE SET declaration = EXCLUDED.declaration", [json.dumps(DECLARATION)])


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    lat = max(min(lat, 85.05), -85.05)
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def city_tiles(zooms: range) -> list[tuple[int, int, int]]:
    """Every tile of these zooms that touches the city polygon, shuffled with the seed."""
    tiles = []
    with psycopg.connect(DB_URL) as conn:
        lon0, lat0, lon1, lat1 = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM kota) k"
        ).fetchone()
        for z in zooms:
            (x0, y0), (x1, y1) = tile_of(lon0, lat1, z), tile_of(lon1, lat0, z)
            rows = conn.execute(
                "SELECT x, y FROM generate_series(%(x0)s::int, %(x1)s::int) x, "
                "generate_series(%(y0)s::int, %(y1)s::int) y "
                "WHERE EXISTS (SELECT 1 FROM kota WHERE ST_Intersects(ST_Transform(geom, 3857), "
                "ST_TileEnvelope(%(z)s::int, x, y)))", {"z": z, "x0": x0, "x1": x1, "y0": y0, "y1": y1}).fetchall()
            tiles += [(z, x, y) for x, y in rows]
    random.Random(SEED).shuffle(tiles)
    return tiles


def bbox_tiles(bounds: list[float], zooms: range) -> list[tuple[int, int, int]]:
    lon0, lat0, lon1, lat1 = bounds
    tiles = []
    for z in zooms:
        (x0, y0), (x1, y1) = tile_of(lon0, lat1, z), tile_of(lon1, lat0, z)
        tiles += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    random.Random(SEED).shuffle(tiles)
    return tiles


def item_bboxes(n: int = 200) -> list[str]:
    """Boxes 300-800 m across around random points of the city (each holds more than 100 buildings)."""
    rng = random.Random(SEED)
    with psycopg.connect(DB_URL) as conn:
        points = conn.execute(
            "SELECT ST_X(p.geom), ST_Y(p.geom) FROM kota, ST_Dump(ST_GeneratePoints(geom, %s, %s)) p "
            "ORDER BY p.path", [n, SEED]).fetchall()
    boxes = []
    for lon, lat in points:
        h = rng.uniform(0.0015, 0.0036)  # half a side, degrees
        boxes.append(f"{lon - h:.6f},{lat - h:.6f},{lon + h:.6f},{lat + h:.6f}")
    return boxes


def write_paths(name: str, paths: list[str]) -> Path:
    path = OUT / f"{name}.txt"
    path.write_text("\n".join(paths) + "\n")
    return path


# --- servers -----------------------------------------------------------------------------------------------

class Server:
    def __init__(self, name: str, port: int, cmd: list, env: dict):
        self.name, self.port, self.cmd, self.env = name, port, [str(c) for c in cmd], env
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.log = OUT / "logs" / f"{port}.log"

    def start(self) -> None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", self.port)) == 0:
                raise RuntimeError(f"port {self.port} is already in use (a server left from another run?)")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        # A session of its own, so that stop() ends this server and its workers, and Ctrl-C reaches only us.
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=self.log.open("w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_healthy(self, timeout: float = 90) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}); log:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=5) as r:
                    if r.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} did not become healthy in {timeout:.0f} s; log:\n{self.log_tail()}")

    def log_tail(self, n: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:]) if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def get(url: str, timeout: float = 60) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


# --- CPU: who used the cores during a measurement ----------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _procs() -> dict[int, tuple[str, int, int]]:
    """pid -> (command, parent pid, CPU ticks of the process and of its reaped children)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        out[int(d)] = (s[s.index("(") + 1:s.rindex(")")], int(rest[1]), sum(int(v) for v in rest[11:15]))
    return out


def _busy() -> int:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]  # user nice system irq softirq steal


class CpuMeter:
    """Cores used by PostgreSQL (the whole cluster: backends, parallel workers, reaped ones), the server under
    test (per worker process), wrk, this driver, and anything else on the machine."""

    def __init__(self, server: Server | None = None):
        self.root = server.proc.pid if server and server.proc else None

    def _server_pids(self, procs) -> set[int]:
        pids, todo = set(), [self.root] if self.root else []
        while todo:
            pid = todo.pop()
            pids.add(pid)
            todo += [p for p, (_, ppid, _) in procs.items() if ppid == pid]
        return pids

    def __enter__(self):
        self.t0, self.busy0, self.p0 = time.monotonic(), _busy(), _procs()
        self.kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.self0 = resource.getrusage(resource.RUSAGE_SELF)
        return self

    def __exit__(self, *exc):
        p1, busy1, secs = _procs(), _busy(), time.monotonic() - self.t0
        kids1, self1 = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)

        def delta(pid):
            return (p1[pid][2] - (self.p0[pid][2] if pid in self.p0 and self.p0[pid][0] == p1[pid][0] else 0)) / TICK

        pg = sum(delta(pid) for pid, (comm, _, _) in p1.items() if comm == "postgres")
        server_pids = self._server_pids(p1)
        per_proc = sorted((delta(pid) for pid in server_pids), reverse=True)
        app = sum(per_proc)
        wrk = (kids1.ru_utime + kids1.ru_stime) - (self.kids0.ru_utime + self.kids0.ru_stime)
        me = (self1.ru_utime + self1.ru_stime) - (self.self0.ru_utime + self.self0.ru_stime)
        total = (busy1 - self.busy0) / TICK
        self.cores = {"postgres": pg / secs, "app": app / secs, "app_procs": [c / secs for c in per_proc[:WORKERS]],
                      "wrk": wrk / secs, "driver": me / secs,
                      "other": max(total - pg - app - wrk - me, 0) / secs, "total": total / secs}
        return False


# --- load generators ---------------------------------------------------------------------------------------

def wrk_once(server: Server, paths: Path, seconds: int, conns: int) -> dict:
    cmd = ["wrk", f"-t{min(2, conns)}", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s", "-s", str(LUA),
           server.url, "--", str(paths)]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    m = re.search(r"^BENCH (\{.*\})$", p.stdout, re.M)
    if p.returncode or not m:
        raise RuntimeError(f"wrk failed ({p.returncode}): {p.stdout[-1500:]} {p.stderr[-1500:]}")
    return json.loads(m.group(1))


class WrkLoad:
    """HTTP load on one server: wrk over a list of paths."""

    def __init__(self, server: Server, paths: Path, conns: int = CONNS):
        self.server, self.paths, self.conns = server, paths, conns

    def warmup(self) -> None:
        if WARMUP:
            wrk_once(self.server, self.paths, WARMUP, self.conns)

    def run(self) -> tuple[dict, dict]:
        with CpuMeter(self.server) as cpu:
            r = wrk_once(self.server, self.paths, SECONDS, self.conns)
        return r, cpu.cores


class RawLoad:
    """The floor: ST_AsMVT for the tile list through a prepared statement, no HTTP."""

    server = None

    def __init__(self, tiles: list, conns: int):
        self.tiles, self.conns = tiles, conns

    def warmup(self) -> None:
        raw_mvt(self.tiles, self.conns, 2)

    def run(self) -> tuple[dict, dict]:
        return raw_mvt(self.tiles, self.conns, SECONDS)


def summarize(runs: list[tuple[dict, dict]], conns: int) -> dict:
    """Throughput over all runs, median p50 and p99 of the runs, CPU averaged over the runs."""
    n, secs = sum(r["requests"] for r, _ in runs), sum(r["duration_us"] for r, _ in runs) / 1e6
    cpu = {k: sum(c[k] * r["duration_us"] for r, c in runs) / 1e6 / secs for k in runs[0][1] if k != "app_procs"}
    cpu["app_procs"] = [sum(c["app_procs"][i] for _, c in runs if len(c["app_procs"]) > i) / len(runs)
                        for i in range(WORKERS)]
    return {"requests": n, "rps": n / secs, "p50_ms": statistics.median(r["p50_us"] for r, _ in runs) / 1000,
            "p99_ms": statistics.median(r["p99_us"] for r, _ in runs) / 1000,
            "rps_runs": [r["requests"] / r["duration_us"] * 1e6 for r, _ in runs],
            "p50_runs": [r["p50_us"] / 1000 for r, _ in runs],
            "non2xx": sum(r["status_errors"] for r, _ in runs),
            "errors": sum(r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"] for r, _ in runs),
            "kb": sum(r["bytes"] for r, _ in runs) / max(n, 1) / 1024, "cpu": cpu, "conns": conns}


def warm(server: Server, paths: list[str], clients: int = CONNS, passes: int = WARM_PASSES) -> dict:
    """Fill the tile caches of every worker: each client makes `passes` passes over the list, each pass on a
    new keep-alive connection (so the passes land on the workers as the kernel hands connections out)."""
    counts = {"requests": 0, "errors": 0}
    lock = threading.Lock()

    def client(k: int) -> None:
        for p in range(passes):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            start = (k * len(paths) // clients + p * 7) % len(paths)
            for path in paths[start:] + paths[:start]:
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                with lock:
                    counts["requests"] += 1
                    counts["errors"] += r.status >= 400
            conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts


QUIET_WAIT = [float(os.environ.get("BENCH_QUIET_WAIT", "240"))]  # seconds left to wait, for the whole run


def wait_quiet(threshold: float = 0.3) -> float:
    """Wait until the machine is nearly idle before a measurement (other people's builds and tests share these
    2 cores), at most BENCH_QUIET_WAIT seconds over the whole run. Returns the cores busy at the last look."""
    while True:
        b0, t0 = _busy(), time.monotonic()
        time.sleep(1)
        busy = (_busy() - b0) / TICK
        if busy < threshold or QUIET_WAIT[0] <= 0:
            if busy >= threshold:
                log(f"  the machine is busy ({busy:.2f} cores used by others); measuring anyway")
            return busy
        QUIET_WAIT[0] -= time.monotonic() - t0
        if int(QUIET_WAIT[0]) % 10 == 0:
            log(f"  waiting for the machine to go quiet ({busy:.2f} cores busy)")


def raw_mvt(tiles: list, conns: int, seconds: float) -> tuple[dict, dict]:
    """ST_AsMVT for the tile list through a prepared statement, `conns` connections, no HTTP."""
    latencies, sizes, deadline = [], [], [0.0]
    ready, go, done, close = threading.Barrier(conns + 1), threading.Event(), threading.Barrier(conns + 1), \
        threading.Event()

    def loop(k: int) -> None:
        with psycopg.connect(DB_URL, application_name="petakota-bench-raw") as conn:
            i = k * len(tiles) // conns
            for z, x, y in tiles[i:i + 3]:  # prepare the statement (psycopg prepares at once with prepare=True)
                conn.execute(RAW_MVT, {"z": z, "x": x, "y": y}, prepare=True).fetchone()
            ready.wait()
            go.wait()
            mine, size = [], []
            while time.monotonic() < deadline[0]:
                z, x, y = tiles[i % len(tiles)]
                i += 1
                t0 = time.perf_counter()
                data = conn.execute(RAW_MVT, {"z": z, "x": x, "y": y}, prepare=True).fetchone()[0]
                mine.append(time.perf_counter() - t0)
                size.append(len(data))
            latencies.extend(mine)
            sizes.extend(size)
            done.wait()  # the backends stay up until the CPU meter has read them
            close.wait()

    workers = [threading.Thread(target=loop, args=(k,)) for k in range(conns)]
    for t in workers:
        t.start()
    ready.wait()
    with CpuMeter() as cpu:
        deadline[0] = time.monotonic() + seconds
        go.set()
        done.wait()
    close.set()
    for t in workers:
        t.join()
    latencies.sort()
    n = len(latencies)
    return {"requests": n, "duration_us": seconds * 1e6, "bytes": sum(sizes), "p50_us": latencies[n // 2] * 1e6,
            "p99_us": latencies[min(int(n * 0.99), n - 1)] * 1e6, "status_errors": 0, "connect_errors": 0,
            "read_errors": 0, "write_errors": 0, "timeouts": 0}, cpu.cores


def raw_tile(z: int, x: int, y: int) -> bytes:
    with psycopg.connect(DB_URL) as conn:
        return bytes(conn.execute(RAW_MVT, {"z": z, "x": x, "y": y}).fetchone()[0])


# --- the run -----------------------------------------------------------------------------------------------

def machine() -> dict:
    mem = next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1]
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    with psycopg.connect(DB_URL) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        postgis = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
        settings = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name IN ('shared_buffers', "
                                     "'jit', 'max_parallel_workers_per_gather', 'work_mem')").fetchall())
    petakota = sh([ROOT / ".venv/bin/python", "-c", "from importlib.metadata import version as v; "
                   "print(v('petakota'), v('rio-tiler'), v('uvicorn'))"]).split()
    commit = sh(["git", "rev-parse", "--short", "HEAD"]).strip()
    dirty = bool(sh(["git", "status", "--porcelain", "--untracked-files=no"]).strip())
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu, "nproc": os.cpu_count(),
        "memory_gib": round(int(mem) / 2**20, 1), "kernel": platform.release(), "python": platform.python_version(),
        "postgresql": pg, "postgis": postgis, "pg_settings": settings,
        "petakota": f"{petakota[0]} (commit {commit}{', with uncommitted changes' if dirty else ''})",
        "petakota_rio_tiler": petakota[1], "petakota_uvicorn": petakota[2],
        "tipg": version("tipg"), "titiler": version("titiler.application"), "peer_rio_tiler": version("rio-tiler"),
        "peer_uvicorn": version("uvicorn"),
        "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split(" [")[0],
    }


def make_servers() -> dict[str, Server]:
    py = BENCH / ".venv" / "bin" / "python"
    uvicorn = ["-m", "uvicorn", "--host", "127.0.0.1", "--workers", str(WORKERS)]
    nodelay = {"PYTHONPATH": os.pathsep.join(filter(None, [str(NODELAY), os.environ.get("PYTHONPATH")]))}
    tipg_env = {
        **os.environ, **nodelay, "DATABASE_URL": DB_URL,
        "TIPG_DB_SCHEMAS": '["public"]', "TIPG_DB_TABLES": '["public.buildings"]', "TIPG_DB_FUNCTIONS": "[]",
        "TIPG_TABLE_CONFIG__public_buildings__geomcol": "geom",
        "TIPG_TABLE_CONFIG__public_buildings__pk": "id",
        "TIPG_TABLE_CONFIG__public_buildings__properties": '["jenis", "lantai"]',
        "TIPG_TILE_BUFFER": str(BUFFER), "TIPG_MAX_FEATURES_PER_TILE": str(CAP),
    }
    return {
        "petakota": Server("PetaKota", 8101, [PETAKOTA, "serve", "--port", 8101, "--workers", WORKERS],
                           petakota_env(**nodelay)),
        "petakota_cold": Server("PetaKota, no tile cache", 8102,
                                [PETAKOTA, "serve", "--port", 8102, "--workers", WORKERS],
                                petakota_env(PETAKOTA_TILE_CACHE_MB="0", **nodelay)),
        "tipg": Server("tipg", 8103, [py, *uvicorn, "--port", 8103, "tipg.main:app"], tipg_env),
        "titiler": Server("TiTiler", 8104, [py, *uvicorn, "--port", 8104, "titiler.application.main:app"],
                          {**os.environ, **nodelay}),
    }


def check(server: Server, paths: list[str], n: int = 3) -> dict:
    """The first few responses of a list: status, type, size (what the timed runs will be getting)."""
    seen = []
    for path in paths[:n]:
        status, headers, body = get(server.url + path)
        seen.append({"status": status, "type": headers.get("content-type", ""), "bytes": len(body),
                     "truncated": headers.get("x-tile-truncated")})
    return {"server": server.name, "statuses": sorted({s["status"] for s in seen}),
            "type": seen[0]["type"], "bytes": [s["bytes"] for s in seen], "sample": seen}


def truncation_pass(server: Server, paths: list[str]) -> dict:
    """One pass over the tile list (4 at a time): errors and tiles cut at the feature cap (also warms)."""
    counts = {"tiles": len(paths), "truncated": 0, "errors": {}, "empty": 0}
    lock = threading.Lock()
    it = iter(paths)

    def worker():
        for path in it:
            status, headers, body = get(server.url + path)
            with lock:
                if status != 200:
                    counts["errors"][status] = counts["errors"].get(status, 0) + 1
                counts["truncated"] += bool(headers.get("x-tile-truncated"))
                counts["empty"] += status == 200 and not body

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts


def main() -> int:
    OUT.mkdir(exist_ok=True)
    t_start = time.monotonic()
    setup_database()
    info = machine()
    servers = make_servers()
    results: dict[str, dict] = {}
    notes: list[str] = []
    checks: list[dict] = []

    def measure(group: list[tuple[str, str, object]]) -> None:
        """Scenarios measured together: warm-up each, then RUNS rounds in which each runs once in turn, so
        that a disturbance from outside hits all of them alike."""
        log("measuring: " + "; ".join(f"{label} ({load.server.name if load.server else 'PostgreSQL'})"
                                      for _, label, load in group))
        runs: dict[str, list] = {key: [] for key, _, _ in group}
        failed: dict[str, str] = {}
        for key, _, load in group:
            try:
                load.warmup()
            except Exception as exc:  # one failing scenario must not hide the others
                failed[key] = str(exc)
        wait_quiet()
        for _ in range(RUNS):
            for key, _, load in group:
                if key not in failed:
                    try:
                        runs[key].append(load.run())
                    except Exception as exc:
                        failed[key] = str(exc)
        for key, label, load in group:
            server = load.server.name if load.server else "PostgreSQL (psycopg)"
            if key in failed:
                log(f"  {label} ({server}) FAILED: {failed[key][:500]}")
                results[key] = {"label": label, "server": server, "failed": failed[key]}
                continue
            r = results[key] = {**summarize(runs[key], getattr(load, "conns", 1)), "label": label, "server": server}
            log(f"  {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  "
                f"non-2xx {r['non2xx']}  errors {r['errors']}  cores: postgres {r['cpu']['postgres']:.2f} "
                f"app {r['cpu']['app']:.2f} other {r['cpu']['other']:.2f}  {label} ({server})")

    def fill_cache(server: Server, name: str) -> None:
        w = warm(server, lists[name])
        notes.append(f"{server.name}: cache filled before the cached runs of {name}: {w['requests']} requests, "
                     f"{w['errors']} errors.")

    try:
        log("starting the servers (2 workers each)")
        for s in servers.values():
            s.start()
        for s in servers.values():
            s.wait_healthy()
        pk, pk_cold, tipg, titiler = (servers[k] for k in ("petakota", "petakota_cold", "tipg", "titiler"))

        # The lists: the same requests to PetaKota and its peer.
        tiles = city_tiles(range(14, 17))
        boxes = item_bboxes()
        elevation = json.loads(get(pk.url + "/rasters/elevation")[2])
        lo, hi = elevation["legend"]["rescale"]
        rtiles = bbox_tiles(elevation["bounds"], range(12, 15))
        cog = urllib.parse.quote(str((VAR / "rasters" / "elevation.tif").resolve()), safe="/")
        lists = {
            "mvt_petakota": [f"/collections/buildings/tiles/WebMercatorQuad/{z}/{x}/{y}" for z, x, y in tiles],
            "mvt_tipg": [f"/collections/public.buildings/tiles/WebMercatorQuad/{z}/{x}/{y}" for z, x, y in tiles],
            "items_petakota": [f"/collections/buildings/items?limit=100&bbox={b}" for b in boxes],
            "items_tipg": [f"/collections/public.buildings/items?limit=100&bbox={b}" for b in boxes],
            "png_petakota": [f"/rasters/elevation/tiles/WebMercatorQuad/{z}/{x}/{y}.png" for z, x, y in rtiles],
            "png_titiler": [f"/cog/tiles/WebMercatorQuad/{z}/{x}/{y}.png?url={cog}&rescale={lo:g},{hi:g}"
                            f"&colormap_name=terrain&resampling=bilinear" for z, x, y in rtiles],
        }
        files = {name: write_paths(name, paths) for name, paths in lists.items()}
        zooms = {z: sum(t[0] == z for t in tiles) for z in range(14, 17)}
        log(f"{len(tiles)} vector tiles ({zooms}), {len(boxes)} bboxes, {len(rtiles)} raster tiles")

        # What the servers answer (before any timing), and PetaKota's tiles against the raw ones.
        for server, name in ((pk, "mvt_petakota"), (tipg, "mvt_tipg"), (pk, "items_petakota"),
                             (tipg, "items_tipg"), (pk, "png_petakota"), (titiler, "png_titiler")):
            checks.append({"list": name, **check(server, lists[name])})
        with psycopg.connect(DB_URL) as conn:
            exact = conn.execute("SELECT count(*) FROM buildings WHERE ST_Intersects(geom, "
                                 "ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
                                 [float(v) for v in boxes[0].split(",")]).fetchone()[0]
        for name, server in (("items_petakota", pk), ("items_tipg", tipg)):
            doc = json.loads(get(server.url + lists[name][0])[2])
            matched = doc.get("numberMatched", "left out (count over budget)")  # PetaKota never estimates
            notes.append(f"{server.name} items, first bbox: {len(doc.get('features', []))} features, "
                         f"numberMatched {matched} (exact count: {exact}).")
        raw_sizes = [len(raw_tile(*t)) for t in tiles[:3]]
        notes.append(f"First 3 tiles, bytes: PetaKota {checks[0]['bytes']}, raw ST_AsMVT {raw_sizes}, "
                     f"tipg {checks[1]['bytes']}.")
        log("one pass over the tile list on PetaKota (errors, tiles cut at the cap)")
        trunc = truncation_pass(pk, lists["mvt_petakota"])
        notes.append(f"PetaKota, one pass over the {trunc['tiles']} tiles: {trunc['truncated']} cut at {CAP:,} "
                     f"features (X-Tile-Truncated), {trunc['empty']} empty, errors {trunc['errors'] or 'none'}.")

        # Vector tiles: latency on one connection against the floor, then throughput on 8.
        mvt_pk, mvt_tipg = files["mvt_petakota"], files["mvt_tipg"]
        measure([("raw1", "ST_AsMVT, prepared, 1 connection", RawLoad(tiles, 1)),
                 ("mvt_cold1", "vector tiles, cold, 1 connection", WrkLoad(pk_cold, mvt_pk, 1)),
                 ("mvt_tipg1", "vector tiles, 1 connection", WrkLoad(tipg, mvt_tipg, 1))])
        fill_cache(pk, "mvt_petakota")
        measure([("raw2", "ST_AsMVT, prepared, 2 connections", RawLoad(tiles, 2)),
                 ("mvt_cold", "vector tiles, cold (no tile cache)", WrkLoad(pk_cold, mvt_pk)),
                 ("mvt_tipg", "vector tiles", WrkLoad(tipg, mvt_tipg)),
                 ("mvt_warm", "vector tiles, cached", WrkLoad(pk, mvt_pk))])
        # GeoJSON items.
        measure([("items", "items, limit=100, bbox", WrkLoad(pk, files["items_petakota"])),
                 ("items_tipg", "items, limit=100, bbox", WrkLoad(tipg, files["items_tipg"]))])
        # Raster tiles.
        fill_cache(pk, "png_petakota")
        measure([("png_cold", "raster PNG tiles, cold (no tile cache)", WrkLoad(pk_cold, files["png_petakota"])),
                 ("png_titiler", "raster PNG tiles", WrkLoad(titiler, files["png_titiler"])),
                 ("png_warm", "raster PNG tiles, cached", WrkLoad(pk, files["png_petakota"]))])
    finally:
        for s in servers.values():
            s.stop()
        log("servers stopped")

    for s in servers.values():
        for line in s.log.read_text(errors="replace").splitlines():
            if "Traceback" in line or " 500 " in line or "ERROR" in line:
                notes.append(f"{s.name} logged errors (see bench/out/logs/{s.port}.log), e.g.: `{line.strip()[:160]}`")
                break
    setup = {"tiles": len(tiles), "zooms": zooms, "boxes": len(boxes), "raster_tiles": len(rtiles),
             "rescale": [lo, hi], "runtime_s": round(time.monotonic() - t_start)}
    (OUT / "results.json").write_text(json.dumps({"machine": info, "setup": setup, "results": results,
                                                  "checks": checks, "notes": notes}, indent=1, default=str))
    text = report(info, setup, results, checks, notes)
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text)
    print(text)
    log(f"wrote {DOC.relative_to(ROOT)} and bench/out/results.json in {setup['runtime_s']} s")
    return 1 if any("failed" in r for r in results.values()) else 0


# --- the report --------------------------------------------------------------------------------------------

GOALS = [  # (what, numerator, denominator, kind, goal, stretch)
    ("Vector tiles, cold: PetaKota / tipg throughput", "mvt_cold", "mvt_tipg", "rps", 1.0, None),
    ("Vector tiles, cold: PetaKota p50 / raw ST_AsMVT p50 (1 connection each)", "mvt_cold1", "raw1", "p50", 1.2,
     None),
    ("Vector tiles, cold: PetaKota (8 conn.) / raw ST_AsMVT (2 conn.) throughput", "mvt_cold", "raw2", "rps", None,
     None),
    ("Vector tiles, cached: PetaKota / tipg throughput", "mvt_warm", "mvt_tipg", "rps", 5.0, 20.0),
    ("Items (GeoJSON, limit=100, bbox): PetaKota / tipg throughput", "items", "items_tipg", "rps", 1.0, 2.0),
    ("Raster PNG tiles, cold: PetaKota / TiTiler throughput", "png_cold", "png_titiler", "rps", 1.0, None),
    ("Raster PNG tiles, cached: PetaKota / TiTiler throughput", "png_warm", "png_titiler", "rps", None, 10.0),
]


def goal_rows(results: dict) -> list[list[str]]:
    rows = []
    for what, a, b, kind, goal, stretch in GOALS:
        ra, rb = results.get(a, {}), results.get(b, {})
        if "rps" not in ra or "rps" not in rb:
            rows.append([what, "n/a (a run failed)", "", ""])
            continue
        if kind == "rps":
            ratio = paired(ra, rb, "rps_runs")
            goal_text = (f">= {goal:g}x" if goal else "-") + (f" (stretch {stretch:g}x)" if stretch else "")
            met = "-" if not goal and not stretch else (
                "**stretch met**" if stretch and ratio >= stretch else
                "met" if goal and ratio >= goal else "**missed**" if goal else "stretch missed")
        else:
            ratio = paired(ra, rb, "p50_runs")
            goal_text = f"<= {goal:g}x"
            met = "met" if ratio <= goal else "**missed**"
        rows.append([what, f"{ratio:.2f}x", goal_text, met])
    return rows


def paired(a: dict, b: dict, key: str) -> float:
    """The median of the per-round ratios when both were measured in the same rounds (a disturbance from
    outside then hits both), else the ratio of the totals."""
    if len(a.get(key, [])) == len(b.get(key, [])) > 0:
        return statistics.median(x / y for x, y in zip(a[key], b[key], strict=True))
    total = "rps" if key == "rps_runs" else "p50_ms"
    return a[total] / b[total]


def limited_by(r: dict) -> str:
    c = r["cpu"]
    if c["postgres"] >= c["app"] * 1.3:
        return "PostgreSQL (SQL)"
    if c["app"] >= c["postgres"] * 1.3:
        return "app (Python)"
    return "both"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(map(str, row)) + " |" for row in rows)])


def report(info: dict, setup: dict, results: dict, checks: list, notes: list) -> str:
    rows, cpu_rows = [], []
    for r in results.values():
        if "failed" in r:
            rows.append([r["label"], r["server"], "", "failed", "", "", "", "", ""])
            continue
        spread = (f"{min(r['rps_runs']):.0f}-{max(r['rps_runs']):.0f}" if "rps_runs" in r else "")
        rows.append([r["label"], r["server"], r["conns"], f"{r['rps']:.1f}", spread, f"{r['p50_ms']:.1f}",
                     f"{r['p99_ms']:.1f}", f"{r['non2xx']} / {r['errors']}", f"{r['kb']:.1f}"])
        c = r["cpu"]
        procs = "+".join(f"{p:.2f}" for p in c["app_procs"]) if len(c["app_procs"]) > 1 else ""
        raw = r["server"] == "PostgreSQL (psycopg)"
        per_req = (c["postgres"] + (0 if raw else c["app"])) * 1000 / r["rps"]
        cpu_rows.append([r["label"], r["server"], f"{per_req:.1f}", f"{c['postgres']:.2f}",
                         f"{c['app']:.2f}" + (f" ({procs})" if procs else "") if r["server"] != "PostgreSQL (psycopg)"
                         else f"{c['driver']:.2f} (driver)", f"{c['wrk']:.2f}", f"{c['other']:.2f}",
                         limited_by(r) if r["server"] != "PostgreSQL (psycopg)" else "PostgreSQL"])
    m = info
    pgs = m["pg_settings"]
    pg_conf = (f"shared_buffers {pgs.get('shared_buffers')} x 8 kB, jit {pgs.get('jit')}, "
               f"max_parallel_workers_per_gather {pgs.get('max_parallel_workers_per_gather')}")
    zooms = ", ".join(f"z{z}: {n}" for z, n in setup["zooms"].items())
    peer_libs = f"rio-tiler {m['peer_rio_tiler']}, uvicorn {m['peer_uvicorn']}"
    busy = [f"{r['label']} ({r['server']}): {r['cpu']['other']:.2f}" for r in results.values()
            if "cpu" in r and r["cpu"]["other"] > 0.3]
    if busy:
        notes = [*notes, "Other work on the machine used more than 0.3 cores during: " + "; ".join(busy)
                 + ". Those figures are less reliable."]
    check_rows = [[c["list"], c["server"], ", ".join(map(str, c["statuses"])), c["type"],
                   ", ".join(map(str, c["bytes"]))] for c in checks]
    return f"""# Benchmarks

PetaKota side by side with its peers, on the same PostGIS, the same data and the same machine.
Generated by `make bench` (bench/run.py) on {m['date']}; do not edit by hand, run it again.
It is not part of `make test`. It takes about {max(setup['runtime_s'] // 60, 1)} minutes.

## Machine and versions

| | |
|---|---|
| CPU | {m['cpu']}, {m['nproc']} cores (`nproc`), {m['memory_gib']} GiB memory, Linux {m['kernel']} |
| PostgreSQL / PostGIS | {m['postgresql']} / {m['postgis']} ({pg_conf}) |
| PetaKota | {m['petakota']}; rio-tiler {m['petakota_rio_tiler']}, uvicorn {m['petakota_uvicorn']} (.venv) |
| peers | tipg {m['tipg']}, titiler.application {m['titiler']}; {peer_libs} (bench/.venv) |
| load | {m['wrk']}, Python {m['python']} |

## Method

- Data: database `petakota_bench` on the private cluster (127.0.0.1:5439): PetaKota's migrations and sample city,
  plus `buildings`, {N_BUILDINGS:,} generated footprints over Binjai (bench/buildings.sql: rotated rectangles
  8-20 m on a jittered grid inside the city polygon, `jenis`, `lantai`, GiST on `geom` and on the stored
  `geom_3857`), registered as a PetaKota layer and the only table tipg exposes.
- Servers: each with uvicorn, {WORKERS} worker processes, default logging (access log on), all on this machine with
  PostgreSQL and wrk (so the load generator takes its share of the {m['nproc']} cores). Every server gets
  bench/nodelay/sitecustomize.py, which turns TCP_NODELAY back on: `uvicorn --workers N` loses it (uvicorn issue
  #3149) and then every small keep-alive response waits ~40 ms for the client's delayed ACK (measured here: 218
  cached tiles/s, p50 44 ms, instead of well over 1,000/s). PetaKota does the same itself at app start
  (`api/app.py` `enable_tcp_nodelay`); tipg and TiTiler get it from the harness, so the comparison is fair.
  tipg is configured to draw the same tiles as PetaKota where it can: columns `jenis`, `lantai`, buffer
  {BUFFER}, at most {CAP:,} features. Differences that remain: tipg transforms `geom` to 3857 per row (PetaKota
  reads the stored `geom_3857`) and keeps polygons smaller than a pixel (PetaKota drops them); tipg answers
  items with its own JSON layout.
- Lists (bench/out/*.txt, the same for both sides): {setup['tiles']} vector tiles, every tile of z14-z16 touching
  the city ({zooms}), shuffled with seed {SEED}; {setup['boxes']} items requests `limit=100` with a
  bbox 300-800 m across around random points of the city; {setup['raster_tiles']} PNG tiles z12-z14 of the
  `elevation` COG (TiTiler: the same file, `rescale={setup['rescale'][0]:g},{setup['rescale'][1]:g}` as PetaKota's
  legend, `colormap_name=terrain`, `resampling=bilinear`).
- Load: `wrk -t2 -c{CONNS}` (or `-t1 -c1`), bench/paths.lua cycling through a list. The scenarios compared
  with each other are measured together: {WARMUP} s warm-up each, then {RUNS} rounds in which each runs
  {SECONDS} s in turn, so that other work on the machine disturbs them alike (the harness also waits, up to
  BENCH_QUIET_WAIT s in all, for an idle machine first). A new wrk run also spreads its connections over the
  workers anew (uvicorn's workers do not share them evenly). req/s is over all rounds, p50 and p99 the median of
  the rounds, and a ratio the median of the per-round ratios. Cold PetaKota tiles come from a second PetaKota with
  `PETAKOTA_TILE_CACHE_MB=0` (nothing is cached); cached ones from one with the default cache after {CONNS}
  clients made {WARM_PASSES} passes each over the list, each pass on a new connection.
- Floor: the same tile content (PetaKota's SQL minus the truncation flag) as a prepared statement in a Python
  loop with psycopg, 1 and 2 connections, no HTTP.
- Cores: CPU time during the measured run, from /proc (PostgreSQL: the whole cluster, parallel workers included;
  app: the server's processes, per worker in brackets; other: anything else on the machine).

## Results

{table(["scenario", "server", "conn.", "req/s", "req/s of the runs", "p50 ms", "p99 ms", "non-2xx / socket errors",
        "KiB/resp"], rows)}

## Goals

{table(["ratio", "measured", "goal", ""], goal_rows(results))}

## Where the time goes (cores used during the run, of {m['nproc']})

CPU ms/req is (PostgreSQL + app) CPU time per request: it is less disturbed than req/s when other work shares the
machine (but PostgreSQL counts the whole cluster, so other databases' work there lands in it).

{table(["scenario", "server", "CPU ms/req", "PostgreSQL", "app", "wrk", "other", "bound by"], cpu_rows)}

## Checks

First responses of each list, before timing:

{table(["list", "server", "status", "content type", "bytes"], check_rows)}

{chr(10).join(f"- {n}" for n in notes)}
"""


def rewrite_report() -> int:
    """`run.py --report`: write docs/benchmarks.md again from bench/out/results.json, without measuring."""
    saved = json.loads((OUT / "results.json").read_text())
    DOC.write_text(report(saved["machine"], saved["setup"], saved["results"], saved["checks"], saved["notes"]))
    log(f"wrote {DOC.relative_to(ROOT)} from bench/out/results.json")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops the servers
    sys.exit(rewrite_report() if sys.argv[1:] == ["--report"] else main())
