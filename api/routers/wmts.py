"""WMTS 1.0.0 (KVP and RESTful) for geoportals and desktop GIS; the service itself is gis/ows/wmts.py."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.ows import base_url, cached_answer, ows_caller, wms_context
from gis.ows.exceptions import XML_MEDIA_TYPE, OwsError, exception_report
from gis.ows.wmts import WmtsContext, get_capabilities, get_tile, handle_kvp

router = APIRouter(tags=["OGC WMTS 1.0.0"])
_KVP_DOC = {"parameters": [{"name": name, "in": "query", "required": False, "schema": {"type": "string"},
                            "description": doc} for name, doc in {
    "SERVICE": "WMTS", "REQUEST": "GetCapabilities or GetTile", "LAYER": "a layer or raster id",
    "STYLE": "default", "FORMAT": "image/png", "TILEMATRIXSET": "WebMercatorQuad or the city's UTM grid (UTM47N)",
    "TILEMATRIX": "the level", "TILEROW": "row", "TILECOL": "column", "lang": "id (default) or en",
    "city": "Kemendagri codes of the cities in scope"}.items()]}


async def _answer(request: Request, work: Callable[[WmtsContext], object]) -> Response:
    settings = request.app.state.settings
    try:
        wms = wms_context(request, await ows_caller(request))
        ctx = WmtsContext(wms, f"{base_url(request)}/wmts", settings.data_dir, settings.city.center_lon,
                          settings.city.center_lat)
        answer = await run_in_threadpool(work, ctx)
    except OwsError as exc:
        return _report(exc)
    return cached_answer(request, answer)


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
