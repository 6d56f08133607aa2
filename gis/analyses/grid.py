"""A raster in memory (array + georeference) and the few grid operations the analyses share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from rasterio.features import rasterize, shapes
from scipy import ndimage
from shapely.geometry import shape
from shapely.ops import unary_union

from gis.core.cog import write_cog


@dataclass
class Raster:
    array: np.ndarray
    transform: Affine
    crs: int | str

    @classmethod
    def open(cls, path: str | Path) -> Raster:
        with rasterio.open(path) as ds:
            data = np.ma.filled(ds.read(1, masked=True), 0)
            # Nodata (and NaN) count as 0: "no people here", never poisoning sums.
            if data.dtype.kind == "f":
                data = np.nan_to_num(data, nan=0.0)
            return cls(data, ds.transform, ds.crs.to_epsg() or ds.crs.to_string())

    @property
    def shape(self) -> tuple[int, int]:
        return self.array.shape

    @property
    def pixel_m2(self) -> float:
        return abs(self.transform.a * self.transform.e)

    def like(self, array: np.ndarray) -> Raster:
        return Raster(array, self.transform, self.crs)

    def crop(self, bounds: tuple[float, float, float, float], pad: int = 1) -> Raster:
        """The part covering `bounds` (minx, miny, maxx, maxy in this raster's CRS) with `pad` pixels around it:
        what an analysis of one site needs, instead of the whole city's grid."""
        inverse = ~self.transform
        cols, rows = zip(*(inverse * (x, y) for x, y in ((bounds[0], bounds[3]), (bounds[2], bounds[1]))),
                         strict=True)
        h, w = self.shape
        r0, r1 = max(int(np.floor(min(rows))) - pad, 0), min(int(np.ceil(max(rows))) + pad, h)
        c0, c1 = max(int(np.floor(min(cols))) - pad, 0), min(int(np.ceil(max(cols))) + pad, w)
        return Raster(self.array[r0:max(r1, r0), c0:max(c1, c0)], self.transform * Affine.translation(c0, r0),
                      self.crs)

    def mask(self, geometries, all_touched: bool = False) -> np.ndarray:
        """True where the pixel centre is inside any of the geometries (given in this raster's CRS)."""
        geoms = [g for g in geometries if g is not None and not g.is_empty]
        if not geoms:
            return np.zeros(self.shape, dtype=bool)
        return rasterize([(g, 1) for g in geoms], out_shape=self.shape, transform=self.transform, fill=0,
                         dtype="uint8", all_touched=all_touched).astype(bool)

    def distance_to(self, geometries, pad: int = 200) -> np.ndarray:
        """Metres from each pixel centre to the nearest of the geometries. Points: exact. Lines and areas:
        on the grid, padded so that features just outside it (a toll gate past the city edge) still count."""
        geoms = [g for g in geometries if g is not None and not g.is_empty]
        if not geoms:
            return np.full(self.shape, np.inf)
        h, w = self.shape
        if all(g.geom_type == "Point" for g in geoms):
            # one row and one column of centre coordinates, broadcast: memory of one grid, not one per point
            t = self.transform
            xs, ys = t.c + t.a * (np.arange(w) + 0.5), t.f + t.e * (np.arange(h) + 0.5)
            out = np.full(self.shape, np.inf, dtype="float32")
            for g in geoms:
                np.minimum(out, np.hypot(xs[None, :] - g.x, ys[:, None] - g.y), out=out, casting="unsafe")
            return out
        t = self.transform * Affine.translation(-pad, -pad)
        burnt = rasterize([(g, 1) for g in geoms], out_shape=(h + 2 * pad, w + 2 * pad), transform=t, fill=0,
                          dtype="uint8", all_touched=True).astype(bool)
        if not burnt.any():
            return np.full(self.shape, np.inf, dtype="float32")
        distance = ndimage.distance_transform_edt(~burnt)[pad:pad + h, pad:pad + w].astype("float32")
        return distance * np.float32(abs(self.transform.a))

    def polygons(self, mask: np.ndarray):
        """The pixels of a boolean mask as one (multi)polygon in this raster's CRS."""
        parts = [shape(geom) for geom, value in shapes(mask.astype("uint8"), mask=mask, transform=self.transform)
                 if value == 1]
        return unary_union(parts)

    def write_cog(self, path: Path, nodata=None) -> None:
        write_cog(path, self.array, self.transform, self.crs, nodata=nodata)


def in_crs(gdf: gpd.GeoDataFrame, crs) -> list:
    """Geometries of a GeoDataFrame in the raster's CRS (empty list for an empty frame)."""
    if gdf is None or gdf.empty:
        return []
    return list(gdf.to_crs(crs).geometry)


def metric_crs_of(data: gpd.GeoDataFrame | gpd.GeoSeries, metric_crs: int | str | None = None):
    """The CRS to measure `data` in: the one given (the city's, from settings), else the WGS 84 UTM zone of the
    data's own centre (Indonesia spans 46N-54S), so an analysis called from a notebook on any city measures in
    metres without being told which zone."""
    if metric_crs is not None:
        return metric_crs
    crs = data.estimate_utm_crs()
    return crs.to_epsg() or crs


def aligned_grid(bounds: tuple[float, float, float, float], like: Raster, margin: float = 0.0) -> Raster:
    """An empty grid (zeros) covering `bounds` (in `like`'s CRS) plus a margin, with `like`'s pixel size and
    pixel edges, so that `like` itself is placed on it by copying, without resampling."""
    transform, shape = aligned_extent(bounds, like.transform, margin)
    return Raster(np.zeros(shape, dtype="uint8"), transform, like.crs)


def aligned_extent(bounds: tuple[float, float, float, float], like: Affine, margin: float = 0.0
                   ) -> tuple[Affine, tuple[int, int]]:
    """The transform and shape of aligned_grid, without its cells (a region's grid is never held whole)."""
    t = like
    res_x, res_y = t.a, -t.e
    x0 = t.c + np.floor((bounds[0] - margin - t.c) / res_x) * res_x
    y1 = t.f - np.floor((t.f - bounds[3] - margin) / res_y) * res_y
    width = int(np.ceil((bounds[2] + margin - x0) / res_x))
    height = int(np.ceil((y1 - bounds[1] + margin) / res_y))
    return Affine(res_x, 0.0, x0, 0.0, -res_y, y1), (max(height, 1), max(width, 1))


def place(source: Raster, grid: Raster, dtype) -> tuple[np.ndarray, np.ndarray]:
    """`source` on `grid`: the values (0 where it has none) and where it has them. Copied when the grids share
    CRS, pixel size and pixel edges (a city's own rasters), else resampled by nearest neighbour."""
    out = np.zeros(grid.shape, dtype=dtype)
    covered = np.zeros(grid.shape, dtype=bool)
    s, g = source.transform, grid.transform
    col, row = (s.c - g.c) / g.a, (s.f - g.f) / g.e
    if (source.crs == grid.crs and (s.a, s.b, s.d, s.e) == (g.a, g.b, g.d, g.e)
            and abs(col - round(col)) < 1e-6 and abs(row - round(row)) < 1e-6):
        col, row = int(round(col)), int(round(row))
        h, w = source.shape
        r0, c0 = max(row, 0), max(col, 0)
        r1, c1 = min(row + h, grid.shape[0]), min(col + w, grid.shape[1])
        if r1 > r0 and c1 > c0:
            out[r0:r1, c0:c1] = source.array[r0 - row:r1 - row, c0 - col:c1 - col]
            covered[r0:r1, c0:c1] = True
        return out, covered
    from rasterio.warp import Resampling, reproject

    marker = np.ones(source.shape, dtype="uint8")
    for src, dst in ((source.array.astype(dtype, copy=False), out), (marker, covered.view("uint8"))):
        reproject(src, dst, src_transform=s, src_crs=_crs(source.crs), dst_transform=g, dst_crs=_crs(grid.crs),
                  resampling=Resampling.nearest, src_nodata=None, dst_nodata=0)
    return out, covered


def mosaic(sources: list[Raster], grid: Raster, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Several rasters (one per city) on one grid, the first one's value where they overlap, and where any has
    a value."""
    out = np.zeros(grid.shape, dtype=dtype)
    covered = np.zeros(grid.shape, dtype=bool)
    for source in sources:
        values, has = place(source, grid, dtype)
        new = has & ~covered
        out[new] = values[new]
        covered |= has
    return out, covered


def _crs(crs):
    return f"EPSG:{crs}" if isinstance(crs, int) else crs
