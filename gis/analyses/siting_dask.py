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
from rasterio.enums import MaskFlags
from rasterio.warp import transform_bounds
from rasterio.windows import Window as ReadWindow
from rasterio.windows import from_bounds

from gis.analyses.grid import Raster, mosaic
from gis.analyses.siting_blocks import (
    PAD,
    GridSpec,
    SitingVectors,
    Window,
    distance_halos,
    edge_distance,
    pick_sites,
    point_distance,
    score_window,
    siting_vectors,
    window_means,
    window_side,
)
from gis.analyses.suitability import Criteria, _describe, _with_cities, grow_cells, sites_frame
from gis.analyses.windowed import blocks as windowed_blocks
from gis.analyses.windowed import crs_text, tile_name, write_vrt

DEFAULT_CHUNK = 2048


def _read_part(path: str, target: Raster) -> Raster | None:
    """The part of a raster file that covers the target window (a cell of margin), as Raster.open reads it
    (nodata and NaN as 0); None when it does not reach the window."""
    with rasterio.open(path) as ds:
        crs = ds.crs.to_epsg() or ds.crs.to_string()
        h, w = target.shape
        t = target.transform
        bounds = (t.c, t.f + t.e * h, t.c + t.a * w, t.f)
        if crs != target.crs:
            bounds = transform_bounds(crs_text(target.crs), ds.crs, *bounds, densify_pts=21)
        want = from_bounds(*bounds, transform=ds.transform)
        exact = [want.row_off, want.col_off, want.height, want.width]
        aligned = crs == target.crs and ds.transform.a == t.a and ds.transform.e == t.e and \
            all(abs(v - round(v)) < 1e-6 for v in exact)
        margin = 0 if aligned else 1  # a cell more around, for resampling (aligned: the very cells, one tile)
        if aligned:
            want = ReadWindow(*(round(v) for v in (want.col_off, want.row_off, want.width, want.height)))
        r0, c0 = max(int(np.floor(want.row_off)) - margin, 0), max(int(np.floor(want.col_off)) - margin, 0)
        r1 = min(int(np.ceil(want.row_off + want.height)) + margin, ds.height)
        c1 = min(int(np.ceil(want.col_off + want.width)) + margin, ds.width)
        if r1 <= r0 or c1 <= c0:
            return None
        part = ReadWindow(c0, r0, c1 - c0, r1 - r0)
        if MaskFlags.per_dataset in ds.mask_flag_enums[0] or MaskFlags.alpha in ds.mask_flag_enums[0]:
            data = np.ma.filled(ds.read(1, window=part, masked=True), 0)
        else:  # the common case, without building a masked array: nodata (and NaN) as 0
            data = ds.read(1, window=part)
            if ds.nodata is not None:
                data[(data == ds.nodata) | (np.isnan(data) if np.isnan(ds.nodata) else False)] = 0
        if data.dtype.kind == "f":
            data = np.nan_to_num(data, nan=0.0, copy=False)
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
    halos: dict

    def surface(self, win: Window):
        slope, flood, cover, no_data = self.sources.read(win)
        return score_window(win, slope, flood, cover, no_data, self.vectors, self.criteria, self.halos)


def _score_block(template: np.ndarray, job: SitingJob, block_info=None) -> np.ndarray:
    (r0, r1), (c0, c1) = block_info[None]["array-location"]
    return job.surface(job.sources.grid.window(r0, r1, c0, c1)).score


def region_surface(sources: RasterSources, layers, criteria: Criteria | None = None,
                   chunk: int = DEFAULT_CHUNK) -> da.Array:
    """The suitability surface of a region as a lazy dask.array (NaN where excluded), scored chunk by chunk:
    for a notebook's own statistics, or `.to_zarr`, without ever holding it whole."""
    c = criteria or Criteria()
    job = SitingJob(sources, siting_vectors(layers, c, sources.grid.crs), c, distance_halos(c, sources.grid.res))
    template = da.zeros(sources.grid.shape, dtype="uint8", chunks=chunk)
    return da.map_blocks(_score_block, template, dask.delayed(job), dtype="float32",
                         meta=np.array((), dtype="float32"))


def _seed_block(job: SitingJob, block: Window, side: int, k: int, tile_dir: str | None):
    """One chunk's seeds (see _top), from its cells' window means: the chunk is scored with the overlap its
    windows reach into (rescored here rather than fetched from the neighbours, so no task waits on another
    and each holds one chunk's worth of memory). With `tile_dir`, the chunk's score is written there too."""
    wide = block.grown(side // 2 + 1)
    score = job.surface(wide).score
    inner = (slice(block.r0 - wide.r0, block.r1 - wide.r0), slice(block.c0 - wide.c0, block.c1 - wide.c0))
    if tile_dir is not None:
        _write_tile(Path(tile_dir) / tile_name(block), block, score[inner])
    values = np.where(np.isnan(score), -1.0, window_means(score, side))[inner]
    return _top(values, block.r0, block.c0, block.grid.shape[1], k)


def _write_tile(path: Path, win: Window, score: np.ndarray) -> None:
    tmp = path.with_suffix(".tmp")
    with rasterio.open(tmp, "w", driver="GTiff", height=score.shape[0], width=score.shape[1], count=1,
                       dtype="float32", crs=crs_text(win.grid.crs), transform=win.transform, nodata=float("nan"),
                       tiled=True, blockxsize=256, blockysize=256, compress="DEFLATE") as ds:
        ds.write(score, 1)
    tmp.replace(path)  # a tile recomputed by a later round replaces the same values whole


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


def _seed_rounds(job, blocks: list[Window], side: int, k: int, tile_dir: str | None, compute):
    """Seeds in the in-process order (best window mean first, ties by position), fetched in rounds: each
    round lists every seed above a threshold; when those run out, the next round goes deeper."""
    width = job.sources.grid.shape[1]
    shared = dask.delayed(job)
    done_above = np.inf
    while True:
        found = compute([dask.delayed(_seed_block, pure=True)(shared, b, side, k, tile_dir) for b in blocks])
        tile_dir = None  # written by the first round
        threshold = max(f[2] for f in found)
        vals = np.concatenate([f[0] for f in found])
        flat = np.concatenate([f[1] for f in found])
        keep = (vals > threshold) & (vals <= done_above)  # the ones at the last threshold were not listed yet
        vals, flat = vals[keep], flat[keep]
        for i in np.lexsort((flat, -vals)):
            yield divmod(int(flat[i]), width)
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
    """The distances a candidate reports (nearest gate, arterial, housing), exact: every gate; lines and areas
    seen ever farther until the nearest one seen lies within sight, or the whole grid is seen."""
    v, res = job.vectors, job.sources.grid.res
    everything = job.sources.grid.whole().grown(10**9, PAD)
    out = dict(surface.distances)
    for key, geoms in (("gate", v.gates), ("arterial", v.arterials), ("housing", v.housing)):
        if geoms and all(g.geom_type == "Point" for g in geoms):
            out[key] = point_distance(win, geoms)
            continue
        halo = job.halos.get(key, max(job.halos.values()))
        while True:
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
    surface is written there as a VRT over one GeoTIFF tile per chunk (NaN where excluded), each tile
    written by the worker that scored it."""
    c = criteria or Criteria()
    grid = sources.grid
    n_pixels, side = window_side(c, grid.res**2)
    job = SitingJob(sources, siting_vectors(layers, c, grid.crs), c, distance_halos(c, grid.res))
    tile_dir = None
    if score_path is not None:
        tile_dir = score_path.parent / f"{score_path.stem}_tiles"
        tile_dir.mkdir(parents=True, exist_ok=True)
    blocks = windowed_blocks(grid, (0, grid.shape[0]), (0, grid.shape[1]), chunk)
    # seeds listed per chunk in the first round: a share of what a search may walk through (the plateau around
    # each site, skipped cell by cell), a few tens of MB in all however many chunks; a longer search takes
    # another round (every chunk scored again), which this makes rare
    k = k or max((40 * n_pixels * c.n_candidates + 20_000) // len(blocks), 1_000)
    seeds = _seed_rounds(job, blocks, side, k, None if tile_dir is None else str(tile_dir), compute)
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
    if score_path is not None:
        # the surface as one raster over the chunks' tiles (made a COG by whoever keeps it)
        write_vrt(score_path, grid.transform, grid.shape, grid.crs, "float32", tile_dir, blocks, nodata=float("nan"))
    frame = sites_frame(sites, c, job.vectors.asked, grid.crs)
    return _with_cities(frame, layers.city, grid.crs) if "kode" in layers.city.columns else frame


