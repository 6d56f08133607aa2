"""GML 3.2 for WFS 2.0: the application schema of a layer (DescribeFeatureType) and feature collections
(GetFeature), written from the GeoJSON the feature store builds, so WFS and OGC API read features one way."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from layers.schema import Field, Layer
from layers.tables import CITY_COLUMN

GML = "http://www.opengis.net/gml/3.2"
WFS = "http://www.opengis.net/wfs/2.0"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS = "https://petakota.id/wfs"  # the namespace of PetaKota's feature types
PREFIX = "petakota"
GEOMETRY = "geom"  # the geometry property of every feature type
GML_SCHEMA = "http://schemas.opengis.net/gml/3.2.1/gml.xsd"
WFS_SCHEMA = "http://schemas.opengis.net/wfs/2.0/wfs.xsd"

XSD_TYPES = {"text": "xsd:string", "integer": "xsd:int", "bigint": "xsd:long", "number": "xsd:double",
             "boolean": "xsd:boolean", "date": "xsd:date"}
GEOMETRY_PROPERTY_TYPES = {"Point": "gml:PointPropertyType", "MultiPoint": "gml:MultiPointPropertyType",
                           "LineString": "gml:CurvePropertyType", "MultiLineString": "gml:MultiCurvePropertyType",
                           "Polygon": "gml:SurfacePropertyType", "MultiPolygon": "gml:MultiSurfacePropertyType"}
CITY_FIELD = Field(CITY_COLUMN, "text", "Kode kab/kota", "Regency/city code")


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def feature_fields(fields: Iterable[Field]) -> list[Field]:
    """The properties of a feature type as one caller sees them: the given fields, then the feature's city."""
    return [*fields, CITY_FIELD]


# --- DescribeFeatureType -----------------------------------------------------------------------------------------

def application_schema(types: list[tuple[Layer, list[Field]]]) -> bytes:
    """An XML Schema (GML 3.2 application schema) of the layers with the fields each caller may read."""
    schema = etree.Element(_q(XSD, "schema"), nsmap={"xsd": XSD, "gml": GML, PREFIX: NS},
                           targetNamespace=NS, elementFormDefault="qualified", version="1.0")
    etree.SubElement(schema, _q(XSD, "import"), namespace=GML, schemaLocation=GML_SCHEMA)
    for layer, fields in types:
        complex_type = etree.SubElement(schema, _q(XSD, "complexType"), name=f"{layer.id}Type")
        content = etree.SubElement(complex_type, _q(XSD, "complexContent"))
        extension = etree.SubElement(content, _q(XSD, "extension"), base="gml:AbstractFeatureType")
        sequence = etree.SubElement(extension, _q(XSD, "sequence"))
        etree.SubElement(sequence, _q(XSD, "element"), name=GEOMETRY, minOccurs="0", maxOccurs="1", nillable="true",
                         type=GEOMETRY_PROPERTY_TYPES.get(layer.geometry_type, "gml:GeometryPropertyType"))
        for f in fields:
            etree.SubElement(sequence, _q(XSD, "element"), name=f.name, minOccurs="0", maxOccurs="1",
                             nillable="true", type=XSD_TYPES.get(f.type, "xsd:string"))
        etree.SubElement(schema, _q(XSD, "element"), name=layer.id, type=f"{PREFIX}:{layer.id}Type",
                         substitutionGroup="gml:AbstractFeature")
    return etree.tostring(schema, xml_declaration=True, encoding="UTF-8")


# --- geometries ----------------------------------------------------------------------------------------------------

def _pos_list(parent, tag: str, coords) -> None:
    el = etree.SubElement(parent, _q(GML, tag), srsDimension="2")
    el.text = " ".join(f"{c[0]!r} {c[1]!r}" for c in coords)


def _polygon(parent, rings, gid: str) -> None:
    polygon = etree.SubElement(parent, _q(GML, "Polygon"), {_q(GML, "id"): gid})
    for n, ring in enumerate(rings):
        boundary = etree.SubElement(polygon, _q(GML, "exterior" if n == 0 else "interior"))
        _pos_list(etree.SubElement(boundary, _q(GML, "LinearRing")), "posList", ring)


def _line(parent, coords, gid: str) -> None:
    _pos_list(etree.SubElement(parent, _q(GML, "LineString"), {_q(GML, "id"): gid}), "posList", coords)


def _point(parent, coords, gid: str) -> None:
    pos = etree.SubElement(etree.SubElement(parent, _q(GML, "Point"), {_q(GML, "id"): gid}), _q(GML, "pos"),
                           srsDimension="2")
    pos.text = f"{coords[0]!r} {coords[1]!r}"


_MULTI = {"MultiPoint": ("MultiPoint", "pointMember", _point),
          "MultiLineString": ("MultiCurve", "curveMember", _line),
          "MultiPolygon": ("MultiSurface", "surfaceMember", _polygon)}
_SINGLE = {"Point": _point, "LineString": _line, "Polygon": _polygon}


def geometry_element(parent, geometry: dict, gid: str, srs_name: str) -> None:
    """A GeoJSON geometry (coordinates already in the answer's CRS and axis order) as GML 3.2 under `parent`."""
    kind, coords = geometry["type"], geometry.get("coordinates")
    if kind in _SINGLE:
        _SINGLE[kind](parent, coords, gid)
    elif kind in _MULTI:
        tag, member, write = _MULTI[kind]
        multi = etree.SubElement(parent, _q(GML, tag), {_q(GML, "id"): gid})
        for n, part in enumerate(coords):
            write(etree.SubElement(multi, _q(GML, member)), part, f"{gid}.{n + 1}")
    else:  # GeometryCollection: not declared by any layer
        raise ValueError(f"geometry type {kind} cannot be written as GML here")
    parent[-1].set("srsName", srs_name)


# --- GetFeature ----------------------------------------------------------------------------------------------------

@dataclass
class Member:
    layer_id: str
    feature: dict  # a GeoJSON Feature as the feature store wrote it


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _member(parent, member: Member, fields: list[Field], srs_name: str) -> None:
    fid = f"{member.layer_id}.{member.feature['id']}"
    feature = etree.SubElement(etree.SubElement(parent, _q(WFS, "member")), _q(NS, member.layer_id),
                               {_q(GML, "id"): fid})
    if member.feature.get("geometry"):
        geometry_element(etree.SubElement(feature, _q(NS, GEOMETRY)), member.feature["geometry"], f"{fid}.geom",
                         srs_name)
    props = member.feature.get("properties") or {}
    for f in fields:  # in the schema's order; a value left out (null, or private here) is no element
        if props.get(f.name) is not None:
            etree.SubElement(feature, _q(NS, f.name)).text = _value(props[f.name])


def feature_collection(members: list[Member], fields: dict[str, list[Field]], *, srs_name: str,
                       matched: int | None, next_url: str | None, schema_url: str, timestamp: str) -> bytes:
    """A wfs:FeatureCollection of GML 3.2 members (or, with no members and nothing returned, a hits answer)."""
    root = etree.Element(_q(WFS, "FeatureCollection"), nsmap={"wfs": WFS, "gml": GML, PREFIX: NS, "xsi": XSI},
                         timeStamp=timestamp, numberMatched="unknown" if matched is None else str(matched),
                         numberReturned=str(len(members)))
    root.set(_q(XSI, "schemaLocation"), f"{WFS} {WFS_SCHEMA} {NS} {schema_url}")
    if next_url:
        root.set("next", next_url)
    for member in members:
        _member(root, member, fields[member.layer_id], srs_name)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
