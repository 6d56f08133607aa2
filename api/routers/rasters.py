"""Rasters: registry, metadata with legend, PNG tiles (cached), point values and zonal statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from api.deps import Tiles
from gis.core.errors import InvalidInput, NotFound
from gis.tiles import rasters
from gis.tiles.vector import check_tile

router = APIRouter(prefix="/rasters", tags=["rasters"])


def _entry(request: Request, raster_id: str) -> dict:
    state = request.app.state

    def fetch():
        with state.engine.connect() as conn:
            return rasters.registry(conn)

    entry = state.catalog_cache.get("rasters", fetch).get(raster_id)
    if entry is None:
        raise NotFound(f"no raster {raster_id[:100]!r}; see /rasters")
    return entry


@router.get("", summary="The raster registry")
def list_rasters(request: Request):
    base = str(request.base_url).rstrip("/")
    with request.app.state.engine.connect() as conn:
        entries = rasters.registry(conn)
    return {"rasters": [{"id": e["id"], "title": {"id": e["title_id"], "en": e["title_en"]}, "units": e["units"],
                         "kind": e["kind"], "illustrative": e["illustrative"],
                         "links": [{"href": f"{base}/rasters/{e['id']}", "rel": "self", "type": "application/json"}]}
                        for e in entries.values()]}


@router.get("/{raster_id}", summary="Raster metadata: bounds, units, legend, illustrative flag")
def raster(request: Request, raster_id: str):
    base = str(request.base_url).rstrip("/")
    doc = rasters.describe(_entry(request, raster_id), request.app.state.settings.data_dir)
    doc["links"] = [{"href": f"{base}/rasters/{raster_id}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png",
                     "rel": "item", "type": "image/png", "templated": True}]
    return doc


@router.get("/{raster_id}/tiles/WebMercatorQuad/{z}/{x}/{y}.png", summary="A PNG tile of a raster")
async def raster_tile(request: Request, raster_id: str, z: int, x: int, y: int, tiles: Tiles,
                      if_none_match: Annotated[str | None, Header()] = None):
    check_tile(z, x, y)
    state = request.app.state
    entry = (state.catalog_cache.peek("rasters") or {}).get(raster_id)
    if entry is None:
        entry = await run_in_threadpool(_entry, request, raster_id)
    reply = await tiles.raster_tile(entry, z, x, y, if_none_match)
    return Response(reply.body, reply.status, reply.headers, reply.media_type)


@router.get("/{raster_id}/download", summary="The Cloud Optimized GeoTIFF itself")
def raster_download(request: Request, raster_id: str):
    entry = _entry(request, raster_id)
    path = rasters.path_of(entry, request.app.state.settings.data_dir)
    return FileResponse(path, media_type="image/tiff; application=geotiff; profile=cloud-optimized",
                        filename=f"{raster_id}.tif")


@router.get("/{raster_id}/point/{lon},{lat}", summary="The value at a point (lon, lat)")
def raster_point(request: Request, raster_id: str, lon: float, lat: float):
    return rasters.point(_entry(request, raster_id), request.app.state.settings.data_dir, lon, lat)


@router.post("/{raster_id}/statistics", summary="Statistics inside a GeoJSON polygon (lon/lat)")
def raster_statistics(request: Request, raster_id: str, geometry: Annotated[dict, Body()], bins: int = 10):
    if geometry.get("type") == "Feature":
        geometry = geometry.get("geometry") or {}
    if not 1 <= bins <= 256:
        raise InvalidInput("bins must be between 1 and 256")
    return rasters.statistics(_entry(request, raster_id), request.app.state.settings.data_dir, geometry, bins)
