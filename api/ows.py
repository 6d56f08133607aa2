"""What the three OGC web service routers (WMS, WMTS, WFS) share: the caller, refused as an OGC exception
report rather than problem+json (OGC clients read only those), the WMS context WMTS draws its tiles with, and an
image answer with its ETag (304 when the client has it)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from api.deps import principal
from gis.core.errors import Unauthorized
from gis.data.auth import Principal
from gis.ows.exceptions import OwsError
from gis.ows.wms_request import WmsContext
from gis.tiles.service import etag_matches


async def ows_caller(request: Request) -> Principal:
    """The caller of an OGC web service; a bad key is an OwsError the router writes as its exception report."""
    try:
        return await principal(request)
    except Unauthorized as exc:
        raise OwsError("NoApplicableCode", "X-API-Key", exc.detail, 401) from None


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def wms_context(request: Request, who: Principal) -> WmsContext:
    state = request.app.state
    settings = state.settings
    return WmsContext(state.engine, settings.database_url, state.catalog, state.tiles.cache, who,
                      f"{base_url(request)}/wms", settings.city.name, settings.city.metric_crs,
                      settings.wms_max_width, settings.wms_max_height, f"PetaKota - {settings.city.name}")


def cached_answer(request: Request, answer) -> Response:
    """A map, tile or legend answer (body, media_type, headers), or 304 when the client's ETag matches."""
    etag = (answer.headers or {}).get("ETag")
    if etag and etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=answer.headers)
    return Response(answer.body, media_type=answer.media_type, headers=answer.headers)
