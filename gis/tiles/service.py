"""The tile service: one cache policy for vector (MVT) and raster (PNG) tiles. Tiles live in memory within one
byte budget, least recently used out first; keys carry each source's change generation, so an edit (reported
by the write hooks or the NOTIFY listener) makes every cached tile of that layer unreachable at once; answers
carry an ETag and become 304 when the client already has the tile. A cached tile costs no SQL and no thread."""

from __future__ import annotations

import dataclasses
import gzip
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import anyio.to_thread
from sqlalchemy import Engine

from gis.data.changes import EVERYTHING
from gis.tiles import rasters
from gis.tiles.city_mask import CITY_LAYER, inside_cities, mask_png
from gis.tiles.vector import Tile, check_tile, make_tile, render_tile
from layers.schema import Layer

MVT = "application/vnd.mapbox-vector-tile"
PNG = "image/png"
GZIP_MIN_BYTES = 1000  # smaller tiles go as they are (as the app's gzip middleware does for any answer)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match (RFC 9110 13.1.2): `*` or any listed tag, compared weakly (a W/ prefix does not matter)."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


@dataclass(frozen=True)
class TileReply:
    """What to answer: status 200 (with the tile), 204 (nothing there) or 304 (the client has it)."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str | None = None


class TileCache:
    """Bytes in memory within `max_bytes`, least recently used out first."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._tiles: OrderedDict = OrderedDict()
        self._size = 0
        self._generations: dict[str, int] = {}
        self._epoch = 0  # bumped by `clear`, so a tile rendered before it is never stored under a live key
        self._lock = threading.Lock()

    def invalidate(self, source: str) -> None:
        with self._lock:
            self._generations[source] = self._generations.get(source, 0) + 1

    def key(self, kind: str, sources: tuple[str, ...], *rest) -> tuple:
        return (kind, sources, self._epoch, tuple(self._generations.get(s, 0) for s in sources), *rest)

    def get(self, key) -> Tile | None:
        with self._lock:
            tile = self._tiles.get(key)
            if tile is not None:
                self._tiles.move_to_end(key)
            return tile

    def put(self, key, tile: Tile) -> None:
        size = tile.size
        if size > self.max_bytes // 10:
            return
        with self._lock:
            if key[2] != self._epoch:
                return
            old = self._tiles.pop(key, None)
            if old is not None:
                self._size -= old.size
            self._tiles[key] = tile
            self._size += size
            while self._size > self.max_bytes:
                _, evicted = self._tiles.popitem(last=False)
                self._size -= evicted.size

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._tiles.clear()
            self._size = 0

    @property
    def size(self) -> int:
        return self._size


class TileService:
    def __init__(self, engine: Engine, *, cache_bytes: int, feature_cap: int, data_dir: Path):
        self.engine = engine
        self.cache = TileCache(cache_bytes)
        self.feature_cap = feature_cap
        self.data_dir = data_dir

    def invalidate(self, layer_id: str) -> None:
        """A layer changed: its cached tiles are gone. EVERYTHING (notifications may have been missed) empties
        the cache."""
        if layer_id == EVERYTHING:
            self.cache.clear()
        else:
            self.cache.invalidate(layer_id)

    def forget_raster(self, raster_id: str) -> None:
        """A raster was replaced or removed: its cached tiles are gone."""
        self.cache.invalidate(f"raster:{raster_id}")

    # --- vector tiles -----------------------------------------------------------------------------------------

    async def vector_tile(self, layers: list[Layer], z: int, x: int, y: int, include_private: bool,
                          if_none_match: str | None = None, cities: tuple[str, ...] = (),
                          gzip_ok: bool = False) -> TileReply:
        """One MVT with a layer per collection (only the features of `cities` when given): from memory if
        cached, else rendered by PostGIS on a worker thread and kept. `gzip_ok` (the client accepts gzip): the
        tile compressed when it was rendered, so a cached tile is never compressed again per request."""
        check_tile(z, x, y)
        key = self.cache.key("mvt", tuple(layer.id for layer in layers), z, x, y, include_private, cities)
        tile = self.cache.get(key)
        if tile is None:
            tile = await anyio.to_thread.run_sync(self._render_vector, key, layers, z, x, y, include_private,
                                                  cities)
        headers = {"ETag": tile.etag,
                   # no-cache: the browser asks again (a cheap 304), so an edit shows on the next pan
                   "Cache-Control": ("private" if include_private else "public") + ", no-cache"}
        if tile.truncated:
            headers["X-Tile-Truncated"] = ",".join(tile.truncated)
        if tile.gzipped:
            headers["Vary"] = "Accept-Encoding"
        if etag_matches(if_none_match, tile.etag):
            return TileReply(304, headers=headers)
        if gzip_ok and tile.gzipped:
            return TileReply(200, tile.gzipped, {**headers, "Content-Encoding": "gzip"}, MVT)
        return TileReply(200, tile.data, headers, MVT)

    def _render_vector(self, key, layers: list[Layer], z: int, x: int, y: int, include_private: bool,
                       cities: tuple[str, ...] = ()) -> Tile:
        with self.engine.connect() as conn:
            tile = render_tile(conn, layers, z, x, y, include_private, self.feature_cap, cities)
        if len(tile.data) >= GZIP_MIN_BYTES:  # level 6: most of level 9's saving at a fraction of its time
            tile = dataclasses.replace(tile, gzipped=gzip.compress(tile.data, compresslevel=6, mtime=0))
        self.cache.put(key, tile)
        return tile

    # --- raster tiles -----------------------------------------------------------------------------------------

    async def raster_tile(self, entry: dict, z: int, x: int, y: int, if_none_match: str | None = None,
                          private: bool = False, cities: tuple[str, ...] = ()) -> TileReply:
        """A PNG tile of a registered raster, transparent outside `cities` when given; 204 where it has no
        pixels. A scoped tile's key names the scope and the city layer's generation (a boundary edit redraws)."""
        check_tile(z, x, y)
        sources = (f"raster:{entry['id']}", *((CITY_LAYER,) if cities else ()))
        key = self.cache.key("png", sources, entry["path"], z, x, y, *((cities,) if cities else ()))
        tile = self.cache.get(key)
        if tile is None:
            tile = await anyio.to_thread.run_sync(self._render_raster, key, entry, z, x, y, cities)
        if not tile.data:
            return TileReply(204)
        # Raster files do not change in place (a new result is a new raster), so browsers may keep tiles.
        headers = {"ETag": tile.etag, "Cache-Control": ("private" if private else "public") + ", max-age=3600"}
        if etag_matches(if_none_match, tile.etag):
            return TileReply(304, headers=headers)
        return TileReply(200, tile.data, headers, PNG)

    def _render_raster(self, key, entry: dict, z: int, x: int, y: int, cities: tuple[str, ...] = ()) -> Tile:
        data = rasters.render_tile(entry, self.data_dir, z, x, y) or b""
        if data and cities:
            with self.engine.connect() as conn:
                data = mask_png(data, inside_cities(conn, cities, z, x, y, rasters.TILE_SIZE))
        tile = make_tile(data)
        self.cache.put(key, tile)
        return tile
