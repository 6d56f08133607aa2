"""Leak scan of the map services geoportals and desktop GIS read: WMS (capabilities 1.3.0 and 1.1.1, feature
information in every INFO_FORMAT at a pixel inside a feature of each layer with private fields, a map of those
layers, every listed layer's legend, a map and feature information of each private layer) and WMTS (KVP and
RESTful capabilities, a tile of each layer with private fields and of each private layer).

The feature information is asked where a feature really is: a point on the surface of a feature holding private
values, read from the database, turned into the I/J of a small GetMap box around it (snapped to a grid, as a tiled
client asks). Anonymously the private layers' maps and feature information must be refused (a WMS exception
report) and their tiles must be 404s, and neither capabilities may list a layer anonymous callers do not see; with
a key both answer and list them."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lxml import etree
from sqlalchemy import Engine, text

from layers import CATALOG
from reliability.common import city_tiles

WMS_INFO_FORMATS = ("text/html", "application/json", "text/plain")
PRIVATE_LAYERS = tuple(sorted(layer.id for layer in CATALOG.values() if not layer.public))
# Layers anonymous callers read whose features hold private fields (see reliability/leaks.py)
FIELDS_OF = {layer.id: tuple(f.name for f in layer.private_fields) for layer in CATALOG.values()
             if layer.public and layer.private_fields}
WMTS_NS = {"wmts": "http://www.opengis.net/wmts/1.0", "ows": "http://www.opengis.net/ows/1.1"}
PIXEL_M = 0.5  # Web Mercator metres per pixel of the feature-information box (a street-level view)
BOX_PX = 256


@dataclass(frozen=True)
class InfoTarget:
    """A feature with private values and the GetFeatureInfo that clicks inside it (EPSG:3857, 1.3.0 I/J)."""

    layer: str
    feature_id: int
    bbox: tuple[float, float, float, float]
    i: int
    j: int


def pixel_box(x: float, y: float, size: int = BOX_PX, res: float = PIXEL_M) -> tuple[tuple, int, int]:
    """The grid-snapped box of `size` pixels holding (x, y), and the pixel (I from the left, J from the top)."""
    span = size * res
    x0, y0 = math.floor(x / span) * span, math.floor(y / span) * span
    return (x0, y0, x0 + span, y0 + span), int((x - x0) / res), int((y0 + span - y) / res)


def info_targets(engine: Engine) -> list[InfoTarget]:
    """Per layer with private fields, its first feature holding a private value: a point on its surface as a
    pixel of a small box."""
    out = []
    with engine.connect() as conn:
        for layer, names in FIELDS_OF.items():
            held = " OR ".join(f"{n} IS NOT NULL" for n in names)
            row = conn.execute(text(
                f"SELECT id, ST_X(p), ST_Y(p) FROM (SELECT id, ST_Transform(ST_PointOnSurface(geom), 3857) p "
                f"FROM {layer} WHERE ({held}) AND NOT ST_IsEmpty(geom) ORDER BY id LIMIT 1) s")).first()
            if row is not None:
                box, i, j = pixel_box(row[1], row[2])
                out.append(InfoTarget(layer, row[0], box, i, j))
    return out


def _names_wms(body: bytes) -> list[str]:
    root = etree.fromstring(body)
    return [n.text for n in root.xpath("//*[local-name()='Layer']/*[local-name()='Name']")]


def _names_wmts(body: bytes) -> list[str]:
    return [n.text for n in etree.fromstring(body).iterfind(".//wmts:Contents/wmts:Layer/ows:Identifier", WMTS_NS)]


def _check_listing(scanner, label: str, names: list[str], public: set[str]) -> None:
    if not names:
        scanner.findings.append(f"{label} lists no layer")
    for name in names:
        if name not in public:
            scanner.findings.append(f"{label} lists {name}, a layer anonymous callers do not see")


def crawl_wms(get, scanner, problems: list[str], engine: Engine, public: set[str], key: str | None) -> None:
    """`get(surface, path, expect, **params)` fetches and scans; `public`: what anonymous callers see listed."""
    base = {"SERVICE": "WMS"}
    for version in ("1.3.0", "1.1.1"):
        caps = get("wms", "/wms", (200,), **base, VERSION=version, REQUEST="GetCapabilities")
        names = _names_wms(caps.content) if caps.status_code == 200 else []
        _check_listing(scanner, f"WMS {version} GetCapabilities", names, public)
    for target in info_targets(engine):
        bbox = ",".join(repr(v) for v in target.bbox)
        common = {**base, "REQUEST": "GetFeatureInfo", "LAYERS": target.layer, "QUERY_LAYERS": target.layer,
                  "STYLES": "", "BBOX": bbox, "WIDTH": BOX_PX, "HEIGHT": BOX_PX, "FORMAT": "image/png",
                  "FEATURE_COUNT": 50}
        for fmt in WMS_INFO_FORMATS:
            r = get("wms", "/wms", (200,), **common, VERSION="1.3.0", CRS="EPSG:3857", I=target.i, J=target.j,
                    INFO_FORMAT=fmt)
            if fmt == "application/json" and r.status_code == 200 and not _finds(r.json(), target):
                problems.append(f"WMS GetFeatureInfo at I={target.i} J={target.j} of {bbox} finds no "
                                f"{target.layer}.{target.feature_id}: its private fields were not read")
        old = get("wms", "/wms", (200,), **common, VERSION="1.1.1", SRS="EPSG:3857", X=target.i, Y=target.j,
                  INFO_FORMAT="application/json")
        if old.status_code == 200 and not _finds(old.json(), target):
            problems.append(f"WMS 1.1.1 GetFeatureInfo at X={target.i} Y={target.j} finds no "
                            f"{target.layer}.{target.feature_id}")
    box = _city_box(engine)
    get("wms", "/wms", (200,), **base, VERSION="1.3.0", REQUEST="GetMap", LAYERS=",".join(FIELDS_OF), STYLES="",
        CRS="EPSG:3857", BBOX=box, WIDTH=256, HEIGHT=256, FORMAT="image/png", TRANSPARENT="TRUE")
    for layer in PRIVATE_LAYERS:
        view = {**base, "VERSION": "1.3.0", "LAYERS": layer, "STYLES": "", "CRS": "EPSG:3857", "BBOX": box,
                "WIDTH": 256, "HEIGHT": 256, "FORMAT": "image/png"}
        answers = [get("wms", "/wms", (200,), **view, REQUEST="GetMap"),
                   get("wms", "/wms", (200,), **view, REQUEST="GetFeatureInfo", QUERY_LAYERS=layer, I=128, J=128,
                       INFO_FORMAT="application/json")]
        for r in answers:  # a WMS refusal is a 200 carrying an exception report (what WMS clients read)
            if _wms_refused(r) != (key is None):
                problems.append(f"WMS {r.request.url.params.get('REQUEST')} of private layer {layer}: "
                                f"{'not refused without a key' if key is None else 'refused with a key'}: "
                                f"{r.text[:200]}")
    for layer in sorted(public):
        get("wms", "/wms", (200,), **base, VERSION="1.3.0", REQUEST="GetLegendGraphic", LAYER=layer,
            FORMAT="image/png")


def _finds(doc: dict, target: InfoTarget) -> bool:
    return f"{target.layer}.{target.feature_id}" in {f.get("id") for f in doc.get("features", [])}


def _city_box(engine: Engine) -> str:
    """The city boundary's extent in EPSG:3857, as a BBOX value."""
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
            "ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, 4326), 3857) e FROM kota) s")).one()
    return ",".join(repr(float(v)) for v in row)


def _wms_refused(r) -> bool:
    return r.headers.get("content-type", "").startswith("text/xml") and b"LayerNotDefined" in r.content


def crawl_wmts(get, scanner, engine: Engine, public: set[str], key: str | None) -> None:
    """Both capabilities (neither may list a private layer), a tile over the city of each layer with private fields
    (200) and of each private layer (404 anonymously), RESTful in WebMercatorQuad."""
    kvp = get("wmts", "/wmts", (200,), SERVICE="WMTS", REQUEST="GetCapabilities", VERSION="1.0.0")
    rest = get("wmts", "/wmts/1.0.0/WMTSCapabilities.xml", (200,))
    for label, r in (("WMTS GetCapabilities (KVP)", kvp), ("WMTS WMTSCapabilities.xml", rest)):
        _check_listing(scanner, label, _names_wmts(r.content) if r.status_code == 200 else [], public)
    z, x, y = city_tiles(engine, (14,), 1)[0]
    for layer in FIELDS_OF:
        get("wmts", f"/wmts/1.0.0/{layer}/default/WebMercatorQuad/{z}/{y}/{x}.png", (200,))
    for layer in PRIVATE_LAYERS:
        get("wmts", f"/wmts/1.0.0/{layer}/default/WebMercatorQuad/{z}/{y}/{x}.png",
            (404,) if key is None else (200,))
