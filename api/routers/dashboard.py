"""The programme dashboard: the page, the data it shows (as the caller's key may see it), a programme's drill-down,
the PDF, and the evidence attached to programme locations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from api.deps import Caller, Catalog
from gis.core.errors import NotFound
from gis.data.attachments import file_path
from gis.render.dashboard import (
    check_year,
    dashboard_attachment,
    dashboard_page,
    parse_as_of,
    programme_drilldown,
)

router = APIRouter(tags=["maps"])
CITY_DOC = "Kemendagri code of the city (e.g. 12.75); default: the service's own city. See /cities"
City = Annotated[str | None, Query(description=CITY_DOC)]
Year = Annotated[int | None, Query(description="budget year (default: this year's programmes, else the newest)")]
AsOf = Annotated[str | None, Query(description="statuses as on this date, YYYY-MM-DD (default: today)")]
Lang = Annotated[str, Query(description="id (Bahasa Indonesia, default) or en")]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/dashboard", response_class=HTMLResponse,
            summary="Programme dashboard: scorecards per OPD and kecamatan, map by status, drill-down")
def dashboard(request: Request, catalog_service: Catalog, city: City = None, lang: Lang = "id", year: Year = None,
              as_of: AsOf = None):
    state = request.app.state
    page = dashboard_page(state.engine, state.settings, catalog_service.cities(), base=_base(request), city=city,
                          lang=lang, year=year, as_of=parse_as_of(as_of) if as_of else None)
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


@router.get("/dashboard/data", summary="The dashboard's scorecards, programmes and locations (as your key sees them)")
def data(request: Request, who: Caller, catalog_service: Catalog, city: City = None, year: Year = None,
         as_of: AsOf = None, lang: Lang = "id"):
    body = request.app.state.dashboard_cache.json(catalog_service.cities(), who, city=city, year=check_year(year),
                                      as_of=parse_as_of(as_of), lang=lang)
    return Response(body, media_type="application/json", headers={"Cache-Control": "private, no-store"})


@router.get("/dashboard/programmes/{kode}", summary="A programme: status, indicators, progress history, evidence")
def programme(request: Request, kode: str, who: Caller, catalog_service: Catalog, as_of: AsOf = None,
              lang: Lang = "id"):
    body = programme_drilldown(request.app.state.engine, catalog_service.cities(), who, kode,
                               as_of=parse_as_of(as_of), lang=lang)
    return JSONResponse(body, headers={"Cache-Control": "private, no-store"})


@router.get("/dashboard.pdf", summary="The dashboard as a PDF: scorecards and the map of locations by status")
async def dashboard_pdf(request: Request, who: Caller, catalog_service: Catalog, city: City = None,
                        year: Year = None, as_of: AsOf = None, lang: Lang = "id"):
    from gis.render.dashboard_pdf import render_dashboard_pdf  # matplotlib loads only when a PDF is asked for

    state = request.app.state
    pdf = await run_in_threadpool(render_dashboard_pdf, state.engine, state.settings, catalog_service.cities(), who,
                                  city=city, year=check_year(year), as_of=parse_as_of(as_of), lang=lang)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": 'inline; filename="dasbor-program.pdf"',
                             "Cache-Control": "private, no-store"})


def _attachment(request: Request, aid: int, who, thumbnail: bool) -> Response:
    state = request.app.state
    with state.engine.connect() as conn:
        meta = dashboard_attachment(conn, aid, who)
    relative = meta["thumbnail_path"] if thumbnail else meta["path"]
    if not relative:
        raise NotFound(f"attachment {aid} is a {meta['media_type']} and has no thumbnail")
    path = file_path(state.settings, relative)
    if not path.is_file():
        raise NotFound(f"the file of attachment {aid} is missing from the data directory: restore it from a backup")
    return FileResponse(path, media_type="image/jpeg" if thumbnail else meta["media_type"],
                        filename=meta["filename"], content_disposition_type="inline",
                        headers={"Cache-Control": "public, max-age=3600" if meta["public"] else "private, no-store",
                                 "X-Content-Type-Options": "nosniff"})


@router.get("/dashboard/attachments/{attachment_id}", summary="A file attached to a programme location")
def attachment(request: Request, attachment_id: int, who: Caller):
    return _attachment(request, attachment_id, who, thumbnail=False)


@router.get("/dashboard/attachments/{attachment_id}/thumbnail", summary="Its thumbnail (photos)")
def attachment_thumbnail(request: Request, attachment_id: int, who: Caller):
    return _attachment(request, attachment_id, who, thumbnail=True)
