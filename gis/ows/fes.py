"""The part of OGC Filter Encoding 2.0 a WFS client sends to select features by extent or id: a `BBOX` on a
gml:Envelope (GDAL and QGIS send it when the user pans or passes -spat) and `ResourceId`, alone or joined by
`And` (several BBOX) or `Or` (several ResourceId). Anything else is refused, naming what is understood."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from gis.ows.exceptions import invalid

FES = "http://www.opengis.net/fes/2.0"
GML = "http://www.opengis.net/gml/3.2"
MAX_FILTER_CHARS = 100_000
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
_UNDERSTOOD = ("only one BBOX on a gml:Envelope, or ResourceId elements (joined by Or), are supported as filter; "
               "the BBOX and resourceId parameters do the same")


@dataclass
class Selection:
    bbox: str | None = None  # as the BBOX parameter writes it: minx,miny,maxx,maxy[,crs]
    resource_ids: list[str] | None = None


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _envelope(bbox) -> str:
    envelopes = [el for el in bbox.iter() if _local(el) == "Envelope"]
    if len(envelopes) != 1:
        raise invalid("filter", f"a BBOX filter needs one gml:Envelope; {_UNDERSTOOD}")
    env = envelopes[0]
    corners = {_local(c): (c.text or "").split() for c in env if _local(c) in ("lowerCorner", "upperCorner")}
    lower, upper = corners.get("lowerCorner", []), corners.get("upperCorner", [])
    if len(lower) != 2 or len(upper) != 2:
        raise invalid("filter", "a gml:Envelope needs a lowerCorner and an upperCorner of two numbers each")
    srs = env.get("srsName")
    return ",".join([*lower, *upper, *([srs] if srs else [])])


def parse(text: str) -> Selection:
    """The selection a FES 2.0 filter expresses, or an InvalidParameterValue (locator `filter`)."""
    if len(text) > MAX_FILTER_CHARS:
        raise invalid("filter", f"a filter may have at most {MAX_FILTER_CHARS} characters")
    try:
        root = etree.fromstring(text.encode(), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise invalid("filter", f"the filter is not well-formed XML: {exc.msg}") from None
    if _local(root) != "Filter":
        raise invalid("filter", f"the filter must be a fes:Filter element; {_UNDERSTOOD}")
    children = [c for c in root if isinstance(c.tag, str)]
    if len(children) == 1 and _local(children[0]) == "Or":
        children = [c for c in children[0] if isinstance(c.tag, str)]
    kinds = {_local(c) for c in children}
    if kinds == {"ResourceId"}:
        ids = [c.get("rid", "").strip() for c in children]
        if not all(ids):
            raise invalid("filter", "each ResourceId needs a rid attribute (<layer>.<id>)")
        return Selection(resource_ids=ids)
    if kinds == {"BBOX"} and len(children) == 1:
        return Selection(bbox=_envelope(children[0]))
    raise invalid("filter", _UNDERSTOOD)
