"""Change detection over a region on Dask: the two land-cover rasters read block by block over the footprint's
bounding box, each block counting its transitions inside the footprint (with the functions the in-process run
uses) and writing its part of the change raster as a tile; the counts added, the tiles gathered by a VRT. Memory
follows the chunk size, not the rasters' size."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import dask
import pandas as pd
from rasterio.windows import from_bounds

from gis.analyses.grid import Raster
from gis.analyses.monitoring import footprint_in, transition_counts, transition_table
from gis.analyses.siting_blocks import GridSpec, Window
from gis.analyses.windowed import blocks, raster_grid, read_block, write_tile, write_vrt
from gis.core.errors import InvalidInput

DEFAULT_CHUNK = 2048


@dataclass
class ChangeJob:
    before: str
    after: str
    footprint: object  # shapely geometry in the rasters' CRS
    tile_dir: str | None

    def counts(self, block: Window) -> tuple[dict, bool]:
        """The block's transition counts, and whether it wrote a tile (only blocks with a changed cell do)."""
        before, after = read_block(self.before, block), read_block(self.after, block)
        inside = before.mask([self.footprint])
        if not inside.any():
            return {"inside": 0, "changed": 0, "pairs": {}}, False
        code, counts = transition_counts(before.array, after.array, inside)
        wrote = self.tile_dir is not None and counts["changed"] > 0
        if wrote:
            write_tile(Path(self.tile_dir), block, code, before.transform, before.crs)
        return counts, wrote


def _block_counts(job: ChangeJob, part: list[Window]) -> list[tuple[dict, bool]]:
    return [job.counts(b) for b in part]


def _same_grid(before: str, after: str):
    grid = raster_grid(before)
    if raster_grid(after) != grid:
        raise InvalidInput("the two rasters must share one grid (same extent, resolution and CRS)")
    return grid


def footprint_blocks(grid: GridSpec, footprint, chunk: int) -> list[Window]:
    """The blocks over the footprint's bounding box (a cell of margin), clipped to the grid."""
    shape = grid.shape
    w = from_bounds(*footprint.bounds, transform=grid.transform)
    r0, c0 = max(int(w.row_off) - 1, 0), max(int(w.col_off) - 1, 0)
    r1 = min(int(w.row_off + w.height) + 2, shape[0])
    c1 = min(int(w.col_off + w.width) + 2, shape[1])
    if r1 <= r0 or c1 <= c0:
        return []
    return blocks(grid, (r0, r1), (c0, c1), chunk)


def region_change_detection(before: str | Path, after: str | Path, footprint, classes: dict | None = None, *,
                            compute, chunk: int = DEFAULT_CHUNK, change_path: Path | None = None
                            ) -> tuple[pd.DataFrame, dict]:
    """change_detection on two raster files read block by block: the same table and summary. With
    `change_path`, the change raster is written there as a VRT over one GeoTIFF tile per block with a change
    (each written by the worker that computed it; 0 elsewhere), the in-process change raster cell for cell."""
    transform, shape, crs = _same_grid(str(before), str(after))
    metric = footprint_in(footprint, crs)
    tile_dir = None
    if change_path is not None:
        tile_dir = change_path.parent / f"{change_path.stem}_tiles"
        tile_dir.mkdir(parents=True, exist_ok=True)
    every = footprint_blocks(GridSpec(transform, shape, crs), metric, chunk)
    per_task = max(1, len(every) // 64)
    job = dask.delayed(ChangeJob(str(before), str(after), metric, None if tile_dir is None else str(tile_dir)))
    parts = [every[i:i + per_task] for i in range(0, len(every), per_task)]
    found = [r for part in compute([dask.delayed(_block_counts, pure=True)(job, p) for p in parts]) for r in part]
    pairs = Counter()
    for counts, _ in found:
        pairs.update(counts["pairs"])
    total = {"inside": sum(c["inside"] for c, _ in found), "changed": sum(c["changed"] for c, _ in found),
             "pairs": dict(pairs)}
    table, summary = transition_table(total, Raster(None, transform, crs).pixel_m2, classes)
    if change_path is not None:
        written = [b for b, (_, wrote) in zip(every, found, strict=True) if wrote]
        write_vrt(change_path, transform, shape, crs, "uint16", tile_dir, written)
    return table, summary
