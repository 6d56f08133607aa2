"""The WFS 2.0.0 capabilities document: the service and city, the operations with their GET URLs, and every
feature type the caller may read (titles and abstracts in Bahasa Indonesia or English)."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from gis.ows.gml import GML, NS, PREFIX, WFS, XSI
from layers.schema import Layer

OWS = "http://www.opengis.net/ows/1.1"
FES = "http://www.opengis.net/fes/2.0"
XLINK = "http://www.w3.org/1999/xlink"
GML_FORMAT = "application/gml+xml; version=3.2"
JSON_FORMAT = "application/json"
OUTPUT_FORMATS = (GML_FORMAT, "text/xml; subtype=gml/3.2", JSON_FORMAT)
DEFAULT_CRS = "urn:ogc:def:crs:EPSG::4326"
OPERATIONS = ("GetCapabilities", "DescribeFeatureType", "GetFeature")

_TEXTS = {
    "id": {"title": "PetaKota - {city}: layanan fitur web (WFS)",
           "abstract": "Data tata ruang {city} sebagai fitur vektor (WFS 2.0.0, hanya baca): batas wilayah, "
                       "zonasi, taman, proyek dan lainnya. Pemanggil tanpa kunci API membaca lapisan dan kolom "
                       "publik saja. Sebagian data bersifat ilustratif.",
           "keywords": ("tata ruang", "WFS", "PetaKota")},
    "en": {"title": "PetaKota - {city}: web feature service (WFS)",
           "abstract": "City-planning data of {city} as vector features (WFS 2.0.0, read-only): boundaries, "
                       "zoning, parks, projects and more. Callers without an API key read public layers and "
                       "fields only. Some data are illustrative.",
           "keywords": ("spatial planning", "WFS", "PetaKota")},
}
# Simple WFS with paging; no stored queries, joins, locking or transactions (OGC 09-025r2, table 13)
_CONSTRAINTS = {"ImplementsBasicWFS": "FALSE", "ImplementsTransactionalWFS": "FALSE",
                "ImplementsLockingWFS": "FALSE", "KVPEncoding": "TRUE", "XMLEncoding": "FALSE",
                "SOAPEncoding": "FALSE", "ImplementsInheritance": "FALSE", "ImplementsRemoteResolve": "FALSE",
                "ImplementsResultPaging": "TRUE", "ImplementsStandardJoins": "FALSE",
                "ImplementsSpatialJoins": "FALSE", "ImplementsTemporalJoins": "FALSE",
                "ImplementsFeatureVersioning": "FALSE", "ManageStoredQueries": "FALSE"}
_FILTER_CONFORMANCE = {"ImplementsQuery": "TRUE", "ImplementsAdHocQuery": "TRUE", "ImplementsFunctions": "FALSE",
                       "ImplementsResourceId": "TRUE", "ImplementsMinStandardFilter": "FALSE",
                       "ImplementsStandardFilter": "FALSE", "ImplementsMinSpatialFilter": "TRUE",
                       "ImplementsSpatialFilter": "FALSE", "ImplementsMinTemporalFilter": "FALSE",
                       "ImplementsTemporalFilter": "FALSE", "ImplementsVersionNav": "FALSE",
                       "ImplementsSorting": "TRUE", "ImplementsExtendedOperators": "FALSE",
                       "ImplementsMinimumXPath": "FALSE", "ImplementsSchemaElementFunc": "FALSE"}


@dataclass
class ServiceInfo:
    city: str  # the city (or cities) served, as named in titles
    url: str  # the GET URL of every operation, ending in ? or &
    lang: str
    other_srids: tuple[int, ...]  # offered besides EPSG:4326
    count_default: int  # the most features one GetFeature answers


def _el(parent, ns: str, tag: str, text: str | None = None, **attrs):
    el = etree.SubElement(parent, f"{{{ns}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def _values(parent, name: str, values, kind: str = "Parameter"):
    holder = _el(parent, OWS, kind, name=name)
    allowed = _el(holder, OWS, "AllowedValues")
    for v in values:
        _el(allowed, OWS, "Value", v)


def _service(root, info: ServiceInfo) -> None:
    texts = _TEXTS[info.lang]
    ident = _el(root, OWS, "ServiceIdentification")
    _el(ident, OWS, "Title", texts["title"].format(city=info.city))
    _el(ident, OWS, "Abstract", texts["abstract"].format(city=info.city))
    keywords = _el(ident, OWS, "Keywords")
    for word in (*texts["keywords"], info.city):
        _el(keywords, OWS, "Keyword", word)
    _el(ident, OWS, "ServiceType", "WFS", codeSpace="OGC")
    _el(ident, OWS, "ServiceTypeVersion", "2.0.0")
    _el(ident, OWS, "Fees", "NONE")
    _el(ident, OWS, "AccessConstraints", "NONE")
    provider = _el(root, OWS, "ServiceProvider")
    _el(provider, OWS, "ProviderName", f"PetaKota - {info.city}")
    _el(provider, OWS, "ProviderSite", **{f"{{{XLINK}}}href": info.url.rstrip("?&")})
    contact = _el(provider, OWS, "ServiceContact")
    _el(contact, OWS, "IndividualName", "")
    _el(contact, OWS, "Role", "pointOfContact")


def _operations(root, info: ServiceInfo) -> None:
    meta = _el(root, OWS, "OperationsMetadata")
    for name in OPERATIONS:
        op = _el(meta, OWS, "Operation", name=name)
        http = _el(_el(op, OWS, "DCP"), OWS, "HTTP")
        _el(http, OWS, "Get", **{f"{{{XLINK}}}href": info.url})
        if name == "GetCapabilities":
            _values(op, "AcceptVersions", ["2.0.0"])
            _values(op, "AcceptFormats", ["text/xml"])
            _values(op, "Sections", ["ServiceIdentification", "ServiceProvider", "OperationsMetadata",
                                     "FeatureTypeList", "Filter_Capabilities"])
        elif name == "DescribeFeatureType":
            _values(op, "outputFormat", [GML_FORMAT, "text/xml; subtype=gml/3.2", JSON_FORMAT])
        else:
            _values(op, "outputFormat", OUTPUT_FORMATS)
            _values(op, "resultType", ["results", "hits"])
    _values(meta, "version", ["2.0.0"])
    for name, value in _CONSTRAINTS.items():
        constraint = _el(meta, OWS, "Constraint", name=name)
        _el(constraint, OWS, "NoValues")
        _el(constraint, OWS, "DefaultValue", value)
    count = _el(meta, OWS, "Constraint", name="CountDefault")
    _el(count, OWS, "NoValues")
    _el(count, OWS, "DefaultValue", str(info.count_default))
    query = _el(meta, OWS, "Constraint", name="QueryExpressions")
    _el(_el(query, OWS, "AllowedValues"), OWS, "Value", "wfs:Query")


def _feature_types(root, info: ServiceInfo, layers: list[tuple[Layer, tuple | None]]) -> None:
    type_list = _el(root, WFS, "FeatureTypeList")
    for layer, bbox in layers:
        ft = _el(type_list, WFS, "FeatureType")
        _el(ft, WFS, "Name", f"{PREFIX}:{layer.id}")
        title = layer.title_en if info.lang == "en" else layer.title_id
        abstract = layer.description_en if info.lang == "en" else layer.description_id
        _el(ft, WFS, "Title", title, **{"{http://www.w3.org/XML/1998/namespace}lang": info.lang})
        _el(ft, WFS, "Abstract", abstract or title, **{"{http://www.w3.org/XML/1998/namespace}lang": info.lang})
        keywords = _el(ft, OWS, "Keywords")
        for word in (layer.id, layer.title_id, layer.title_en):
            _el(keywords, OWS, "Keyword", word)
        _el(ft, WFS, "DefaultCRS", DEFAULT_CRS)
        for srid in info.other_srids:
            _el(ft, WFS, "OtherCRS", f"urn:ogc:def:crs:EPSG::{srid}")
        formats = _el(ft, WFS, "OutputFormats")
        for fmt in OUTPUT_FORMATS:
            _el(formats, WFS, "Format", fmt)
        west, south, east, north = bbox or (-180.0, -90.0, 180.0, 90.0)
        box = _el(ft, OWS, "WGS84BoundingBox")
        _el(box, OWS, "LowerCorner", f"{west!r} {south!r}")
        _el(box, OWS, "UpperCorner", f"{east!r} {north!r}")


def _filters(root) -> None:
    caps = _el(root, FES, "Filter_Capabilities")
    conformance = _el(caps, FES, "Conformance")
    for name, value in _FILTER_CONFORMANCE.items():
        constraint = _el(conformance, FES, "Constraint", name=name)
        _el(constraint, OWS, "NoValues")
        _el(constraint, OWS, "DefaultValue", value)
    _el(_el(caps, FES, "Id_Capabilities"), FES, "ResourceIdentifier", name="fes:ResourceId")
    spatial = _el(caps, FES, "Spatial_Capabilities")
    operands = _el(spatial, FES, "GeometryOperands")
    _el(operands, FES, "GeometryOperand", name="gml:Envelope")
    _el(_el(spatial, FES, "SpatialOperators"), FES, "SpatialOperator", name="BBOX")


def capabilities(info: ServiceInfo, layers: list[tuple[Layer, tuple | None]]) -> bytes:
    """The wfs:WFS_Capabilities document for `layers` (each with its lon/lat extent, None when empty)."""
    root = etree.Element(f"{{{WFS}}}WFS_Capabilities", version="2.0.0", nsmap={
        None: WFS, "wfs": WFS, "ows": OWS, "fes": FES, "gml": GML, "xlink": XLINK, "xsi": XSI, PREFIX: NS})
    root.set(f"{{{XSI}}}schemaLocation", f"{WFS} http://schemas.opengis.net/wfs/2.0/wfs.xsd")
    _service(root, info)
    _operations(root, info)
    _feature_types(root, info, layers)
    _filters(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
