"""A WFS request as the operations read it: KVP parameters (names in any case), the caller and the service,
the language and city scope, and the feature types, CRSs and output formats it names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from sqlalchemy import Engine

from gis.core.crs import CRS84, Crs, supported
from gis.core.errors import InvalidInput, NotFound
from gis.core.language import lang_of
from gis.data.auth import Principal
from gis.data.catalog import MAX_LAYERS_PER_REQUEST, CatalogService
from gis.data.features import visible_fields
from gis.ows import capabilities as caps
from gis.ows import gml
from gis.ows.exceptions import invalid, missing
from layers.schema import Layer

GML_MEDIA_TYPE = "application/gml+xml; version=3.2"
XSD_MEDIA_TYPE = "application/xml"  # application schemas are plain XML Schema documents
JSON_MEDIA_TYPE = "application/json"
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
    raw: dict[str, str] = field(default_factory=dict)  # the parameters as the client spelled them

    def get(self, name: str) -> str | None:
        value = self.params.get(name.lower())
        return value.strip() if value is not None and value.strip() else None


def check_version(version: str | None) -> None:
    if version is None:
        raise missing("version", " (version=2.0.0)")
    if version != "2.0.0":
        raise invalid("version", f"WFS version {version[:20]!r} is not offered; this service speaks 2.0.0 only "
                                 f"(version=2.0.0)")


def parse_request(params: Mapping[str, str], ctx: WfsContext) -> Request:
    req = Request({k.lower(): v for k, v in params.items()}, raw=dict(params))
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


def url_for(ctx: WfsContext, req: Request, **params) -> str:
    return f"{ctx.url}?{urlencode({**params, **req.extra})}"


# --- type names, CRSs ----------------------------------------------------------------------------------------------

def type_names(req: Request, ctx: WfsContext, required: bool) -> list[Layer]:
    value = req.get("typenames") or req.get("typename")
    if value is None:
        if required:
            raise missing("typeNames", " (e.g. typeNames=petakota:kelurahan; GetCapabilities lists them)")
        return ctx.catalog.visible(ctx.who)
    names = [n.strip() for n in re.split(r"[(),]", value) if n.strip()]
    if len(names) > MAX_LAYERS_PER_REQUEST:
        raise invalid("typeNames", f"at most {MAX_LAYERS_PER_REQUEST} feature types per request")
    return [feature_type(name, ctx, "typeNames") for name in dict.fromkeys(names)]


def feature_type(name: str, ctx: WfsContext, locator: str) -> Layer:
    prefix, _, local = name.rpartition(":")
    try:
        if prefix not in ("", gml.PREFIX):
            raise NotFound(name)
        return ctx.catalog.layer(local, ctx.who)
    except NotFound:
        raise invalid(locator, f"unknown feature type {name[:100]!r}; GetCapabilities lists the types this "
                               f"caller may read (petakota:<layer>)") from None


def fields_of(layer: Layer, who: Principal) -> list:
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


def output_format(value: str | None) -> str:
    if value is None:
        return "gml"
    norm = re.sub(r"\s+", "", value.lower().replace("gml xml", "gml+xml"))  # a '+' not URL-encoded arrives as ' '
    if norm in _GML_FORMATS:
        return "gml"
    if norm in _JSON_FORMATS:
        return "json"
    raise invalid("outputFormat", f"output format {value[:60]!r} is not offered; use one of: "
                                  f"{', '.join(caps.OUTPUT_FORMATS)}")
