"""WMS 1.3.0 and 1.1.1 (KVP GET): GetCapabilities, GetMap, GetFeatureInfo and GetLegendGraphic for every layer
the caller may read, drawn by `gis/render/wms_draw` from the web map's style specification. Images are kept in
the tile service's cache under the layers' change generations, so an edit redraws them; feature information
comes from the map's own identification (`gis/data/identify`), with private fields only for a key reading them."""

from __future__ import annotations

import html
import json
import logging
import math
from collections.abc import Mapping
from urllib.parse import urlencode

from pyproj import Transformer

from gis.core.errors import InvalidInput
from gis.data.catalog import union
from gis.data.identify import EARTH_CIRCUMFERENCE_M, Point, identify
from gis.ows import wms_capabilities as caps
from gis.ows.exceptions import OwsError, invalid, missing
from gis.ows.request import Request, parse_request
from gis.ows.wms_request import (
    INFO_FORMATS,
    MEDIA_TYPES,
    WmsAnswer,
    WmsContext,
    background,
    check_styles,
    layers_of,
    map_format,
    offered_srids,
    parse_view,
    version_of,
)
from gis.render import wms_draw, wms_mapnik
from gis.tiles.vector import make_tile

OPERATIONS = ("GetCapabilities", "GetMap", "GetFeatureInfo", "GetLegendGraphic")
MAX_FEATURE_COUNT = 50
log = logging.getLogger(__name__)


def handle(params: Mapping[str, str], ctx: WmsContext) -> WmsAnswer:
    """Answer one KVP request; raises OwsError for anything the request got wrong."""
    req = parse_request(params, ctx)
    operation = req.get("request")
    if operation is None:
        raise missing("REQUEST", ": GetCapabilities, GetMap, GetFeatureInfo or GetLegendGraphic")
    service = req.get("service")
    if service is not None and service.upper() != "WMS":
        raise invalid("SERVICE", f"service {service[:40]!r} is not offered here; use SERVICE=WMS")
    handlers = {"getcapabilities": get_capabilities, "capabilities": get_capabilities, "getmap": get_map,
                "map": get_map, "getfeatureinfo": get_feature_info, "getlegendgraphic": get_legend_graphic}
    handler = handlers.get(operation.lower())
    if handler is None:
        raise OwsError("OperationNotSupported", "REQUEST", f"operation {operation[:40]!r} is not supported; "
                                                           f"this WMS offers {', '.join(OPERATIONS)}")
    if service is None and handler is not get_map:  # 1.1.1 and 1.3.0 require it, except for GetMap
        raise missing("SERVICE", " (SERVICE=WMS)")
    try:
        return handler(req, ctx)
    except InvalidInput as exc:
        raise OwsError("InvalidParameterValue", None, exc.detail) from None


def error_version(params: Mapping[str, str]) -> str:
    """The version an exception report is written in: 1.1.1 when the request asked for it, else 1.3.0."""
    asked = {k.lower(): v for k, v in params.items()}.get("version", "")
    return "1.1.1" if asked.strip() == "1.1.1" else "1.3.0"


# --- GetCapabilities -----------------------------------------------------------------------------------------------

def get_capabilities(req: Request, ctx: WmsContext) -> WmsAnswer:
    version = version_of(req)
    layers = ctx.catalog.visible(ctx.who)
    stats = ctx.catalog.stats(layers, req.cities)
    boxes = [(layer, stats[layer.id].bbox) for layer in layers]
    extra = dict(req.extra)
    url = f"{ctx.url}?{urlencode(extra)}&" if extra else f"{ctx.url}?"
    info = caps.CapabilitiesInfo(version, req.city_name, url, req.lang, offered_srids(req.metric_srid),
                                 ctx.max_width, ctx.max_height, ctx.attribution, extra)
    body = caps.capabilities(info, boxes, union(b for _, b in boxes if b is not None))
    return WmsAnswer(body, "text/xml" if version == "1.3.0" else "application/vnd.ogc.wms_xml")


# --- GetMap --------------------------------------------------------------------------------------------------------

def get_map(req: Request, ctx: WmsContext) -> WmsAnswer:
    version = version_of(req, default="")
    if not version:
        raise missing("VERSION", " (VERSION=1.3.0)")
    layers = layers_of(req, ctx)
    check_styles(req, layers)
    view = parse_view(req, version, req.metric_srid, ctx.max_width, ctx.max_height)
    fmt = map_format(req)
    bg = background(req, fmt)
    private = tuple(ctx.who.may_read_layer(layer.id) for layer in layers)
    key = ctx.cache.key("wms", tuple(layer.id for layer in layers), view, fmt, bg, private,
                        ctx.who.cities if any(private) else None, req.cities)
    tile = ctx.cache.get(key)
    if tile is None:
        try:
            data = wms_mapnik.render(list(zip(layers, private, strict=True)), view, bg, fmt, ctx.database_url,
                                     req.cities)
        except RuntimeError as exc:  # Mapnik's report of a failed query: never shown (it names the database)
            if "transform" in str(exc).lower():
                raise invalid("BBOX", "BBOX lies outside the area the CRS can be projected in; give a box "
                                      "around the city in the CRS's units") from None
            log.warning("GetMap failed: %s", exc)
            raise OwsError("NoApplicableCode", None, "the map could not be drawn now; try again shortly",
                           503) from None
        tile = make_tile(data)
        ctx.cache.put(key, tile)
    cache = "private" if any(private) else "public"
    return WmsAnswer(tile.data, MEDIA_TYPES[fmt], {"ETag": tile.etag, "Cache-Control": f"{cache}, no-cache"})


# --- GetFeatureInfo ------------------------------------------------------------------------------------------------

def _pixel(req: Request, version: str, view: wms_draw.View) -> tuple[float, float]:
    names = ("I", "J") if version == "1.3.0" else ("X", "Y")
    out = []
    for name, size in zip(names, (view.width, view.height), strict=True):
        value = req.get(name.lower())
        if value is None:
            raise missing(name, f" (the pixel queried, 0..{size - 1})")
        try:
            number = int(value)
        except ValueError:
            raise OwsError("InvalidPoint", name, f"{name} {value[:20]!r} is not a pixel number") from None
        if not 0 <= number < size:
            raise OwsError("InvalidPoint", name, f"{name} {number} is outside the image (0..{size - 1})")
        out.append(number + 0.5)
    x = view.x0 + out[0] * (view.x1 - view.x0) / view.width
    y = view.y1 - out[1] * (view.y1 - view.y0) / view.height
    return x, y


def get_feature_info(req: Request, ctx: WmsContext) -> WmsAnswer:
    version = version_of(req, default="")
    if not version:
        raise missing("VERSION", " (VERSION=1.3.0)")
    map_layers = layers_of(req, ctx)
    queried = layers_of(req, ctx, "QUERY_LAYERS")
    outside = [layer.id for layer in queried if layer not in map_layers]
    if outside:
        raise OwsError("LayerNotQueryable", "QUERY_LAYERS", f"QUERY_LAYERS names {', '.join(outside)}, which "
                                                            f"LAYERS does not draw")
    view = parse_view(req, version, req.metric_srid, ctx.max_width, ctx.max_height)
    fmt = req.get("info_format") or "text/html"
    if fmt not in INFO_FORMATS:
        raise OwsError("InvalidFormat", "INFO_FORMAT", f"INFO_FORMAT {fmt[:60]!r} is not offered; use one of: "
                                                       f"{', '.join(INFO_FORMATS)}")
    count_value = req.get("feature_count") or "1"
    if not count_value.isdigit() or not 1 <= int(count_value) <= MAX_FEATURE_COUNT:
        raise invalid("FEATURE_COUNT", f"FEATURE_COUNT {count_value[:20]!r} is not a number in "
                                       f"1..{MAX_FEATURE_COUNT}")
    x, y = _pixel(req, version, view)
    lon, lat = Transformer.from_crs(view.srid, 4326, always_xy=True).transform(x, y)
    metres_per_pixel = view.resolution * (111_320 if view.srid == 4326 else
                                          math.cos(math.radians(lat)) if view.srid == 3857 else 1)
    zoom = math.log2(EARTH_CIRCUMFERENCE_M * math.cos(math.radians(lat)) / (256 * metres_per_pixel))
    with ctx.engine.connect() as conn:
        found = identify(conn, Point(lon, lat), queried, ctx.who, zoom, req.cities, req.lang, req.metric_srid)
    per_layer: dict[str, int] = {}
    features = []
    for feature in found["features"]:
        per_layer[feature["layer"]] = per_layer.get(feature["layer"], 0) + 1
        if per_layer[feature["layer"]] <= int(count_value):
            features.append(feature)
    return WmsAnswer(_write_info(features, fmt, lon, lat), fmt + ("; charset=utf-8" if fmt != INFO_FORMATS[1]
                                                                 else ""))


def _write_info(features: list[dict], fmt: str, lon: float, lat: float) -> bytes:
    if fmt == "application/json":
        doc = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": f"{f['layer']}.{f['id']}", "geometry": None, "layer": f["layer"],
             "properties": {p["name"]: p["value"] for p in f["properties"]}} for f in features]}
        return json.dumps(doc, default=str).encode()
    if fmt == "text/plain":
        lines = [f"point: {lon:.6f}, {lat:.6f}", f"features: {len(features)}"]
        for f in features:
            lines.append(f"\n{f['layer_title']} ({f['layer']}.{f['id']})")
            lines += [f"  {p['label']}: {p['text']}" for p in f["properties"]]
        return ("\n".join(lines) + "\n").encode()
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>GetFeatureInfo</title></head><body>"]
    for f in features:
        parts.append(f"<h3>{html.escape(f['layer_title'])}</h3><table data-layer='{html.escape(f['layer'])}' "
                     f"data-id='{html.escape(str(f['id']))}'>")
        parts += [f"<tr><th>{html.escape(p['label'])}</th><td>{html.escape(p['text'])}</td></tr>"
                  for p in f["properties"]]
        parts.append("</table>")
    if not features:
        parts.append("<p>-</p>")
    return ("".join(parts) + "</body></html>").encode()


# --- GetLegendGraphic ----------------------------------------------------------------------------------------------

def get_legend_graphic(req: Request, ctx: WmsContext) -> WmsAnswer:
    layer = layers_of(req, ctx, "LAYER")
    if len(layer) != 1:
        raise invalid("LAYER", "GetLegendGraphic draws one layer's legend: LAYER=<layer>")
    fmt = req.get("format") or "image/png"
    if fmt.lower() != "image/png":
        raise OwsError("InvalidFormat", "FORMAT", f"legend format {fmt[:60]!r} is not offered; use image/png")
    style = req.get("style")
    if style not in (None, "default"):
        raise OwsError("StyleNotDefined", "STYLE", f"style {style[:40]!r} is not offered; use 'default'")
    return WmsAnswer(wms_draw.png(wms_draw.legend(layer[0], req.lang)), "image/png")
