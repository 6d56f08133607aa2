"""WFS 2.0.0 (KVP GET, read-only) for geoportals and desktop GIS; the service itself is gis/ows/wfs.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.ows import base_url, ows_caller
from gis.ows.exceptions import XML_MEDIA_TYPE, OwsError, exception_report
from gis.ows.wfs import WfsContext, handle

router = APIRouter(tags=["OGC WFS 2.0"])

# Documented for /api; the service reads them case-insensitively, as OGC KVP requests are written.
_PARAMETERS = {
    "service": "WFS", "request": "GetCapabilities, DescribeFeatureType or GetFeature", "version": "2.0.0",
    "typeNames": "feature types, comma-separated: petakota:<layer id>",
    "outputFormat": "application/gml+xml; version=3.2 (default) or application/json",
    "bbox": "minx,miny,maxx,maxy[,crs]; in urn:ogc:def:crs:EPSG::4326 (the default) lat,lon",
    "resourceId": "<layer id>.<feature id>, comma-separated", "count": "features per page (at most 10000)",
    "startIndex": "the first feature (0-based)", "srsName": "EPSG:4326, EPSG:3857 or the city's UTM zone",
    "resultType": "results or hits", "sortBy": "property ASC|DESC, comma-separated",
    "filter": "FES 2.0: one BBOX on a gml:Envelope, or ResourceId elements",
    "lang": "id (default) or en", "city": "Kemendagri codes of the cities in scope, comma-separated"}
_OPENAPI = {"parameters": [{"name": name, "in": "query", "required": False, "schema": {"type": "string"},
                            "description": doc} for name, doc in _PARAMETERS.items()],
            "responses": {"200": {"description": "Capabilities, an application schema or features",
                                  "content": {"application/xml": {}, "application/gml+xml; version=3.2": {},
                                              "application/json": {}}},
                          "400": {"description": "OGC exception report (ows:ExceptionReport)",
                                  "content": {"application/xml": {}}},
                          "404": {"description": "OGC exception report: no feature has the resource ids given",
                                  "content": {"application/xml": {}}}}}


@router.get("/wfs", summary="OGC Web Feature Service 2.0.0 (GetCapabilities, DescribeFeatureType, GetFeature)",
            response_class=Response, openapi_extra=_OPENAPI)
async def wfs(request: Request):
    settings = request.app.state.settings
    try:
        who = await ows_caller(request)
        state = request.app.state
        ctx = WfsContext(state.engine, state.catalog, who, f"{base_url(request)}/wfs", settings.city.name,
                         settings.city.metric_crs, settings.count_budget_ms)
        answer = await run_in_threadpool(handle, dict(request.query_params), ctx)
    except OwsError as exc:
        return _report(exc)
    return Response(answer.body, media_type=answer.media_type, status_code=answer.status)


def _report(error: OwsError) -> Response:
    return Response(exception_report(error), status_code=error.status, media_type=XML_MEDIA_TYPE)
