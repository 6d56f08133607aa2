"""WFS GetFeature: the features of one or several types, selected by BBOX, resource ids or a FES filter, paged
with count/startIndex and counted exactly (numberMatched) like OGC API items, in GML 3.2 or GeoJSON."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlencode

from gis.core.crs import Crs
from gis.core.errors import InvalidInput
from gis.data.features import MAX_LIMIT, ItemsQuery, fetch_items
from gis.ows import fes, gml
from gis.ows.exceptions import OwsError, invalid
from gis.ows.request import (
    GML_MEDIA_TYPE,
    JSON_MEDIA_TYPE,
    Request,
    WfsAnswer,
    WfsContext,
    feature_type,
    fields_of,
    output_format,
    parse_crs,
    type_names,
    url_for,
)
from layers.schema import Layer

MAX_RESOURCE_IDS = 1000
MAX_INTEGER = 2**31 - 1  # startIndex, count and feature ids beyond it name nothing the database holds

# --- GetFeature ------------------------------------------------------------------------------------------------------

def _integer(req: Request, name: str, minimum: int) -> int | None:
    value = req.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise invalid(name, f"{name} must be a whole number, not {value[:20]!r}") from None
    if not minimum <= number <= MAX_INTEGER:
        raise invalid(name, f"{name} must be between {minimum} and {MAX_INTEGER}")
    return number


def _bbox(value: str | None, metric_srid: int, locator: str) -> tuple[tuple[float, float, float, float], Crs] | None:
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",")]
    crs = parse_crs(parts[4] if len(parts) == 5 else None, metric_srid, locator)
    hint = "BBOX is minx,miny,maxx,maxy[,crs] (with urn:ogc:def:crs:EPSG::4326, the default: lat,lon,lat,lon)"
    if len(parts) not in (4, 5):
        raise invalid(locator, hint)
    try:
        nums = tuple(float(p) for p in parts[:4])
    except ValueError:
        raise invalid(locator, hint) from None
    if not all(abs(n) < 1e9 for n in nums) or nums[0] > nums[2] or nums[1] > nums[3]:
        raise invalid(locator, f"{hint}; each minimum must be at most its maximum")
    return nums, crs


def _resource_ids(items: list[str] | None, ctx: WfsContext, locator: str) -> dict[str, list[int]] | None:
    if items is None:
        return None
    out: dict[str, list[int]] = {}
    if len(items) > MAX_RESOURCE_IDS:
        raise invalid(locator, f"at most {MAX_RESOURCE_IDS} resource ids per request")
    for item in items:
        name, _, fid = item.rpartition(".")
        if not name or not fid.isdigit() or int(fid) > MAX_INTEGER:
            raise invalid(locator, f"resource id {item[:60]!r} is not <layer>.<id> (e.g. kelurahan.12)")
        out.setdefault(feature_type(name, ctx, locator).id, []).append(int(fid))
    return out


def _selection(req: Request) -> tuple[str | None, list[str] | None, str]:
    """The BBOX and resource ids asked for, from the parameters or a filter (one of them), and the locator to
    blame for a bad value."""
    value = req.get("resourceid") or req.get("featureid")
    ids = [v.strip() for v in value.split(",") if v.strip()] if value else None
    given = [name for name, v in (("filter", req.get("filter")), ("bbox", req.get("bbox")), ("resourceId", ids))
             if v]
    if len(given) > 1:
        raise invalid(given[0], f"{' and '.join(given)} exclude each other: give one of them")
    if given == ["filter"]:
        selection = fes.parse(req.get("filter"))
        return selection.bbox, selection.resource_ids, "filter"
    return req.get("bbox"), ids, given[0] if given else "bbox"


def _sortby(req: Request) -> list[tuple[str, bool]]:
    out = []
    for part in (req.get("sortby") or "").split(","):
        words = part.split()
        if not words:
            continue
        direction = words[1].upper() if len(words) > 1 else "ASC"
        if len(words) > 2 or direction not in ("ASC", "DESC", "A", "D"):
            raise invalid("sortBy", f"sortBy is property [ASC|DESC], comma-separated, not {part[:40]!r}")
        out.append((words[0].rpartition(":")[2], direction in ("ASC", "A")))
    return out


def get_feature(req: Request, ctx: WfsContext) -> WfsAnswer:
    bbox, resource_ids, locator = _selection(req)
    ids = _resource_ids(resource_ids, ctx, locator)
    if ids is not None and req.get("typenames") is None and req.get("typename") is None:
        layers = [ctx.catalog.layer(name, ctx.who) for name in ids]
    else:
        layers = type_names(req, ctx, required=True)
        if ids is not None and set(ids) - {layer.id for layer in layers}:
            raise invalid(locator, "every resource id must name one of the typeNames requested")
    if req.get("storedquery_id"):
        raise invalid("storedQuery_id", "stored queries are not offered here; select features with BBOX or "
                                        "resourceId")
    fmt = output_format(req.get("outputformat"))
    count = min(_integer(req, "count", 1) or _integer(req, "maxFeatures", 1) or MAX_LIMIT, MAX_LIMIT)
    start = _integer(req, "startIndex", 0) or 0
    hits = (req.get("resulttype") or "results").lower()
    if hits not in ("results", "hits"):
        raise invalid("resultType", "resultType is results or hits")
    srs = parse_crs(req.get("srsname"), req.metric_srid, "srsName")
    base = ItemsQuery(crs=srs if fmt == "gml" else replace(srs, lat_lon=False), sortby=_sortby(req),
                      cities=req.cities)
    if (box := _bbox(bbox, req.metric_srid, locator)) is not None:
        base.bbox, base.bbox_crs = box
    members, matched = _read(ctx, layers, ids, base, start, 0 if hits == "hits" else count)
    returned = len(members)
    more = start + returned < matched if matched is not None else returned == count
    next_url = None
    if more and hits == "results":
        params = {k: v for k, v in req.raw.items() if k.lower() not in ("startindex", "count", "maxfeatures")}
        next_url = f"{ctx.url}?{urlencode({**params, 'startIndex': start + returned, 'count': count})}"
    if ids is not None and not matched and not members:
        raise OwsError("NotFound", locator, "no feature has the resource ids given (or this caller may not "
                                                 "read it)")
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    if fmt == "json":
        doc = {"type": "FeatureCollection", "numberMatched": matched, "numberReturned": returned,
               "timeStamp": stamp, "links": [{"href": next_url, "rel": "next", "type": JSON_MEDIA_TYPE}]
               if next_url else [],
               "features": [{**m.feature, "id": f"{m.layer_id}.{m.feature['id']}"} for m in members]}
        return WfsAnswer(json.dumps(doc).encode(), JSON_MEDIA_TYPE)
    schema_url = url_for(ctx, req, service="WFS", version="2.0.0", request="DescribeFeatureType",
                      typeNames=",".join(f"{gml.PREFIX}:{layer.id}" for layer in layers))
    body = gml.feature_collection(members, {layer.id: fields_of(layer, ctx.who) for layer in layers},
                                  srs_name=srs.uri, matched=matched, next_url=next_url, schema_url=schema_url,
                                  timestamp=stamp)
    return WfsAnswer(body, GML_MEDIA_TYPE)


def _read(ctx: WfsContext, layers: list[Layer], ids: dict[str, list[int]] | None, base: ItemsQuery,
          start: int, count: int) -> tuple[list[gml.Member], int | None]:
    """`count` features from `start` across the layers in turn (one OGC API items query each) and the number
    matched in all of them (None when a count took longer than the budget)."""
    members: list[gml.Member] = []
    matched: int | None = 0
    skip = start
    with ctx.engine.connect() as conn:
        for layer in layers:
            if ids is not None and layer.id not in ids:
                continue
            wanted = count - len(members)
            q = replace(base, limit=max(wanted, 1), offset=skip if wanted else 0)
            if ids is not None:
                q.filter = f"id IN ({', '.join(str(i) for i in ids[layer.id])})"
            try:
                page = fetch_items(conn, layer, q, ctx.who.may_read_layer(layer.id), ctx.who.cities,
                                   count_budget_ms=ctx.count_budget_ms, counted=ctx.catalog.counted)
            except InvalidInput as exc:
                raise invalid("sortBy" if "sort" in exc.detail else "GetFeature", exc.detail) from None
            if wanted and page.returned:
                members += [gml.Member(layer.id, f) for f in json.loads(f"[{page.features}]")]
                skip = 0
            elif wanted and page.matched is not None:
                skip = max(skip - page.matched, 0)
            matched = None if matched is None or page.matched is None else matched + page.matched
    return members, matched
