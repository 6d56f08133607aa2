"""WMS 1.3.0 and 1.1.1 (KVP GET) for geoportals and desktop GIS; the service itself is gis/ows/wms.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.ows import cached_answer, ows_caller, wms_context
from gis.ows.exceptions import WMS_EXCEPTION_TYPES, OwsError, service_exception_report, wms_status
from gis.ows.wms import error_version, handle

router = APIRouter(tags=["OGC WMS 1.3.0"])

_PARAMETERS = {
    "SERVICE": "WMS", "REQUEST": "GetCapabilities, GetMap, GetFeatureInfo or GetLegendGraphic",
    "VERSION": "1.3.0 (default) or 1.1.1", "LAYERS": "layer ids, comma-separated, drawn in order",
    "STYLES": "empty or default", "CRS": "1.3.0: CRS:84, EPSG:4326 (lat,lon), EPSG:3857, EPSG:32647, ...",
    "SRS": "1.1.1: as CRS (EPSG:4326 is lon,lat)", "BBOX": "minx,miny,maxx,maxy in the CRS's axis order",
    "WIDTH": "pixels", "HEIGHT": "pixels", "FORMAT": "image/png, image/png; mode=8bit or image/jpeg",
    "TRANSPARENT": "TRUE or FALSE", "BGCOLOR": "0xRRGGBB", "QUERY_LAYERS": "GetFeatureInfo: layers queried",
    "I": "GetFeatureInfo 1.3.0: pixel column", "J": "GetFeatureInfo 1.3.0: pixel row",
    "INFO_FORMAT": "text/html, application/json or text/plain", "FEATURE_COUNT": "features per layer",
    "LAYER": "GetLegendGraphic: the layer", "lang": "id (default) or en",
    "city": "Kemendagri codes of the cities in scope, comma-separated"}
_OPENAPI = {"parameters": [{"name": name, "in": "query", "required": False, "schema": {"type": "string"},
                            "description": doc} for name, doc in _PARAMETERS.items()],
            "responses": {"200": {"description": "Capabilities, a map image, feature information or a legend; or "
                                                 "an OGC ServiceExceptionReport (text/xml, "
                                                 "application/vnd.ogc.se_xml) for a refused request",
                                  "content": {"text/xml": {}, "image/png": {}, "image/jpeg": {},
                                              "application/json": {}, "text/html": {}, "text/plain": {}}},
                          "401": {"description": "OGC ServiceExceptionReport: the API key is not valid",
                                  "content": {"text/xml": {}}}}}


@router.get("/wms", summary="OGC Web Map Service 1.3.0 / 1.1.1 (GetCapabilities, GetMap, GetFeatureInfo, "
                            "GetLegendGraphic)", response_class=Response, openapi_extra=_OPENAPI)
async def wms(request: Request):
    params = dict(request.query_params)
    version = error_version(params)
    try:
        ctx = wms_context(request, await ows_caller(request))
        answer = await run_in_threadpool(handle, params, ctx)
    except OwsError as exc:
        return _report(exc, version)
    return cached_answer(request, answer)


def _report(error: OwsError, version: str) -> Response:
    return Response(service_exception_report(error, version), status_code=wms_status(error),
                    media_type=WMS_EXCEPTION_TYPES[version], headers={"Cache-Control": "no-store"})
