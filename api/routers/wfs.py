"""WFS 2.0.0 (KVP GET, read-only) for geoportals and desktop GIS; the service itself is gis/ows/wfs.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import principal
from gis.core.errors import Unauthorized
from gis.ows.exceptions import XML_MEDIA_TYPE, OwsError, exception_report
from gis.ows.wfs import WfsContext, handle

router = APIRouter(tags=["OGC WFS 2.0"])


@router.get("/wfs", summary="OGC Web Feature Service 2.0.0 (GetCapabilities, DescribeFeatureType, GetFeature)",
            response_class=Response)
async def wfs(request: Request):
    try:
        who = await principal(request)
    except Unauthorized as exc:
        return _report(OwsError("NoApplicableCode", "X-API-Key", exc.detail, 401))
    state = request.app.state
    settings = state.settings
    ctx = WfsContext(state.engine, state.catalog, who, f"{str(request.base_url).rstrip('/')}/wfs",
                     settings.city.name, settings.city.metric_crs, settings.count_budget_ms)
    try:
        answer = await run_in_threadpool(handle, dict(request.query_params), ctx)
    except OwsError as exc:
        return _report(exc)
    return Response(answer.body, media_type=answer.media_type, status_code=answer.status)


def _report(error: OwsError) -> Response:
    return Response(exception_report(error), status_code=error.status, media_type=XML_MEDIA_TYPE)
