"""Map renderers: the planners' web map, public embeds, static PNG/PDF maps, and measuring drawn shapes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import Caller, catalog
from gis.analyses.measure import measure
from gis.core.errors import InvalidInput
from gis.render.webmap import embed_page, planner_page

router = APIRouter(tags=["maps"])


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/map", response_class=HTMLResponse, summary="The planners' web map (Bahasa Indonesia, ?lang=en)")
def planner_map(request: Request, who: Caller, project: str | None = None, lang: str = "id"):
    state = request.app.state
    return HTMLResponse(planner_page(state.engine, state.settings, catalog(request), private=who.reads_all_private,
                                     base=_base(request), project=project, lang=lang))


@router.get("/embed/{map_id}", response_class=HTMLResponse, summary="A public map for an <iframe>")
def embed(request: Request, map_id: str, lang: str = "id"):
    page = embed_page(request.app.state.settings, catalog(request), map_id, base=_base(request), lang=lang)
    return HTMLResponse(page, headers={"Cache-Control": "public, max-age=300"})


@router.get("/maps/{map_id}.{fmt}", summary="A static map (PNG or PDF) with title, legend, scale bar, north arrow")
def static_map(request: Request, map_id: str, fmt: str, bbox: str | None = None, width: int = 1200,
               height: int = 900, lang: str = "id"):
    box = None
    if bbox:
        try:
            box = tuple(float(v) for v in bbox.split(","))
        except ValueError:
            raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat") from None
        if len(box) != 4:
            raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat")
    from gis.render.static_map import render_public_map  # matplotlib loads only when a static map is asked for

    state = request.app.state
    data = render_public_map(state.engine, state.settings, catalog(request), map_id, bbox=box, width=width,
                             height=height, fmt=fmt, lang=lang)
    return Response(data, media_type="image/png" if fmt == "png" else "application/pdf")


@router.post("/measure", summary="Area (ha) and length (m) of a GeoJSON geometry, in the city's metric CRS")
def measure_geometry(request: Request, geometry: Annotated[dict, Body(embed=True)]):
    return measure(geometry, request.app.state.settings.city.metric_crs)
