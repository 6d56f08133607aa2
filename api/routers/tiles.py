"""OGC API - Tiles (vector tiles from PostGIS), TileJSON 3.0 and a MapLibre style built from the layer
declarations. Routes parse and call the catalog and tile services (cached tiles cost no SQL and no thread)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import morecantile
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from api.deps import Caller, Catalog, principal
from api.routers.items import CITY_DOC
from gis.core.errors import NotFound
from gis.data.auth import Principal
from gis.data.catalog import Bounds, CatalogService
from gis.tiles.service import MVT, TileReply, TileService
from gis.tiles.vector import MAX_ZOOM
from layers.schema import Layer

router = APIRouter(tags=["OGC API - Tiles"])
TMS_ID = "WebMercatorQuad"
IfNoneMatch = Annotated[str | None, Header()]
CityParam = Annotated[str | None, Query(description=CITY_DOC)]


def _check_tms(tms: str) -> None:
    if tms != TMS_ID:
        raise NotFound(f"tile matrix set {tms[:50]!r} is not offered; use {TMS_ID}")


def _names(collections: str | None) -> list[str]:
    return [v.strip() for v in (collections or "").split(",") if v.strip()]


def _private(who: Principal, layers) -> bool:
    """Tiles carry private fields only for a caller who reads them in every feature of every layer asked (a key
    limited to cities gets public fields in tiles, and the private ones, city by city, from items)."""
    return all(who.reads_private_everywhere(layer.id) for layer in layers)


def _response(reply: TileReply) -> Response:
    return Response(reply.body, reply.status, reply.headers, reply.media_type)


@dataclass(frozen=True, slots=True)
class TileRequest:
    """What a vector-tile route needs besides the path, gathered by one dependency: each FastAPI dependency costs
    its own parameter solving, which is most of the price of a cached tile."""

    who: Principal
    catalog: CatalogService
    tiles: TileService
    city: str | None
    if_none_match: str | None
    gzip_ok: bool  # the client accepts gzip (checked as the gzip middleware checks it)


async def tile_request(request: Request, if_none_match: IfNoneMatch = None, city: CityParam = None) -> TileRequest:
    state = request.app.state
    gzip_ok = "gzip" in request.headers.get("accept-encoding", "")
    return TileRequest(await principal(request), state.catalog, state.tiles, city, if_none_match, gzip_ok)


TileAsk = Annotated[TileRequest, Depends(tile_request)]


@router.get("/collections/{collection_id}/tiles/{tms}/{z}/{x}/{y}", summary="A vector tile of one collection")
async def collection_tile(collection_id: str, tms: str, z: int, x: int, y: int, ask: TileAsk):
    _check_tms(tms)
    layer = await ask.catalog.layer_async(collection_id, ask.who)
    cities = await ask.catalog.scope_async(ask.city)
    return _response(await ask.tiles.vector_tile([layer], z, x, y, _private(ask.who, [layer]), ask.if_none_match,
                                                 cities, ask.gzip_ok))


@router.get("/tiles/{tms}/{z}/{x}/{y}", summary="A vector tile of several collections (?collections=a,b,c)")
async def multi_tile(tms: str, z: int, x: int, y: int, ask: TileAsk, collections: str | None = None):
    _check_tms(tms)
    layers = await ask.catalog.chosen_async(_names(collections), ask.who)
    cities = await ask.catalog.scope_async(ask.city)
    return _response(await ask.tiles.vector_tile(layers, z, x, y, _private(ask.who, layers), ask.if_none_match,
                                                 cities, ask.gzip_ok))


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


def _tileset(request: Request, layers: list[Layer], bounds: Bounds, tiles_url: str) -> dict:
    base = _base(request)
    return {
        "title": ", ".join(layer.title_id for layer in layers),
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "boundingBox": {"lowerLeft": list(bounds[:2]), "upperRight": list(bounds[2:]),
                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
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
def collection_tilesets(request: Request, collection_id: str, who: Caller, catalog: Catalog):
    layer = catalog.layer(collection_id, who)
    base = _base(request)
    return {"tilesets": [{"title": layer.title_id, "dataType": "vector",
                          "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
                          "links": [{"href": f"{base}/collections/{layer.id}/tiles/{TMS_ID}", "rel": "self",
                                     "type": "application/json"}]}]}


@router.get("/collections/{collection_id}/tiles/{tms}", summary="Tileset metadata of a collection")
def collection_tileset(request: Request, collection_id: str, tms: str, who: Caller, catalog: Catalog):
    _check_tms(tms)
    layer = catalog.layer(collection_id, who)
    url = f"{_base(request)}/collections/{layer.id}/tiles/{TMS_ID}/{{tileMatrix}}/{{tileCol}}/{{tileRow}}"
    return _tileset(request, [layer], catalog.bounds([layer]), url)


def tilejson(request: Request, layers: list[Layer], bounds: Bounds, tiles_url: str) -> dict:
    city = request.app.state.settings.city
    west, south, east, north = bounds
    inside = west <= city.center_lon <= east and south <= city.center_lat <= north
    center = [city.center_lon, city.center_lat, city.zoom] if inside else \
        [(west + east) / 2, (south + north) / 2, city.zoom]  # a layer away from the city centre opens on itself
    return {
        "tilejson": "3.0.0", "name": ", ".join(layer.id for layer in layers), "scheme": "xyz",
        "tiles": [tiles_url], "minzoom": 0, "maxzoom": MAX_ZOOM, "bounds": list(bounds),
        "center": center,
        "attribution": "; ".join(dict.fromkeys(layer.source for layer in layers)),
        "vector_layers": [{"id": layer.id, "description": layer.title_en, "minzoom": layer.min_zoom,
                           "maxzoom": MAX_ZOOM, "fields": {f.name: f.type for f in layer.public_fields}}
                          for layer in layers],
    }


def _city_query(cities: tuple[str, ...], sep: str) -> str:
    return f"{sep}city={','.join(cities)}" if cities else ""


@router.get("/collections/{collection_id}/tiles/{tms}/tilejson.json", summary="TileJSON 3.0 of a collection")
def collection_tilejson(request: Request, collection_id: str, tms: str, who: Caller, catalog: Catalog,
                        city: CityParam = None):
    _check_tms(tms)
    layer = catalog.layer(collection_id, who)
    cities = catalog.scope(city)
    return tilejson(request, [layer], catalog.bounds([layer], cities),
                    f"{_base(request)}/collections/{layer.id}/tiles/{TMS_ID}/{{z}}/{{x}}/{{y}}"
                    f"{_city_query(cities, '?')}")


@router.get("/tiles/{tms}/tilejson.json", summary="TileJSON 3.0 of several collections")
def multi_tilejson(request: Request, tms: str, who: Caller, catalog: Catalog, collections: str | None = None,
                   city: CityParam = None):
    _check_tms(tms)
    layers = catalog.chosen(_names(collections), who)
    cities = catalog.scope(city)
    query = f"?collections={','.join(layer.id for layer in layers)}{_city_query(cities, '&')}"
    url = f"{_base(request)}/tiles/{TMS_ID}/{{z}}/{{x}}/{{y}}{query}"
    return tilejson(request, layers, catalog.bounds(layers, cities), url)


@router.get("/styles/default/style.json", summary="MapLibre style built from the layer declarations")
def style_json(request: Request, who: Caller, catalog: Catalog, collections: str | None = None):
    from gis.render.styles import maplibre_style

    layers = catalog.chosen(_names(collections), who)
    query = f"?collections={','.join(layer.id for layer in layers)}"
    settings = request.app.state.settings
    return maplibre_style(layers, f"{_base(request)}/tiles/{TMS_ID}/tilejson.json{query}",
                          center=(settings.city.center_lon, settings.city.center_lat), zoom=settings.city.zoom)

