"""Rasters: registry, metadata with legend, PNG tiles (cached), point values and zonal statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from api.deps import Caller, Catalog, Tiles
from api.routers.items import CITY_DOC
from gis.core.errors import InvalidInput, NotFound
from gis.data.auth import Principal
from gis.tiles import rasters
from gis.tiles.vector import check_tile

router = APIRouter(prefix="/rasters", tags=["rasters"])


def _entry(request: Request, raster_id: str, who: Principal) -> dict:
    state = request.app.state

    def fetch():
        with state.engine.connect() as conn:
            return rasters.registry(conn)

    entry = state.catalog_cache.get("rasters", fetch).get(raster_id)
    if entry is None:  # registered since the cache was filled, maybe by another service process
        with state.engine.connect() as conn:
            entry = rasters.lookup(conn, raster_id)
    if not rasters.readable(entry, who.name):
        raise NotFound(f"no raster {raster_id[:100]!r}; see /rasters")
    return entry


@router.get("", summary="The raster registry")
def list_rasters(request: Request, who: Caller):
    base = str(request.base_url).rstrip("/")
    with request.app.state.engine.connect() as conn:
        entries = {k: e for k, e in rasters.registry(conn).items() if rasters.readable(e, who.name)}
    return {"rasters": [{"id": e["id"], "title": {"id": e["title_id"], "en": e["title_en"]}, "units": e["units"],
                         "kind": e["kind"], "illustrative": e["illustrative"],
                         "links": [{"href": f"{base}/rasters/{e['id']}", "rel": "self", "type": "application/json"}]}
                        for e in entries.values()]}


@router.get("/{raster_id}", summary="Raster metadata: bounds, units, legend, illustrative flag")
def raster(request: Request, raster_id: str, who: Caller):
    base = str(request.base_url).rstrip("/")
    doc = rasters.describe(_entry(request, raster_id, who), request.app.state.settings.data_dir)
    doc["links"] = [{"href": f"{base}/rasters/{raster_id}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png",
                     "rel": "item", "type": "image/png", "templated": True}]
    return doc


@router.get("/{raster_id}/tiles/WebMercatorQuad/{z}/{x}/{y}.png",
            summary="A PNG tile of a raster (?city=: transparent outside those cities)")
async def raster_tile(request: Request, raster_id: str, z: int, x: int, y: int, who: Caller, tiles: Tiles,
                      catalog: Catalog, if_none_match: Annotated[str | None, Header()] = None,
                      city: Annotated[str | None, Query(description=CITY_DOC)] = None):
    check_tile(z, x, y)
    cities = await catalog.scope_async(city)
    entry = (request.app.state.catalog_cache.peek("rasters") or {}).get(raster_id)
    if not rasters.readable(entry, who.name):
        entry = await run_in_threadpool(_entry, request, raster_id, who)
    # A result raster is its owner's: no shared caches.
    reply = await tiles.raster_tile(entry, z, x, y, if_none_match, private=bool(entry["owner"]), cities=cities)
    return Response(reply.body, reply.status, reply.headers, reply.media_type)


@router.get("/{raster_id}/download", summary="The Cloud Optimized GeoTIFF itself")
def raster_download(request: Request, raster_id: str, who: Caller):
    entry = _entry(request, raster_id, who)
    path = rasters.path_of(entry, request.app.state.settings.data_dir)
    return FileResponse(path, media_type="image/tiff; application=geotiff; profile=cloud-optimized",
                        filename=f"{raster_id}.tif")


@router.get("/{raster_id}/point/{lon},{lat}", summary="The value at a point (lon, lat)")
def raster_point(request: Request, raster_id: str, lon: float, lat: float, who: Caller):
    return rasters.point(_entry(request, raster_id, who), request.app.state.settings.data_dir, lon, lat)


@router.post("/{raster_id}/statistics", summary="Statistics inside a GeoJSON polygon (lon/lat)")
def raster_statistics(request: Request, raster_id: str, who: Caller, geometry: Annotated[dict, Body()],
                      bins: int = 10):
    if geometry.get("type") == "Feature":
        geometry = geometry.get("geometry") or {}
    if not 1 <= bins <= 256:
        raise InvalidInput("bins must be between 1 and 256")
    return rasters.statistics(_entry(request, raster_id, who), request.app.state.settings.data_dir, geometry, bins)
