"""Map renderers: the planners' web map, public embeds, static PNG/PDF maps, and measuring drawn shapes; each
follows `?city=` (a city held, several, or `all`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import Caller, Catalog, catalog
from gis.analyses.measure import measure
from gis.core.errors import InvalidInput
from gis.render.webmap import embed_page, planner_page

router = APIRouter(tags=["maps"])
MAP_CITY_DOC = ("Kemendagri codes of the cities to show, comma-separated (e.g. 12.07), or `all` for every city "
                "held; default: the service's own city. See /cities")
MapCity = Annotated[str | None, Query(description=MAP_CITY_DOC)]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/map", response_class=HTMLResponse, summary="The planners' web map (Bahasa Indonesia, ?lang=en)")
def planner_map(request: Request, who: Caller, catalog_service: Catalog, project: str | None = None, lang: str = "id",
                city: MapCity = None):
    state = request.app.state
    return HTMLResponse(planner_page(state.engine, state.settings, catalog(request), catalog_service.cities(),
                                     private=who.reads_all_private, base=_base(request), city=city, project=project,
                                     lang=lang))


@router.get("/embed/{map_id}", response_class=HTMLResponse,
            summary="A public map for an <iframe>: a map id or a city's Kemendagri code (e.g. 12.07)")
def embed(request: Request, map_id: str, catalog_service: Catalog, lang: str = "id", city: MapCity = None):
    state = request.app.state
    page = embed_page(state.engine, state.settings, catalog(request), catalog_service.cities(), map_id,
                      base=_base(request), city=city, lang=lang)
    return HTMLResponse(page, headers={"Cache-Control": "public, max-age=300"})


PRINT_DOC = ("A printed map: paper A4 or A3, portrait or landscape, framed on the city, a box, a kecamatan or a "
             "kelurahan/desa (Kemendagri code), with title block, labels, UTM grid, scale 1:N, legend, locator inset")


def _bbox(value: str | None):
    if not value:
        return None
    try:
        box = tuple(float(v) for v in value.split(","))
    except ValueError:
        raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat") from None
    if len(box) != 4:
        raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat")
    return box


@router.get("/maps/{map_id}.{fmt}", summary="A static map (PNG or PDF): a screen-sized map (width, height) or a "
                                            "printed page (paper, orientation)", description=PRINT_DOC)
def static_map(request: Request, map_id: str, fmt: str, catalog_service: Catalog, bbox: str | None = None,
               width: int | None = None, height: int | None = None, lang: str = "id", city: MapCity = None,
               paper: Annotated[str | None, Query(description="A4 or A3 (a printed page; default A4)")] = None,
               orientation: Annotated[str | None, Query(description="portrait or landscape (default)")] = None,
               kelurahan: Annotated[str | None, Query(description="frame this kelurahan/desa (Kemendagri code, "
                                                                  "e.g. 12.75.01.1001), its neighbours greyed")] = None,
               kecamatan: Annotated[str | None, Query(description="frame this kecamatan (e.g. 12.75.01)")] = None,
               layers: Annotated[str | None, Query(description="the map's layers to draw, comma-separated "
                                                               "(e.g. zoning,kelurahan,roads); default: the map's "
                                                               "visible layers")] = None):
    box = _bbox(bbox)
    if fmt not in ("png", "pdf"):
        raise InvalidInput(f"format must be png or pdf (got {fmt[:10]!r})")
    printed = any(v is not None for v in (paper, orientation, kelurahan, kecamatan, layers)) or (
        fmt == "pdf" and width is None and height is None)
    state = request.app.state
    media = "image/png" if fmt == "png" else "application/pdf"
    if printed:
        if width is not None or height is not None:
            raise InvalidInput("width and height size a screen map; a printed map's size is its paper "
                               "(paper=A4|A3, orientation=portrait|landscape): give one or the other")
        from gis.render.print_map import print_public_map  # matplotlib loads only when a map is asked for

        data = print_public_map(state.engine, state.settings, catalog(request), catalog_service.cities(), map_id,
                                city=city, bbox=box, kelurahan=kelurahan, kecamatan=kecamatan, layers=layers,
                                paper=paper, orientation=orientation, fmt=fmt, lang=lang)
        return Response(data, media_type=media)
    from gis.render.static_map import render_public_map

    data = render_public_map(state.engine, state.settings, catalog(request), catalog_service.cities(), map_id, bbox=box,
                             width=width or 1200, height=height or 900, fmt=fmt, lang=lang, city=city)
    return Response(data, media_type=media)


@router.post("/measure", summary="Area (ha) and length (m) of a GeoJSON geometry, in the city's metric CRS")
def measure_geometry(request: Request, geometry: Annotated[dict, Body(embed=True)], catalog_service: Catalog,
                     city: Annotated[str | None, Query(description="the Kemendagri code of the city whose metric "
                                                                    "CRS measures (default: the service's)")] = None):
    metric_crs = request.app.state.settings.city.metric_crs
    if city:
        metric_crs = catalog_service.city(city).metric_crs or metric_crs
    return measure(geometry, metric_crs)
