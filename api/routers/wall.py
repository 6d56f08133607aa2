"""The command-center wall: a full-screen public page (map plus indicator tiles) and the figures it polls."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from api.deps import Catalog, catalog
from gis.render.wall import PROGRAMME_TABLES, wall_city, wall_layers, wall_page

router = APIRouter(tags=["maps"])
CITY_DOC = "Kemendagri code of the city (e.g. 12.75); default: the service's own city. See /cities"


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/wall", response_class=HTMLResponse,
            summary="The command-center wall: map and indicator tiles, full screen, refreshing itself")
def wall(request: Request, catalog_service: Catalog, city: Annotated[str | None, Query(description=CITY_DOC)] = None,
         lang: str = "id",
         refresh: Annotated[int | None, Query(description="seconds between data polls (5 to 3600, default 30)")] = None,
         rotate: Annotated[int | None, Query(description="switch the map between the city and the estate every so "
                                                         "many seconds (5 to 3600); default: no rotation")] = None,
         panel: Annotated[int | None, Query(description="a fixed map: 0 the city, 1 the estate project")] = None):
    state = request.app.state
    page = wall_page(state.engine, state.settings, catalog(request), catalog_service.cities(), base=_base(request),
                     city=city, lang=lang, refresh=refresh, rotate=rotate, panel=panel)
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


@router.get("/wall/data", summary="The wall's figures (public information only) and the data's version")
def wall_data(request: Request, catalog_service: Catalog,
              city: Annotated[str | None, Query(description=CITY_DOC)] = None, lang: str = "id"):
    state = request.app.state
    chosen = wall_city(catalog_service.cities(), state.settings, city)
    layer_ids = [layer.id for layer in wall_layers(state.settings, catalog(request))] + ["project_parcels",
                                                                                         *PROGRAMME_TABLES]
    data = state.wall_data.get(chosen, layer_ids, lang)
    return JSONResponse(data, headers={"Cache-Control": "no-store"})
