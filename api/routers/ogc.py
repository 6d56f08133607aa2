"""OGC API - Features: landing page, conformance, API definition, collections, queryables, schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api import records as record_routes
from api.deps import Caller, Catalog
from api.formats import collection_links, json_or_html, links_for, negotiate
from api.routers import catalog as catalog_routes
from api.routers.items import CITY_DOC
from gis.core import crs as crs_mod
from gis.data.catalog import LayerStats
from gis.data.cities import City
from gis.data.records import find_records
from layers.schema import Layer
from layers.tables import CITY_COLUMN

router = APIRouter(tags=["OGC API - Features"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list",
]

_JSON_SCHEMA_TYPES = {"text": {"type": "string"}, "integer": {"type": "integer"}, "bigint": {"type": "integer"},
                      "number": {"type": "number"}, "boolean": {"type": "boolean"},
                      "date": {"type": "string", "format": "date"}}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _held(base: str, city: City) -> dict:
    """A city on the landing page: what it is, its data and its map."""
    return {"code": city.code, "name": city.name, "kind": city.kind, "links": [
        {"href": f"{base}/cities/{city.code}", "rel": "describedby", "type": "application/json",
         "title": f"{city.name}: data"},
        {"href": f"{base}/map?city={city.code}", "rel": "alternate", "type": "text/html",
         "title": f"{city.name}: map"}]}


@router.get("/", summary="Landing page (with the cities held)")
def landing(request: Request, catalog: Catalog, f: str | None = None):
    fmt = negotiate(request, f)
    base = _base(request)
    settings = request.app.state.settings
    doc = {
        "title": f"PetaKota - {settings.city.name}",
        "description": "Layanan data tata ruang kota / city-planning GIS service (OGC API - Features)",
        "links": [
            *links_for(request, "/", title="Landing page"),
            {"href": f"{base}/api", "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
             "title": "OpenAPI definition"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json",
             "title": "Conformance"},
            {"href": f"{base}/collections", "rel": "data", "type": "application/json", "title": "Collections"},
            {"href": f"{base}/layers", "rel": "describedby", "type": "application/json", "title": "Layer catalog"},
            {"href": f"{base}/tileMatrixSets", "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
             "type": "application/json", "title": "Tile matrix sets"},
            {"href": f"{base}/processes", "rel": "http://www.opengis.net/def/rel/ogc/1.0/processes",
             "type": "application/json", "title": "Processes (planning analyses)"},
            {"href": f"{base}/rasters", "rel": "data", "type": "application/json", "title": "Rasters"},
            {"href": f"{base}/cities", "rel": "related",
             "type": "application/json", "title": "Cities held (kab/kota): the scope of ?city="},
        ],
        "cities": [_held(base, city) for city in catalog.cities()],
    }
    return json_or_html(request, fmt, "landing", doc, doc["title"])


@router.get("/conformance", summary="Conformance classes")
def conformance(request: Request, f: str | None = None):
    doc = {"conformsTo": CONFORMANCE}
    return json_or_html(request, negotiate(request, f), "conformance", doc, "Conformance")


@router.get("/api", summary="OpenAPI definition", include_in_schema=False)
def api_definition(request: Request):
    # FastAPI builds the document once and caches it on the app.
    return JSONResponse(request.app.openapi(), media_type="application/vnd.oai.openapi+json;version=3.0")


def collection_doc(request: Request, layer: Layer, stats: LayerStats, who, cities: tuple[str, ...] = ()) -> dict:
    base = _base(request)
    path = f"/collections/{layer.id}"
    scope = f"&city={','.join(cities)}" if cities else ""
    settings = request.app.state.settings
    bbox = list(stats.bbox or (-180, -90, 180, 90))
    doc = {
        "id": layer.id,
        "title": layer.title_id,
        "title_en": layer.title_en,
        "description": layer.description_id or layer.title_en,
        "itemType": "feature",
        "illustrative": layer.illustrative,
        "attribution": layer.source,
        "geometryType": layer.geometry_type,
        "extent": {"spatial": {"bbox": [bbox], "crs": crs_mod.CRS84}},
        "crs": [c.uri for c in crs_mod.supported(settings.city.metric_crs)],
        "storageCrs": crs_mod.CRS84,
        "links": [
            *links_for(request, path, title=layer.title_id),
            *collection_links(base, path, scope, {"json": "Features (GeoJSON)", "html": "Features (HTML)",
                                                  "csv": "Features (CSV)", "gpkg": "Features (GeoPackage)"}),
        ],
    }
    if cities:
        doc["cities"] = list(cities)
    if layer.time_field:
        doc["extent"]["temporal"] = {"interval": [[None, None]], "trs":
                                     "http://www.opengis.net/def/uri/ISO-8601/0/Gregorian"}
    return doc


@router.get("/collections", summary="The collections (one per layer)")
def collections(request: Request, who: Caller, catalog: Catalog, f: str | None = None,
                city: Annotated[str | None, Query(description=CITY_DOC)] = None):
    fmt = negotiate(request, f)
    layers = catalog.visible(who)
    cities = catalog.scope(city)
    stats = catalog.stats(layers, cities)
    doc = {
        "links": links_for(request, "/collections", title="Collections"),
        "crs": [c.uri for c in crs_mod.supported(request.app.state.settings.city.metric_crs)],
        "collections": [*(collection_doc(request, layer, stats[layer.id], who, cities) for layer in layers),
                        catalog_routes.collection_doc(request),  # the metadata catalogue (OGC API - Records)
                        *record_routes.collection_docs(request, cities)],  # records without geometry last
    }
    return json_or_html(request, fmt, "collections", doc, "Koleksi data / Collections")


@router.get("/collections/{collection_id}", summary="One collection")
def collection(request: Request, collection_id: str, who: Caller, catalog: Catalog, f: str | None = None,
               city: Annotated[str | None, Query(description=CITY_DOC)] = None):
    fmt = negotiate(request, f)
    if rec := find_records(collection_id):
        return record_routes.collection(request, rec, fmt, catalog.scope(city))
    layer = catalog.layer(collection_id, who)
    cities = catalog.scope(city)
    doc = collection_doc(request, layer, catalog.stats([layer], cities)[layer.id], who, cities)
    return json_or_html(request, fmt, "collection", doc, layer.title_id)


def _schema(request: Request, layer: Layer, who, queryables: bool) -> dict:
    base = _base(request)
    # Queryables: only fields the caller reads in every feature (a filter must not reveal hidden values).
    private = who.reads_private_everywhere(layer.id) if queryables else who.may_read_layer(layer.id)
    fields = layer.fields if private else layer.public_fields
    props: dict = {}
    if not queryables:
        props["id"] = {"type": "integer", "readOnly": True, "x-ogc-role": "id"}
    props["geometry"] = {"format": f"geometry-{layer.geometry_type.lower()}", "x-ogc-role": "primary-geometry",
                         "$ref": f"https://geojson.org/schema/{layer.geometry_type}.json"}
    if queryables:
        props["id"] = {"type": "integer", "title": "id"}
    for fld in fields:
        p = {**_JSON_SCHEMA_TYPES[fld.type], "title": fld.title_id, "description": fld.title_en}
        if fld.choices:
            p["enum"] = list(fld.choices)
        if fld.computed:
            p["readOnly"] = True
        if layer.time_field == fld.name:
            p["x-ogc-role"] = "primary-instant"
        props[fld.name] = p
    props[CITY_COLUMN] = {"type": "string", "title": "Kode kab/kota", "readOnly": True,
                          "description": "Kemendagri code of the city (kab/kota) the feature lies in; see /cities"}
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{layer.id}/{'queryables' if queryables else 'schema'}",
        "type": "object",
        "title": layer.title_id,
        "properties": props,
    }
    if queryables:
        doc["additionalProperties"] = False
    else:
        doc["required"] = [fld.name for fld in fields if fld.required]
    return doc


@router.get("/collections/{collection_id}/queryables", summary="Properties usable in filters")
def queryables(request: Request, collection_id: str, who: Caller, catalog: Catalog, f: str | None = None):
    fmt = negotiate(request, f)
    if rec := find_records(collection_id):
        return record_routes.schema(request, rec, who, fmt, queryables=True)
    layer = catalog.layer(collection_id, who)
    return json_or_html(request, fmt, "queryables", _schema(request, layer, who, True), layer.title_id,
                        media_type="application/schema+json")


@router.get("/collections/{collection_id}/schema", summary="Schema of the features")
def schema(request: Request, collection_id: str, who: Caller, catalog: Catalog, f: str | None = None):
    fmt = negotiate(request, f)
    if rec := find_records(collection_id):
        return record_routes.schema(request, rec, who, fmt, queryables=False)
    layer = catalog.layer(collection_id, who)
    return json_or_html(request, fmt, "queryables", _schema(request, layer, who, False), layer.title_id,
                        media_type="application/schema+json")
