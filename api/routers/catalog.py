"""Metadata (Satu Data Indonesia): the `catalog` collection of OGC API - Records (one record per layer and raster,
searchable by text, bbox and time), its ISO 19139 and DCAT exports, and an admin's edits. Registered before the
generic /collections/{id} routes, so `catalog` is answered here; records come from gis/data/metadata.py."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from api.deps import Caller, Catalog, require
from api.formats import GEOJSON
from api.routers.items import RawBody, _bbox, _datetime, _json
from gis.data import metadata
from gis.data.auth import Principal
from gis.render.metadata_records import dcat_catalog, dcat_record, iso_document, record_feature

router = APIRouter(tags=["OGC API - Records (metadata)"])
Admin = Annotated[Principal, Depends(require("admin"))]
CATALOG_ID = "catalog"
ISO_XML = "application/vnd.iso.19139+xml"
JSON_LD = "application/ld+json"
RecordFormat = Literal["json", "geojson", "iso", "xml", "dcat", "jsonld"]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _records(request: Request, who: Principal) -> list[dict]:
    state = request.app.state
    return metadata.records_for(state.catalog, who, state.settings.data_dir, state.settings.city.name)


def collection_doc(request: Request) -> dict:
    base = f"{_base(request)}/collections/{CATALOG_ID}"
    return {
        "id": CATALOG_ID, "itemType": "record", "type": "Catalog",
        "title": "Katalog metadata (Satu Data)", "title_en": "Metadata catalogue (Satu Data)",
        "description": "Metadata setiap lapisan dan raster / metadata of every layer and raster "
                       "(ISO 19115, DCAT)",
        "links": [
            {"href": base, "rel": "self", "type": "application/json"},
            {"href": f"{base}/items", "rel": "items", "type": GEOJSON, "title": "Records"},
            {"href": f"{base}/queryables", "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
             "type": "application/schema+json"},
            {"href": f"{_base(request)}/catalog.jsonld", "rel": "alternate", "type": JSON_LD,
             "title": "DCAT catalogue (JSON-LD)"},
        ],
    }


@router.get(f"/collections/{CATALOG_ID}", summary="The metadata catalogue (OGC API - Records)")
def catalog_collection(request: Request):
    return JSONResponse(collection_doc(request))


@router.get(f"/collections/{CATALOG_ID}/queryables", summary="What the catalogue's records are searched by")
def catalog_queryables(request: Request):
    props = {"q": {"type": "string", "description": "words in the title, abstract or keywords"},
             "geometry": {"format": "geometry-polygon", "x-ogc-role": "primary-geometry"},
             "time": {"type": "string", "x-ogc-role": "primary-interval"}}
    return JSONResponse({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                         "$id": f"{_base(request)}/collections/{CATALOG_ID}/queryables", "properties": props},
                        media_type="application/schema+json")


def _page_links(request: Request, offset: int, limit: int, matched: int) -> list[dict]:
    path = f"{_base(request)}/collections/{CATALOG_ID}/items"
    params = {k: v for k, v in request.query_params.items() if k != "offset"}

    def url(at: int) -> str:
        return f"{path}?{urlencode({**params, 'offset': at})}"

    links = [{"href": url(offset), "rel": "self", "type": GEOJSON},
             {"href": f"{_base(request)}/collections/{CATALOG_ID}", "rel": "collection", "type": "application/json"}]
    if offset + limit < matched:
        links.append({"href": url(offset + limit), "rel": "next", "type": GEOJSON})
    if offset > 0:
        links.append({"href": url(max(offset - limit, 0)), "rel": "prev", "type": GEOJSON})
    return links


@router.get(f"/collections/{CATALOG_ID}/items", summary="Metadata records, searchable by q, bbox and datetime")
def catalog_items(request: Request, who: Caller,
                  q: Annotated[str | None, Query(description="words in title, abstract or keywords "
                                                             "(comma-separated: any of them)")] = None,
                  bbox: Annotated[str | None, Query(description="west,south,east,north (lon/lat)")] = None,
                  datetime: Annotated[str | None, Query(description="a date or interval (RFC 3339)")] = None,
                  limit: int = Query(10, ge=1, le=10_000), offset: int = Query(0, ge=0, le=2**31),
                  f: Literal["json", "geojson"] | None = None):
    found = metadata.search(_records(request, who), q, _bbox(bbox), _datetime(datetime))
    page = found[offset:offset + limit]
    base = _base(request)
    return JSONResponse({"type": "FeatureCollection", "numberMatched": len(found), "numberReturned": len(page),
                         "features": [record_feature(rec, base) for rec in page],
                         "links": _page_links(request, offset, limit, len(found))}, media_type=GEOJSON)


def _export(record: dict, base: str, fmt: str) -> Response:
    if fmt in ("iso", "xml"):
        return Response(iso_document(record, base), media_type=ISO_XML)
    if fmt in ("dcat", "jsonld"):
        return JSONResponse(dcat_record(record, base), media_type=JSON_LD)
    return JSONResponse(record_feature(record, base), media_type=GEOJSON)


@router.get(f"/collections/{CATALOG_ID}/items/{{record_id}}",
            summary="One metadata record: GeoJSON, ISO 19139 XML (?f=iso or .xml) or DCAT JSON-LD (?f=dcat)")
def catalog_item(request: Request, record_id: str, who: Caller, f: RecordFormat | None = None):
    fmt = f or "json"
    for suffix, suffix_fmt in ((".xml", "iso"), (".jsonld", "dcat")):
        if record_id.endswith(suffix):
            record_id, fmt = record_id[:-len(suffix)], suffix_fmt
    return _export(metadata.find(_records(request, who), record_id), _base(request), fmt)


@router.get("/catalog.jsonld", summary="The whole metadata catalogue as DCAT (JSON-LD)")
def catalog_dcat(request: Request, who: Caller):
    settings = request.app.state.settings
    return JSONResponse(dcat_catalog(_records(request, who), _base(request), f"PetaKota - {settings.city.name}"),
                        media_type=JSON_LD)


@router.get("/admin/metadata/{record_id}", tags=["admin"], summary="A metadata record with its edit history")
def admin_record(request: Request, record_id: str, who: Admin, catalog: Catalog):
    record = metadata.find(_records(request, who), record_id)
    with catalog.engine.connect() as conn:
        return {**record, "history": metadata.history(conn, record_id)}


@router.patch("/admin/metadata/{record_id}", tags=["admin"],
              summary="Edit a metadata record (JSON merge patch; null puts a member back to its default)")
def admin_patch(request: Request, record_id: str, who: Admin, catalog: Catalog, raw: RawBody):
    resource = metadata.resource_for(catalog, record_id)
    with catalog.engine.begin() as conn:
        metadata.apply_patch(conn, resource, _json(request, raw), who.name)
    return admin_record(request, record_id, who, catalog)
