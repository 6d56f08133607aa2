"""The WMTS 1.0.0 capabilities document: the service, its operations (KVP and RESTful), every layer and raster
the caller may read with titles, box, default style and legend, PNG format, the tile matrix sets it is offered
in with the tiles its data cover (limits) and the REST template, and the tile matrix sets themselves."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import morecantile
from lxml import etree

from gis.ows.wmts_matrix import WEB_MERCATOR, limits, max_zoom, srid_of

WMTS = "http://www.opengis.net/wmts/1.0"
OWS = "http://www.opengis.net/ows/1.1"
XLINK = "http://www.w3.org/1999/xlink"
_TITLE = {"id": "PetaKota - {city}: layanan ubin peta (WMTS)", "en": "PetaKota - {city}: web map tile service (WMTS)"}
_ABSTRACT = {"id": "Ubin peta PNG tiap lapisan dan raster publik {city}, dalam WebMercatorQuad dan grid UTM kota. "
                   "Sebagian data bersifat ilustratif, bukan data resmi.",
             "en": "PNG map tiles of every public layer and raster of {city}, in WebMercatorQuad and the city's "
                   "UTM grid. Some data are illustrative, not official."}


@dataclass
class TileLayer:
    """A layer or raster as the capabilities list it."""

    id: str
    title: str
    abstract: str
    bbox: tuple[float, float, float, float] | None  # lon/lat
    legend_url: str | None


def _el(parent, ns: str, tag: str, text: str | None = None, **attrs):
    el = etree.SubElement(parent, f"{{{ns}}}{tag}", {k: str(v) for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def _operation(parent, name: str, kvp_url: str, rest_url: str) -> None:
    http = _el(_el(_el(parent, OWS, "Operation", name=name), OWS, "DCP"), OWS, "HTTP")
    for url, encoding in ((kvp_url, "KVP"), (rest_url, "RESTful")):
        get = _el(http, OWS, "Get", **{f"{{{XLINK}}}href": url})
        _el(_el(_el(get, OWS, "Constraint", name="GetEncoding"), OWS, "AllowedValues"), OWS, "Value", encoding)


def _layer(contents, layer: TileLayer, sets: dict[str, morecantile.TileMatrixSet], rest: str, query: str) -> None:
    el = _el(contents, WMTS, "Layer")
    _el(el, OWS, "Title", layer.title)
    _el(el, OWS, "Abstract", layer.abstract)
    if layer.bbox is not None:
        box = _el(el, OWS, "WGS84BoundingBox")
        _el(box, OWS, "LowerCorner", f"{layer.bbox[0]!r} {layer.bbox[1]!r}")
        _el(box, OWS, "UpperCorner", f"{layer.bbox[2]!r} {layer.bbox[3]!r}")
    _el(el, OWS, "Identifier", layer.id)
    style = _el(el, WMTS, "Style", isDefault="true")
    _el(style, OWS, "Title", layer.title)
    _el(style, OWS, "Identifier", "default")
    if layer.legend_url:
        _el(style, WMTS, "LegendURL", format="image/png", **{f"{{{XLINK}}}href": layer.legend_url})
    _el(el, WMTS, "Format", "image/png")
    for tms in sets.values():
        link = _el(el, WMTS, "TileMatrixSetLink")
        _el(link, WMTS, "TileMatrixSet", tms.id)
        if layer.bbox is not None:
            bounds = _el(link, WMTS, "TileMatrixSetLimits")
            for zoom in range(tms.minzoom, max_zoom(tms) + 1):
                row0, row1, col0, col1 = limits(tms, layer.bbox, zoom)
                lim = _el(bounds, WMTS, "TileMatrixLimits")
                for tag, value in (("TileMatrix", zoom), ("MinTileRow", row0), ("MaxTileRow", row1),
                                   ("MinTileCol", col0), ("MaxTileCol", col1)):
                    _el(lim, WMTS, tag, str(value))
    _el(el, WMTS, "ResourceURL", format="image/png", resourceType="tile",
        template=f"{rest}/{layer.id}/{{Style}}/{{TileMatrixSet}}/{{TileMatrix}}/{{TileRow}}/{{TileCol}}.png{query}")


def _matrix_set(contents, tms: morecantile.TileMatrixSet) -> None:
    el = _el(contents, WMTS, "TileMatrixSet")
    _el(el, OWS, "Title", tms.title or tms.id)
    _el(el, OWS, "Identifier", tms.id)
    _el(el, OWS, "SupportedCRS", f"urn:ogc:def:crs:EPSG::{srid_of(tms)}")
    if tms.id == WEB_MERCATOR:
        _el(el, WMTS, "WellKnownScaleSet", "urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible")
    for zoom in range(tms.minzoom, max_zoom(tms) + 1):
        m = tms.matrix(zoom)
        matrix = _el(el, WMTS, "TileMatrix")
        _el(matrix, OWS, "Identifier", str(zoom))
        _el(matrix, WMTS, "ScaleDenominator", repr(m.scaleDenominator))
        _el(matrix, WMTS, "TopLeftCorner", f"{m.pointOfOrigin[0]!r} {m.pointOfOrigin[1]!r}")  # easting northing
        for tag, value in (("TileWidth", m.tileWidth), ("TileHeight", m.tileHeight),
                           ("MatrixWidth", m.matrixWidth), ("MatrixHeight", m.matrixHeight)):
            _el(matrix, WMTS, tag, str(value))


def capabilities(city: str, lang: str, url: str, extra: dict[str, str], layers: list[TileLayer],
                 sets: dict[str, morecantile.TileMatrixSet]) -> bytes:
    """`url` is the service's KVP URL (…/wmts); `extra` (city, lang) is kept in every URL given."""
    query = f"?{urlencode(extra)}" if extra else ""
    kvp = f"{url}?{urlencode(extra)}&" if extra else f"{url}?"
    rest = f"{url}/1.0.0"
    root = etree.Element(f"{{{WMTS}}}Capabilities", version="1.0.0",
                         nsmap={None: WMTS, "ows": OWS, "xlink": XLINK})
    ident = _el(root, OWS, "ServiceIdentification")
    _el(ident, OWS, "Title", _TITLE[lang].format(city=city))
    _el(ident, OWS, "Abstract", _ABSTRACT[lang].format(city=city))
    _el(ident, OWS, "ServiceType", "OGC WMTS")
    _el(ident, OWS, "ServiceTypeVersion", "1.0.0")
    _el(ident, OWS, "Fees", "none")
    _el(ident, OWS, "AccessConstraints", "none")
    ops = _el(root, OWS, "OperationsMetadata")
    _operation(ops, "GetCapabilities", kvp, f"{rest}/WMTSCapabilities.xml{query}")
    _operation(ops, "GetTile", kvp, f"{rest}/")
    contents = _el(root, WMTS, "Contents")
    for layer in layers:
        _layer(contents, layer, sets, rest, query)
    for tms in sets.values():
        _matrix_set(contents, tms)
    _el(root, WMTS, "ServiceMetadataURL", **{f"{{{XLINK}}}href": f"{rest}/WMTSCapabilities.xml{query}"})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
