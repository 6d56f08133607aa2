"""WFS 2.0.0 (KVP GET, read-only): GetCapabilities, DescribeFeatureType and GetFeature on top of the feature
store's reads (`fetch_items`), so a WFS client sees the same features, fields and counts as OGC API - Features:
public layers and fields for anonymous callers, private ones with a key that reads them, `?city=` scope."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy import Engine

from gis.core.crs import CRS84, Crs, supported
from gis.core.errors import InvalidInput, NotFound
from gis.core.language import lang_of
from gis.data.auth import Principal
from gis.data.catalog import MAX_LAYERS_PER_REQUEST, CatalogService
from gis.data.features import MAX_LIMIT, ItemsQuery, fetch_items, visible_fields
from gis.ows import capabilities as caps
from gis.ows import fes, gml
from gis.ows.exceptions import OwsError, invalid, missing
from layers.schema import Layer

GML_MEDIA_TYPE = "application/gml+xml; version=3.2"
XSD_MEDIA_TYPE = "application/xml"  # application schemas are plain XML Schema documents
JSON_MEDIA_TYPE = "application/json"
MAX_RESOURCE_IDS = 1000
_GML_FORMATS = {"application/gml+xml;version=3.2", "text/xml;subtype=gml/3.2", "text/xml;subtype=gml/3.2.1",
                "gml32", "gml3", "application/gml+xml", "text/xml"}
_JSON_FORMATS = {"application/json", "json", "geojson", "application/geo+json", "application/vnd.geo+json"}
_EPSG_CODE = re.compile(r"^(?:urn:ogc:def:crs:EPSG:[^:]*:|http://www\.opengis\.net/def/crs/EPSG/0/|EPSG:|"
                        r"http://www\.opengis\.net/gml/srs/epsg\.xml#)(\d{4,6})$", re.IGNORECASE)
_LON_LAT_4326 = re.compile(r"^(?:EPSG:4326|http://www\.opengis\.net/gml/srs/epsg\.xml#4326)$", re.IGNORECASE)
_CRS84 = {CRS84.lower(), "crs84", "ogc:crs84", "urn:ogc:def:crs:ogc:1.3:crs84", "urn:ogc:def:crs:ogc::crs84"}


@dataclass
class WfsContext:
    """What one request needs from the running service."""

    engine: Engine
    catalog: CatalogService
    who: Principal
    url: str  # the service's own URL (…/wfs), from the request's base URL
    city_name: str  # the service's own city, named when no ?city= is given
    metric_srid: int  # the service's own city's metric CRS
    count_budget_ms: int


@dataclass
class WfsAnswer:
    body: bytes
    media_type: str
    status: int = 200


@dataclass
class Request:
    """The request's KVP parameters (names case-insensitive, as OGC 06-121r9 requires) and what they imply."""

    params: dict[str, str]
    lang: str = "id"
    cities: tuple[str, ...] = ()
    metric_srid: int = 32647
    city_name: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # kept in every URL the answer gives (city, lang)

    def get(self, name: str) -> str | None:
        value = self.params.get(name.lower())
        return value.strip() if value is not None and value.strip() else None


def handle(params: Mapping[str, str], ctx: WfsContext) -> WfsAnswer:
    """Answer one KVP request; raises OwsError for anything the request got wrong."""
    req = _request(params, ctx)
    service = req.get("service")
    operation = req.get("request")
    if operation is None:
        raise missing("request", ": GetCapabilities, DescribeFeatureType or GetFeature")
    if service is None and operation.lower() != "getcapabilities":
        raise missing("service", " (service=WFS)")
    if service is not None and service.upper() != "WFS":
        raise invalid("service", f"service {service[:40]!r} is not offered here; use service=WFS")
    handlers = {"getcapabilities": get_capabilities, "describefeaturetype": describe_feature_type,
                "getfeature": get_feature}
    handler = handlers.get(operation.lower())
    if handler is None:
        raise OwsError("OperationNotSupported", "request",
                       f"operation {operation[:40]!r} is not supported; this read-only WFS offers "
                       f"{', '.join(caps.OPERATIONS)}")
    if handler is not get_capabilities:
        _check_version(req.get("version"))
    return handler(req, ctx)


def _check_version(version: str | None) -> None:
    if version is None:
        raise missing("version", " (version=2.0.0)")
    if version != "2.0.0":
        raise invalid("version", f"WFS version {version[:20]!r} is not offered; this service speaks 2.0.0 only "
                                 f"(version=2.0.0)")


def _request(params: Mapping[str, str], ctx: WfsContext) -> Request:
    req = Request({k.lower(): v for k, v in params.items()})
    wanted = req.get("lang") or (req.get("acceptlanguages") or "").split(",")[0]
    req.lang = lang_of(wanted)
    try:
        req.cities = ctx.catalog.scope(req.get("city"))
    except InvalidInput as exc:
        raise invalid("city", exc.detail) from None
    held = [c for c in ctx.catalog.cities() if c.code in req.cities]
    req.city_name = ", ".join(c.name for c in held) or ctx.city_name
    metric = [c.metric_crs for c in held if c.metric_crs]
    req.metric_srid = max(set(metric), key=metric.count) if metric else ctx.metric_srid
    req.extra = {k: v for k, v in (("city", req.get("city")), ("lang", wanted and req.lang)) if v}
    return req


def _url(ctx: WfsContext, req: Request, **params) -> str:
    return f"{ctx.url}?{urlencode({**params, **req.extra})}"


# --- GetCapabilities -----------------------------------------------------------------------------------------------

def get_capabilities(req: Request, ctx: WfsContext) -> WfsAnswer:
    accept = req.get("acceptversions")
    if accept and "2.0.0" not in [v.strip() for v in accept.split(",")]:
        raise OwsError("VersionNegotiationFailed", "AcceptVersions",
                       f"none of the versions {accept[:60]!r} is offered; this service speaks WFS 2.0.0 only")
    version = req.get("version")
    if version and not accept and version != "2.0.0":
        raise invalid("version", f"WFS version {version[:20]!r} is not offered; this service speaks 2.0.0 only "
                                 f"(version=2.0.0)")
    layers = ctx.catalog.visible(ctx.who)
    stats = ctx.catalog.stats(layers, req.cities)
    other = tuple(dict.fromkeys(s.srid for s in supported(req.metric_srid) if s.srid != 4326))
    url = _url(ctx, req)
    info = caps.ServiceInfo(req.city_name, url if url.endswith("?") else f"{url}&", req.lang, other, MAX_LIMIT)
    body = caps.capabilities(info, [(layer, stats[layer.id].bbox) for layer in layers])
    return WfsAnswer(body, "application/xml")


# --- type names, CRSs ----------------------------------------------------------------------------------------------

def _type_names(req: Request, ctx: WfsContext, required: bool) -> list[Layer]:
    value = req.get("typenames") or req.get("typename")
    if value is None:
        if required:
            raise missing("typeNames", " (e.g. typeNames=petakota:kelurahan; GetCapabilities lists them)")
        return ctx.catalog.visible(ctx.who)
    names = [n.strip() for n in re.split(r"[(),]", value) if n.strip()]
    if len(names) > MAX_LAYERS_PER_REQUEST:
        raise invalid("typeNames", f"at most {MAX_LAYERS_PER_REQUEST} feature types per request")
    return [_layer(name, ctx, "typeNames") for name in dict.fromkeys(names)]


def _layer(name: str, ctx: WfsContext, locator: str) -> Layer:
    prefix, _, local = name.rpartition(":")
    try:
        if prefix not in ("", gml.PREFIX):
            raise NotFound(name)
        return ctx.catalog.layer(local, ctx.who)
    except NotFound:
        raise invalid(locator, f"unknown feature type {name[:100]!r}; GetCapabilities lists the types this "
                               f"caller may read (petakota:<layer>)") from None


def _fields(layer: Layer, who: Principal) -> list:
    return gml.feature_fields(visible_fields(layer, who.may_read_layer(layer.id)))


def parse_crs(value: str | None, metric_srid: int, locator: str) -> Crs:
    """A WFS CRS name -> Crs. urn:ogc:def:crs:EPSG::4326 (the default) is latitude, longitude; EPSG:4326 and
    CRS84 are longitude, latitude as older clients write them; projected CRSs are easting, northing."""
    if value is None:
        return Crs(caps.DEFAULT_CRS, 4326, lat_lon=True)
    if value.lower() in _CRS84:
        return Crs(CRS84, 4326)
    match = _EPSG_CODE.match(value)
    offered = {c.srid for c in supported(metric_srid)}
    if match and int(match.group(1)) in offered:
        srid = int(match.group(1))
        if srid == 4326:
            return Crs(value, 4326, lat_lon=not _LON_LAT_4326.match(value))
        return Crs(f"urn:ogc:def:crs:EPSG::{srid}", srid)
    raise invalid(locator, f"CRS {value[:80]!r} is not offered; use one of: {caps.DEFAULT_CRS}, "
                           f"{', '.join(f'urn:ogc:def:crs:EPSG::{s}' for s in sorted(offered - {4326}))}")


# --- DescribeFeatureType ---------------------------------------------------------------------------------------------

def describe_feature_type(req: Request, ctx: WfsContext) -> WfsAnswer:
    layers = _type_names(req, ctx, required=False)
    fmt = _format(req.get("outputformat"))
    types = [(layer, _fields(layer, ctx.who)) for layer in layers]
    if fmt == "json":
        doc = {"elementFormDefault": "qualified", "targetNamespace": gml.NS, "targetPrefix": gml.PREFIX,
               "featureTypes": [{"typeName": layer.id, "properties": [
                   {"name": gml.GEOMETRY, "maxOccurs": 1, "minOccurs": 0, "nillable": True,
                    "type": gml.GEOMETRY_PROPERTY_TYPES.get(layer.geometry_type, "gml:GeometryPropertyType"),
                    "localType": layer.geometry_type},
                   *({"name": f.name, "maxOccurs": 1, "minOccurs": 0, "nillable": True,
                      "type": gml.XSD_TYPES.get(f.type, "xsd:string"), "localType": f.type} for f in fields)]}
                   for layer, fields in types]}
        return WfsAnswer(json.dumps(doc).encode(), JSON_MEDIA_TYPE)
    return WfsAnswer(gml.application_schema(types), XSD_MEDIA_TYPE)


def _format(value: str | None) -> str:
    if value is None:
        return "gml"
    norm = re.sub(r"\s+", "", value.lower().replace("gml xml", "gml+xml"))  # a '+' not URL-encoded arrives as ' '
    if norm in _GML_FORMATS:
        return "gml"
    if norm in _JSON_FORMATS:
        return "json"
    raise invalid("outputFormat", f"output format {value[:60]!r} is not offered; use one of: "
                                  f"{', '.join(caps.OUTPUT_FORMATS)}")


# --- GetFeature ------------------------------------------------------------------------------------------------------

def _integer(req: Request, name: str, minimum: int) -> int | None:
    value = req.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise invalid(name, f"{name} must be a whole number, not {value[:20]!r}") from None
    if number < minimum:
        raise invalid(name, f"{name} must be {minimum} or more")
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
        if not name or not fid.isdigit():
            raise invalid(locator, f"resource id {item[:60]!r} is not <layer>.<id> (e.g. kelurahan.12)")
        out.setdefault(_layer(name, ctx, locator).id, []).append(int(fid))
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
        layers = _type_names(req, ctx, required=True)
        if ids is not None and set(ids) - {layer.id for layer in layers}:
            raise invalid(locator, "every resource id must name one of the typeNames requested")
    if req.get("storedquery_id"):
        raise invalid("storedQuery_id", "stored queries are not offered here; select features with BBOX or "
                                        "resourceId")
    fmt = _format(req.get("outputformat"))
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
        params = {k: v for k, v in req.params.items() if k not in ("startindex", "count", "maxfeatures")}
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
    schema_url = _url(ctx, req, service="WFS", version="2.0.0", request="DescribeFeatureType",
                      typeNames=",".join(f"{gml.PREFIX}:{layer.id}" for layer in layers))
    body = gml.feature_collection(members, {layer.id: _fields(layer, ctx.who) for layer in layers},
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
