"""OGC API - Features items: read (Parts 1-3, JSON/HTML/CSV/GeoPackage) and write (Part 4) with ETags and
edit history."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from api.deps import Caller, layer_for, require
from api.errors import PreconditionRequired
from api.exports import csv_response, gpkg_response
from api.formats import GEOJSON, html_page, negotiate
from gis.core import crs as crs_mod
from gis.core.errors import InvalidInput
from gis.data import edits
from gis.data.auth import Principal
from gis.data.features import ItemsQuery, fetch_frame, fetch_item, fetch_items

router = APIRouter(tags=["OGC API - Features"])

KNOWN_PARAMS = {"f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "properties", "sortby", "filter",
                "filter-lang", "filter-crs", "lang"}
Planner = Annotated[Principal, Depends(require("planner"))]


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
                sortby: str | None = None, filter: str | None = None) -> ItemsQuery:
    metric = request.app.state.settings.city.metric_crs
    qp = request.query_params
    lang = (qp.get("filter-lang") or "cql2-text").lower()
    if lang not in ("cql2-text", "cql2-json"):
        raise InvalidInput(f"filter-lang must be cql2-text or cql2-json, got {lang[:30]!r}")
    extra = {k: v for k, v in qp.items() if k not in KNOWN_PARAMS}
    return ItemsQuery(
        limit=limit, offset=offset, bbox=_bbox(bbox),
        bbox_crs=crs_mod.parse(qp.get("bbox-crs"), metric, "bbox-crs"),
        crs=crs_mod.parse(qp.get("crs"), metric), datetime=_datetime(datetime),
        properties=[p.strip() for p in properties.split(",") if p.strip()] if properties is not None else None,
        sortby=_sortby(sortby), filter=filter, filter_lang=lang,
        filter_crs=crs_mod.parse(qp.get("filter-crs"), metric, "filter-crs"), equals=extra,
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


@router.get("/collections/{collection_id}/items", summary="Features of a collection")
def items(request: Request, collection_id: str, who: Caller, q: Annotated[ItemsQuery, Depends(items_query)],
          f: str | None = None):
    fmt = negotiate(request, f, ("json", "html", "csv", "gpkg"))
    layer = layer_for(request, collection_id, who)
    engine = request.app.state.engine
    if fmt == "html":
        q.crs = crs_mod.parse(None, 0)  # the map draws lon/lat
    if fmt in ("csv", "gpkg"):
        with engine.connect() as conn:
            frame = fetch_frame(conn, layer, q, who.sees_private)
        return (csv_response if fmt == "csv" else gpkg_response)(frame, layer.id)
    with engine.connect() as conn:
        page = fetch_items(conn, layer, q, who.sees_private,
                           count_budget_ms=request.app.state.settings.count_budget_ms)
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


def _etag(version: int) -> str:
    return f'"{version}"'


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature")
def item(request: Request, collection_id: str, feature_id: int, who: Caller, f: str | None = None,
         crs: str | None = None):
    fmt = negotiate(request, f)
    layer = layer_for(request, collection_id, who)
    out_crs = crs_mod.parse(None if fmt == "html" else crs, request.app.state.settings.city.metric_crs)
    with request.app.state.engine.connect() as conn:
        feature, version = fetch_item(conn, layer, feature_id, out_crs, who.sees_private)
    base = str(request.base_url).rstrip("/")
    links = [{"href": f"{base}/collections/{collection_id}/items/{feature_id}?f=json", "rel": "self",
              "type": GEOJSON},
             {"href": f"{base}/collections/{collection_id}/items/{feature_id}?f=html", "rel": "alternate",
              "type": "text/html"},
             {"href": f"{base}/collections/{collection_id}", "rel": "collection", "type": "application/json"},
             {"href": f"{base}/collections/{collection_id}/items/{feature_id}/history", "rel": "version-history",
              "type": "application/json"}]
    if fmt == "html":
        return html_page(request, "item", {**json.loads(feature), "links": links}, layer.title_id)
    body = f'{feature[:-1]}, "links": {json.dumps(links)}}}'.encode()
    return Response(body, media_type=GEOJSON, headers={"ETag": _etag(version), "Content-Crs": f"<{out_crs.uri}>"})


# --- writes -------------------------------------------------------------------------------------------------

_IF_MATCH = re.compile(r'^(?:W/)?"(\d+)"$')


def _expected_version(request: Request, required: bool = True) -> int | None:
    """The version named by If-Match (an ETag from GET)."""
    value = request.headers.get("if-match")
    if value is None:
        if required:
            raise PreconditionRequired()
        return None
    m = _IF_MATCH.match(value.strip())
    if not m:
        raise InvalidInput("If-Match must be the feature's ETag as returned by GET (e.g. \"3\")")
    return int(m.group(1))


def _parse_feature(request: Request, layer, raw: bytes, partial: bool):
    body = edits.parse_body(raw, request.app.state.settings.max_body_mb * 1_000_000)
    settings = request.app.state.settings
    content_crs = crs_mod.parse(request.headers.get("content-crs"), settings.city.metric_crs, "Content-Crs")
    repair = request.query_params.get("repair", "false").lower() in ("1", "true", "yes")
    props = edits.check_properties(layer, body.get("properties") or {}, partial=partial)
    geom = None
    if body.get("geometry") is not None or not partial:
        if body.get("geometry") is None:
            raise InvalidInput("a feature needs a geometry")
        geom = edits.check_geometry(layer, body["geometry"], content_crs, repair)
    return props, geom


def _write(request: Request, layer, fn):
    """Run one write in its own transaction, then tell the caches (stats, tiles) the layer changed."""
    with request.app.state.engine.begin() as conn:
        result = fn(conn)
    for hook in request.app.state.write_hooks:
        hook(layer.id)
    return result


@router.post("/collections/{collection_id}/items", status_code=201, summary="Add a feature")
async def create_item(request: Request, collection_id: str, who: Planner):
    layer = layer_for(request, collection_id, who)
    raw = await request.body()  # BodyLimitMiddleware refuses oversized bodies

    def run():
        props, geom = _parse_feature(request, layer, raw, partial=False)
        return _write(request, layer, lambda conn: edits.create(conn, layer, props, geom, who.name))

    fid, version = await run_in_threadpool(run)
    location = f"{str(request.base_url).rstrip('/')}/collections/{collection_id}/items/{fid}"
    return JSONResponse({"id": fid, "version": version}, status_code=201,
                        headers={"Location": location, "ETag": _etag(version)})


async def _update(request: Request, collection_id: str, feature_id: int, who: Principal, partial: bool):
    layer = layer_for(request, collection_id, who)
    expected = _expected_version(request)
    raw = await request.body()  # BodyLimitMiddleware refuses oversized bodies

    def run():
        props, geom = _parse_feature(request, layer, raw, partial=partial)
        return _write(request, layer,
                      lambda conn: edits.update(conn, layer, feature_id, props, geom, expected, who.name))

    version = await run_in_threadpool(run)
    return Response(status_code=204, headers={"ETag": _etag(version)})


@router.put("/collections/{collection_id}/items/{feature_id}", summary="Replace a feature (needs If-Match)")
async def replace_item(request: Request, collection_id: str, feature_id: int, who: Planner):
    return await _update(request, collection_id, feature_id, who, partial=False)


@router.patch("/collections/{collection_id}/items/{feature_id}", summary="Change part of a feature (If-Match)")
async def patch_item(request: Request, collection_id: str, feature_id: int, who: Planner):
    return await _update(request, collection_id, feature_id, who, partial=True)


@router.delete("/collections/{collection_id}/items/{feature_id}", summary="Delete a feature (needs If-Match)")
async def delete_item(request: Request, collection_id: str, feature_id: int, who: Planner):
    layer = layer_for(request, collection_id, who)
    expected = _expected_version(request)
    await run_in_threadpool(
        _write, request, layer, lambda conn: edits.delete(conn, layer, feature_id, expected, who.name))
    return Response(status_code=204)


@router.get("/collections/{collection_id}/items/{feature_id}/history", summary="Edit history of a feature")
def item_history(request: Request, collection_id: str, feature_id: int, who: Caller, f: str | None = None):
    fmt = negotiate(request, f)
    layer = layer_for(request, collection_id, who)
    with request.app.state.engine.connect() as conn:
        entries = edits.history(conn, layer, feature_id, who.sees_private)
    doc = {"collection": collection_id, "id": feature_id, "history": entries}
    if fmt == "html":
        return html_page(request, "history", doc, f"{layer.title_id} #{feature_id}")
    return JSONResponse(doc)


@router.post("/collections/{collection_id}/items/{feature_id}/history/{version}/restore",
             summary="Restore a feature (also a deleted one) to an earlier version")
async def restore_item(request: Request, collection_id: str, feature_id: int, version: int, who: Planner):
    layer = layer_for(request, collection_id, who)
    expected = _expected_version(request, required=False)
    new_version = await run_in_threadpool(
        _write, request, layer, lambda conn: edits.restore(conn, layer, feature_id, version, who.name, expected))
    return Response(status_code=204, headers={"ETag": _etag(new_version)})
