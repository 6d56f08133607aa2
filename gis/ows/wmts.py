"""WMTS 1.0.0 (KVP and RESTful): GetCapabilities and GetTile for every layer and raster the caller may read, in
WebMercatorQuad and the city's UTM grid. A layer's tile is the WMS GetMap of the tile's box at 256x256 (the same
Mapnik renderer, cache, edit invalidation and privacy); a raster's tile is the raster tile rendering, kept in the
same cache (WebMercatorQuad tiles under the raster tiles' own keys)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import morecantile
from PIL import Image

from gis.core.errors import InvalidInput, NotFound
from gis.data.catalog import union
from gis.ows import wms, wmts_capabilities
from gis.ows.exceptions import OwsError, invalid, missing
from gis.ows.request import parse_request
from gis.ows.wms_request import WmsAnswer, WmsContext
from gis.ows.wmts_matrix import WEB_MERCATOR, matrix_sets, max_zoom, srid_of
from gis.tiles import rasters
from gis.tiles.city_mask import CITY_LAYER, inside_cities, inside_cities_box, mask_png
from gis.tiles.vector import make_tile

_ILLUSTRATIVE = {"id": " Data ilustratif, bukan data resmi.", "en": " Illustrative data, not official."}


@dataclass
class WmtsContext:
    wms: WmsContext  # the WMS a layer's tile is drawn by
    url: str  # the service's own URL (…/wmts)
    data_dir: Path
    center_lon: float
    center_lat: float

    @property
    def sets(self) -> dict[str, morecantile.TileMatrixSet]:
        return matrix_sets(self.wms.metric_srid, self.center_lon, self.center_lat)


def _rasters(ctx: WmtsContext) -> dict[str, dict]:
    with ctx.wms.engine.connect() as conn:
        return {k: e for k, e in rasters.registry(conn).items() if rasters.readable(e, ctx.wms.who.name)}


def handle_kvp(params: Mapping[str, str], ctx: WmtsContext) -> WmsAnswer:
    """Answer one KVP request; raises OwsError for anything the request got wrong."""
    req = {k.lower(): v.strip() for k, v in params.items() if v.strip()}
    service = req.get("service")
    if service is None:
        raise missing("SERVICE", " (SERVICE=WMTS)")
    if service.upper() != "WMTS":
        raise invalid("SERVICE", f"service {service[:40]!r} is not offered here; use SERVICE=WMTS")
    operation = req.get("request")
    if operation is None:
        raise missing("REQUEST", ": GetCapabilities or GetTile")
    if operation.lower() == "getcapabilities":
        return get_capabilities(params, ctx)
    if operation.lower() != "gettile":
        raise OwsError("OperationNotSupported", "REQUEST", f"operation {operation[:40]!r} is not supported; this "
                                                           f"WMTS offers GetCapabilities and GetTile")
    version = req.get("version", "1.0.0")
    if version != "1.0.0":
        raise invalid("VERSION", f"WMTS version {version[:20]!r} is not offered; use VERSION=1.0.0")
    values = {}
    for name in ("LAYER", "STYLE", "FORMAT", "TILEMATRIXSET", "TILEMATRIX", "TILEROW", "TILECOL"):
        values[name] = req.get(name.lower())
        if values[name] is None:
            raise missing(name, " (GetCapabilities lists the layers, styles and tile matrix sets)")
    extra = {k: v for k, v in params.items() if k.lower() in ("city", "lang")}
    return get_tile(values["LAYER"], values["STYLE"], values["FORMAT"], values["TILEMATRIXSET"],
                    values["TILEMATRIX"], values["TILEROW"], values["TILECOL"], extra, ctx)


def get_capabilities(params: Mapping[str, str], ctx: WmtsContext) -> WmsAnswer:
    req = parse_request(params, ctx.wms)
    layers = ctx.wms.catalog.visible(ctx.wms.who)
    stats = ctx.wms.catalog.stats(layers, req.cities)
    city_box = union(stats[layer.id].bbox for layer in layers if stats[layer.id].bbox is not None)
    en = req.lang == "en"
    entries = []
    for layer in layers:
        title = layer.title_en if en else layer.title_id
        abstract = ((layer.description_en if en else layer.description_id) or title) + \
            (_ILLUSTRATIVE[req.lang] if layer.illustrative else "")
        legend = f"{ctx.wms.url}?" + urlencode({"SERVICE": "WMS", "REQUEST": "GetLegendGraphic", "VERSION": "1.3.0",
                                                "FORMAT": "image/png", "LAYER": layer.id, **req.extra})
        entries.append(wmts_capabilities.TileLayer(layer.id, title, abstract, stats[layer.id].bbox or city_box,
                                                   legend))
    known = {layer.id for layer in layers}
    for raster_id, entry in _rasters(ctx).items():
        if raster_id in known or entry.get("owner") is not None:  # an analysis's result is not a city's data set
            continue
        try:
            bounds = tuple(rasters.describe(entry, ctx.data_dir)["bounds"])
        except NotFound:  # its file is missing: nothing to tile
            continue
        title = entry["title_en"] if en else entry["title_id"]
        entries.append(wmts_capabilities.TileLayer(raster_id, title, title + (
            _ILLUSTRATIVE[req.lang] if entry["illustrative"] else ""), bounds, None))
    body = wmts_capabilities.capabilities(req.city_name, req.lang, ctx.url, req.extra, entries, ctx.sets)
    return WmsAnswer(body, "application/xml")


def _whole(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise invalid(name, f"{name} {value[:20]!r} is not a whole number") from None


def get_tile(layer_id: str, style: str, fmt: str, set_id: str, matrix: str, row: str, col: str,
             extra: dict[str, str], ctx: WmtsContext, status_unknown: int = 400) -> WmsAnswer:
    """One 256x256 PNG tile. `status_unknown` is 404 for REST paths naming a layer or set that is not offered."""
    sets = ctx.sets
    tms = sets.get(set_id)
    if tms is None:
        raise OwsError("InvalidParameterValue", "TILEMATRIXSET", f"tile matrix set {set_id[:40]!r} is not offered; "
                                                                 f"use one of: {', '.join(sets)}", status_unknown)
    if style != "default":
        raise invalid("STYLE", f"style {style[:40]!r} is not offered; use STYLE=default")
    if fmt.lower() != "image/png":
        raise invalid("FORMAT", f"format {fmt[:60]!r} is not offered; use FORMAT=image/png")
    z, y, x = _whole("TILEMATRIX", matrix), _whole("TILEROW", row), _whole("TILECOL", col)
    if not tms.minzoom <= z <= max_zoom(tms):
        raise invalid("TILEMATRIX", f"tile matrix {z} is not in {set_id} (levels {tms.minzoom}..{max_zoom(tms)})")
    m = tms.matrix(z)
    if not 0 <= y < m.matrixHeight:
        raise OwsError("TileOutOfRange", "TILEROW", f"TILEROW {y} is outside 0..{m.matrixHeight - 1} at level {z}")
    if not 0 <= x < m.matrixWidth:
        raise OwsError("TileOutOfRange", "TILECOL", f"TILECOL {x} is outside 0..{m.matrixWidth - 1} at level {z}")
    visible = {layer.id for layer in ctx.wms.catalog.visible(ctx.wms.who)}
    if layer_id in visible:
        x0, y0, x1, y1 = tms.xy_bounds(morecantile.Tile(x, y, z))
        return wms.handle({"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": layer_id,
                           "STYLES": "", "CRS": f"EPSG:{srid_of(tms)}", "BBOX": f"{x0!r},{y0!r},{x1!r},{y1!r}",
                           "WIDTH": "256", "HEIGHT": "256", "FORMAT": "image/png", **extra}, ctx.wms)
    entry = _rasters(ctx).get(layer_id)
    if entry is None:
        raise OwsError("InvalidParameterValue", "LAYER", f"layer {layer_id[:60]!r} is not offered; GetCapabilities "
                                                         f"lists the layers this caller may read", status_unknown)
    city = next((v for k, v in extra.items() if k.lower() == "city"), None)
    try:
        cities = ctx.wms.catalog.scope(city)
    except InvalidInput as exc:
        raise invalid("city", exc.detail) from None
    return _raster_tile(entry, tms, z, x, y, cities, ctx)


def _raster_tile(entry: dict, tms: morecantile.TileMatrixSet, z: int, x: int, y: int, cities: tuple[str, ...],
                 ctx: WmtsContext) -> WmsAnswer:
    """Kept under the raster tiles' own key in Web Mercator; transparent outside `cities` when given."""
    cache = ctx.wms.cache
    mercator = tms.id == WEB_MERCATOR
    sources = (f"raster:{entry['id']}", *((CITY_LAYER,) if cities else ()))
    key = cache.key("png", sources, entry["path"], *((z, x, y) if mercator else (tms.id, z, x, y)),
                    *((cities,) if cities else ()))
    tile = cache.get(key)
    if tile is None:
        try:
            data = rasters.render_tile(entry, ctx.data_dir, z, x, y, None if mercator else tms) or b""
        except (NotFound, InvalidInput) as exc:
            raise OwsError("NoApplicableCode", None, exc.detail, 404) from None
        if data and cities:
            with ctx.wms.engine.connect() as conn:
                inside = (inside_cities(conn, cities, z, x, y, rasters.TILE_SIZE) if mercator else
                          inside_cities_box(conn, cities, srid_of(tms), tuple(tms.xy_bounds(morecantile.Tile(x, y, z))),
                                            rasters.TILE_SIZE))
            data = mask_png(data, inside)
        tile = make_tile(data)
        cache.put(key, tile)
    body = tile.data or _EMPTY  # a WMTS client expects an image for every tile: a clear one where there are none
    cache_control = ("private" if entry["owner"] else "public") + ", no-cache"
    return WmsAnswer(body, "image/png", {"ETag": tile.etag, "Cache-Control": cache_control})


def _clear_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (256, 256), (0, 0, 0, 0)).save(out, "PNG")
    return out.getvalue()


_EMPTY = _clear_png()
