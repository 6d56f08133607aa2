"""Park coverage over a region on Dask: the population raster read block by block from its file, each block
summing its people per kelurahan/desa (all, and within reach of a park) with the functions the in-process run
uses, given only the parks that can reach it (those within the radius of its box); the sums added over the
blocks and the shares taken once at the end. Memory follows the chunk size, not the region."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import dask
import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import box

from gis.analyses.coverage import _burn, coverage_frame, coverage_inputs, coverage_sums
from gis.analyses.rules import UNDERSERVED_BELOW
from gis.analyses.siting_blocks import GridSpec, Window
from gis.analyses.windowed import blocks, raster_grid, read_block

DEFAULT_CHUNK = 2048


@dataclass
class CoverageJob:
    """What every block needs (sent once to each worker): the population file, the kelurahan in its CRS, each
    class's parks (metric CRS) and radius."""

    population: str
    kelurahan: gpd.GeoSeries
    parks: dict[str, gpd.GeoSeries]
    radii: dict[str, float]
    metric_crs: int | str

    def sums(self, block: Window) -> dict[str, np.ndarray] | None:
        """The block's sums (coverage_sums), None when no kelurahan reaches it."""
        n = len(self.kelurahan)
        crs = block.grid.crs
        t = block.transform
        h, w = block.shape
        xs, ys = (t.c, t.c + t.a * w), (t.f, t.f + t.e * h)
        extent = box(min(xs), min(ys), max(xs), max(ys))
        hit = np.sort(self.kelurahan.sindex.query(extent))
        if hit.size == 0:
            return None
        population = read_block(self.population, block)
        # burnt in the kelurahan's own order, as the whole grid is (a later one wins where two overlap)
        labels = _burn(list(self.kelurahan.iloc[hit]), population, [int(i) + 1 for i in hit])
        if not labels.any():
            return None
        reach_area = gpd.GeoSeries([extent], crs=crs).to_crs(self.metric_crs).iloc[0]
        unions = {}
        for cls, geoms in self.parks.items():
            radius = self.radii[cls]
            # every park within the radius (and the ring decided by exact distance) of a cell of the block
            near = geoms.sindex.query(reach_area.buffer(radius * 1.01 + 1 + 2 * abs(t.a)), predicate="intersects")
            unions[cls] = shapely.union_all(geoms.to_numpy()[np.sort(near)]) if near.size else None
        return coverage_sums(labels, n, population, unions, self.radii, self.metric_crs)


def _block_sums(job: CoverageJob, part: list[Window]) -> dict[str, np.ndarray] | None:
    """The sums of a few blocks (one task: fewer, larger results to gather)."""
    total = None
    for block in part:
        sums = job.sums(block)
        if sums is not None:
            total = sums if total is None else {k: total[k] + v for k, v in sums.items()}
    return total


def region_park_coverage(kelurahan: gpd.GeoDataFrame, parks: gpd.GeoDataFrame, population: str | Path, *, compute,
                         chunk: int = DEFAULT_CHUNK, radii_m: Mapping[str, float] | None = None,
                         public_only: bool = True, underserved_below: float = UNDERSERVED_BELOW.value,
                         metric_crs: int | None = None) -> gpd.GeoDataFrame:
    """park_coverage with the population raster read from its file block by block (chunk x chunk cells):
    the same kelurahan rows and columns. `compute` runs a list of delayed objects (dask_cluster.gather(client),
    or dask.compute). The sums are float64 added block by block, so they may differ from the whole-grid sums in
    the last bits (the order of the additions), not more."""
    radii, by_class, metric_crs = coverage_inputs(kelurahan, parks, radii_m, public_only, metric_crs)
    transform, shape, crs = raster_grid(population)
    job = CoverageJob(str(population), gpd.GeoSeries(list(kelurahan.geometry.to_crs(crs)), crs=crs),
                      {cls: gpd.GeoSeries(list(g), crs=metric_crs) for cls, g in by_class.items() if len(g)},
                      radii, metric_crs)
    every = blocks(GridSpec(transform, shape, crs), (0, shape[0]), (0, shape[1]), chunk)
    per_task = max(1, len(every) // 64)  # a few tens of tasks, whatever the chunk size
    shared = dask.delayed(job)
    found = compute([dask.delayed(_block_sums, pure=True)(shared, every[i:i + per_task])
                     for i in range(0, len(every), per_task)])
    n = len(kelurahan)
    sums = {"population": np.zeros(n), "served": np.zeros(n), **{f"class:{c}": np.zeros(n) for c in radii}}
    for part in found:  # added in block order: the same total on every run
        if part is not None:
            sums = {k: sums[k] + part[k] for k in sums}
    return coverage_frame(kelurahan, sums, radii, underserved_below)
