"""Region siting benchmark: site-suitability on Dask over a synthetic Mebidangro-size region at 10 m, built from
the real boundaries of Kota Binjai, Kabupaten Deli Serdang and Kabupaten Karo (layers/sample/data, see its
SOURCES.md: "Boundaries: cahyadsn/wilayah_boundaries (MIT), after Badan Informasi Geospasial") with generated
criteria rasters written to disk as tiled GeoTIFFs. Three sizes (the northern 1/4, 1/2 and all of a ~7,000 km2
window over the three, 60 km wide), time against cells and its slope, peak memory (the workers' RSS summed,
sampled), and Binjai on Dask against in-process (needs DATABASE_URL / PETAKOTA_DATA_DIR of a database with the
sample city). Writes docs/benchmarks-region.md. Takes a few minutes; run it alone."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psutil  # noqa: E402
from affine import Affine  # noqa: E402
from shapely.geometry import box  # noqa: E402

from gis.analyses.dask_cluster import dask_client, gather  # noqa: E402
from gis.analyses.siting_blocks import GridSpec  # noqa: E402
from gis.analyses.siting_dask import RasterSources, region_site_suitability  # noqa: E402
from gis.analyses.suitability import Criteria  # noqa: E402
from layers.sample.synthetic_region import region_grid, region_layers, write_criteria  # noqa: E402

DATA = ROOT / "layers" / "sample" / "data"
CITIES = (("kota_binjai", "12.75"), ("kabkota_deli_serdang", "12.07"), ("kabkota_karo", "12.06"))
WINDOW_X = (420_000.0, 480_000.0)  # UTM 47N eastings of the window: Binjai, most of Deli Serdang and Karo
RES = 10.0
FRACTIONS = (0.25, 0.5, 1.0)


class RssSampler:
    """The summed RSS of the cluster's worker processes (and, apart, this process), sampled every 0.2 s."""

    def __init__(self, pids: list[int]):
        self.procs = [psutil.Process(p) for p in pids]
        self.peak_workers = self.peak_client = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in self.procs:
                try:
                    total += p.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            self.peak_workers = max(self.peak_workers, total)
            self.peak_client = max(self.peak_client, me.memory_info().rss)
            self._stop.wait(0.2)

    def _cpu(self) -> float:
        return sum(sum(p.cpu_times()[:2]) for p in self.procs)

    def __enter__(self):
        self._cpu_start = self._cpu()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.cpu_seconds = self._cpu() - self._cpu_start  # the workers' own CPU time: what other load can't inflate


def region_cities() -> gpd.GeoDataFrame:
    frames = [gpd.read_file(DATA / f"{name}.geojson")[["kode", "geometry"]].assign(kode=code)
              for name, code in CITIES]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)


def window(full: GridSpec, fraction: float) -> GridSpec:
    """A ~7,000 km2 window over the three (60 km east-west across Binjai and most of Deli Serdang and Karo, the
    whole north-south extent), or its northern `fraction` (whole rows)."""
    t = full.transform
    c0 = int(round((WINDOW_X[0] - t.c) / RES))
    c1 = int(round((WINDOW_X[1] - t.c) / RES))
    rows = int(round(full.shape[0] * fraction))
    return GridSpec(t * Affine.translation(c0, 0), (rows, c1 - c0), full.crs)


def run_size(client, grid: GridSpec, paths: dict, cities: gpd.GeoDataFrame, out_dir: Path, c: Criteria) -> dict:
    t = grid.transform
    extent = box(t.c, t.f + t.e * grid.shape[0], t.c + t.a * grid.shape[1], t.f)
    inside = cities.to_crs(grid.crs).clip(extent)
    inside = inside[~inside.is_empty]
    layers = region_layers(inside, grid)
    sources = RasterSources(grid, (str(paths["slope"]),), (str(paths["flood_hazard"]),),
                            (str(paths["land_cover"]),))
    pids = list(client.run(os.getpid).values())
    passes = []

    def timed(delayed):
        start = time.perf_counter()
        out = gather(client)(delayed)
        passes.append(time.perf_counter() - start)
        return out

    with RssSampler(pids) as rss:
        start = time.perf_counter()
        sites = region_site_suitability(sources, layers, c, compute=timed,
                                        score_path=out_dir / f"surface_{grid.shape[0]}.vrt")
        seconds = time.perf_counter() - start
    return {"cells": grid.shape[0] * grid.shape[1], "km2": grid.shape[0] * grid.shape[1] * RES * RES / 1e6,
            "seconds": seconds, "chunk_passes": len(passes), "chunk_seconds": sum(passes),
            "worker_cpu_seconds": rss.cpu_seconds,
            "peak_workers_gb": rss.peak_workers / 1e9, "peak_client_gb": rss.peak_client / 1e9,
            "sites": len(sites), "best": float(sites.score.iloc[0]),
            "cities": sorted({k for v in sites.cities for k in v})}


def binjai(client) -> dict | None:
    """Binjai's sample city: in-process against Dask (the same candidates), when a database is configured."""
    if not os.environ.get("DATABASE_URL"):
        return None
    from gis.analyses.suitability import site_suitability
    from gis.core.db import make_engine
    from gis.core.settings import Settings
    from gis.processes import Context
    from gis.processes.siting import siting_data, siting_sources

    settings = Settings()
    ctx = Context(make_engine(settings, pool_size=1), settings, include_private=False, owner="anonymous")
    cities = ctx.cities(None)
    c = Criteria(target_ha=138)
    data = siting_data(ctx, cities, c, "landcover_2024")  # the inputs read first, for both: the analysis is timed
    sources, layers = siting_sources(ctx, cities, c, "landcover_2024")
    start = time.perf_counter()
    _, in_process = site_suitability(data, c)
    t_in = time.perf_counter() - start
    start = time.perf_counter()
    on_dask = region_site_suitability(sources, layers, c, compute=gather(client))
    t_dask = time.perf_counter() - start
    same = in_process.drop(columns="geometry").equals(on_dask.drop(columns="geometry")) and \
        bool(in_process.geometry.geom_equals_exact(on_dask.geometry, tolerance=0).all())
    return {"cells": sources.grid.shape[0] * sources.grid.shape[1], "in_process": t_in, "dask": t_dask,
            "same": same}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "var" / "region")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks-region.md")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--binjai-only", action="store_true", help="rerun only Binjai's line of the report")
    args = parser.parse_args()
    if args.binjai_only:
        with dask_client(None, args.workers, 1.5) as client:
            line = binjai_line(binjai(client))
        lines = args.out.read_text().splitlines()
        args.out.write_text("\n".join(line if x.startswith("Binjai (") else x for x in lines) + "\n")
        print(line)
        return
    cities = region_cities()
    full = region_grid(cities, RES, margin=500.0)
    grid = window(full, 1.0)
    paths = {name: args.data / f"{name}.tif" for name in ("slope", "flood_hazard", "land_cover")}
    t_write = None  # None: the files of an earlier run are reused
    if not all(p.exists() for p in paths.values()):
        start = time.perf_counter()
        write_criteria(args.data, grid)
        t_write = time.perf_counter() - start
    c = Criteria(target_ha=138)
    rows = []
    with dask_client(None, args.workers, 1.5) as client:
        for fraction in FRACTIONS:
            rows.append(run_size(client, window(full, fraction), paths, cities, args.data, c))
            print(rows[-1], flush=True)
        b = binjai(client)
    cells = np.array([r["cells"] for r in rows], dtype=float)
    secs = np.array([r["seconds"] for r in rows])
    slope, intercept = np.polyfit(cells / 1e6, secs, 1)
    write_report(args.out, rows, slope, intercept, b, t_write, args.workers)


def binjai_line(b: dict) -> str:
    return (f"Binjai ({b['cells'] / 1e6:.1f} M cells, its inputs read beforehand): in-process {b['in_process']:.1f} "
            f"s, on Dask {b['dask']:.1f} s ({b['dask'] / b['in_process']:.2f}x; goal within 1.5x); same candidates "
            f"and scores: {'yes' if b['same'] else 'NO'}.")


def write_report(out: Path, rows, slope, intercept, b, t_write, workers) -> None:
    big = rows[-1]
    lines = [
        "# Region siting on Dask", "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `bench/region.py` on {os.cpu_count()} cores, a local "
        f"cluster of {workers} single-thread workers (1.5 GB each), chunks of 2048 x 2048 cells. Criteria "
        "rasters generated at 10 m (tiled GeoTIFFs on disk, "
        f"{'reused from an earlier run' if t_write is None else f'written in {t_write:.0f} s'}) "
        "over a 60 km wide window (eastings 420-480 km, UTM 47N) across the real "
        "boundaries of Kota Binjai, Kabupaten Deli Serdang and Kabupaten Karo "
        "(\"Boundaries: cahyadsn/wilayah_boundaries (MIT), after Badan Informasi "
        "Geospasial\"); roads, gates, zones and rivers generated on a pattern. Siting for 138 ha, 5 candidates, "
        "the suitability surface written as tiles. The rest of each run is the search for the sites (growing and "
        "describing each on a window around it, in this process). The machine is shared: times include other "
        "load.", "",
        "| cells | km2 | seconds | of which chunks scored (passes) | workers' CPU seconds | workers' peak RSS (GB) "
        "| this process (GB) | candidates | best score | cities |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(f"| {r['cells'] / 1e6:.1f} M | {r['km2']:,.0f} | {r['seconds']:.1f} | "
                     f"{r['chunk_seconds']:.1f} ({r['chunk_passes']}) | {r['worker_cpu_seconds']:.0f} | "
                     f"{r['peak_workers_gb']:.2f} | {r['peak_client_gb']:.2f} | {r['sites']} | {r['best']:.4f} | "
                     f"{', '.join(r['cities'])} |")
    cpu = np.polyfit([r["cells"] / 1e6 for r in rows], [r["worker_cpu_seconds"] for r in rows], 1)[0]
    lines += ["", f"Time against cells: {slope:.2f} s per million cells (fit over the three sizes, intercept "
              f"{intercept:.1f} s); the workers' CPU time: {cpu:.2f} s per million cells, so on two otherwise idle "
              f"cores the {big['cells'] / 1e6:.0f} M cells would run in about "
              f"{big['worker_cpu_seconds'] / 2 + big['seconds'] - big['chunk_seconds']:.0f} s.", "",
              f"Goals at {big['cells'] / 1e6:.0f} M cells: under 120 s (goal 60 s): **{big['seconds']:.0f} s**; "
              f"peak under 3 GB: **{big['peak_workers_gb'] + big['peak_client_gb']:.2f} GB** (workers and this "
              "process).", ""]
    if b is not None:
        lines += [binjai_line(b), ""]
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
