"""Rasters (Cloud Optimized GeoTIFFs in the registry): metadata, PNG tiles, point values, zonal statistics."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import rasterio
import rasterio.mask
import rasterio.warp
import shapely
from pyproj import Transformer
from rio_tiler.colormap import cmap
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader
from shapely.geometry import mapping, shape
from sqlalchemy import Connection, text

from gis.core.errors import InvalidInput, NotFound
from layers.rasters import DEFAULT_STYLE, RASTER_STYLES

TILE_SIZE = 256


def _hex_rgba(color: str) -> tuple[int, int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), 255


def registry(conn: Connection) -> dict[str, dict]:
    rows = conn.execute(text("SELECT * FROM rasters ORDER BY id")).mappings()
    return {r["id"]: dict(r) for r in rows}


def lookup(conn: Connection, raster_id: str) -> dict | None:
    """One registry entry straight from the database: a raster just registered by any service process."""
    row = conn.execute(text("SELECT * FROM rasters WHERE id = :id"), {"id": raster_id}).mappings().first()
    return dict(row) if row else None


def readable(entry: dict | None, owner: str) -> bool:
    """The city's rasters are public; a result raster is its owner's alone."""
    return entry is not None and entry.get("owner") in (None, owner)


def path_of(entry: dict, data_dir: Path) -> Path:
    path = (data_dir / entry["path"]).resolve()
    if not path.is_file():
        raise NotFound(f"the file of raster {entry['id']!r} is missing on the server")
    return path


@functools.lru_cache(maxsize=64)
def _value_range(path: str, mtime: float) -> tuple[float, float]:
    """2nd-98th percentile of the valid pixels (read from an overview: fast, and enough for a stretch)."""
    with rasterio.open(path) as ds:
        factor = (ds.overviews(1) or [1])[-1]
        data = ds.read(1, masked=True, out_shape=(max(ds.height // factor, 1), max(ds.width // factor, 1)))
    valid = data.compressed()
    if valid.size == 0:
        return 0.0, 1.0
    positive = valid[valid > 0] if (valid > 0).mean() < 0.5 else valid  # sparse layers (population)
    lo, hi = np.percentile(positive if positive.size else valid, [2, 98])
    return float(lo), float(hi if hi > lo else lo + 1)


def style(entry: dict, path: Path) -> dict:
    declared = RASTER_STYLES.get(entry["id"], DEFAULT_STYLE)
    if "classes" in declared:
        return {"type": "categorical", "classes": [
            {"value": v, "label": {"id": i, "en": e}, "color": c} for v, (i, e, c) in declared["classes"].items()]}
    lo, hi = _value_range(str(path), path.stat().st_mtime)
    ramp = cmap.get(declared["colormap"])
    stops = [{"value": lo + (hi - lo) * k / 4, "color": "#%02X%02X%02X" % ramp[int(k * 255 / 4)][:3]}
             for k in range(5)]
    return {"type": "continuous", "colormap": declared["colormap"], "rescale": [lo, hi], "stops": stops}


def describe(entry: dict, data_dir: Path) -> dict:
    path = path_of(entry, data_dir)
    with rasterio.open(path) as ds:
        bounds = rasterio.warp.transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
        info = {"crs": ds.crs.to_string(), "width": ds.width, "height": ds.height, "resolution": list(ds.res),
                "dtype": ds.dtypes[0],
                "nodata": None if ds.nodata is None or np.isnan(ds.nodata) else ds.nodata}  # JSON has no NaN
    return {
        "id": entry["id"], "title": {"id": entry["title_id"], "en": entry["title_en"]},
        "units": entry["units"], "kind": entry["kind"], "illustrative": entry["illustrative"],
        "source": entry["source"], "acquired": entry["acquired"].isoformat() if entry["acquired"] else None,
        "bounds": list(bounds), **info, "legend": style(entry, path),
    }


def render_tile(entry: dict, data_dir: Path, z: int, x: int, y: int, tms=None) -> bytes | None:
    """A PNG tile (transparent outside the data), or None when the tile lies outside the raster; `tms` is a
    morecantile tile matrix set (WebMercatorQuad when None)."""
    path = path_of(entry, data_dir)
    legend = style(entry, path)
    with (Reader(str(path), tms=tms) if tms is not None else Reader(str(path))) as src:
        try:
            img = src.tile(x, y, z, tilesize=TILE_SIZE, resampling_method="nearest"
                           if legend["type"] == "categorical" else "bilinear")
        except TileOutsideBounds:
            return None
    if legend["type"] == "categorical":
        colormap = {int(c["value"]): _hex_rgba(c["color"]) for c in legend["classes"]}
        img.array.mask |= ~np.isin(img.array.data, list(colormap))
        return img.render(img_format="PNG", colormap=colormap)
    img.rescale(in_range=(tuple(legend["rescale"]),))
    return img.render(img_format="PNG", colormap=cmap.get(legend["colormap"]))


def point(entry: dict, data_dir: Path, lon: float, lat: float) -> dict:
    path = path_of(entry, data_dir)
    with Reader(str(path)) as src:
        try:
            pt = src.point(lon, lat)
        except Exception:  # rio-tiler raises PointOutsideBounds and friends
            raise InvalidInput(f"point {lon}, {lat} is outside raster {entry['id']!r}") from None
    value = pt.data[0].item()
    masked = bool(np.ma.getmaskarray(pt.array)[0])
    return {"id": entry["id"], "lon": lon, "lat": lat, "value": None if masked else value, "units": entry["units"]}


def statistics(entry: dict, data_dir: Path, geometry: dict, bins: int = 10) -> dict:
    """Statistics of the pixels whose centres fall inside the geometry (lon/lat GeoJSON)."""
    try:
        geom = shape(geometry)
    except Exception:
        raise InvalidInput("geometry is not valid GeoJSON") from None
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon") or not geom.is_valid:
        raise InvalidInput("statistics need a valid Polygon or MultiPolygon in lon/lat (CRS84)")
    path = path_of(entry, data_dir)
    with rasterio.open(path) as ds:
        to_raster = Transformer.from_crs("EPSG:4326", ds.crs, always_xy=True)
        projected = shapely.transform(geom, lambda xy: np.column_stack(to_raster.transform(xy[:, 0], xy[:, 1])))
        if not projected.intersects(shapely.box(*ds.bounds)):
            raise InvalidInput(f"the geometry lies outside raster {entry['id']!r}")
        data, _ = rasterio.mask.mask(ds, [mapping(projected)], crop=True, filled=False)
        pixel_ha = abs(ds.res[0] * ds.res[1]) / 1e4
    values = data[0].compressed().astype("float64")
    if values.size == 0:
        return {"count": 0, "min": None, "max": None, "mean": None, "sum": 0.0, "area_ha": 0.0, "histogram": []}
    result = {"count": int(values.size), "min": float(values.min()), "max": float(values.max()),
              "mean": float(values.mean()), "sum": float(values.sum()), "std": float(values.std()),
              "area_ha": values.size * pixel_ha, "units": entry["units"]}
    if entry["kind"] == "categorical":
        classes, counts = np.unique(values.astype(int), return_counts=True)
        result["histogram"] = [{"value": int(c), "count": int(n), "area_ha": n * pixel_ha}
                               for c, n in zip(classes, counts, strict=True)]
    else:
        counts, edges = np.histogram(values, bins=bins)
        result["histogram"] = [{"min": float(edges[i]), "max": float(edges[i + 1]), "count": int(counts[i])}
                               for i in range(bins)]
    return result
