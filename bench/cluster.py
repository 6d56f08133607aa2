"""Replicas behind nginx (scripts/cluster.sh): cached-tile throughput and latency through the balancer with 1 and
3 replicas, errors, the time an edit takes to reach the cached tiles of every replica (max over 20 edits), and
whether a cache shared by the replicas (a PostgreSQL unlogged table) would pay. Writes the section "Replicas
behind nginx" of docs/benchmarks-replicas.md, leaving the file's other sections as they are.

Run by bench/bench.sh on the benchmark database:
    DATABASE_URL=.../petakota_bench PETAKOTA_DATA_DIR=bench/var PYTHONPATH=. .venv/bin/python bench/cluster.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import resource
import socket
import statistics
import subprocess
import threading
import time
from pathlib import Path

import httpx
import morecantile
import psycopg
import shapely
from sqlalchemy import create_engine

from bench.doc_sections import replace_section
from gis.data.auth import create_key, revoke_key

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SECTION = "## Replicas behind nginx"
TMS = morecantile.tms.get("WebMercatorQuad")
ZOOMS = (12, 13, 14, 15)
CONNS = 16  # wrk connections, 2 threads
VISITS = 3  # the shared-cache workload asks for each tile this many times
SEED = 1275
EDITS = 20


def log(msg: str) -> None:
    print(f"[cluster bench] {msg}", flush=True)


def free_ports(n: int) -> tuple[int, int]:
    """(balancer port, first of n consecutive free ports), chosen by the OS."""
    def free(port: int) -> bool:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return True
            except OSError:
                return False
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n < 65535 and all(free(base + i) for i in range(n + 1)):
            return base + n, base
    raise RuntimeError("no free ports")


class Cluster:
    def __init__(self, max_replicas: int):
        self.port, self.base = free_ports(max_replicas)
        self.dir = OUT / "cluster"
        self.url = f"http://127.0.0.1:{self.port}"
        self.replicas = 0

    def script(self, command: str, replicas: int = 1) -> None:
        env = {**os.environ, "REPLICAS": str(replicas), "CLUSTER_PORT": str(self.port),
               "REPLICA_PORT_BASE": str(self.base), "CLUSTER_DIR": str(self.dir)}
        p = subprocess.run([str(ROOT / "scripts" / "cluster.sh"), command], env=env, capture_output=True, text=True,
                           timeout=300)
        if p.returncode:
            raise RuntimeError(f"cluster.sh {command} failed: {p.stderr[-2000:]}")

    def start(self, replicas: int) -> None:
        self.script("start", replicas)
        self.replicas = replicas

    def replica_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.base + i}" for i in range(self.replicas)]

    def pids(self) -> dict[str, list[int]]:
        replicas = [int((self.dir / f"replica-{i}.pid").read_text()) for i in range(1, self.replicas + 1)]
        master = int((self.dir / "nginx.pid").read_text())
        workers = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
        return {"replicas": replicas, "nginx": [master, *map(int, workers)]}


def cpu_seconds(pids: list[int]) -> float:
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        except (FileNotFoundError, IndexError):
            pass
    return total


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of every core since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def tile_paths(conn) -> list[str]:
    """Every tile of ZOOMS touching the city (all public layers in one MVT), shuffled with the seed."""
    city = shapely.from_wkb(conn.execute("SELECT ST_AsBinary(ST_Union(geom)) FROM kota").fetchone()[0])
    paths = []
    for z in ZOOMS:
        for t in TMS.tiles(*city.bounds, zooms=[z]):
            if city.intersects(shapely.box(*TMS.bounds(t))):
                paths.append(f"/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}")
    random.Random(SEED).shuffle(paths)
    return paths


def warm(urls: list[str], paths: list[str]) -> None:
    with httpx.Client(timeout=60) as client:
        for url in urls:
            for path in paths:
                client.get(url + path).raise_for_status()


def wrk(cluster: Cluster, paths_file: Path, seconds: int) -> dict:
    """wrk through the balancer, with the CPU the replicas, nginx and wrk used (in cores)."""
    pids = cluster.pids()
    before = {k: cpu_seconds(v) for k, v in pids.items()}
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, total0 = machine_busy()
    cmd = ["wrk", "-t2", f"-c{CONNS}", f"-d{seconds}s", "--timeout", "10s", "-H", "Accept-Encoding: gzip",
           "-s", str(ROOT / "bench" / "paths.lua"), cluster.url, "--", str(paths_file)]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    m = re.search(r"^BENCH (\{.*\})$", p.stdout, re.M)
    if p.returncode or not m:
        raise RuntimeError(f"wrk failed: {p.stdout[-1500:]} {p.stderr[-1500:]}")
    r = json.loads(m.group(1))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1, total1 = machine_busy()
    secs = r["duration_us"] / 1e6
    cores = {k: (cpu_seconds(v) - before[k]) / secs for k, v in pids.items()}
    cores["wrk"] = (after.ru_utime + after.ru_stime - kids.ru_utime - kids.ru_stime) / secs
    cores["machine"] = (busy1 - busy0) / (total1 - total0) * os.cpu_count()  # everything running, ours or not
    errors = sum(r[k] for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts"))
    return {"replicas": cluster.replicas, "requests": r["requests"], "rps": r["requests"] / secs,
            "p50_ms": r["p50_us"] / 1000, "p99_ms": r["p99_us"] / 1000, "errors": errors, "cores": cores}


def _poll(client: httpx.Client, tile_url: str, etags: dict, url: str, edited: float, seen: dict) -> None:
    """Ask for the tile until its ETag differs from the cached one's; record when, in seconds after the edit."""
    while time.monotonic() - edited < 10:
        etag = client.get(tile_url).headers["etag"]
        if etag != etags[url]:
            seen[url], etags[url] = time.monotonic() - edited, etag
            return
        time.sleep(0.002)


def _listen(dsn: str, heard: list, listening: threading.Event, stop: threading.Event) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("LISTEN petakota_changes")
        listening.set()
        while not stop.is_set():
            for note in conn.notifies(timeout=0.5):
                if note.payload == "parks":
                    heard.append(time.monotonic())


def invalidation(cluster: Cluster, conn, api_key: str) -> dict:
    """EDITS edits of a park's name through the balancer; after each, how long until every replica serves a
    tile that differs from the one it had cached (each replica polled directly, all at once)."""
    fid, name, wkb = conn.execute(
        "SELECT id, nama, ST_AsBinary(geom) FROM parks ORDER BY ST_Area(geom) DESC, id LIMIT 1").fetchone()
    point = shapely.from_wkb(wkb).representative_point()
    t = TMS.tile(point.x, point.y, 15)
    path = f"/collections/parks/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
    urls = cluster.replica_urls()
    delays: list[float] = []
    # One client per replica, made once (making one costs tens of ms: not part of what is measured).
    pollers = {url: httpx.Client(timeout=30) for url in urls}
    heard: list[float] = []  # when a listener of our own heard each NOTIFY of the parks table
    listening, stop = threading.Event(), threading.Event()
    listener = threading.Thread(target=_listen, args=(conn.info.dsn, heard, listening, stop), daemon=True)
    listener.start()
    listening.wait(10)
    notify_ms: list[float] = []
    with httpx.Client(timeout=30) as client:
        etags = {url: client.get(url + path).headers["etag"] for url in urls}
        version = client.get(f"{cluster.url}/collections/parks/items/{fid}").headers["etag"]
        for k in range(EDITS + 1):
            new = name if k == EDITS else f"{name} ({k + 1})"  # the last edit puts the name back
            sent = time.monotonic()
            r = client.patch(f"{cluster.url}/collections/parks/items/{fid}",
                             content=json.dumps({"properties": {"nama": new}}),
                             headers={"X-API-Key": api_key, "If-Match": version,
                                      "Content-Type": "application/merge-patch+json"})
            r.raise_for_status()
            version, edited = r.headers["etag"], time.monotonic()
            seen: dict[str, float] = {}
            threads = [threading.Thread(target=_poll, args=(pollers[url], url + path, etags, url, edited, seen))
                       for url in urls]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            if k < EDITS:
                delays.append(max(seen.values()) if len(seen) == len(urls) else float("inf"))
                notes = [h for h in heard if h >= sent]
                notify_ms.append(max(0.0, notes[0] - edited) * 1000 if notes else float("inf"))
            time.sleep(0.1)
    stop.set()
    for poller in pollers.values():
        poller.close()
    return {"edits": EDITS, "max_ms": max(delays) * 1000, "p50_ms": statistics.median(delays) * 1000,
            "within_1s": sum(d < 1.0 for d in delays), "notify_max_ms": max(notify_ms)}


def _workload(cluster: Cluster, conn, paths: list[str], spread: bool) -> int:
    """Empty every replica's cache (NOTIFY '*'), ask for each tile VISITS times from 8 clients, and return how
    many tiles were rendered: one per (tile, replica that served it). `spread`: each request to the next
    replica in turn, as a balancer spreading load would; else through nginx (tiles routed by their URL)."""
    conn.execute("SELECT pg_notify('petakota_changes', '*')")
    time.sleep(1.0)
    work = [p for p in paths for _ in range(VISITS)]
    random.Random(SEED).shuffle(work)
    urls = cluster.replica_urls()
    served: set[tuple[str, str]] = set()
    lock = threading.Lock()

    def client(k: int, part: list[str]) -> None:
        with httpx.Client(timeout=60) as c:
            for j, path in enumerate(part):
                r = c.get((urls[(k + j) % len(urls)] if spread else cluster.url) + path)
                r.raise_for_status()
                with lock:
                    served.add((path, r.headers["x-petakota-replica"]))

    threads = [threading.Thread(target=client, args=(i, work[i::8])) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return len(served)


def shared_cache(cluster: Cluster, conn, paths: list[str]) -> dict:
    """Tiles rendered by a cold workload with caches per replica and load spread, through nginx (tiles routed by
    URL), and with one shared cache; what a render and a shared-cache read and write cost."""
    local_misses = _workload(cluster, conn, paths, spread=True)
    routed_misses = _workload(cluster, conn, paths, spread=False)
    requests = len(paths) * VISITS
    shared_misses = len(set(paths))
    # What one miss and one hit cost on one replica, asked one at a time: caches emptied again.
    conn.execute("SELECT pg_notify('petakota_changes', '*')")
    time.sleep(1.0)
    url, sample = cluster.replica_urls()[0], paths[:60]
    tiles: dict[str, bytes] = {}
    with httpx.Client(timeout=60) as c:
        t0 = time.perf_counter()
        for path in sample:
            tiles[path] = c.get(url + path).content
        render_ms = (time.perf_counter() - t0) / len(sample) * 1000
        t0 = time.perf_counter()
        for path in sample:
            c.get(url + path)
        hit_ms = (time.perf_counter() - t0) / len(sample) * 1000
    # A shared cache in PostgreSQL: an unlogged table keyed by tile (what a read and a write would cost).
    conn.execute("CREATE UNLOGGED TABLE IF NOT EXISTS bench_shared_tiles (key text PRIMARY KEY, data bytea)")
    t0 = time.perf_counter()
    for path, data in tiles.items():
        conn.execute("INSERT INTO bench_shared_tiles VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                     "SET data = excluded.data", (path, data))
    write_ms = (time.perf_counter() - t0) / len(tiles) * 1000
    t0 = time.perf_counter()
    for _ in range(5):
        for path in tiles:
            conn.execute("SELECT data FROM bench_shared_tiles WHERE key = %s", (path,)).fetchone()
    read_ms = (time.perf_counter() - t0) / (5 * len(tiles)) * 1000
    conn.execute("DROP TABLE bench_shared_tiles")
    total_ms = requests * hit_ms + local_misses * render_ms  # serving the workload with spread load

    # Two tiers: memory first, then the shared table (read on every local miss); a render only when the table
    # lacks the tile, then a write. A local miss found in the table costs a hit plus the read instead of a render.
    def saving(misses: int) -> float:
        return (misses - shared_misses) * (render_ms - hit_ms) - misses * read_ms - shared_misses * write_ms

    return {"requests": requests, "tiles": len(paths), "local_misses": local_misses, "routed_misses": routed_misses,
            "shared_misses": shared_misses, "render_ms": render_ms, "hit_ms": hit_ms, "read_ms": read_ms,
            "write_ms": write_ms, "total_ms": total_ms, "saved_ms": saving(local_misses),
            "routed_saved_ms": saving(routed_misses)}


def per_core(run: dict) -> float:
    """Requests per CPU-second of the replicas: the cost of a cached tile, whatever share of the cores they got."""
    return run["rps"] / run["cores"]["replicas"]


def section(machine: dict, runs: list[dict], invalidation: dict, shared: dict, paths: int, seconds: int) -> str:
    inval, n_paths = invalidation, paths
    one, three = runs[0], runs[-1]
    rows = "\n".join(
        f"| {r['replicas']} | {r['requests']} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
        f"{r['errors']} | {r['cores']['replicas']:.2f} | {per_core(r):.0f} | {r['cores']['nginx']:.2f} | "
        f"{r['cores']['wrk']:.2f} | {r['cores']['machine']:.2f} |"
        for r in runs)
    spread_share = shared["saved_ms"] / shared["total_ms"]
    routed_share = shared["routed_saved_ms"] / shared["total_ms"]
    pays = routed_share >= 1 / 3
    verdict = (
        f"With load spread, a shared cache would save {shared['saved_ms'] / 1000:.1f} s of the "
        f"{shared['total_ms'] / 1000:.1f} s this workload costs ({spread_share:.0%}); with tiles routed by URL, "
        f"{max(shared['routed_saved_ms'], 0) / 1000:.1f} s ({max(routed_share, 0):.0%}). "
        + ("That still pays clearly (a third or more): build it." if pays else
           "**Not built**: a table or Redis to run, size and keep consistent with NOTIFY (generations shared by "
           "every replica) would save next to nothing more, and its read would sit on every local miss."))
    return f"""{SECTION}

Generated by `make bench` (bench/cluster.py) on {machine['date']}; do not edit by hand.

`scripts/cluster.sh` with 1, then 3 `petakota serve` replicas (one process each) behind nginx
({machine['nginx']}), all on the benchmark database, on this {machine['nproc']}-core machine (load average
{machine['load']} when the run began). wrk ({CONNS} connections, {seconds} s) asks through nginx for {n_paths}
cached vector tiles of the city (zooms {ZOOMS[0]}-{ZOOMS[-1]}, every public layer) as browsers do (accepting
gzip), each cached on every replica first. CPU in cores: the replicas together (and requests per CPU-second of
theirs), nginx, wrk, and the whole machine (whatever else runs included).

| replicas | requests | req/s | p50 ms | p99 ms | errors | replicas CPU | req/CPU-s | nginx CPU | wrk CPU | machine |
|---|---|---|---|---|---|---|---|---|---|---|
{rows}

3 replicas / 1: **{three['rps'] / one['rps']:.2f}x** the throughput, with 0 errors. A cached tile costs no SQL,
only Python: {per_core(one):.0f} and {per_core(three):.0f} requests per CPU-second of the replicas with 1 and
3. One replica is one Python process and uses at most one core; 3 can use both cores, and no more:
CPU-bound. The machine's {machine['nproc']} cores were busy throughout ({one['cores']['machine']:.1f} and
{three['cores']['machine']:.1f}, other work included), so the ratio mostly tells what share of them the replicas
got ({one['cores']['replicas']:.2f} and {three['cores']['replicas']:.2f} cores); on a machine of its own, expect
at most the cores left after nginx and the clients. Replicas buy availability (a killed replica costs only its
requests in flight: tests/test_cluster.py) and the use of more cores, not speed per request.

**Invalidation**: {inval['edits']} edits of a park through nginx; after each, every replica is asked directly
for the park's cached tile until it serves the new one. Slowest replica per edit: median
{inval['p50_ms']:.0f} ms, max **{inval['max_ms']:.0f} ms**; every replica within 1 s on {inval['within_1s']} of
{inval['edits']} edits (goal: all). The replica that took the edit drops its tiles before answering; the others
hear it from PostgreSQL NOTIFY (`petakota_changes`): a listener of the benchmark's own heard every edit at most
{inval['notify_max_ms']:.1f} ms after its answer, so the rest is the replicas rendering the tile anew.

**Shared cache?** After every cache was emptied (NOTIFY `*`), {shared['tiles']} tiles asked for {VISITS} times
each by 8 clients ({shared['requests']} requests). Load spread over the replicas (each request to the next, as
least_conn or round robin do), each replica warming its own cache: **{shared['local_misses']} renders**
({shared['local_misses'] / shared['requests']:.0%} misses). Through nginx, which sends each tile to one replica
by its URL (consistent hashing, deploy/nginx.conf.template): **{shared['routed_misses']} renders**. One shared
cache: {shared['shared_misses']} ({shared['shared_misses'] / shared['requests']:.0%}). A render costs
{shared['render_ms']:.1f} ms and an in-memory hit {shared['hit_ms']:.1f} ms (one replica, one request at a
time, gzip accepted, HTTP included); a PostgreSQL unlogged table read {shared['read_ms']:.2f} ms and write
{shared['write_ms']:.2f} ms per tile. {verdict}
"""


def unwrap(text: str) -> str:
    """Paragraphs on one line each (tables and headings as they are)."""
    blocks = text.strip("\n").split("\n\n")
    return "\n\n".join(b if b.startswith(("|", "#")) else " ".join(b.split("\n")) for b in blocks) + "\n"


def write_section(doc: Path, text: str) -> None:
    """Replace this benchmark's section of the doc (other sections stay), or add it."""
    replace_section(doc, SECTION, unwrap(text), "# Service replicas")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=10, help="wrk duration per replica count")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks-replicas.md")
    ap.add_argument("--report", action="store_true", help="rewrite the section from bench/out/cluster.json only")
    args = ap.parse_args()
    if args.report:
        write_section(args.out, section(**json.loads((OUT / "cluster.json").read_text())))
        return
    db_url = os.environ["DATABASE_URL"]
    OUT.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(3)
    with psycopg.connect(db_url, autocommit=True) as conn:
        engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as sa:
            key_id, api_key = create_key(sa, "Bench replicas", "planner")
        paths = tile_paths(conn)
        paths_file = OUT / "cluster-paths.txt"
        paths_file.write_text("\n".join(paths) + "\n")
        nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
        machine = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "nproc": os.cpu_count(),
                   "load": " / ".join(f"{x:.1f}" for x in os.getloadavg()), "nginx": nginx_version.split(": ")[-1]}
        runs = []
        try:
            for n in (1, 3):
                log(f"{n} replica(s)")
                cluster.start(n)
                warm(cluster.replica_urls(), paths)
                runs.append(wrk(cluster, paths_file, args.seconds))
                log(json.dumps(runs[-1]))
            inval = invalidation(cluster, conn, api_key)
            log(json.dumps(inval))
            shared = shared_cache(cluster, conn, paths)
            log(json.dumps(shared))
        finally:
            cluster.script("stop")
            with engine.begin() as sa:
                revoke_key(sa, key_id)
            engine.dispose()
    results = {"machine": machine, "runs": runs, "invalidation": inval, "shared": shared, "paths": len(paths),
               "seconds": args.seconds}
    (OUT / "cluster.json").write_text(json.dumps(results, indent=1))
    write_section(args.out, section(**results))
    log(f"wrote {args.out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
