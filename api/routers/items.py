"""OGC API - Features items: read (Parts 1-3, JSON/HTML/CSV/GeoPackage) and write (Part 4) with ETags and
edit history."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import records as record_routes
from api.deps import Caller, Writer, layer_for, require
from api.exports import csv_response, gpkg_response
from api.formats import GEOJSON, html_page, negotiate
from api.preconditions import IfMatch, OptionalIfMatch, etag
from api.responses import Created, problem_responses, request_body_doc, write_responses
from gis.core import crs as crs_mod
from gis.core.errors import InvalidInput
from gis.data import edits
from gis.data.auth import Principal
from gis.data.features import ItemsQuery, fetch_frame, fetch_item, fetch_items
from gis.data.key_scope import reads_private_of
from gis.data.records import find_records
from gis.data.writer import GeometryInput

router = APIRouter(tags=["OGC API - Features"])

KNOWN_PARAMS = {"f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "properties", "sortby", "filter",
                "filter-lang", "filter-crs", "lang", "city"}
CITY_DOC = "Kemendagri codes of the cities in scope, comma-separated (e.g. 12.75,12.07); see /cities"

# Typed so that /api lists the allowed values; a wrong one is a 400 problem naming them (api/errors.py).
ItemsFormat = Literal["json", "geojson", "html", "csv", "gpkg"]
ItemFormat = Literal["json", "geojson", "html"]
FilterLang = Literal["cql2-text", "cql2-json"]
# Every CRS a city's service can offer: CRS84, WGS 84, Web Mercator, SRGI2013 / UTM 47N and the WGS 84 UTM zones
# across Indonesia (46-54 N and S), one of which is the city's metric CRS. A city offers a few of them
# (gis.core.crs.supported, also listed per collection); another one is refused with the list it offers.
_METRIC_ZONES = [*range(32646, 32655), *range(32746, 32755)]
# The short forms people type (EPSG:32647, CRS84) are accepted as before and listed too.
_SRIDS = (4326, 3857, 9477, *_METRIC_ZONES)
CrsUri = Literal[tuple(dict.fromkeys([
    crs_mod.CRS84, *(crs_mod.EPSG_URI.format(s) for s in _SRIDS), "CRS84", "OGC:CRS84",
    "urn:ogc:def:crs:OGC:1.3:CRS84", *(f"EPSG:{s}" for s in _SRIDS), *(f"urn:ogc:def:crs:EPSG::{s}" for s in _SRIDS)]))]


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if not value:
        return None
    try:
        nums = [float(v) for v in value.split(",")]
    except ValueError:
        raise InvalidInput("bbox must be 4 (or 6) comma-separated numbers: minx,miny,maxx,maxy") from None
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4 or not all(abs(n) < 1e9 for n in nums):
        raise InvalidInput("bbox must be 4 (or 6) comma-separated numbers: minx,miny,maxx,maxy")
    if nums[0] > nums[2] or nums[1] > nums[3]:
        raise InvalidInput("bbox minimum is greater than its maximum")
    return tuple(nums)


def _datetime(value: str | None):
    if not value:
        return None

    def one(v: str):
        if v in ("", ".."):
            return None
        try:
            return date.fromisoformat(v[:10])
        except ValueError:
            raise InvalidInput(f"datetime {v[:40]!r} is not an RFC 3339 date or interval") from None

    if "/" in value:
        start, end = value.split("/", 1)
        return one(start), one(end)
    d = one(value)
    return d, d


def _sortby(value: str | None) -> list[tuple[str, bool]]:
    out = []
    for part in (value or "").split(","):
        part = part.strip()
        if part:
            out.append((part.lstrip("+-"), not part.startswith("-")))
    return out


def items_query(request: Request, limit: int = Query(10, ge=1, le=10_000), offset: int = Query(0, ge=0, le=2**62),
                bbox: str | None = None, datetime: str | None = None, properties: str | None = None,
                sortby: str | None = None, filter: str | None = None, crs: CrsUri | None = None,
                bbox_crs: Annotated[CrsUri | None, Query(alias="bbox-crs")] = None,
                filter_lang: Annotated[FilterLang, Query(alias="filter-lang")] = "cql2-text",
                filter_crs: Annotated[CrsUri | None, Query(alias="filter-crs")] = None,
                city: Annotated[str | None, Query(description=CITY_DOC)] = None) -> ItemsQuery:
    metric = request.app.state.settings.city.metric_crs
    extra = {k: v for k, v in request.query_params.items() if k not in KNOWN_PARAMS}
    return ItemsQuery(
        limit=limit, offset=offset, bbox=_bbox(bbox),
        bbox_crs=crs_mod.parse(bbox_crs, metric, "bbox-crs"),
        crs=crs_mod.parse(crs, metric), datetime=_datetime(datetime),
        properties=[p.strip() for p in properties.split(",") if p.strip()] if properties is not None else None,
        sortby=_sortby(sortby), filter=filter, filter_lang=filter_lang,
        filter_crs=crs_mod.parse(filter_crs, metric, "filter-crs"), equals=extra,
        cities=request.app.state.catalog.scope(city),
    )


def _page_links(request: Request, collection_id: str, q: ItemsQuery, has_more: bool) -> list[dict]:
    base = str(request.base_url).rstrip("/")
    path = f"{base}/collections/{collection_id}/items"
    params = {k: v for k, v in request.query_params.items() if k not in ("offset", "f")}

    def url(offset: int, fmt: str) -> str:
        return f"{path}?{urlencode({**params, 'offset': offset, 'f': fmt})}"

    links = [{"href": url(q.offset, "json"), "rel": "self", "type": GEOJSON},
             {"href": url(q.offset, "html"), "rel": "alternate", "type": "text/html"},
             {"href": f"{base}/collections/{collection_id}", "rel": "collection", "type": "application/json"}]
    if has_more:
        links.append({"href": url(q.offset + q.limit, "json"), "rel": "next", "type": GEOJSON})
    if q.offset > 0:
        links.append({"href": url(max(q.offset - q.limit, 0), "json"), "rel": "prev", "type": GEOJSON})
    return links


@router.get("/collections/{collection_id}/items", summary="Features of a collection",
            responses=problem_responses())
def items(request: Request, collection_id: str, who: Caller, q: Annotated[ItemsQuery, Depends(items_query)],
          f: ItemsFormat | None = None):
    fmt = negotiate(request, f, ("json", "html", "csv", "gpkg"))
    if rec := find_records(collection_id):  # programmes, indicators, progress: records without geometry
        return record_routes.items(request, rec, who, q, fmt)
    layer = layer_for(request, collection_id, who)
    engine = request.app.state.engine
    if fmt == "html":
        q.crs = crs_mod.parse(None, 0)  # the map draws lon/lat
    if fmt in ("csv", "gpkg"):
        with engine.connect() as conn:
            frame = fetch_frame(conn, layer, q, who.may_read_layer(layer.id), who.cities)
        return (csv_response if fmt == "csv" else gpkg_response)(frame, layer.id)
    with engine.connect() as conn:
        page = fetch_items(conn, layer, q, who.may_read_layer(layer.id), who.cities,
                           count_budget_ms=request.app.state.settings.count_budget_ms,
                           counted=request.app.state.catalog.counted)
    envelope = {"type": "FeatureCollection", "numberReturned": page.returned,
                "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
                "links": _page_links(request, collection_id, q, page.has_more)}
    if page.matched is not None:  # exact, or left out when counting takes longer than the budget
        envelope["numberMatched"] = page.matched
    headers = {"Content-Crs": f"<{q.crs.uri}>"}
    if fmt == "html":
        doc = {**envelope, "features": json.loads(f"[{page.features}]")}
        return html_page(request, "items", doc, layer.title_id)
    head = json.dumps(envelope)[:-1]
    body = f'{head}, "features": [{page.features}]}}'.encode()
    return Response(body, media_type=GEOJSON, headers=headers)


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature",
            responses=problem_responses())
def item(request: Request, collection_id: str, feature_id: int, who: Caller, f: ItemFormat | None = None,
         crs: CrsUri | None = None):
    fmt = negotiate(request, f)
    if rec := find_records(collection_id):
        return record_routes.item(request, rec, who, feature_id, fmt)
    layer = layer_for(request, collection_id, who)
    out_crs = crs_mod.parse(None if fmt == "html" else crs, request.app.state.settings.city.metric_crs)
    with request.app.state.engine.connect() as conn:
        feature, version = fetch_item(conn, layer, feature_id, out_crs, who.may_read_layer(layer.id), who.cities)
    base = str(request.base_url).rstrip("/")
    links = [{"href": f"{base}/collections/{collection_id}/items/{feature_id}?f=json", "rel": "self",
              "type": GEOJSON},
             {"href": f"{base}/collections/{collection_id}/items/{feature_id}?f=html", "rel": "alternate",
              "type": "text/html"},
             {"href": f"{base}/collections/{collection_id}", "rel": "collection", "type": "application/json"},
             {"href": f"{base}/collections/{collection_id}/items/{feature_id}/history", "rel": "version-history",
              "type": "application/json"},
             {"href": f"{base}/collections/{collection_id}/items/{feature_id}/attachments", "rel": "attachments",
              "type": "application/json"}]
    if fmt == "html":
        return html_page(request, "item", {**json.loads(feature), "links": links}, layer.title_id)
    body = f'{feature[:-1]}, "links": {json.dumps(links)}}}'.encode()
    return Response(body, media_type=GEOJSON, headers={"ETag": etag(version), "Content-Crs": f"<{out_crs.uri}>",
                                                       "Accept-Patch": ACCEPT_PATCH})


# --- writes -------------------------------------------------------------------------------------------------
# Each write: parse the request, one FeatureWriter call (validation, transaction, history, cache invalidation),
# answer. Plain `def` routes: the catalog lookup and the write block, so they run in the thread pool.

Planner = Annotated[Principal, Depends(require("planner"))]
MERGE_PATCH = "application/merge-patch+json"
ACCEPT_PATCH = f"{MERGE_PATCH}, {GEOJSON}"


async def request_body(request: Request) -> bytes:
    return await request.body()  # BodyLimitMiddleware refuses oversized bodies


RawBody = Annotated[bytes, Depends(request_body)]


def geometry_input(request: Request, content_crs: Annotated[str | None, Header(alias="Content-Crs")] = None,
                   repair: Annotated[bool, Query(description="repair an invalid geometry instead of refusing it")]
                   = False) -> GeometryInput:
    metric = request.app.state.settings.city.metric_crs
    return GeometryInput(crs_mod.parse(content_crs, metric, "Content-Crs"), repair)


Geometry = Annotated[GeometryInput, Depends(geometry_input)]


def _json(request: Request, raw: bytes):
    return edits.parse_json(raw, request.app.state.settings.max_body_mb * 1_000_000)


def writable_layer(request: Request, collection_id: str, who: Principal):
    """The layer a write names; the record collections are written through /programmes (405 here)."""
    if find_records(collection_id):
        raise StarletteHTTPException(405, f"{collection_id!r} is read here; programmes are changed through "
                                          f"/programmes/{{kode}} and /programmes/{{kode}}/progress",
                                     headers={"Allow": "GET, HEAD"})
    return layer_for(request, collection_id, who)


def _feature_url(request: Request, collection_id: str, fid: int) -> str:
    return f"{str(request.base_url).rstrip('/')}/collections/{collection_id}/items/{fid}"


@router.post("/collections/{collection_id}/items", status_code=201, summary="Add a feature",
             response_model=Created, responses=write_responses(201), openapi_extra=request_body_doc(GEOJSON))
def create_item(request: Request, collection_id: str, who: Planner, writer: Writer, raw: RawBody,
                geometry: Geometry):
    layer = writable_layer(request, collection_id, who)
    written = writer.create(layer, _json(request, raw), who, geometry)
    return JSONResponse({"id": written.id, "version": written.version}, status_code=201,
                        headers={"Location": _feature_url(request, collection_id, written.id),
                                 "ETag": etag(written.version)})


@router.put("/collections/{collection_id}/items/{feature_id}", status_code=204, response_class=Response,
            summary="Replace a feature (needs If-Match; every private property must be sent, null to clear it)",
            responses=write_responses(204, 412, 428), openapi_extra=request_body_doc(GEOJSON))
def replace_item(request: Request, collection_id: str, feature_id: int, who: Planner, writer: Writer,
                 expected: IfMatch, raw: RawBody, geometry: Geometry):
    layer = writable_layer(request, collection_id, who)
    written = writer.replace(layer, feature_id, _json(request, raw), expected, who, geometry)
    return Response(status_code=204, headers={"ETag": etag(written.version)})


@router.patch("/collections/{collection_id}/items/{feature_id}", status_code=204, response_class=Response,
              summary="Change part of a feature: JSON Merge Patch or a partial Feature (needs If-Match)",
              responses=write_responses(204, 412, 428), openapi_extra=request_body_doc(MERGE_PATCH, GEOJSON))
def patch_item(request: Request, collection_id: str, feature_id: int, who: Planner, writer: Writer,
               expected: IfMatch, raw: RawBody, geometry: Geometry):
    layer = writable_layer(request, collection_id, who)
    merge = request.headers.get("content-type", "").split(";")[0].strip().lower() == MERGE_PATCH
    written = writer.patch(layer, feature_id, _json(request, raw), expected, who, merge, geometry)
    return Response(status_code=204, headers={"ETag": etag(written.version)})


@router.delete("/collections/{collection_id}/items/{feature_id}", status_code=204, response_class=Response,
               summary="Delete a feature (needs If-Match)", responses=write_responses(204, 412, 428, etag=False))
def delete_item(request: Request, collection_id: str, feature_id: int, who: Planner, writer: Writer,
                expected: IfMatch):
    writer.delete(writable_layer(request, collection_id, who), feature_id, expected, who)
    return Response(status_code=204)


@router.get("/collections/{collection_id}/items/{feature_id}/history", summary="Edit history of a feature",
            responses=problem_responses())
def item_history(request: Request, collection_id: str, feature_id: int, who: Caller,
                 f: Literal["json", "html"] | None = None):
    fmt = negotiate(request, f)
    layer = layer_for(request, collection_id, who)
    with request.app.state.engine.connect() as conn:
        entries = edits.history(conn, layer, feature_id, reads_private_of(conn, who, layer, feature_id))
    doc = {"collection": collection_id, "id": feature_id, "history": entries}
    if fmt == "html":
        return html_page(request, "history", doc, f"{layer.title_id} #{feature_id}")
    return JSONResponse(doc)


@router.post("/collections/{collection_id}/items/{feature_id}/history/{version}/restore", status_code=204,
             response_class=Response, responses=write_responses(204, 412),
             summary="Restore a feature (also a deleted one, without If-Match) to an earlier version")
def restore_item(request: Request, collection_id: str, feature_id: int, version: int, who: Planner,
                 writer: Writer, expected: OptionalIfMatch):
    written = writer.restore(writable_layer(request, collection_id, who), feature_id, version, expected, who)
    return Response(status_code=204, headers={"ETag": etag(written.version)})
