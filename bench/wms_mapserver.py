"""WMS GetMap side by side: PetaKota's /wms (Mapnik, with its image cache) against MapServer 8 (Debian's
mapserv as FastCGI processes started by spawn-fcgi, asked by a minimal FastCGI client, no web server in front),
on the same PostGIS, the same layers and the same style (bench/mapserver_map.py writes the mapfile from the
style specification). Both get 256x256 PNG GetMap requests of the same Web Mercator tile boxes over the city at
zooms 13-15, the six layers of the public map at once, from CONCURRENCY client threads; each server has 2
worker processes. Cold: the first request of every box on a fresh server. Cached: the boxes again, repeatedly,
for BENCH_SECONDS (MapServer has no image cache: it draws every request anew). Writes docs/benchmarks-wms.md.
Usage: DATABASE_URL=postgresql://.../petakota_bench PYTHONPATH=. .venv/bin/python bench/wms_mapserver.py"""

from __future__ import annotations

import http.client
import math
import os
import queue
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench import fastcgi_client, mapserver_map  # noqa: E402
from bench.run import Server, _busy, _procs, wrk_once  # noqa: E402
from layers import CATALOG  # noqa: E402

LAYERS = ("zoning", "kelurahan", "parks", "rivers", "roads", "business_centers")
HALF = 20037508.342789244
CONCURRENCY = 4
WORKERS = 2
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PETAKOTA_PORT, MAPSERVER_PORT = 8793, 8794  # MapServer's workers listen on this port and the next
DOC = ROOT / "docs" / "benchmarks-wms.md"
OUT = ROOT / "bench" / "out" / "mapserver"
TICK = os.sysconf("SC_CLK_TCK")


def boxes(engine, zooms=(13, 14, 15)) -> list[tuple[float, float, float, float]]:
    """Every Web Mercator tile box of these zooms that touches the city's kelurahan."""
    with engine.connect() as conn:
        x0, y0, x1, y1 = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                           "(SELECT ST_Extent(geom_3857) e FROM kelurahan) s")).one()
    out = []
    for z in zooms:
        size = 2 * HALF / 2 ** z
        for r in range(math.floor((HALF - y1) / size), math.floor((HALF - y0) / size) + 1):
            for c in range(math.floor((x0 + HALF) / size), math.floor((x1 + HALF) / size) + 1):
                left, top = -HALF + c * size, HALF - r * size
                out.append((left, top - size, left + size, top))
    with engine.connect() as conn:  # only the boxes over the city itself
        inside = text("SELECT EXISTS (SELECT 1 FROM kelurahan WHERE ST_Intersects(geom_3857, "
                      "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3857)))")
        return [b for b in out if conn.execute(inside, dict(zip(("x0", "y0", "x1", "y1"), b, strict=True))).scalar()]


def query(box) -> str:
    return ("SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=" + ",".join(LAYERS) + "&STYLES=&CRS=EPSG:3857"
            "&BBOX=" + ",".join(f"{v:.3f}" for v in box) + "&WIDTH=256&HEIGHT=256&FORMAT=image/png&TRANSPARENT=FALSE")


class Cpu:
    """CPU seconds of the server's processes and of PostgreSQL, per second of wall time, during a phase."""

    def __init__(self, pids: set[int]):
        self.pids = pids

    def _ticks(self):
        procs = _procs()
        server = sum(t for pid, (_, ppid, t) in procs.items() if pid in self.pids or ppid in self.pids)
        pg = sum(t for _, (comm, _, t) in procs.items() if comm == "postgres")
        return server, pg

    @staticmethod
    def _driver() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime  # this client, and wrk when it runs

    def __enter__(self):
        self.t0, self.start, self.driver0, self.busy0 = time.monotonic(), self._ticks(), self._driver(), _busy()
        return self

    def __exit__(self, *exc):
        secs, end = time.monotonic() - self.t0, self._ticks()
        self.server, self.postgres = ((b - a) / TICK / secs for a, b in zip(self.start, end, strict=True))
        self.client = (self._driver() - self.driver0) / secs
        # everything else the machine did meanwhile (other work on a shared machine shows here)
        self.other = max((_busy() - self.busy0) / TICK / secs - self.server - self.postgres - self.client, 0)
        return False


def drive(fetch, work: list, seconds: float | None) -> dict:
    """`fetch(box)` from CONCURRENCY threads: each box of `work` once (seconds None), else round and round for
    `seconds`. Latencies in ms, requests per second."""
    times, errors, lock = [], [], threading.Lock()
    todo = queue.Queue()
    for item in work:
        todo.put(item)
    stop = time.monotonic() + seconds if seconds else None

    def client(k: int) -> None:
        i = k
        while True:
            if stop is None:
                try:
                    box = todo.get_nowait()
                except queue.Empty:
                    return
            else:
                if time.monotonic() >= stop:
                    return
                box, i = work[i % len(work)], i + CONCURRENCY
            t = time.perf_counter()
            try:
                fetch(box)
            except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
                with lock:
                    errors.append(str(exc))
                continue
            with lock:
                times.append((time.perf_counter() - t) * 1000)

    start = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(CONCURRENCY)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.monotonic() - start
    times.sort()
    if errors:
        print(f"  {len(errors)} failed requests, e.g. {errors[0][:300]}", file=sys.stderr)
    return {"n": len(times), "errors": len(errors), "rps": len(times) / wall, "p50": statistics.median(times),
            "p99": times[min(len(times) - 1, int(len(times) * 0.99))]}


def petakota_fetch(box) -> None:
    local = _local.__dict__
    conn = local.get("conn") or http.client.HTTPConnection("127.0.0.1", PETAKOTA_PORT, timeout=60)
    local["conn"] = conn
    conn.request("GET", "/wms?" + query(box))
    r = conn.getresponse()
    body = r.read()
    if r.status != 200 or not body.startswith(b"\x89PNG"):
        raise RuntimeError(f"PetaKota answered {r.status}: {body[:200]!r}")


_local = threading.local()
_turn = iter(range(10**9))


def mapserver_fetch(box) -> None:
    port = MAPSERVER_PORT + next(_turn) % WORKERS  # requests alternate between the two worker processes
    headers, body = fastcgi_client.get("127.0.0.1", port, query(box))
    if not body.startswith(b"\x89PNG"):
        raise RuntimeError(f"MapServer answered {headers}: {body[:300]!r}")


def draw_only(work: list, database_url: str) -> dict:
    """Mapnik drawing the boxes in this process, one at a time, no HTTP and no cache: PetaKota's renderer alone."""
    from gis.render import wms_draw, wms_mapnik

    layers = [(CATALOG[name], False) for name in LAYERS]
    times = []
    for box in [work[0], *work]:  # the first loads the map
        t = time.perf_counter()
        wms_mapnik.render(layers, wms_draw.View(3857, *box, 256, 256), (255, 255, 255), "png", database_url)
        times.append((time.perf_counter() - t) * 1000)
    times = sorted(times[1:])
    return {"p50": statistics.median(times), "p99": times[min(len(times) - 1, int(len(times) * 0.99))]}


def start_mapserver(engine, database_url: str, work_dir: Path) -> list[subprocess.Popen]:
    layers = [CATALOG[name] for name in LAYERS]
    with engine.connect() as conn:
        extent = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                   "(SELECT ST_Extent(geom_3857) e FROM kelurahan) s")).one()
    mapfile = work_dir / "petakota.map"
    mapfile.write_text(mapserver_map.mapfile(layers, database_url, tuple(extent)))
    config = work_dir / "mapserver.conf"
    config.write_text(f'CONFIG\n  ENV\n    MS_MAPFILE "{mapfile}"\n  END\nEND\n')
    env = {**os.environ, "MAPSERVER_CONFIG_FILE": str(config)}
    mapserv = shutil.which("mapserv") or "/usr/lib/cgi-bin/mapserv"
    procs = [subprocess.Popen(["spawn-fcgi", "-n", "-a", "127.0.0.1", "-p", str(MAPSERVER_PORT + k), "--",
                               mapserv], env=env, stdout=(work_dir / f"mapserv{k}.log").open("w"),
                              stderr=subprocess.STDOUT, start_new_session=True) for k in range(WORKERS)]
    for _ in range(100):
        try:
            for k in range(WORKERS):
                socket.create_connection(("127.0.0.1", MAPSERVER_PORT + k), timeout=1).close()
            return procs
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("MapServer's FastCGI processes did not answer; see " + str(work_dir))


def measure(name: str, fetch, work: list, pids: set[int], server: Server | None = None) -> dict:
    # Warm-up on boxes outside the list, concurrently: each worker loads its maps and opens its connections.
    x0, y0, x1, y1 = work[0]
    side = 8 * (x1 - x0)
    drive(fetch, [(x0 + k * side / 7, y0, x0 + side + k * side / 7, y0 + side) for k in range(4 * WORKERS)], None)
    with Cpu(pids) as cold_cpu:
        cold = drive(fetch, work, None)
    with Cpu(pids) as cached_cpu:
        cached = drive(fetch, work, SECONDS)
    phases = [("cold", cold, cold_cpu), ("cached", cached, cached_cpu)]
    if server is not None and shutil.which("wrk"):  # the Python client is the limit of cached answers
        paths = OUT / "wms-paths.txt"
        paths.write_text("".join(f"/wms?{query(box)}\n" for box in work))
        with Cpu(pids) as wrk_cpu:
            w = wrk_once(server, paths, int(SECONDS), CONCURRENCY)
        phases.append(("cached (wrk)", {"n": w["requests"], "rps": w["requests"] / (w["duration_us"] / 1e6),
                                         "p50": w["p50_us"] / 1000, "p99": w["p99_us"] / 1000}, wrk_cpu))
    out = {}
    for phase, r, cpu in phases:
        out[phase] = r
        r.update(server_cores=cpu.server, postgres_cores=cpu.postgres, client_cores=cpu.client, other_cores=cpu.other)
        print(f"{name:9s} {phase:12s} {r['rps']:7.1f} req/s  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  "
              f"cores: server {cpu.server:.2f}, PostgreSQL {cpu.postgres:.2f}, client {cpu.client:.2f}, "
              f"other {cpu.other:.2f}  "
              f"({r['n']} requests)")
    return out


def run_petakota(work: list) -> dict:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "PETAKOTA_DATA_DIR": data_dir}
        server = Server("petakota", PETAKOTA_PORT, [ROOT / ".venv" / "bin" / "petakota", "serve", "--port",
                                                   PETAKOTA_PORT, "--workers", WORKERS], env)
        server.start()
        try:
            server.wait_healthy()
            return measure("PetaKota", petakota_fetch, work, {server.proc.pid}, server)
        finally:
            server.stop()


def run_mapserver(engine, database_url: str, work: list) -> dict:
    procs = start_mapserver(engine, database_url, OUT)
    try:
        return measure("MapServer", mapserver_fetch, work, {p.pid for p in procs})
    finally:
        for p in procs:  # mapserv's FastCGI loop does not end on SIGTERM
            p.kill()
            p.wait(10)


def median_round(phases: list[dict]) -> dict:
    """The round with the median throughput (its latencies and CPU with it)."""
    return sorted(phases, key=lambda r: r["rps"])[len(phases) // 2]


def main() -> None:
    database_url = os.environ["DATABASE_URL"]
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    work = boxes(engine)
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"{len(work)} boxes (zooms 13-15), layers {', '.join(LAYERS)}, {CONCURRENCY} clients, {WORKERS} workers")
    rounds = []
    for k in range(ROUNDS):  # fresh servers each round, alternating: a busy moment on the machine hits both
        print(f"round {k + 1} of {ROUNDS}")
        rounds.append({"PetaKota": run_petakota(work), "MapServer": run_mapserver(engine, database_url, work)})
    results = {name: {phase: median_round([r[name][phase] for r in rounds]) for phase in rounds[0][name]}
               for name in rounds[0]}
    drawing = draw_only(work, database_url)
    print(f"Mapnik alone, one image at a time: p50 {drawing['p50']:.1f} ms, p99 {drawing['p99']:.1f} ms")
    write_doc(results, len(work), drawing)


def met(ratio: float, goal: float) -> str:
    return "met" if ratio >= goal else "missed"


def write_doc(results: dict, n_boxes: int, drawing: dict) -> None:
    pk, ms = results["PetaKota"], results["MapServer"]
    cold_ratio = pk["cold"]["rps"] / ms["cold"]["rps"]
    cached_ratio = pk["cached"]["rps"] / ms["cached"]["rps"]
    wrk = pk.get("cached (wrk)")
    wrk_line = (f" With wrk asking PetaKota (MapServer cannot be asked by wrk: it speaks FastCGI, not HTTP), cached "
                f"is **{wrk['rps'] / ms['cached']['rps']:.2f}x** MapServer's drawing.") if wrk else ""
    rows = "\n".join(
        f"| {name} | {phase} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['server_cores']:.2f} | "
        f"{r['postgres_cores']:.2f} | {r['client_cores']:.2f} | {r['other_cores']:.2f} | {r['n']} |"
        for name, phases in results.items() for phase, r in phases.items())
    DOC.write_text(f"""# WMS GetMap: PetaKota and MapServer 8

Written by `bench/wms_mapserver.py` (part of `make bench`). {n_boxes} Web Mercator tile boxes over the city
(every tile of zooms 13-15 that touches a kelurahan), 256x256 PNG, the layers {', '.join(LAYERS)} in one
request, {CONCURRENCY} client threads, {WORKERS} worker processes per server, on the same PostGIS and the same
machine ({os.cpu_count()} cores shared by servers, PostgreSQL and client).

- **PetaKota**: `/wms` (Mapnik 4 through its PostGIS plugin, the image cache of the tiles), {WORKERS} uvicorn
  workers, asked over HTTP keep-alive.
- **MapServer 8.0** (Debian `mapserver-bin`/`cgi-mapserver`): `mapserv` as {WORKERS} FastCGI processes
  started by `spawn-fcgi`, asked by a minimal FastCGI client (`bench/fastcgi_client.py`) with no web server in
  front (which favours MapServer slightly). The mapfile is written by `bench/mapserver_map.py` from the same
  style specification (the same colours per category, opacities, widths, circle sizes) and reads the same
  `geom_3857` columns, connections kept between requests (`CLOSE_CONNECTION=DEFER`). One difference is
  left: PetaKota draws parks and business centres smaller than 2 pixels as 2-pixel squares (as its tiles do),
  MapServer draws them at their size.
- {ROUNDS} rounds, each with both servers freshly started one after the other; the table shows the round with
  the median requests/s of each server and phase.
- Both servers first draw {4 * WORKERS} images of boxes outside the list, concurrently (loading their maps,
  opening connections). **Cold**: then the first request of each box. **Cached**: the boxes again and again for
  {SECONDS:.0f} s. MapServer has no image cache: its "cached" figures are it drawing every request anew.

| server | phase | req/s | p50 ms | p99 ms | server cores | PostgreSQL cores | client cores | other cores | requests |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|
{rows}

Goals: PetaKota cold >= 0.5x MapServer's throughput: **{cold_ratio:.2f}x** ({met(cold_ratio, 0.5)});
cached >= 5x: **{cached_ratio:.2f}x** with the same client for both ({met(cached_ratio, 5)}).{wrk_line}

Where the time goes: the cores columns are the CPU used per second of the phase by the server's processes, by
PostgreSQL (the whole cluster, so other work on it counts too), by the client, and by anything else on the
machine ("other": when it is high, the machine was shared and the figures are low for both). Cold, both servers spend it
drawing (Mapnik's and MapServer's AGG, PNG encoding) and PostgreSQL selecting and simplifying the boxes' rows;
Mapnik alone draws one of these images in {drawing['p50']:.1f} ms (p50; p99 {drawing['p99']:.1f} ms) in
one process with no HTTP, so of PetaKota's cold p50 of {pk['cold']['p50']:.1f} ms under {CONCURRENCY} clients the
rest is waiting for a core and PetaKota's Python layer (uvicorn, parsing, the cache key, the thread hand-off)
on top of Mapnik, which MapServer's single C loop does not pay. Cached, PetaKota answers from memory and the
client's own cost is a large share of the machine: the Python client caps the figure, wrk shows what the
server gives.
""")
    print(f"cold {cold_ratio:.2f}x, cached {cached_ratio:.2f}x; wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
