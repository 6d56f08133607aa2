"""WMTS 1.0.0 (KVP and RESTful) for geoportals and desktop GIS; the service itself is gis/ows/wmts.py."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import principal
from gis.core.errors import Unauthorized
from gis.ows.exceptions import XML_MEDIA_TYPE, OwsError, exception_report
from gis.ows.wms_request import WmsContext
from gis.ows.wmts import WmtsContext, get_capabilities, get_tile, handle_kvp
from gis.tiles.service import etag_matches

router = APIRouter(tags=["OGC WMTS 1.0.0"])
_KVP_DOC = {"parameters": [{"name": name, "in": "query", "required": False, "schema": {"type": "string"},
                            "description": doc} for name, doc in {
    "SERVICE": "WMTS", "REQUEST": "GetCapabilities or GetTile", "LAYER": "a layer or raster id",
    "STYLE": "default", "FORMAT": "image/png", "TILEMATRIXSET": "WebMercatorQuad or the city's UTM grid (UTM47N)",
    "TILEMATRIX": "the level", "TILEROW": "row", "TILECOL": "column", "lang": "id (default) or en",
    "city": "Kemendagri codes of the cities in scope"}.items()]}


async def _answer(request: Request, work: Callable[[WmtsContext], object]) -> Response:
    try:
        who = await principal(request)
    except Unauthorized as exc:
        return _report(OwsError("NoApplicableCode", "X-API-Key", exc.detail, 401))
    state = request.app.state
    settings = state.settings
    base = str(request.base_url).rstrip("/")
    wms = WmsContext(state.engine, settings.database_url, state.catalog, state.tiles.cache, who, f"{base}/wms",
                     settings.city.name, settings.city.metric_crs, settings.wms_max_width, settings.wms_max_height,
                     f"PetaKota - {settings.city.name}")
    ctx = WmtsContext(wms, f"{base}/wmts", settings.data_dir, settings.city.center_lon, settings.city.center_lat)
    try:
        answer = await run_in_threadpool(work, ctx)
    except OwsError as exc:
        return _report(exc)
    etag = (answer.headers or {}).get("ETag")
    if etag and etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=answer.headers)
    return Response(answer.body, media_type=answer.media_type, headers=answer.headers)


def _report(error: OwsError) -> Response:
    return Response(exception_report(error, "1.0.0"), status_code=error.status, media_type=XML_MEDIA_TYPE)


@router.get("/wmts", summary="OGC Web Map Tile Service 1.0.0, KVP (GetCapabilities, GetTile)",
            response_class=Response, openapi_extra=_KVP_DOC)
async def wmts_kvp(request: Request):
    params = dict(request.query_params)
    return await _answer(request, lambda ctx: handle_kvp(params, ctx))


@router.get("/wmts/1.0.0/WMTSCapabilities.xml", summary="WMTS 1.0.0 capabilities (RESTful)",
            response_class=Response)
async def wmts_capabilities(request: Request):
    params = dict(request.query_params)
    return await _answer(request, lambda ctx: get_capabilities(params, ctx))


@router.get("/wmts/1.0.0/{layer}/{style}/{tile_matrix_set}/{tile_matrix}/{tile_row}/{tile_col}.png",
            summary="A WMTS tile (RESTful): 256x256 PNG", response_class=Response)
async def wmts_tile(request: Request, layer: str, style: str, tile_matrix_set: str, tile_matrix: str,
                    tile_row: str, tile_col: str):
    extra = {k: v for k, v in request.query_params.items() if k.lower() in ("city", "lang")}
    return await _answer(request, lambda ctx: get_tile(layer, style, "image/png", tile_matrix_set, tile_matrix,
                                                       tile_row, tile_col, extra, ctx, status_unknown=404))
