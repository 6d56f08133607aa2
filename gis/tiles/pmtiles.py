"""Static export of vector tiles as one PMTiles archive, so the city website can host public maps with no
server. Tiles are made by the same code as the API's, for the same layers and fields."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import morecantile
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from sqlalchemy import Connection, Engine

from gis.core.errors import InvalidInput
from gis.tiles.vector import render_tile
from layers.schema import Layer

Bounds = tuple[float, float, float, float]


def tiles_to_export(bounds: Bounds, minzoom: int, maxzoom: int) -> list:
    if not 0 <= minzoom <= maxzoom <= 18:
        raise InvalidInput("zooms must satisfy 0 <= minzoom <= maxzoom <= 18")
    tms = morecantile.tms.get("WebMercatorQuad")
    return sorted(tms.tiles(*bounds, zooms=list(range(minzoom, maxzoom + 1))),
                  key=lambda t: zxy_to_tileid(t.z, t.x, t.y))


def archive_header(bounds: Bounds, minzoom: int, maxzoom: int) -> dict:
    west, south, east, north = bounds
    return {
        "tile_type": TileType.MVT, "tile_compression": Compression.GZIP,
        "min_zoom": minzoom, "max_zoom": maxzoom,
        "min_lon_e7": int(west * 1e7), "min_lat_e7": int(south * 1e7),
        "max_lon_e7": int(east * 1e7), "max_lat_e7": int(north * 1e7),
        "center_zoom": minzoom, "center_lon_e7": int((west + east) / 2 * 1e7),
        "center_lat_e7": int((south + north) / 2 * 1e7),
    }


def archive_metadata(layers: list[Layer], minzoom: int, maxzoom: int, include_private: bool) -> dict:
    return {
        "name": "PetaKota", "format": "pbf",
        "attribution": "; ".join(dict.fromkeys(layer.source for layer in layers)),
        "petakota": json.dumps({"illustrative": [layer.id for layer in layers if layer.illustrative],
                                "public_fields_only": not include_private}),
        "vector_layers": [{"id": layer.id, "description": layer.title_id, "minzoom": minzoom,
                           "maxzoom": maxzoom, "fields": {f.name: f.type for f in (
                               layer.fields if include_private else layer.public_fields)}}
                          for layer in layers],
    }


def render_tiles(conn: Connection, layers: list[Layer], tiles: Iterable, include_private: bool, cap: int,
                 cities: tuple[str, ...] = (), progress: Callable[[int], None] = lambda n: None,
                 ) -> Iterator[tuple[int, bytes]]:
    """(tile id, gzipped MVT) of each non-empty tile of `tiles`."""
    for t in tiles:
        tile = render_tile(conn, layers, t.z, t.x, t.y, include_private, cap, cities)
        progress(1)
        if tile.data:
            yield zxy_to_tileid(t.z, t.x, t.y), gzip.compress(tile.data)


def write_archive(out: Path, tiles: Iterable[tuple[int, bytes]], header: dict,
                  metadata: dict | Callable[[int], dict]) -> int:
    """Write the archive from (tile id, compressed tile) in tile id order into a temporary file next to `out`,
    then rename it over `out`: a web server serving the folder sees the old archive or the new one, never half
    of one, and a failed run (an error, an interrupt) leaves the old one as it was. `metadata` may be made from
the number of tiles written (it is written after them). Returns the tiles written."""
    tmp = out.with_name(out.name + ".tmp")
    written = 0
    try:
        with open(tmp, "wb") as f:
            writer = Writer(f)
            for tile_id, data in tiles:
                writer.write_tile(tile_id, data)
                written += 1
            writer.finalize(header, metadata(written) if callable(metadata) else metadata)
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return written


def export_pmtiles(engine: Engine, layers: list[Layer], out: Path, bounds: Bounds, minzoom: int, maxzoom: int,
                   include_private: bool, cap: int, progress: Callable[[int], None] = lambda n: None,
                   cities: tuple[str, ...] = (), extra_metadata: dict | None = None) -> int:
    """Write the archive, with only the features of `cities` when given (`extra_metadata` joins the archive's
    metadata). Returns the number of non-empty tiles."""
    tiles = tiles_to_export(bounds, minzoom, maxzoom)
    metadata = {**archive_metadata(layers, minzoom, maxzoom, include_private), **(extra_metadata or {})}
    with engine.connect() as conn:
        rendered = render_tiles(conn, layers, tiles, include_private, cap, cities, progress)
        return write_archive(out, rendered, archive_header(bounds, minzoom, maxzoom), metadata)
