"""Vector tiles for clients that accept gzip (every browser): compressed once when rendered and kept so, so a
cached tile costs no compression per request; the same MVT as sent uncompressed, with the same ETag."""

from __future__ import annotations

import asyncio
import gzip

import mapbox_vector_tile
import morecantile

from gis.tiles.service import TileService
from layers import CATALOG

TMS = morecantile.tms.get("WebMercatorQuad")
TILE = TMS.tile(98.49, 3.60, 13)  # central Binjai


def test_a_cached_vector_tile_is_compressed_once_and_holds_the_same_tile(engine, settings):
    service = TileService(engine, cache_bytes=10_000_000, feature_cap=10_000, data_dir=settings.data_dir)
    zoning = [CATALOG["zoning"]]

    async def run():
        first = await service.vector_tile(zoning, TILE.z, TILE.x, TILE.y, False, gzip_ok=True)
        again = await service.vector_tile(zoning, TILE.z, TILE.x, TILE.y, False, gzip_ok=True)
        plain = await service.vector_tile(zoning, TILE.z, TILE.x, TILE.y, False)
        return first, again, plain

    first, again, plain = asyncio.run(run())
    assert first.headers["Content-Encoding"] == "gzip" and first.headers["Vary"] == "Accept-Encoding"
    assert again.body is first.body  # the kept bytes: not compressed again
    assert "Content-Encoding" not in plain.headers and gzip.decompress(first.body) == plain.body
    assert len(first.body) < len(plain.body) and first.headers["ETag"] == plain.headers["ETag"]
    assert mapbox_vector_tile.decode(plain.body)["zoning"]["features"]
    cached = next(iter(service.cache._tiles.values()))
    assert service.cache.size == len(cached.data) + len(cached.gzipped)  # both count against the budget


def test_over_http_a_client_accepting_gzip_gets_the_kept_compression(http):
    path = f"/tiles/WebMercatorQuad/{TILE.z}/{TILE.x}/{TILE.y}"
    plain = http.get(path, headers={"Accept-Encoding": "identity"})
    zipped = http.get(path, headers={"Accept-Encoding": "gzip, deflate"})  # httpx decompresses it
    assert plain.status_code == zipped.status_code == 200 and "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip" and zipped.content == plain.content
    assert zipped.headers["etag"] == plain.headers["etag"] and zipped.headers["vary"] == "Accept-Encoding"
    # The bytes compressed once at level 6, not by the gzip middleware per request (level 9, a timestamp)
    assert int(zipped.headers["content-length"]) == len(gzip.compress(plain.content, compresslevel=6, mtime=0))
    again = http.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]})
    assert again.status_code == 304 and not again.content
