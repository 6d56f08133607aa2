"""Raster tiles within a city: the pixels outside the cities in scope become transparent. The boundary comes from
the `kota` layer (its stored Web Mercator column, clipped to the tile by PostGIS) and is rasterised on the tile's
own pixel grid, so a pixel is kept when its centre lies in the city."""

from __future__ import annotations

import io

import morecantile
import numpy as np
import shapely
from PIL import Image
from rasterio.features import geometry_mask
from rasterio.transform import from_bounds
from sqlalchemy import Connection, text

from gis.core.scope import Scope

TMS = morecantile.tms.get("WebMercatorQuad")
CITY_LAYER = "kota"


def inside_cities(conn: Connection, cities: Scope, z: int, x: int, y: int, size: int) -> np.ndarray | None:
    """A (size, size) boolean grid, True inside the cities; None when the whole tile is inside."""
    row = conn.execute(text(
        f"WITH t AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env), "
        f"c AS (SELECT ST_Union(geom_3857) AS g FROM {CITY_LAYER}, t "
        f"      WHERE kode = ANY(CAST(:codes AS text[])) AND geom_3857 && t.env) "
        f"SELECT ST_AsBinary(ST_Intersection(c.g, t.env)) AS part, ST_Covers(c.g, t.env) AS covers FROM c, t"),
        {"z": z, "x": x, "y": y, "codes": list(cities)}).first()
    if row is not None and row.covers:
        return None
    if row is None or row.part is None:
        return np.zeros((size, size), bool)
    part = shapely.from_wkb(row.part)
    if part.is_empty:
        return np.zeros((size, size), bool)
    b = TMS.xy_bounds(x, y, z)
    transform = from_bounds(b.left, b.bottom, b.right, b.top, size, size)
    return geometry_mask([part], out_shape=(size, size), transform=transform, invert=True)


def mask_png(png: bytes, inside: np.ndarray | None) -> bytes:
    """The PNG with every pixel outside `inside` transparent; empty when nothing is left."""
    if not png or inside is None:
        return png
    if not inside.any():
        return b""
    img = Image.open(io.BytesIO(png)).convert("RGBA")
    rgba = np.asarray(img).copy()
    rgba[..., 3] = np.where(inside, rgba[..., 3], 0)
    if not rgba[..., 3].any():
        return b""
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, format="PNG")
    return out.getvalue()


def inside_cities_box(conn: Connection, cities: Scope, srid: int, bounds: tuple[float, float, float, float],
                      size: int) -> np.ndarray | None:
    """`inside_cities` for a tile of another grid: its box in `srid` (the city's UTM grid of WMTS)."""
    row = conn.execute(text(
        f"WITH t AS (SELECT ST_MakeEnvelope(:x0, :y0, :x1, :y1, :srid) AS env), "
        f"c AS (SELECT ST_Union(ST_Transform(geom, :srid)) AS g FROM {CITY_LAYER}, t "
        f"      WHERE kode = ANY(CAST(:codes AS text[])) AND geom && ST_Transform(t.env, 4326)) "
        f"SELECT ST_AsBinary(ST_Intersection(c.g, t.env)) AS part, ST_Covers(c.g, t.env) AS covers FROM c, t"),
        {"x0": bounds[0], "y0": bounds[1], "x1": bounds[2], "y1": bounds[3], "srid": srid,
         "codes": list(cities)}).first()
    if row is not None and row.covers:
        return None
    if row is None or row.part is None or (part := shapely.from_wkb(row.part)).is_empty:
        return np.zeros((size, size), bool)
    transform = from_bounds(*bounds, size, size)
    return geometry_mask([part], out_shape=(size, size), transform=transform, invert=True)
