"""Map renderers: the planners' web map, public embeds, static PNG/PDF maps, and measuring drawn shapes."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import text

from api.deps import Caller, catalog
from gis.analyses.measure import measure
from gis.core.errors import InvalidInput, NotFound
from gis.render.webmap import map_config, render_page
from layers.maps import MAPS, PLANNER_ORDER, MapDef
from layers.schema import Layer

router = APIRouter(tags=["maps"])
def _public_layers(request: Request, mapdef: MapDef) -> list[Layer]:
    cat = catalog(request)
    return [cat[i] for i in mapdef.layers if i in cat and cat[i].public]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/map", response_class=HTMLResponse, summary="The planners' web map (Bahasa Indonesia, ?lang=en)")
def planner_map(request: Request, who: Caller, project: str | None = None, lang: str = "id"):
    cat = catalog(request)
    order = [i for i in PLANNER_ORDER if i in cat] + [i for i in cat if i not in PLANNER_ORDER]
    layers = [cat[i] for i in order if cat[i].public or who.sees_private]
    mapdef = MAPS["binjai"]
    if project:
        mapdef = MAPS.get(project, MAPS["kawasan-industri-binjai"])
    base = _base(request)
    config = map_config(request.app.state.settings,
                        MapDef(mapdef.id, mapdef.title_id, mapdef.title_en, tuple(order), mapdef.visible),
                        layers, embed=False, base=base, private=who.sees_private)
    with request.app.state.engine.connect() as conn:
        config["activities"] = [r[0] for r in conn.execute(text("SELECT DISTINCT kegiatan FROM itbx ORDER BY 1"))]
        if project:
            geom = conn.execute(text("SELECT ST_AsGeoJSON(geom) FROM projects WHERE slug = :s"),
                                {"s": project}).scalar()
            if geom is None:
                raise NotFound(f"no project {project[:80]!r}")
            config["project"], config["project_geometry"] = project, json.loads(geom)
    title = mapdef.title_id if lang != "en" else mapdef.title_en
    return HTMLResponse(render_page(config, title, lang, f"{base}/static"))


@router.get("/embed/{map_id}", response_class=HTMLResponse, summary="A public map for an <iframe>")
def embed(request: Request, map_id: str, lang: str = "id"):
    mapdef = MAPS.get(map_id)
    if mapdef is None or not mapdef.public:
        raise NotFound(f"no public map {map_id[:80]!r}; maps: {', '.join(k for k, m in MAPS.items() if m.public)}")
    base = _base(request)
    config = map_config(request.app.state.settings, mapdef, _public_layers(request, mapdef), embed=True, base=base)
    return HTMLResponse(render_page(config, mapdef.title_id if lang != "en" else mapdef.title_en, lang,
                                    f"{base}/static"), headers={"Cache-Control": "public, max-age=300"})


@router.get("/maps/{map_id}.{fmt}", summary="A static map (PNG or PDF) with title, legend, scale bar, north arrow")
async def static_map(request: Request, map_id: str, fmt: str, bbox: str | None = None, width: int = 1200,
                     height: int = 900, lang: str = "id"):
    mapdef = MAPS.get(map_id)
    if mapdef is None or not mapdef.public:
        raise NotFound(f"no public map {map_id[:80]!r}")
    box = None
    if bbox:
        try:
            box = tuple(float(v) for v in bbox.split(","))
        except ValueError:
            raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat") from None
        if len(box) != 4:
            raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat")
    state = request.app.state
    cat = await run_in_threadpool(catalog, request)

    def draw():
        from gis.render.static_map import render_map  # matplotlib loads only when a static map is asked for

        with state.engine.connect() as conn:
            return render_map(conn, mapdef, cat, bbox=box, width=width, height=height, fmt=fmt, lang=lang,
                              metric_crs=state.settings.city.metric_crs)

    data = await run_in_threadpool(draw)
    return Response(data, media_type="image/png" if fmt == "png" else "application/pdf")


@router.post("/measure", summary="Area (ha) and length (m) of a GeoJSON geometry, in the city's metric CRS")
def measure_geometry(request: Request, geometry: Annotated[dict, Body(embed=True)]):
    return measure(geometry, request.app.state.settings.city.metric_crs)
