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
        if all(g.geom_type == "Point" for g in geoms):
            rows, cols = np.indices(self.shape)
            xs, ys = self.transform * (cols + 0.5, rows + 0.5)
            return np.min([np.hypot(xs - g.x, ys - g.y) for g in geoms], axis=0)
        t = self.transform * Affine.translation(-pad, -pad)
        h, w = self.shape
        burnt = rasterize([(g, 1) for g in geoms], out_shape=(h + 2 * pad, w + 2 * pad), transform=t, fill=0,
                          dtype="uint8", all_touched=True).astype(bool)
        if not burnt.any():
            return np.full(self.shape, np.inf)
        return ndimage.distance_transform_edt(~burnt)[pad:pad + h, pad:pad + w] * abs(self.transform.a)

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
