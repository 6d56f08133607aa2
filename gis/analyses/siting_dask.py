"""Region-scale siting on Dask: the criteria rasters read chunk by chunk from their files, every chunk scored and
its window means taken by the functions the in-process run uses (siting_blocks), the best seeds of each chunk
merged, and each candidate grown and described on a window around it. Memory follows the chunk size, not the
region: no grid-sized array is ever built, on the workers or here. Same candidates, same scores as in-process."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import dask
import dask.array as da
import geopandas as gpd
import numpy as np
import rasterio
from rasterio.warp import transform_bounds
from rasterio.windows import Window as ReadWindow
from rasterio.windows import from_bounds

from gis.analyses.grid import Raster, mosaic
from gis.analyses.siting_blocks import (
    PAD,
    GridSpec,
    SitingVectors,
    Window,
    distance_halo,
    edge_distance,
    pick_sites,
    score_window,
    siting_vectors,
    window_means,
    window_side,
)
from gis.analyses.suitability import Criteria, _describe, _with_cities, grow_cells, sites_frame

DEFAULT_CHUNK = 2048


def _crs(crs):
    return f"EPSG:{crs}" if isinstance(crs, int) else crs


def _read_part(path: str, target: Raster) -> Raster | None:
    """The part of a raster file that covers the target window (a cell of margin), as Raster.open reads it
    (nodata and NaN as 0); None when it does not reach the window."""
    with rasterio.open(path) as ds:
        crs = ds.crs.to_epsg() or ds.crs.to_string()
        h, w = target.shape
        t = target.transform
        bounds = (t.c, t.f + t.e * h, t.c + t.a * w, t.f)
        if crs != target.crs:
            bounds = transform_bounds(_crs(target.crs), ds.crs, *bounds, densify_pts=21)
        want = from_bounds(*bounds, transform=ds.transform)
        r0, c0 = max(int(np.floor(want.row_off)) - 1, 0), max(int(np.floor(want.col_off)) - 1, 0)
        r1 = min(int(np.ceil(want.row_off + want.height)) + 1, ds.height)
        c1 = min(int(np.ceil(want.col_off + want.width)) + 1, ds.width)
        if r1 <= r0 or c1 <= c0:
            return None
        part = ReadWindow(c0, r0, c1 - c0, r1 - r0)
        data = np.ma.filled(ds.read(1, window=part, masked=True), 0)
        if data.dtype.kind == "f":
            data = np.nan_to_num(data, nan=0.0)
        return Raster(data, ds.window_transform(part), crs)


@dataclass(frozen=True)
class RasterSources:
    """Where the criteria rasters are: each a list of files (one per city, the first one's value where they
    overlap), placed on `grid` as the in-process run places them. Workers must read the same paths."""

    grid: GridSpec
    slope: tuple[str, ...]
    flood: tuple[str, ...]
    land_cover: tuple[str, ...]

    def read(self, win: Window):
        """slope, flood, land cover and no-data mask (None when every cell has all three) of one window."""
        target = win.raster(np.zeros(win.shape, dtype="uint8"))

        def layer(paths, dtype):
            parts = [_read_part(p, target) for p in paths]
            return mosaic([p for p in parts if p is not None], target, dtype)

        slope, has_slope = layer(self.slope, "float32")
        flood, has_flood = layer(self.flood, "uint8")
        cover, has_cover = layer(self.land_cover, "uint8")
        no_data = ~(has_slope & has_flood & has_cover)
        return slope, flood, cover, (no_data if no_data.any() else None)


@dataclass
class SitingJob:
    """What every chunk needs (pickled once per worker): the sources, the prepared vectors, the criteria."""

    sources: RasterSources
    vectors: SitingVectors
    criteria: Criteria
    halo: int

    def surface(self, win: Window, halo: int | None = None):
        slope, flood, cover, no_data = self.sources.read(win)
        return score_window(win, slope, flood, cover, no_data, self.vectors, self.criteria, halo or self.halo)


def _score_block(template: np.ndarray, job: SitingJob, block_info=None) -> np.ndarray:
    (r0, r1), (c0, c1) = block_info[None]["array-location"]
    return job.surface(job.sources.grid.window(r0, r1, c0, c1)).score


def _seed_values(score: np.ndarray, side: int) -> np.ndarray:
    """Window means of a chunk with its overlap, -1 at infeasible cells (they are never seeds)."""
    return np.where(np.isnan(score), -1.0, window_means(score, side))


def _top(values: np.ndarray, r0: int, c0: int, width: int, k: int):
    """The chunk's seeds above its floor: (values, flat indices on the grid, floor). Every seed of the chunk
    better than the floor is listed; the floor is -inf when every seed is."""
    idx = np.flatnonzero(values >= 0)
    vals = values.ravel()[idx]
    floor = -np.inf
    if idx.size > k:
        floor = np.partition(vals, idx.size - k)[idx.size - k]  # the k-th best
        keep = vals > floor
        idx, vals = idx[keep], vals[keep]
    rows, cols = np.divmod(idx, values.shape[1])
    return vals, (rows + r0).astype(np.int64) * width + cols + c0, floor


def _seed_rounds(values: da.Array, grid: GridSpec, k: int, compute):
    """Seeds in the in-process order (best window mean first, ties by position), fetched in rounds: each
    round lists every seed above a threshold; when those run out, the next round goes deeper."""
    offsets = [np.cumsum((0,) + c)[:-1] for c in values.chunks]
    done_above = np.inf
    while True:
        blocks = values.to_delayed()
        parts = [dask.delayed(_top)(blocks[i, j], int(offsets[0][i]), int(offsets[1][j]), grid.shape[1], k)
                 for i in range(blocks.shape[0]) for j in range(blocks.shape[1])]
        found = compute(parts)
        threshold = max(f[2] for f in found)
        vals = np.concatenate([f[0] for f in found])
        flat = np.concatenate([f[1] for f in found])
        keep = (vals > threshold) & (vals <= done_above)  # the ones at the last threshold were not listed yet
        vals, flat = vals[keep], flat[keep]
        for i in np.lexsort((flat, -vals)):
            yield divmod(int(flat[i]), grid.shape[1])
        if threshold == -np.inf:
            return
        done_above, k = threshold, k * 4


def _inner_edge(taken, win: Window) -> bool:
    """Whether a cell taken touches the window's edge where the grid goes on (the window was too small)."""
    h, w = win.shape
    gh, gw = win.grid.shape
    for r, c in taken:
        if (r == 0 and win.r0 > 0) or (c == 0 and win.c0 > 0) or (r == h - 1 and win.r1 < gh) or \
                (c == w - 1 and win.c1 < gw):
            return True
    return False


def _exact_distances(job: SitingJob, win: Window, surface, mask: np.ndarray) -> dict:
    """The distances a candidate reports (nearest arterial, gate, housing), exact: the halo is widened until
    the nearest feature seen lies within it, or the halo covers the whole grid."""
    v, res = job.vectors, job.sources.grid.res
    everything = job.sources.grid.whole().grown(10**9, PAD)
    out = dict(surface.distances)
    for key, geoms in (("gate", v.gates), ("arterial", v.arterials), ("housing", v.housing)):
        halo = job.halo
        while not all(g.geom_type == "Point" for g in geoms):
            nearest = float(out[key][mask].min())
            if nearest <= halo * res or win.grown(halo, PAD).covers(everything):
                break
            halo *= 2
            out[key] = edge_distance(win, geoms, halo)
    return out


def region_site_suitability(sources: RasterSources, layers, criteria: Criteria | None = None, *, compute,
                            chunk: int = DEFAULT_CHUNK, score_path: Path | None = None, k: int | None = None
                            ) -> gpd.GeoDataFrame:
    """The ranked candidate sites of a region (as site_suitability gives them), computed chunk by chunk.
    `layers`: the vector fields of SitingData; `compute`: runs a list of delayed objects (a Dask client's
    `lambda xs: client.gather(client.compute(xs))`, or dask.compute). With `score_path`, the suitability
    surface is written there (tiled GeoTIFF, NaN where excluded) block by block."""
    c = criteria or Criteria()
    grid = sources.grid
    n_pixels, side = window_side(c, grid.res**2)
    chunk = max(chunk, 2 * side + 2)  # a chunk holds at least a window's overlap on each side
    job = SitingJob(sources, siting_vectors(layers, c, grid.crs), c, distance_halo(c, grid.res))
    shared = dask.delayed(job, pure=True)
    template = da.zeros(grid.shape, dtype="uint8", chunks=chunk)
    score = da.map_blocks(_score_block, template, shared, dtype="float32", meta=np.array((), dtype="float32"))
    if score_path is not None:
        _write(score, grid, score_path, compute)
    values = score.map_overlap(_seed_values, depth=side // 2 + 1, boundary=np.nan, side=side, dtype="float64",
                               meta=np.array((), dtype="float64"))
    seeds = _seed_rounds(values, grid, k or 2 * n_pixels * c.n_candidates + 10_000, compute)
    last = {}

    def grow(r, col, blocked):
        radius = 2 * side
        while True:
            h, w = grid.shape
            win = grid.window(max(r - radius, 0), min(r + radius + 1, h), max(col - radius, 0),
                              min(col + radius + 1, w))
            surface = job.surface(win)
            feasible = ~np.isnan(surface.score) & ~blocked.in_window(win)
            taken = grow_cells(feasible, (r - win.r0, col - win.c0), n_pixels)
            if not _inner_edge(taken, win):
                break
            radius *= 2
        if len(taken) < n_pixels:
            return None
        mask = np.zeros(win.shape, dtype=bool)
        rows, cols = zip(*taken, strict=True)
        mask[list(rows), list(cols)] = True
        last[(win.r0, win.c0)] = (win, surface)
        return win.r0, win.c0, mask

    def describe(r0, c0, mask):
        win, surface = last.pop((r0, c0))
        exact = replace(surface, distances=_exact_distances(job, win, surface, mask))
        return _describe(exact, mask)

    sites = pick_sites(seeds, c, side, grid.shape, grow, describe)
    frame = sites_frame(sites, c, job.vectors.asked, grid.crs)
    return _with_cities(frame, layers.city, grid.crs) if "kode" in layers.city.columns else frame


def _write(score: da.Array, grid: GridSpec, path: Path, compute) -> None:
    """The surface as a tiled GeoTIFF, one chunk at a time (a few chunks in flight at most)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = dict(driver="GTiff", height=grid.shape[0], width=grid.shape[1], count=1, dtype="float32",
                   crs=_crs(grid.crs), transform=grid.transform, nodata=float("nan"), tiled=True, blockxsize=512,
                   blockysize=512, compress="DEFLATE", BIGTIFF="IF_SAFER")
    offsets = [np.cumsum((0,) + c)[:-1] for c in score.chunks]
    blocks = score.to_delayed()
    with rasterio.open(path, "w", **profile) as ds:
        for i in range(blocks.shape[0]):
            row = compute([blocks[i, j] for j in range(blocks.shape[1])])
            for j, block in enumerate(row):
                ds.write(block, 1, window=ReadWindow(int(offsets[1][j]), int(offsets[0][i]), block.shape[1],
                                                     block.shape[0]))
