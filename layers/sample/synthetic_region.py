"""A synthetic region for region-scale siting: criteria rasters of any size (slope, flood hazard, land cover)
written strip by strip as tiled GeoTIFFs, never held whole, and a pattern of roads, toll gates, zones, parks and
rivers over the region's own boundaries. Illustrative values from smooth functions of the coordinates: the same
cell gets the same value whatever the strip, and two runs write the same files."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window
from shapely.geometry import LineString, Point, box

from gis.analyses.siting_blocks import GridSpec
from gis.analyses.suitability import SitingLayers


def _fields(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y = xs[None, :], ys[:, None]
    slope = np.clip(6 + 6 * np.sin(x / 1700) * np.cos(y / 2300) + 4 * np.sin((x + y) / 900), 0, None)
    wet = np.sin(x / 3100 + 1) * np.cos(y / 2700)
    flood = np.where(wet > 0.7, 3, np.where(wet > 0.3, 2, 1)).astype("uint8")
    g = np.sin(x / 1300) * np.sin(y / 1900 + 2)
    cover = np.where(g > 0.8, 1, np.where(g < -0.93, 5, np.where(g > 0.45, 4, np.where(g < -0.5, 3, 2))))
    return slope.astype("float32"), flood, cover.astype("uint8")


def write_criteria(out_dir: Path, grid: GridSpec, strip: int = 512) -> dict[str, Path]:
    """slope.tif (%), flood_hazard.tif (class 1-3) and land_cover.tif (class 1-6) on `grid`, written `strip`
    rows at a time."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / f"{name}.tif" for name in ("slope", "flood_hazard", "land_cover")}
    h, w = grid.shape
    t = grid.transform
    crs = f"EPSG:{grid.crs}" if isinstance(grid.crs, int) else grid.crs
    profile = dict(driver="GTiff", height=h, width=w, count=1, crs=crs, transform=t, tiled=True, blockxsize=512,
                   blockysize=512, compress="DEFLATE", BIGTIFF="IF_SAFER")
    files = {name: rasterio.open(path, "w", dtype=dtype, **profile)
             for (name, path), dtype in zip(paths.items(), ("float32", "uint8", "uint8"), strict=True)}
    try:
        xs = t.c + t.a * (np.arange(w) + 0.5)
        for r0 in range(0, h, strip):
            rows = min(strip, h - r0)
            ys = t.f + t.e * (np.arange(r0, r0 + rows) + 0.5)
            for name, values in zip(files, _fields(xs, ys), strict=True):
                files[name].write(values, 1, window=Window(0, r0, w, rows))
    finally:
        for ds in files.values():
            ds.close()
    return paths


def region_grid(cities: gpd.GeoDataFrame, res: float = 10.0, crs: int = 32647, margin: float = 500.0) -> GridSpec:
    """The grid over the cities' bounds (plus a margin) at `res` metres, edges on whole multiples of `res`."""
    minx, miny, maxx, maxy = cities.to_crs(crs).total_bounds
    x0, y1 = np.floor((minx - margin) / res) * res, np.ceil((maxy + margin) / res) * res
    w, h = int(np.ceil((maxx + margin - x0) / res)), int(np.ceil((y1 - miny + margin) / res))
    return GridSpec(Affine(res, 0.0, x0, 0.0, -res, y1), (h, w), crs)


def region_layers(cities: gpd.GeoDataFrame, grid: GridSpec, spacing: float = 8_000.0) -> SitingLayers:
    """Arterials every `spacing` metres each way, a toll gate at every other crossing, a housing zone, a green
    zone and a park near each crossing, and rivers on the diagonals; the cities as given (with `kode`)."""
    h, w = grid.shape
    t = grid.transform
    x0, y1 = t.c, t.f
    x1, y0 = x0 + t.a * w, y1 + t.e * h
    xs = np.arange(x0 + spacing / 2, x1, spacing)
    ys = np.arange(y0 + spacing / 2, y1, spacing)
    roads = [LineString([(x, y0), (x, y1)]) for x in xs] + [LineString([(x0, y), (x1, y)]) for y in ys]
    crossings = [(x, y) for i, x in enumerate(xs) for j, y in enumerate(ys)]
    gates = [Point(x, y) for i, (x, y) in enumerate(crossings) if i % 2 == 0]
    housing = [box(x + 600, y + 600, x + 1600, y + 1600) for x, y in crossings]
    green = [box(x - 1800, y + 700, x - 1000, y + 1500) for x, y in crossings]
    parks = [box(x + 500, y - 1400, x + 800, y - 1100) for x, y in crossings]
    rivers = [LineString([(x, y0), (x + (y1 - y0), y1)]) for x in np.arange(x0 - (y1 - y0), x1, 3 * spacing)]
    zoning = gpd.GeoDataFrame({"kodszn": ["R-2"] * len(housing) + ["RTH-1"] * len(green),
                               "namszn": ["Perumahan"] * len(housing) + ["Taman kota"] * len(green)},
                              geometry=housing + green, crs=grid.crs)

    def frame(geoms, **cols):
        return gpd.GeoDataFrame(cols, geometry=geoms, crs=grid.crs).to_crs(4326)

    return SitingLayers(
        roads=frame(roads, road_class=["arterial"] * len(roads)), toll_gates=frame(gates),
        zoning=zoning.to_crs(4326), parks=frame(parks), rivers=frame(rivers, depth_class=[">3m"] * len(rivers)),
        city=cities.to_crs(4326))


def _cover_at(xs: np.ndarray, ys: np.ndarray, shift: float) -> np.ndarray:
    g = np.sin((xs[None, :] + shift) / 1300) * np.sin(ys[:, None] / 1900 + 2) + 0.3 * np.cos(xs[None, :] / 700)
    return np.digitize(g, (-0.9, -0.4, 0.2, 0.7)).astype("uint8") + 1  # classes 1-5


def write_land_cover_pair(out_dir: Path, grid: GridSpec, strip: int = 512) -> tuple[Path, Path]:
    """landcover_before.tif and landcover_after.tif (classes 1-5) on `grid`, written `strip` rows at a time:
    the after pattern is the before one moved 150 m east, so a band along every class edge changes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / "landcover_before.tif", out_dir / "landcover_after.tif"
    _write_strips(paths, grid, strip, "uint8", lambda xs, ys: (_cover_at(xs, ys, 0.0), _cover_at(xs, ys, 150.0)))
    return paths


def write_population(out_dir: Path, grid: GridSpec, strip: int = 512) -> Path:
    """population.tif (people per cell, float32, 0 to about 6) on `grid`, written `strip` rows at a time."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "population.tif"

    def people(xs, ys):
        x, y = xs[None, :], ys[:, None]
        return (np.clip(3 + 3 * np.sin(x / 900) * np.cos(y / 1100), 0, None).astype("float32"),)

    _write_strips((path,), grid, strip, "float32", people)
    return path


def _write_strips(paths, grid: GridSpec, strip: int, dtype: str, values) -> None:
    h, w = grid.shape
    t = grid.transform
    crs = f"EPSG:{grid.crs}" if isinstance(grid.crs, int) else grid.crs
    profile = dict(driver="GTiff", height=h, width=w, count=1, crs=crs, transform=t, tiled=True, blockxsize=512,
                   blockysize=512, compress="DEFLATE", BIGTIFF="IF_SAFER", dtype=dtype)
    files = [rasterio.open(p, "w", **profile) for p in paths]
    try:
        xs = t.c + t.a * (np.arange(w) + 0.5)
        for r0 in range(0, h, strip):
            rows = min(strip, h - r0)
            ys = t.f + t.e * (np.arange(r0, r0 + rows) + 0.5)
            for ds, array in zip(files, values(xs, ys), strict=True):
                ds.write(array, 1, window=Window(0, r0, w, rows))
    finally:
        for ds in files:
            ds.close()
