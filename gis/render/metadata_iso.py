"""A metadata record as ISO 19115/19139 XML, what Ina-Geoportal and GeoNode-style catalogues harvest: the record
becomes a pygeometa MCF (Bahasa Indonesia first, English as the alternate locale) and pygeometa writes the XML;
the scale or resolution, which its template has no place for, is added as gmd:spatialResolution."""

from __future__ import annotations

import functools
from datetime import date

from jinja2 import Environment, FileSystemLoader
from lxml import etree
from pygeometa import core as pygeometa_core
from pygeometa.schemas.iso19139 import ISO19139OutputSchema

NS = {"gmd": "http://www.isotc211.org/2005/gmd", "gco": "http://www.isotc211.org/2005/gco",
      "gml": "http://www.opengis.net/gml"}
ILLUSTRATIVE_NOTE = ("Data ilustratif (dibuat oleh PetaKota), bukan data resmi / "
                     "illustrative data made by PetaKota, not official")
# Licences named by their SPDX id get their canonical address.
LICENCE_URLS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
    "MIT": "https://spdx.org/licenses/MIT.html",
}
NOT_SET = "Belum ditetapkan / not yet set"


def licence_url(licence: str | None) -> str | None:
    if not licence:
        return None
    return licence if licence.startswith("http") else LICENCE_URLS.get(licence)


def lineage(record: dict) -> str:
    statement = record["lineage"] or NOT_SET
    return f"{statement}. {ILLUSTRATIVE_NOTE}" if record["illustrative"] else statement


def to_mcf(record: dict, url: str, distributions: dict[str, dict]) -> dict:
    """The record as a pygeometa MCF; `url` is the record's own address, `distributions` name -> {url, type,
    description} where the data are served."""
    ident = {
        "language": "ind", "charset": "utf8",
        "title": {"ind": record["title"]["id"], "eng": record["title"]["en"]},
        "abstract": {"ind": record["abstract"]["id"], "eng": record["abstract"]["en"]},
        "topiccategory": [record["topic_category"]],
        "keywords": {"default": {"keywords": {"ind": record["keywords"], "eng": record["keywords"]}}},
        "extents": {"spatial": [{"bbox": record["extent"] or [-180, -90, 180, 90], "crs": 4326}]},
        "dates": {"revision": (record["updated_at"] or date.today().isoformat())[:10]},
        "fees": "None", "accessconstraints": "otherRestrictions",
        "rights": {"ind": record["licence"] or NOT_SET, "eng": record["licence"] or NOT_SET},
        "license": {"name": record["licence"] or NOT_SET, "url": licence_url(record["licence"]) or ""},
        "maintenancefrequency": record["update_frequency"], "status": "onGoing", "url": url,
    }
    temporal = record["temporal"]
    if temporal["start"] or temporal["end"]:
        ident["extents"]["temporal"] = [{"begin": temporal["start"] or temporal["end"],
                                         "end": temporal["end"] or "now"}]
    contact = {"organization": record["contact"]["opd"], "positionname": record["contact"]["role"],
               "country": "Indonesia", "url": url}
    if record["contact"]["email"]:
        contact["email"] = record["contact"]["email"]
    return {
        "mcf": {"version": 1.0},
        "metadata": {"identifier": record["id"], "language": "ind", "language_alternate": "eng", "charset": "utf8",
                     "hierarchylevel": "dataset", "datestamp": date.today().isoformat(), "dataseturi": url},
        "spatial": {"datatype": "vector" if record["kind"] == "layer" else "grid",
                    "geomtype": "surface" if record["kind"] == "layer" else "grid"},
        "identification": ident,
        "contact": {"pointOfContact": contact, record["contact"]["role"]: dict(contact)},
        "distribution": {name: {**d, "name": name, "function": "download"} for name, d in distributions.items()},
        "dataquality": {"scope": {"level": "dataset"}, "lineage": {"statement": lineage(record)}},
    }


def _resolution(record: dict) -> etree._Element | None:
    """gmd:spatialResolution: a scale (1:n) or a distance in metres."""
    gmd, gco = NS["gmd"], NS["gco"]
    res = etree.Element(f"{{{gmd}}}spatialResolution")
    md = etree.SubElement(res, f"{{{gmd}}}MD_Resolution")
    if record["scale_denominator"]:
        scale = etree.SubElement(etree.SubElement(md, f"{{{gmd}}}equivalentScale"),
                                 f"{{{gmd}}}MD_RepresentativeFraction")
        value = etree.SubElement(etree.SubElement(scale, f"{{{gmd}}}denominator"), f"{{{gco}}}Integer")
        value.text = str(record["scale_denominator"])
    elif record["resolution_m"]:
        value = etree.SubElement(etree.SubElement(md, f"{{{gmd}}}distance"), f"{{{gco}}}Distance", uom="m")
        value.text = repr(float(record["resolution_m"]))
    else:
        return None
    return res


@functools.cache
def _template():
    """pygeometa's ISO 19139 template, compiled once: its own writer compiles it on every call (0.2-1 s)."""
    env = Environment(loader=FileSystemLoader([ISO19139OutputSchema().template_dir, pygeometa_core.SCHEMAS]))
    helpers = {name: getattr(pygeometa_core, name) for name in (
        "normalize_datestring", "get_distribution_language", "get_charstring", "prune_distribution_formats",
        "prune_transfer_option")}
    env.filters.update(helpers)
    env.globals.update(zip=zip, **{k: v for k, v in helpers.items() if k != "get_distribution_language"})
    return env.get_template("main.j2")


def iso_xml(record: dict, url: str, distributions: dict[str, dict]) -> bytes:
    """The record as an ISO 19139 gmd:MD_Metadata document (UTF-8 bytes)."""
    xml = _template().render(record=to_mcf(record, url, distributions), pygeometa_version=pygeometa_core.VERSION)
    root = etree.fromstring(xml.encode(), etree.XMLParser(remove_blank_text=True))
    resolution = _resolution(record)
    if resolution is not None:
        # ISO 19139 order in MD_DataIdentification: ..., spatialRepresentationType, spatialResolution, language
        kind = root.find(".//gmd:MD_DataIdentification/gmd:spatialRepresentationType", NS)
        kind.addnext(resolution)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
