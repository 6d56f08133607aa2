"""OGC API - Tiles (vector tiles from PostGIS), TileJSON 3.0 and a MapLibre style built from the layer
declarations. Cached tiles cost no SQL: bytes from memory, ETag/304."""

from __future__ import annotations

import morecantile
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from api.deps import Caller, layer_for, visible_layers
from gis.core.errors import InvalidInput, NotFound
from gis.data.auth import Principal
from gis.tiles.vector import MAX_ZOOM, Tile, render_tile
from layers.schema import Layer

router = APIRouter(tags=["OGC API - Tiles"])
MVT = "application/vnd.mapbox-vector-tile"
TMS_ID = "WebMercatorQuad"


def _check_tms(tms: str) -> None:
    if tms != TMS_ID:
        raise NotFound(f"tile matrix set {tms[:50]!r} is not offered; use {TMS_ID}")


def _render(request: Request, layers: list[Layer], who: Principal, z: int, x: int, y: int, key) -> Tile:
    state = request.app.state
    with state.engine.connect() as conn:
        tile = render_tile(conn, layers, z, x, y, who.sees_private, state.settings.tile_feature_cap)
    state.tile_cache.put(key, tile)
    return tile


async def _serve(request: Request, layers: list[Layer], who: Principal, z: int, x: int, y: int) -> Response:
    state = request.app.state
    key = state.tile_cache.key("mvt", tuple(layer.id for layer in layers), z, x, y, who.sees_private)
    tile = state.tile_cache.get(key)  # a hit needs no thread and no SQL
    if tile is None:
        tile = await run_in_threadpool(_render, request, layers, who, z, x, y, key)
    headers = {"ETag": tile.etag, "Cache-Control": ("private, " if who.sees_private else "public, ") + "no-cache"}
    if tile.truncated:
        headers["X-Tile-Truncated"] = ",".join(tile.truncated)
    if request.headers.get("if-none-match") == tile.etag:
        return Response(status_code=304, headers=headers)
    return Response(tile.data, media_type=MVT, headers=headers)


@router.get("/collections/{collection_id}/tiles/{tms}/{z}/{x}/{y}", summary="A vector tile of one collection")
async def collection_tile(request: Request, collection_id: str, tms: str, z: int, x: int, y: int, who: Caller):
    _check_tms(tms)
    layer = layer_for(request, collection_id, who) if request.app.state.catalog_cache.fresh("catalog") else \
        await run_in_threadpool(layer_for, request, collection_id, who)
    return await _serve(request, [layer], who, z, x, y)


def _collections_param(request: Request, who: Principal, value: str | None) -> list[Layer]:
    if not value:
        return visible_layers(request, who)
    names = [v.strip() for v in value.split(",") if v.strip()]
    if len(names) > 30:
        raise InvalidInput("at most 30 collections per tile")
    return [layer_for(request, name, who) for name in dict.fromkeys(names)]


@router.get("/tiles/{tms}/{z}/{x}/{y}", summary="A vector tile of several collections (?collections=a,b,c)")
async def multi_tile(request: Request, tms: str, z: int, x: int, y: int, who: Caller,
                     collections: str | None = None):
    _check_tms(tms)
    layers = await run_in_threadpool(_collections_param, request, who, collections)
    return await _serve(request, layers, who, z, x, y)


# --- metadata ----------------------------------------------------------------------------------------------

def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/tileMatrixSets", summary="Tile matrix sets")
def tile_matrix_sets(request: Request):
    return {"tileMatrixSets": [{"id": TMS_ID, "title": "Google Maps Compatible for the World",
                                "uri": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
                                "links": [{"href": f"{_base(request)}/tileMatrixSets/{TMS_ID}", "rel": "self",
                                           "type": "application/json"}]}]}


@router.get("/tileMatrixSets/{tms}", summary="A tile matrix set definition")
def tile_matrix_set(tms: str):
    _check_tms(tms)
    return JSONResponse(morecantile.tms.get(TMS_ID).model_dump(exclude_none=True, mode="json"))


def _tileset(request: Request, layers: list[Layer], tiles_url: str) -> dict:
    base = _base(request)
    return {
        "title": ", ".join(layer.title_id for layer in layers),
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
        "links": [
            {"href": f"{base}/tileMatrixSets/{TMS_ID}", "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
             "type": "application/json"},
            {"href": tiles_url, "rel": "item", "type": MVT, "templated": True},
        ],
        "layers": [{"id": layer.id, "title": layer.title_id, "dataType": "vector",
                    "geometryDimension": 0 if "Point" in layer.geometry_type else
                    (1 if "Line" in layer.geometry_type else 2)} for layer in layers],
    }


@router.get("/collections/{collection_id}/tiles", summary="Tilesets of a collection")
def collection_tilesets(request: Request, collection_id: str, who: Caller):
    layer = layer_for(request, collection_id, who)
    base = _base(request)
    return {"tilesets": [{"title": layer.title_id, "dataType": "vector",
                          "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
                          "links": [{"href": f"{base}/collections/{layer.id}/tiles/{TMS_ID}", "rel": "self",
                                     "type": "application/json"}]}]}


@router.get("/collections/{collection_id}/tiles/{tms}", summary="Tileset metadata of a collection")
def collection_tileset(request: Request, collection_id: str, tms: str, who: Caller):
    _check_tms(tms)
    layer = layer_for(request, collection_id, who)
    url = f"{_base(request)}/collections/{layer.id}/tiles/{TMS_ID}/{{tileMatrix}}/{{tileCol}}/{{tileRow}}"
    return _tileset(request, [layer], url)


def tilejson(request: Request, layers: list[Layer], tiles_url: str) -> dict:
    settings = request.app.state.settings
    bounds = [98.3, 3.4, 98.7, 3.8]
    stats = request.app.state.stats_cache.peek(("stats", True)) or {}
    boxes = [stats[layer.id]["bbox"] for layer in layers if stats.get(layer.id, {}).get("bbox")]
    if boxes:
        bounds = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                  max(b[3] for b in boxes)]
    return {
        "tilejson": "3.0.0", "name": ", ".join(layer.id for layer in layers), "scheme": "xyz",
        "tiles": [tiles_url], "minzoom": 0, "maxzoom": MAX_ZOOM, "bounds": bounds,
        "center": [settings.city.center_lon, settings.city.center_lat, settings.city.zoom],
        "attribution": "; ".join(dict.fromkeys(layer.source for layer in layers)),
        "vector_layers": [{"id": layer.id, "description": layer.title_en, "minzoom": layer.min_zoom,
                           "maxzoom": MAX_ZOOM, "fields": {f.name: f.type for f in layer.public_fields}}
                          for layer in layers],
    }


@router.get("/collections/{collection_id}/tiles/{tms}/tilejson.json", summary="TileJSON 3.0 of a collection")
def collection_tilejson(request: Request, collection_id: str, tms: str, who: Caller):
    _check_tms(tms)
    layer = layer_for(request, collection_id, who)
    return tilejson(request, [layer], f"{_base(request)}/collections/{layer.id}/tiles/{TMS_ID}/{{z}}/{{x}}/{{y}}")


@router.get("/tiles/{tms}/tilejson.json", summary="TileJSON 3.0 of several collections")
def multi_tilejson(request: Request, tms: str, who: Caller, collections: str | None = None):
    _check_tms(tms)
    layers = _collections_param(request, who, collections)
    query = f"?collections={','.join(layer.id for layer in layers)}"
    return tilejson(request, layers, f"{_base(request)}/tiles/{TMS_ID}/{{z}}/{{x}}/{{y}}{query}")


@router.get("/styles/default/style.json", summary="MapLibre style built from the layer declarations")
def style_json(request: Request, who: Caller, collections: str | None = None):
    from gis.render.styles import maplibre_style

    layers = _collections_param(request, who, collections)
    query = f"?collections={','.join(layer.id for layer in layers)}"
    settings = request.app.state.settings
    return maplibre_style(layers, f"{_base(request)}/tiles/{TMS_ID}/tilejson.json{query}",
                          center=(settings.city.center_lon, settings.city.center_lat), zoom=settings.city.zoom)

