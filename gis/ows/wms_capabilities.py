"""The WMS capabilities document, 1.3.0 (WMS_Capabilities) or 1.1.1 (WMT_MS_Capabilities): the service and
city, the operations and formats, the image size limit, and every layer the caller may read with its titles,
keywords, boxes in each offered CRS (EPSG:4326 as lat/lon in 1.3.0), its one style and legend, and attribution."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from lxml import etree
from pyproj import Transformer

from gis.ows.exceptions import WMS_EXCEPTION_TYPES
from gis.ows.wms_request import INFO_FORMATS, MAP_FORMATS
from layers.schema import Layer

WMS = "http://www.opengis.net/wms"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_TEXTS = {
    "id": {"title": "PetaKota - {city}: layanan peta web (WMS)",
           "abstract": "Peta tata ruang {city} (WMS 1.3.0 dan 1.1.1): batas wilayah, zonasi, taman, jaringan jalan "
                       "dan lainnya, digambar dengan gaya peta web PetaKota. Pemanggil tanpa kunci API melihat "
                       "lapisan dan kolom publik saja. Sebagian data bersifat ilustratif (dibuat oleh PetaKota), "
                       "bukan data resmi.",
           "keywords": ("tata ruang", "WMS", "PetaKota")},
    "en": {"title": "PetaKota - {city}: web map service (WMS)",
           "abstract": "City-planning maps of {city} (WMS 1.3.0 and 1.1.1): boundaries, zoning, parks, roads and "
                       "more, drawn in the PetaKota web map's style. Callers without an API key see public "
                       "layers and fields only. Some data are illustrative (made by PetaKota), not official.",
           "keywords": ("spatial planning", "WMS", "PetaKota")},
}
_ILLUSTRATIVE = {"id": " Data ilustratif, bukan data resmi.", "en": " Illustrative data, not official."}


@dataclass
class CapabilitiesInfo:
    version: str
    city: str
    url: str  # the service's URL, ending in ? or &
    lang: str
    srids: list[int]
    max_width: int
    max_height: int
    attribution: str
    extra: dict[str, str]  # city and lang, kept in legend URLs


def _el(parent, tag: str, text: str | None = None, ns: str | None = WMS, **attrs):
    el = etree.SubElement(parent, f"{{{ns}}}{tag}" if ns else tag, {k: str(v) for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def _online(parent, url: str, ns: str | None) -> None:
    _el(parent, "OnlineResource", ns=ns, **{f"{{{XLINK}}}type": "simple", f"{{{XLINK}}}href": url})


def _boxes(parent, info: CapabilitiesInfo, bbox, ns: str | None) -> None:
    west, south, east, north = bbox
    if info.version == "1.3.0":
        geo = _el(parent, "EX_GeographicBoundingBox", ns=ns)
        for tag, v in (("westBoundLongitude", west), ("eastBoundLongitude", east),
                       ("southBoundLatitude", south), ("northBoundLatitude", north)):
            _el(geo, tag, repr(v), ns=ns)
    else:
        _el(parent, "LatLonBoundingBox", ns=ns, minx=west, miny=south, maxx=east, maxy=north)
    crs_attr = "CRS" if info.version == "1.3.0" else "SRS"
    for srid in info.srids:
        if srid == 4326:
            corners = (south, west, north, east) if info.version == "1.3.0" else (west, south, east, north)
        else:
            to = Transformer.from_crs(4326, srid, always_xy=True)
            corners = to.transform_bounds(west, south, east, north)
        _el(parent, "BoundingBox", ns=ns, **{crs_attr: f"EPSG:{srid}"},
            **dict(zip(("minx", "miny", "maxx", "maxy"), (round(c, 7) for c in corners), strict=True)))


def _request(capability, info: CapabilitiesInfo, ns: str | None) -> None:
    request = _el(capability, "Request", ns=ns)
    caps_format = "text/xml" if info.version == "1.3.0" else "application/vnd.ogc.wms_xml"
    for name, formats in (("GetCapabilities", [caps_format]), ("GetMap", list(dict.fromkeys(MAP_FORMATS))),
                          ("GetFeatureInfo", list(INFO_FORMATS))):
        op = _el(request, name, ns=ns)
        for fmt in formats:
            _el(op, "Format", fmt, ns=ns)
        get = _el(_el(_el(op, "DCPType", ns=ns), "HTTP", ns=ns), "Get", ns=ns)
        _online(get, info.url, ns)
    exception = _el(capability, "Exception", ns=ns)
    _el(exception, "Format", "XML" if info.version == "1.3.0" else WMS_EXCEPTION_TYPES["1.1.1"], ns=ns)


def _layer(parent, info: CapabilitiesInfo, layer: Layer, bbox, ns: str | None) -> None:
    en = info.lang == "en"
    el = _el(parent, "Layer", ns=ns, queryable="1", opaque="0")
    _el(el, "Name", layer.id, ns=ns)
    title = layer.title_en if en else layer.title_id
    _el(el, "Title", title, ns=ns)
    abstract = (layer.description_en if en else layer.description_id) or title
    if layer.illustrative:
        abstract += _ILLUSTRATIVE[info.lang]
    _el(el, "Abstract", abstract, ns=ns)
    keywords = _el(el, "KeywordList", ns=ns)
    for word in dict.fromkeys((layer.id, layer.title_id, layer.title_en)):
        _el(keywords, "Keyword", word, ns=ns)
    if bbox is not None:
        _boxes(el, info, bbox, ns)
    attribution = _el(el, "Attribution", ns=ns)
    _el(attribution, "Title", layer.source or info.attribution, ns=ns)
    style = _el(el, "Style", ns=ns)
    _el(style, "Name", "default", ns=ns)
    _el(style, "Title", title, ns=ns)
    legend = _el(style, "LegendURL", ns=ns, width=200, height=20)
    _el(legend, "Format", "image/png", ns=ns)
    query = {"SERVICE": "WMS", "REQUEST": "GetLegendGraphic", "VERSION": info.version, "FORMAT": "image/png",
             "LAYER": layer.id, **info.extra}
    _online(legend, f"{info.url.rstrip('?&')}?{urlencode(query)}", ns)


def capabilities(info: CapabilitiesInfo, layers: list[tuple[Layer, tuple | None]], city_bbox) -> bytes:
    """The capabilities of `layers` (each with its lon/lat extent, None when empty) under one root layer."""
    texts = _TEXTS[info.lang]
    v13 = info.version == "1.3.0"
    ns = WMS if v13 else None
    if v13:
        root = etree.Element(f"{{{WMS}}}WMS_Capabilities", version="1.3.0",
                             nsmap={None: WMS, "xlink": XLINK, "xsi": XSI})
        root.set(f"{{{XSI}}}schemaLocation", f"{WMS} http://schemas.opengis.net/wms/1.3.0/capabilities_1_3_0.xsd")
    else:
        root = etree.Element("WMT_MS_Capabilities", version="1.1.1", nsmap={"xlink": XLINK})
    service = _el(root, "Service", ns=ns)
    _el(service, "Name", "WMS" if v13 else "OGC:WMS", ns=ns)
    _el(service, "Title", texts["title"].format(city=info.city), ns=ns)
    _el(service, "Abstract", texts["abstract"].format(city=info.city), ns=ns)
    keywords = _el(service, "KeywordList", ns=ns)
    for word in (*texts["keywords"], info.city):
        _el(keywords, "Keyword", word, ns=ns)
    _online(service, info.url.rstrip("?&"), ns)
    _el(service, "Fees", "none", ns=ns)
    _el(service, "AccessConstraints", "none", ns=ns)
    if v13:
        _el(service, "LayerLimit", "30", ns=ns)
        _el(service, "MaxWidth", str(info.max_width), ns=ns)
        _el(service, "MaxHeight", str(info.max_height), ns=ns)
    capability = _el(root, "Capability", ns=ns)
    _request(capability, info, ns)
    top = _el(capability, "Layer", ns=ns)
    _el(top, "Title", texts["title"].format(city=info.city), ns=ns)
    _el(top, "Abstract", texts["abstract"].format(city=info.city), ns=ns)
    _el(top, "CRS" if v13 else "SRS", "CRS:84", ns=ns)
    for srid in info.srids:
        _el(top, "CRS" if v13 else "SRS", f"EPSG:{srid}", ns=ns)
    if city_bbox is not None:
        _boxes(top, info, city_bbox, ns)
    for layer, bbox in layers:
        _layer(top, info, layer, bbox, ns)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
