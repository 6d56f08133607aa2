"""Mapbox Vector Tiles made by PostGIS (ST_AsMVT / ST_AsMVTGeom), one or several layers per tile (cached by
gis.tiles.service)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Connection, text

from gis.core.errors import InvalidInput
from gis.data.features import city_clause
from layers.schema import Layer
from layers.tables import CITY_COLUMN

EXTENT = 4096  # tile coordinate grid: geometry is quantised (and so simplified) to it
BUFFER = 64  # pixels of geometry kept outside the tile edge, so lines and fills join across tiles
MAX_ZOOM = 22
MIN_PIXELS = 2  # the smallest a feature of a layer that keeps small features is drawn, in screen pixels


@dataclass(frozen=True)
class Tile:
    data: bytes
    etag: str
    truncated: tuple[str, ...]  # layers that hit the feature cap
    gzipped: bytes = b""  # the same bytes gzip-compressed once, for clients that accept gzip (empty: not kept)

    @property
    def size(self) -> int:
        """Bytes held in memory."""
        return len(self.data) + len(self.gzipped)


def make_tile(data: bytes, truncated: tuple[str, ...] = ()) -> Tile:
    return Tile(data, f'"{hashlib.blake2b(data, digest_size=12).hexdigest()}"', truncated)


def check_tile(z: int, x: int, y: int) -> None:
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidInput(f"tile {z}/{x}/{y} is outside the WebMercatorQuad matrix (zoom 0-{MAX_ZOOM})")


def _geometry_sql(layer: Layer) -> str:
    """The feature's geometry in tile coordinates. Layers that keep small features draw one that would vanish
    (smaller than MIN_PIXELS, or collapsed by the tile grid) as a stand-in of MIN_PIXELS around its point on
    surface, so a park or a business centre is on the map at every zoom."""
    mvt = f"ST_AsMVTGeom(geom_3857, b.env, {EXTENT}, {BUFFER}, true)"
    if not layer.keep_small_features or "Point" in layer.geometry_type:
        return mvt  # points never vanish
    half = f"b.pixel * {MIN_PIXELS / 2}"
    anchor = "ST_PointOnSurface(geom_3857)"
    if layer.is_polygon:
        stand_in = f"ST_Expand({anchor}, {half})"
    else:
        stand_in = f"ST_MakeLine(ST_Translate({anchor}, -{half}, 0), ST_Translate({anchor}, {half}, 0))"
    small = (f"greatest(ST_XMax(geom_3857) - ST_XMin(geom_3857), ST_YMax(geom_3857) - ST_YMin(geom_3857)) "
             f"< b.pixel * {MIN_PIXELS}")
    return (f"coalesce(CASE WHEN {small} THEN NULL ELSE {mvt} END, "
            f"ST_AsMVTGeom({stand_in}, b.env, {EXTENT}, {BUFFER}, true))")


def _layer_sql(layer: Layer, n: int, include_private: bool, cap: int, scoped: str | None) -> str:
    fields = layer.fields if include_private else layer.public_fields
    cols = "".join([*(f', "{f.name}"' for f in fields), f", {CITY_COLUMN}"])
    # Drop polygons smaller than about a pixel at this zoom (they would only add bytes), unless the layer's
    # small features matter.
    tiny = "AND ST_Area(ST_Envelope(geom_3857)) > power(b.pixel, 2) " \
        if layer.is_polygon and not layer.keep_small_features else ""
    city = f"AND {scoped} " if scoped else ""
    where = f"FROM {layer.id}, bounds b WHERE geom_3857 && b.env_buffered {tiny}{city}"
    # The cut is reported, not silent: a row past the cap (index only, no geometry work) means truncated.
    return (
        f"(SELECT coalesce(ST_AsMVT(t, '{layer.id}', {EXTENT}, 'geom', 'id'), ''::bytea) AS mvt, "
        f"EXISTS (SELECT 1 {where}OFFSET {cap}) AS truncated FROM ("
        f"SELECT id{cols}, {_geometry_sql(layer)} AS geom "
        f"{where}LIMIT {cap}) t WHERE geom IS NOT NULL) l{n}"
    )


def render_tile(conn: Connection, layers: list[Layer], z: int, x: int, y: int, include_private: bool,
                cap: int, cities: tuple[str, ...] = ()) -> Tile:
    """One MVT with a layer per collection, in the order given, at most `cap` features per layer, only the
    features of `cities` when given."""
    check_tile(z, x, y)
    if not layers:
        raise InvalidInput("no collections to draw")
    params = {"z": z, "x": x, "y": y}
    scoped = city_clause(cities, params)
    parts = [_layer_sql(layer, n, include_private, cap, scoped) for n, layer in enumerate(layers)]
    data_sql = " || ".join(f"l{n}.mvt" for n in range(len(layers)))
    flags = ", ".join(f"l{n}.truncated" for n in range(len(layers)))
    sql = (
        "WITH bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env, "
        f"ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}) AS env_buffered, "
        "(ST_XMax(ST_TileEnvelope(:z, :x, :y)) - ST_XMin(ST_TileEnvelope(:z, :x, :y))) / 256.0 AS pixel) "
        f"SELECT {data_sql} AS data, ARRAY[{flags}] AS truncated FROM {', '.join(parts)}"
    )
    row = conn.execute(text(sql), params).one()
    return make_tile(bytes(row.data), tuple(layer.id for layer, hit in zip(layers, row.truncated, strict=True) if hit))
