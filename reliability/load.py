"""Load (wrk, with the uvicorn workers' memory sampled) and the fault test (PostgreSQL stopped and started
under load: fast 503s with Retry-After while it is down, recovery without a restart)."""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

from reliability.cluster import rss_kb
from reliability.common import city_tiles, percentile, run_load

HERE = Path(__file__).resolve().parent
TILE_LAYERS = ("zoning", "kelurahan", "parks", "roads", "rivers", "business_centers", "project_parcels",
               "industrial_zones")
ITEM_LAYERS = ("kelurahan", "parks", "zoning", "business_centers", "project_parcels", "roads")


def mixed_paths(engine: Engine, seed: int = 1275, tiles_per_zoom: int = 16) -> list[str]:
    """About two thirds vector tiles (single layers at z12-z15 and the multi-layer tile), one third items
    pages (different sizes, offsets, bboxes, single features), shuffled."""
    rnd = random.Random(seed)
    tiles = city_tiles(engine, (12, 13, 14, 15), tiles_per_zoom)
    paths = [f"/collections/{c}/tiles/WebMercatorQuad/{z}/{x}/{y}" for c in TILE_LAYERS for z, x, y in tiles]
    paths += [f"/tiles/WebMercatorQuad/{z}/{x}/{y}" for z, x, y in city_tiles(engine, (12, 13, 14))]
    n_items = len(paths) // 2
    with engine.connect() as conn:
        ids = {c: conn.execute(text(f"SELECT id FROM {c} ORDER BY id")).scalars().all() for c in ITEM_LAYERS}
    for k in range(n_items):
        c = ITEM_LAYERS[k % len(ITEM_LAYERS)]
        kind = k % 4
        if kind == 0:
            paths.append(f"/collections/{c}/items?limit={rnd.choice((10, 50, 100))}&offset={rnd.randrange(0, 40)}")
        elif kind == 1:
            x, y = 98.44 + rnd.random() * 0.09, 3.53 + rnd.random() * 0.13
            paths.append(f"/collections/{c}/items?bbox={x:.4f},{y:.4f},{x + 0.02:.4f},{y + 0.02:.4f}&limit=100")
        elif kind == 2:
            paths.append(f"/collections/{c}/items/{rnd.choice(ids[c])}")
        else:
            key = "-area_ha" if c in ("kelurahan", "parks", "zoning", "project_parcels") else "-id"
            paths.append(f"/collections/{c}/items?limit=20&sortby={key}")
    rnd.shuffle(paths)
    return paths


class MemorySampler(threading.Thread):
    """RSS of the given processes every `every` seconds."""

    def __init__(self, pids: Callable[[], list[int]], every: float = 3.0):
        super().__init__(daemon=True)
        self.pids, self.every = pids, every
        self.samples: list[tuple[float, dict[int, int]]] = []
        self._halt = threading.Event()
        self.t0 = time.monotonic()

    def sample(self) -> None:
        self.samples.append((time.monotonic() - self.t0, {p: rss_kb(p) for p in self.pids()}))

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join(10)
        self.sample()

    def summary(self) -> dict:
        """Per worker and in total: start, end, max (MB), and the slope of a least-squares line (MB/min)."""
        totals = [(t, sum(v for v in s.values() if v)) for t, s in self.samples]
        per = {}
        for pid in self.samples[0][1]:
            series = [s.get(pid) for _, s in self.samples if s.get(pid)]
            per[pid] = {"start_mb": series[0] / 1024, "end_mb": series[-1] / 1024, "max_mb": max(series) / 1024}
        n = len(totals)
        mt = sum(t for t, _ in totals) / n
        mv = sum(v for _, v in totals) / n
        var = sum((t - mt) ** 2 for t, _ in totals) or 1
        slope = sum((t - mt) * (v - mv) for t, v in totals) / var  # kB per second
        half = totals[n // 2:]
        late = (half[-1][1] - half[0][1]) / max(half[-1][0] - half[0][0], 1e-9)  # kB per second, second half
        return {"samples": n, "every_s": self.every, "workers": per, "late_mb_per_min": late * 60 / 1024,
                "total_start_mb": totals[0][1] / 1024, "total_end_mb": totals[-1][1] / 1024,
                "total_max_mb": max(v for _, v in totals) / 1024, "slope_mb_per_min": slope * 60 / 1024,
                "series_mb": [round(v / 1024, 1) for _, v in totals]}


def wrk(base: str, paths: list[str], seconds: int, connections: int, threads: int = 2,
        paths_file: Path | None = None) -> dict:
    paths_file = paths_file or HERE / "var" / "paths.txt"
    paths_file.parent.mkdir(parents=True, exist_ok=True)
    paths_file.write_text("\n".join(paths) + "\n")
    # the benchmark's wrk script: cycles through the paths and prints one "BENCH {...}" summary line
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s",
           str(HERE.parent / "bench" / "paths.lua"), base, "--", str(paths_file)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {out.stdout[-1000:]} {out.stderr[-1000:]}")
    r = json.loads(line.split(" ", 1)[1])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["errors"] = sum(r[k] for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts"))
    return r


def load_test(base: str, paths: list[str], pids: Callable[[], list[int]], seconds: int = 60,
              connections: int = 64, warmup: int = 10) -> dict:
    """Warm up (fills the tile cache), then `seconds` of wrk at `connections` with memory sampled."""
    before = {p: rss_kb(p) for p in pids()}
    warm = wrk(base, paths, warmup, connections) if warmup else None
    sampler = MemorySampler(pids)
    sampler.start()
    try:
        result = wrk(base, paths, seconds, connections)
    finally:
        sampler.stop()
    # the status of a few of the paths (wrk counts non-2xx/3xx as errors but does not say which)
    result["memory"] = sampler.summary()
    result["memory"]["before_warmup_mb"] = sum(v for v in before.values() if v) / 1024
    result["warmup"] = warm
    result["paths"] = len(paths)
    result["tile_paths"] = sum(1 for p in paths if "/tiles/" in p)
    if result["errors"]:
        with httpx.Client(base_url=base, timeout=30) as http:
            bad = Counter()
            for p in paths:
                r = http.get(p)
                if r.status_code >= 400:
                    bad[(r.status_code, p)] += 1
            result["failing_paths"] = [f"{s} {p}" for (s, p) in list(bad)[:20]]
    return result


# --- fault ------------------------------------------------------------------------------------------------

def fault_test(base: str, engine: Engine, cluster, paths: list[str], concurrency: int = 16,
               down_seconds: float = 5.0, settle: float = 5.0, max_recovery: float = 60.0) -> dict:
    """Load on items, /healthz and tiles; PostgreSQL stopped (fast), `down_seconds` later started again."""
    stop = threading.Event()
    holder = {}
    load = threading.Thread(target=lambda: holder.setdefault(
        "res", run_load(base, paths, concurrency, 600, timeout=30, stop=stop)), daemon=True)
    load.start()
    time.sleep(settle)
    t_stop0 = time.monotonic()
    cluster.stop("fast")
    t_stop1 = time.monotonic()
    time.sleep(down_seconds)
    t_start0 = time.monotonic()
    cluster.start()
    t_start1 = time.monotonic()
    # keep the load on until items and /healthz have answered 200 for 3 s on end (or max_recovery)
    deadline = t_start1 + max_recovery
    with httpx.Client(base_url=base, timeout=10) as http:
        ok_since = None
        while time.monotonic() < deadline:
            good = all(http.get(p).status_code == 200 for p in ("/healthz", "/collections/parks/items?limit=1"))
            now = time.monotonic()
            ok_since = (ok_since or now) if good else None
            if ok_since and now - ok_since >= 3:
                break
            time.sleep(0.2)
    time.sleep(2)
    stop.set()
    load.join(60)
    records = holder["res"].records

    def kind(p):
        return "healthz" if p.startswith("/healthz") else "tiles" if "/tiles/" in p else "items"

    down = [r for r in records if t_stop1 <= r.start and r.start + r.seconds <= t_start0]
    out = {"stop_seconds": t_stop1 - t_stop0, "down_seconds": t_start0 - t_stop1, "start_seconds": t_start1 - t_start0,
           "requests": len(records), "concurrency": concurrency}
    by_kind = {}
    for k in ("items", "healthz", "tiles"):
        rs = [r for r in down if kind(r.path) == k]
        by_kind[k] = {"requests": len(rs), "statuses": dict(Counter(r.status for r in rs)),
                      "p50_ms": percentile([r.seconds for r in rs], 50) * 1000,
                      "p99_ms": percentile([r.seconds for r in rs], 99) * 1000,
                      "max_ms": max((r.seconds for r in rs), default=float("nan")) * 1000,
                      "retry_after_missing": sum(1 for r in rs if r.status == 503 and not r.retry_after),
                      "not_problem_json": sum(1 for r in rs if r.status >= 400 and r.problem_error),
                      "ctypes": dict(Counter(r.ctype.split(";")[0] for r in rs if r.status == 503))}
    out["down"] = by_kind
    out["status_all"] = dict(Counter(r.status for r in records))
    out["server_errors"] = [f"{r.status} {r.path} at {r.start - t_stop0:+.1f} s" for r in records
                            if r.status >= 500 and r.status != 503 or r.status == 0][:20]
    out["slowest_ms"] = max(r.seconds for r in records) * 1000
    out["hangs"] = sum(1 for r in records if r.seconds > 10)
    # recovery: the first items/healthz request sent after PostgreSQL was back that answered 200, and the last
    # non-200 of those after it came back
    after = [r for r in records if r.start >= t_start1 and kind(r.path) != "tiles"]
    first_ok = next((r for r in after if r.status == 200), None)
    out["recovery_s"] = (first_ok.start + first_ok.seconds - t_start1) if first_ok else None
    last_bad = [r for r in after if r.status != 200]
    out["errors_after_restart"] = len(last_bad)
    out["last_error_after_restart_s"] = (last_bad[-1].start - t_start1) if last_bad else None
    # down-time answers to tiles that were cached: say how many were 200
    with httpx.Client(base_url=base, timeout=30) as http:
        health = http.get("/healthz")
        out["healthz_after"] = (health.status_code, health.json().get("status"))
        cached_tile = next(p for p in paths if "/tiles/" in p)
        z, x, y = city_tiles(engine, (17,), 3)[1]  # never requested before: rendered by PostgreSQL now
        out["tile_after"] = http.get(f"/tiles/WebMercatorQuad/{z}/{x}/{y}").status_code
        out["cached_tile_after"] = http.get(cached_tile).status_code
        out["items_after"] = http.get("/collections/project_parcels/items?limit=5").status_code
    out["listener"] = _listener_recovered(base, engine)
    return out


def _listener_recovered(base: str, engine: Engine) -> dict:
    """After the restart, an edit made directly in SQL still drops the cached tiles of every worker (each worker's
    LISTEN connection must have reconnected)."""
    import morecantile

    with engine.connect() as conn:
        fid, lon, lat = conn.execute(text(
            "SELECT id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM parks "
            "ORDER BY area_ha DESC LIMIT 1")).one()
    t = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 15)
    path = f"/collections/parks/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
    marker = f"Taman Pulih {int(time.time())}"
    for _ in range(8):  # warm the cache of every worker (new connections spread over them)
        httpx.get(base + path, timeout=30)
    with engine.begin() as conn:
        conn.execute(text("UPDATE parks SET nama = :n WHERE id = :i"), {"n": marker, "i": fid})
    time.sleep(1.0)
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        seen = [marker.encode() in httpx.get(base + path, timeout=30).content for _ in range(8)]
        if all(seen):
            break
        time.sleep(0.5)
    return {"fresh_after_sql_edit": all(seen), "tries": len(seen)}
