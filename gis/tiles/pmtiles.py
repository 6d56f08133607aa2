"""Static export of vector tiles as one PMTiles archive, so the city website can host public maps with no
server. Tiles are made by the same code as the API's, for the same layers and fields."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import morecantile
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from sqlalchemy import Engine

from gis.core.errors import InvalidInput
from gis.tiles.vector import render_tile
from layers.schema import Layer


def tiles_to_export(bounds: tuple[float, float, float, float], minzoom: int, maxzoom: int) -> list:
    if not 0 <= minzoom <= maxzoom <= 18:
        raise InvalidInput("zooms must satisfy 0 <= minzoom <= maxzoom <= 18")
    tms = morecantile.tms.get("WebMercatorQuad")
    return sorted(tms.tiles(*bounds, zooms=list(range(minzoom, maxzoom + 1))),
                  key=lambda t: zxy_to_tileid(t.z, t.x, t.y))


def export_pmtiles(engine: Engine, layers: list[Layer], out: Path, bounds: tuple[float, float, float, float],
                   minzoom: int, maxzoom: int, include_private: bool, cap: int,
                   progress: Callable[[int], None] = lambda n: None, cities: tuple[str, ...] = ()) -> int:
    """Write the archive (via a temporary file, so a failed export leaves nothing half-written), with only the
    features of `cities` when given. Returns the number of non-empty tiles."""
    tiles = tiles_to_export(bounds, minzoom, maxzoom)
    tmp = out.with_suffix(out.suffix + ".tmp")
    written = 0
    with open(tmp, "wb") as f, engine.connect() as conn:
        writer = Writer(f)
        for t in tiles:
            tile = render_tile(conn, layers, t.z, t.x, t.y, include_private, cap, cities)
            if tile.data:
                writer.write_tile(zxy_to_tileid(t.z, t.x, t.y), gzip.compress(tile.data))
                written += 1
            progress(1)
        west, south, east, north = bounds
        header = {
            "tile_type": TileType.MVT, "tile_compression": Compression.GZIP,
            "min_zoom": minzoom, "max_zoom": maxzoom,
            "min_lon_e7": int(west * 1e7), "min_lat_e7": int(south * 1e7),
            "max_lon_e7": int(east * 1e7), "max_lat_e7": int(north * 1e7),
            "center_zoom": minzoom, "center_lon_e7": int((west + east) / 2 * 1e7),
            "center_lat_e7": int((south + north) / 2 * 1e7),
        }
        metadata = {
            "name": "PetaKota", "format": "pbf",
            "attribution": "; ".join(dict.fromkeys(layer.source for layer in layers)),
            "petakota": json.dumps({"illustrative": [layer.id for layer in layers if layer.illustrative],
                                    "public_fields_only": not include_private}),
            "vector_layers": [{"id": layer.id, "description": layer.title_id, "minzoom": minzoom,
                               "maxzoom": maxzoom, "fields": {f.name: f.type for f in (
                                   layer.fields if include_private else layer.public_fields)}}
                              for layer in layers],
        }
        writer.finalize(header, metadata)
    tmp.replace(out)
    return written
