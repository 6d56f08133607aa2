"""Region park coverage and change detection on Dask: over the synthetic Mebidangro-size window of bench/region.py
(~7,000 km2 at 10 m, ~70 M cells, across the real boundaries of Kota Binjai, Kabupaten Deli Serdang and
Kabupaten Karo) with a generated population grid and a generated pair of land-cover rasters, tiled GeoTIFFs on
disk. Park coverage over ~2.5 km units cut from the three boundaries and a park every 2 km; change detection
inside the three boundaries. Time and peak memory (the workers' RSS summed, sampled, and this process's).
Appends its sections to docs/benchmarks-region.md (replacing its own from an earlier run). Run it alone."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
from shapely.geometry import box  # noqa: E402

from bench.region import RES, RssSampler, region_cities, window  # noqa: E402
from gis.analyses.change_dask import region_change_detection  # noqa: E402
from gis.analyses.coverage_dask import region_park_coverage  # noqa: E402
from gis.analyses.dask_cluster import dask_client, gather  # noqa: E402
from gis.analyses.siting_blocks import GridSpec  # noqa: E402
from gis.processes.coverage import DEFAULT_PARK_RADII  # noqa: E402
from layers.rasters import LAND_COVER_CLASSES  # noqa: E402
from layers.sample.synthetic_region import (  # noqa: E402
    region_grid,
    region_layers,
    write_land_cover_pair,
    write_population,
)

MARKER = "## Park coverage and change detection on Dask"
UNIT_M = 2_500.0


def units(cities: gpd.GeoDataFrame, grid: GridSpec) -> gpd.GeoDataFrame:
    """Kelurahan-like units: each city cut by a UNIT_M grid, within the window."""
    t = grid.transform
    x0, y1 = t.c, t.f
    x1, y0 = x0 + t.a * grid.shape[1], y1 + t.e * grid.shape[0]
    cells = [box(x, y, x + UNIT_M, y + UNIT_M) for x in np.arange(x0, x1, UNIT_M) for y in np.arange(y0, y1, UNIT_M)]
    squares = gpd.GeoDataFrame(geometry=cells, crs=grid.crs)
    cut = gpd.overlay(cities.to_crs(grid.crs)[["kode", "geometry"]], squares, how="intersection")
    cut = cut[cut.area > 1e4].reset_index(drop=True)
    cut["kode"] = [f"{k}.{i:05d}" for i, k in enumerate(cut["kode"])]
    cut["nama"] = [f"Unit {k}" for k in cut["kode"]]
    return cut.to_crs(4326)


def parks(cities: gpd.GeoDataFrame, grid: GridSpec) -> gpd.GeoDataFrame:
    generated = region_layers(cities, grid, spacing=2_000.0).parks
    classes = list(DEFAULT_PARK_RADII)
    return generated.assign(kelas=[classes[i % len(classes)] for i in range(len(generated))], publik=True)


def measured(client, run) -> tuple[object, dict]:
    pids = list(client.run(os.getpid).values())
    with RssSampler(pids) as rss:
        start = time.perf_counter()
        out = run()
        seconds = time.perf_counter() - start
    return out, {"seconds": seconds, "cpu": rss.cpu_seconds, "workers_gb": rss.peak_workers / 1e9,
                 "client_gb": rss.peak_client / 1e9}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "var" / "region")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks-region.md")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=2048)
    args = parser.parse_args()
    cities = region_cities()
    grid = window(region_grid(cities, RES, margin=500.0), 1.0)
    t = grid.transform
    extent = box(t.c, t.f + t.e * grid.shape[0], t.c + t.a * grid.shape[1], t.f)
    inside = cities.to_crs(grid.crs).clip(extent)
    inside = inside[~inside.is_empty]
    population = args.data / "population.tif"
    before, after = args.data / "landcover_before.tif", args.data / "landcover_after.tif"
    written = {}
    if not population.exists():
        start = time.perf_counter()
        write_population(args.data, grid)
        written["population"] = time.perf_counter() - start
    if not (before.exists() and after.exists()):
        start = time.perf_counter()
        write_land_cover_pair(args.data, grid)
        written["land cover pair"] = time.perf_counter() - start
    kelurahan, park_frame = units(inside, grid), parks(inside, grid)
    footprint = inside.to_crs(4326).union_all()
    with dask_client(None, args.workers, 1.5) as client:
        coverage, cov = measured(client, lambda: region_park_coverage(
            kelurahan, park_frame, population, compute=gather(client), chunk=args.chunk,
            radii_m=DEFAULT_PARK_RADII, metric_crs=grid.crs))
        (table, summary), chg = measured(client, lambda: region_change_detection(
            before, after, footprint, LAND_COVER_CLASSES, compute=gather(client), chunk=args.chunk,
            change_path=args.data / "change.vrt"))
    cells = grid.shape[0] * grid.shape[1]
    city = coverage.attrs["city"]
    lines = [
        MARKER, "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `bench/region_coverage.py` on {os.cpu_count()} cores, "
        f"a local cluster of {args.workers} single-thread workers (1.5 GB each), chunks of {args.chunk} x "
        f"{args.chunk} cells, over the window above ({cells / 1e6:.1f} M cells at 10 m). Inputs generated as tiled "
        "GeoTIFFs on disk (" + (", ".join(f"{k} written in {v:.0f} s" for k, v in written.items())
                                or "reused from an earlier run") + "). The machine is shared: times include "
        "other load.", "",
        "| analysis | what | seconds | workers' CPU seconds | workers' peak RSS (GB) | this process (GB) |",
        "|---|---|---:|---:|---:|---:|",
        f"| park coverage | {len(kelurahan):,} units of ~{UNIT_M / 1000:.1f} km inside the three boundaries, "
        f"{len(park_frame):,} parks (radii {', '.join(f'{int(v)} m' for v in DEFAULT_PARK_RADII.values())}); "
        f"{city['population'] / 1e6:.1f} M people, {city['share_served']:.1%} within reach | {cov['seconds']:.1f} | "
        f"{cov['cpu']:.0f} | {cov['workers_gb']:.2f} | {cov['client_gb']:.2f} |",
        f"| change detection | footprint: the three boundaries in the window, {summary['footprint_ha']:,.0f} ha; "
        f"{summary['changed_ha']:,.0f} ha changed in {len(table)} transitions; the change raster written as tiles "
        f"| {chg['seconds']:.1f} | {chg['cpu']:.0f} | {chg['workers_gb']:.2f} | {chg['client_gb']:.2f} |", "",
        "Both give the in-process figures (and change raster, cell for cell): tests/test_dask_coverage.py and "
        "tests/test_dask_change.py compare them on Binjai, Binjai with Deli Serdang, and a 16 M-cell pair.", ""]
    report = args.out.read_text() if args.out.exists() else ""
    if MARKER in report:
        report = report[:report.index(MARKER)]
    args.out.write_text(report.rstrip("\n") + "\n\n" + "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
