"""A WMS request's parameters as the operations read them: version, layers and styles, CRS (EPSG:4326 is
latitude, longitude in 1.3.0 and longitude, latitude in 1.1.1), box, size, image format and background; every
fault is an OwsError with the WMS exception code a client expects."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sqlalchemy import Engine

from gis.data.auth import Principal
from gis.data.catalog import CatalogService
from gis.ows.exceptions import OwsError, invalid, missing
from gis.ows.request import Request
from gis.render.wms_draw import View
from gis.tiles.service import TileCache
from layers.schema import Layer

VERSIONS = ("1.3.0", "1.1.1")
MAP_FORMATS = {"image/png": "png", "image/png; mode=8bit": "png8", "image/png8": "png8", "image/jpeg": "jpeg"}
MEDIA_TYPES = {"png": "image/png", "png8": "image/png", "jpeg": "image/jpeg"}
INFO_FORMATS = ("text/html", "application/json", "text/plain")
MAX_LAYERS = 30
_EPSG = re.compile(r"^EPSG:(\d{4,6})$", re.IGNORECASE)
_CRS84 = {"crs:84", "ogc:crs84"}


@dataclass
class WmsContext:
    """What one request needs from the running service."""

    engine: Engine
    database_url: str  # Mapnik reads the layer tables itself, through its PostGIS plugin
    catalog: CatalogService
    cache: TileCache  # the tile service's cache: its per-layer generations drop an edited layer's images
    who: Principal
    url: str  # the service's own URL (…/wms)
    city_name: str
    metric_srid: int
    max_width: int
    max_height: int
    attribution: str


@dataclass
class WmsAnswer:
    body: bytes
    media_type: str
    headers: dict[str, str] | None = None


def version_of(req: Request, default: str = "1.3.0") -> str:
    """The version asked (WMTVER is 1.0's name for it); one this service does not speak is refused."""
    version = req.get("version") or req.get("wmtver")
    if version is None:
        return default
    if version not in VERSIONS:
        raise invalid("VERSION", f"WMS version {version[:20]!r} is not offered; use VERSION=1.3.0 or 1.1.1")
    return version


def offered_srids(metric_srid: int) -> list[int]:
    return list(dict.fromkeys([4326, 3857, 32647, 9477, metric_srid]))


def parse_crs(req: Request, version: str, metric_srid: int) -> tuple[int, bool]:
    """(srid, lat_lon): CRS (1.3.0) or SRS (1.1.1); EPSG:4326 is lat/lon in 1.3.0 only, CRS:84 always lon/lat."""
    name = "CRS" if version == "1.3.0" else "SRS"
    value = req.get(name.lower()) or req.get("srs" if name == "CRS" else "crs")
    if value is None:
        raise missing(name, f" (e.g. {name}=EPSG:3857)")
    if value.lower() in _CRS84:
        return 4326, False
    match = _EPSG.match(value)
    offered = offered_srids(metric_srid)
    if match and int(match.group(1)) in offered:
        srid = int(match.group(1))
        return srid, srid == 4326 and version == "1.3.0"
    code = "InvalidCRS" if version == "1.3.0" else "InvalidSRS"
    raise OwsError(code, name, f"{name} {value[:60]!r} is not offered; use one of: CRS:84, "
                               f"{', '.join(f'EPSG:{s}' for s in offered)}")


def _number(req: Request, name: str, low: int, high: int) -> int:
    value = req.get(name.lower())
    if value is None:
        raise missing(name)
    try:
        number = int(value)
    except ValueError:
        raise invalid(name, f"{name} {value[:20]!r} is not a whole number of pixels") from None
    if not low <= number <= high:
        raise invalid(name, f"{name} {number} is outside {low}..{high} (the largest image this service draws)")
    return number


def parse_view(req: Request, version: str, metric_srid: int, max_width: int, max_height: int) -> View:
    srid, lat_lon = parse_crs(req, version, metric_srid)
    value = req.get("bbox")
    if value is None:
        raise missing("BBOX", " (minx,miny,maxx,maxy in the CRS's axis order)")
    try:
        box = [float(v) for v in value.split(",")]
    except ValueError:
        raise invalid("BBOX", f"BBOX {value[:80]!r} is not four numbers: minx,miny,maxx,maxy") from None
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise invalid("BBOX", f"BBOX {value[:80]!r} is not four numbers: minx,miny,maxx,maxy")
    if lat_lon:  # 1.3.0 EPSG:4326: minlat,minlon,maxlat,maxlon
        box = [box[1], box[0], box[3], box[2]]
    if box[0] >= box[2] or box[1] >= box[3]:
        raise invalid("BBOX", f"BBOX {value[:80]!r} is empty or inverted: the minimum comes before the maximum"
                              + (" (1.3.0 EPSG:4326 is minlat,minlon,maxlat,maxlon)" if lat_lon else ""))
    if srid == 4326 and not (-180 <= box[0] <= box[2] <= 180 and -90 <= box[1] <= box[3] <= 90):
        order = "minlat,minlon,maxlat,maxlon" if lat_lon else "minlon,minlat,maxlon,maxlat"
        raise invalid("BBOX", f"BBOX {value[:80]!r} is off the globe: in this version and CRS it is {order} "
                              f"in degrees")
    width = _number(req, "WIDTH", 1, max_width)
    height = _number(req, "HEIGHT", 1, max_height)
    return View(srid, *box, width, height)


def map_format(req: Request) -> str:
    value = req.get("format")
    if value is None:
        raise missing("FORMAT", " (image/png, image/png; mode=8bit or image/jpeg)")
    norm = re.sub(r"\s+", "", value.lower()).replace(";", "; ")
    if norm.replace("; ", ";") == "image/png;mode=8bit":
        norm = "image/png; mode=8bit"
    if norm not in MAP_FORMATS:
        raise OwsError("InvalidFormat", "FORMAT", f"format {value[:60]!r} is not offered; use image/png, "
                                                  f"image/png; mode=8bit or image/jpeg")
    return MAP_FORMATS[norm]


def background(req: Request, fmt: str) -> tuple[int, int, int] | None:
    """None for a transparent image (TRANSPARENT=TRUE, not for JPEG), else BGCOLOR (white by default)."""
    transparent = (req.get("transparent") or "false").lower()
    if transparent not in ("true", "false"):
        raise invalid("TRANSPARENT", f"TRANSPARENT {transparent[:20]!r} is not TRUE or FALSE")
    value = req.get("bgcolor") or "0xFFFFFF"
    match = re.fullmatch(r"(?:0x|#)([0-9a-fA-F]{6})", value)
    if match is None:
        raise invalid("BGCOLOR", f"BGCOLOR {value[:20]!r} is not a colour: 0xRRGGBB")
    if transparent == "true" and fmt != "jpeg":
        return None
    c = match.group(1)
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def layers_of(req: Request, ctx: WmsContext, name: str = "LAYERS") -> list[Layer]:
    value = req.get(name.lower())
    if value is None:
        raise missing(name, " (GetCapabilities lists the layers)")
    names = [n.strip() for n in value.split(",") if n.strip()]
    if len(names) > MAX_LAYERS:
        raise invalid(name, f"at most {MAX_LAYERS} layers per request")
    visible = {layer.id: layer for layer in ctx.catalog.visible(ctx.who)}
    unknown = [n for n in names if n not in visible]
    if unknown or not names:
        raise OwsError("LayerNotDefined", name, f"layer {', '.join(repr(n[:60]) for n in unknown) or value!r} is "
                                                f"not offered; GetCapabilities lists the layers this caller may "
                                                f"read")
    return [visible[n] for n in names]


def check_styles(req: Request, layers: list[Layer]) -> None:
    """STYLES: empty, or one `default` (or empty) entry per layer."""
    value = req.get("styles")
    if value is None:
        return
    styles = [s.strip() for s in value.split(",")]
    if len(styles) == 1 and not styles[0]:
        return
    if len(styles) != len(layers):
        raise invalid("STYLES", f"STYLES names {len(styles)} styles for {len(layers)} layers: give one per layer "
                                f"or leave it empty")
    for style in styles:
        if style not in ("", "default"):
            raise OwsError("StyleNotDefined", "STYLES", f"style {style[:40]!r} is not offered; each layer has "
                                                        f"one style, 'default'")
