"""Mapbox Vector Tiles made by PostGIS (ST_AsMVT / ST_AsMVTGeom), one or several layers per tile, and the
in-memory tile cache that edits invalidate."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import Connection, text

from gis.core.errors import InvalidInput
from layers.schema import Layer

EXTENT = 4096  # tile coordinate grid: geometry is quantised (and so simplified) to it
BUFFER = 64  # pixels of geometry kept outside the tile edge, so lines and fills join across tiles
MAX_ZOOM = 22


@dataclass(frozen=True)
class Tile:
    data: bytes
    etag: str
    truncated: tuple[str, ...]  # layers that hit the feature cap


def check_tile(z: int, x: int, y: int) -> None:
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidInput(f"tile {z}/{x}/{y} is outside the WebMercatorQuad matrix (zoom 0-{MAX_ZOOM})")


def _layer_sql(layer: Layer, n: int, include_private: bool, cap: int) -> str:
    fields = layer.fields if include_private else layer.public_fields
    cols = "".join(f', "{f.name}"' for f in fields)
    # Drop polygons smaller than about a pixel at this zoom: they would only add bytes.
    tiny = "AND ST_Area(ST_Envelope(geom_3857)) > power(b.pixel, 2) " if layer.is_polygon else ""
    where = f"FROM {layer.id}, bounds b WHERE geom_3857 && b.env_buffered {tiny}"
    # The cut is reported, not silent: a row past the cap (index only, no geometry work) means truncated.
    return (
        f"(SELECT coalesce(ST_AsMVT(t, '{layer.id}', {EXTENT}, 'geom', 'id'), ''::bytea) AS mvt, "
        f"EXISTS (SELECT 1 {where}OFFSET {cap}) AS truncated FROM ("
        f"SELECT id{cols}, ST_AsMVTGeom(geom_3857, b.env, {EXTENT}, {BUFFER}, true) AS geom "
        f"{where}LIMIT {cap}) t WHERE geom IS NOT NULL) l{n}"
    )


def render_tile(conn: Connection, layers: list[Layer], z: int, x: int, y: int, include_private: bool,
                cap: int) -> Tile:
    """One MVT with a layer per collection, in the order given, at most `cap` features per layer."""
    check_tile(z, x, y)
    if not layers:
        raise InvalidInput("no collections to draw")
    parts = [_layer_sql(layer, n, include_private, cap) for n, layer in enumerate(layers)]
    data_sql = " || ".join(f"l{n}.mvt" for n in range(len(layers)))
    flags = ", ".join(f"l{n}.truncated" for n in range(len(layers)))
    sql = (
        "WITH bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env, "
        f"ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}) AS env_buffered, "
        "(ST_XMax(ST_TileEnvelope(:z, :x, :y)) - ST_XMin(ST_TileEnvelope(:z, :x, :y))) / 256.0 AS pixel) "
        f"SELECT {data_sql} AS data, ARRAY[{flags}] AS truncated FROM {', '.join(parts)}"
    )
    row = conn.execute(text(sql), {"z": z, "x": x, "y": y}).one()
    data = bytes(row.data)
    truncated = tuple(layer.id for layer, hit in zip(layers, row.truncated, strict=True) if hit)
    return Tile(data, f'"{hashlib.blake2b(data, digest_size=12).hexdigest()}"', truncated)


class TileCache:
    """Bytes in memory, least recently used out first. Keys carry each layer's edit generation, so an edit
    makes every cached tile of that layer unreachable at once."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._tiles: OrderedDict = OrderedDict()
        self._size = 0
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()

    def generation(self, layer_id: str) -> int:
        return self._generations.get(layer_id, 0)

    def invalidate(self, layer_id: str) -> None:
        with self._lock:
            self._generations[layer_id] = self._generations.get(layer_id, 0) + 1

    def key(self, kind: str, layer_ids: tuple[str, ...], *rest) -> tuple:
        return (kind, layer_ids, tuple(self.generation(i) for i in layer_ids), *rest)

    def get(self, key):
        with self._lock:
            tile = self._tiles.get(key)
            if tile is not None:
                self._tiles.move_to_end(key)
            return tile

    def put(self, key, tile) -> None:
        size = len(tile.data)
        if size > self.max_bytes // 10:
            return
        with self._lock:
            old = self._tiles.pop(key, None)
            if old is not None:
                self._size -= len(old.data)
            self._tiles[key] = tile
            self._size += size
            while self._size > self.max_bytes:
                _, evicted = self._tiles.popitem(last=False)
                self._size -= len(evicted.data)

    def clear(self) -> None:
        with self._lock:
            self._tiles.clear()
            self._size = 0
