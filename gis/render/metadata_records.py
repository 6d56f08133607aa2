"""Metadata records as OGC API - Records Part 1 features (GeoJSON records of the `catalog` collection) and as DCAT
JSON-LD (for open-data portals that harvest DCAT, CKAN's among them). Written here rather than with pygeometa's
DCAT writer: that one (0.19) keeps titles in English and French only and needs a web address for every contact."""

from __future__ import annotations

from gis.render.metadata_iso import ILLUSTRATIVE_NOTE, iso_xml, licence_url

RECORD_CORE = "http://www.opengis.net/spec/ogcapi-records-1/1.0/req/record-core"
TOPIC_SCHEME = "https://standards.iso.org/iso/19115/resources/Codelists/gml/MD_TopicCategoryCode.xml"
GEOJSON = "application/geo+json"


def data_links(record: dict, base: str) -> list[dict]:
    """Where the data of a record are served: a layer's collection, items, tiles and WMS; a raster's
    description, tiles and file."""
    ref = record["resource"]
    if record["kind"] == "layer":
        return [
            {"href": f"{base}/collections/{ref}", "rel": "describes", "type": "application/json",
             "title": "OGC API - Features collection"},
            {"href": f"{base}/collections/{ref}/items", "rel": "items", "type": GEOJSON, "title": "Features"},
            {"href": f"{base}/collections/{ref}/tiles/WebMercatorQuad", "rel": "http://www.opengis.net/def/rel/ogc/"
             "1.0/tilesets-vector", "type": "application/json", "title": "Vector tiles (MVT)"},
            {"href": f"{base}/wms?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.3.0", "rel": "service",
             "type": "application/xml", "title": f"WMS (layer {ref})"},
        ]
    return [
        {"href": f"{base}/rasters/{ref}", "rel": "describes", "type": "application/json", "title": "Raster"},
        {"href": f"{base}/rasters/{ref}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png", "rel": "item",
         "type": "image/png", "title": "Raster tiles (PNG)", "templated": True},
        {"href": f"{base}/rasters/{ref}/download", "rel": "enclosure", "type": "image/tiff; application=geotiff; "
         "profile=cloud-optimized", "title": "Cloud Optimized GeoTIFF"},
    ]


def iso_document(record: dict, base: str) -> bytes:
    """The record as ISO 19139 XML, with where its data are served as distributions."""
    links = {f"{link['rel']}-{i}": {"url": link["href"], "type": link["type"], "description": link["title"]}
             for i, link in enumerate(data_links(record, base))}
    return iso_xml(record, f"{base}/collections/catalog/items/{record['id']}", links)


def _polygon(extent) -> dict | None:
    if not extent:
        return None
    w, s, e, n = extent
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def record_feature(record: dict, base: str) -> dict:
    """One record as an OGC API - Records GeoJSON feature."""
    url = f"{base}/collections/catalog/items/{record['id']}"
    temporal = record["temporal"]
    contact = {"organization": record["contact"]["opd"], "roles": [record["contact"]["role"]]}
    if record["contact"]["email"]:
        contact["emails"] = [{"value": record["contact"]["email"]}]
    props = {
        "type": "dataset",
        "title": record["title"]["id"], "description": record["abstract"]["id"],
        "title_en": record["title"]["en"], "description_en": record["abstract"]["en"],
        "language": {"code": "id", "name": "Bahasa Indonesia"},
        "languages": [{"code": "id", "name": "Bahasa Indonesia"}, {"code": "en", "name": "English"}],
        "keywords": record["keywords"],
        "themes": [{"concepts": [{"id": record["topic_category"]}], "scheme": TOPIC_SCHEME}],
        "contacts": [contact],
        # an SPDX id as it is; a licence described in words is "other", the words going to `rights`
        "license": record["licence"] if record["licence"] and " " not in record["licence"] else "other",
        "updated": record["updated_at"],
        "updateFrequency": record["update_frequency"],
        "lineage": record["lineage"],
        "scaleDenominator": record["scale_denominator"],
        "resolution_m": record["resolution_m"],
        "illustrative": record["illustrative"],
        "resourceType": record["kind"],
    }
    rights = [r for r in (record["licence"] if props["license"] == "other" else None,
                          ILLUSTRATIVE_NOTE if record["illustrative"] else None) if r]
    if rights:
        props["rights"] = ". ".join(rights)
    links = [
        {"href": f"{url}?f=json", "rel": "self", "type": GEOJSON},
        {"href": f"{url}?f=iso", "rel": "alternate", "type": "application/vnd.iso.19139+xml",
         "title": "ISO 19139"},
        {"href": f"{url}?f=dcat", "rel": "alternate", "type": "application/ld+json", "title": "DCAT (JSON-LD)"},
        {"href": f"{base}/collections/catalog", "rel": "collection", "type": "application/json"},
        *data_links(record, base),
    ]
    if url_ := licence_url(record["licence"]):
        links.append({"href": url_, "rel": "license", "title": record["licence"]})
    return {
        "id": record["id"], "type": "Feature", "conformsTo": [RECORD_CORE],
        "geometry": _polygon(record["extent"]),
        "time": {"interval": [temporal["start"] or "..", temporal["end"] or ".."]}
        if temporal["start"] or temporal["end"] else None,
        "properties": props, "links": links,
    }


DCAT_CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/", "vcard": "http://www.w3.org/2006/vcard/ns#",
    "foaf": "http://xmlns.com/foaf/0.1/", "locn": "http://www.w3.org/ns/locn#", "xsd": "http://www.w3.org/2001/XMLSchema#",
    "gsp": "http://www.opengis.net/ont/geosparql#",
}
_FREQUENCY = "http://purl.org/cld/freq/"  # Dublin Core collection frequencies
FREQUENCIES = {"daily": "daily", "weekly": "weekly", "fortnightly": "biweekly", "monthly": "monthly",
               "quarterly": "quarterly", "biannually": "semiannual", "annually": "annual", "irregular": "irregular",
               "continual": "continuous"}


def dcat_dataset(record: dict, base: str) -> dict:
    """One record as a dcat:Dataset node (without @context)."""
    url = f"{base}/collections/catalog/items/{record['id']}"
    node = {
        "@id": url, "@type": "dcat:Dataset",
        "dct:identifier": record["id"],
        "dct:title": [{"@value": record["title"]["id"], "@language": "id"},
                      {"@value": record["title"]["en"], "@language": "en"}],
        "dct:description": [{"@value": record["abstract"]["id"], "@language": "id"},
                            {"@value": record["abstract"]["en"], "@language": "en"}],
        "dcat:keyword": record["keywords"],
        "dcat:theme": {"@id": f"{TOPIC_SCHEME}#{record['topic_category']}"},
        "dct:provenance": {"@type": "dct:ProvenanceStatement", "rdfs:label": record["lineage"] or ""},
        "dcat:contactPoint": {"@type": "vcard:Organization", "vcard:fn": record["contact"]["opd"],
                              **({"vcard:hasEmail": {"@id": f"mailto:{record['contact']['email']}"}}
                                 if record["contact"]["email"] else {})},
        "dcat:landingPage": {"@id": url},
        "dcat:distribution": [
            {"@type": "dcat:Distribution", "dcat:accessURL": {"@id": link["href"]}, "dct:title": link["title"],
             "dcat:mediaType": link["type"]}
            for link in data_links(record, base)],
    }
    if record["extent"]:
        w, s, e, n = record["extent"]
        node["dct:spatial"] = {"@type": "dct:Location", "dcat:bbox": {
            "@value": f"POLYGON(({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s}))", "@type": "gsp:wktLiteral"}}
    temporal = record["temporal"]
    if temporal["start"] or temporal["end"]:
        node["dct:temporal"] = {"@type": "dct:PeriodOfTime", **(
            {"dcat:startDate": {"@value": temporal["start"], "@type": "xsd:date"}} if temporal["start"] else {}), **(
            {"dcat:endDate": {"@value": temporal["end"], "@type": "xsd:date"}} if temporal["end"] else {})}
    if record["licence"]:
        node["dct:license"] = {"@id": licence_url(record["licence"])} if licence_url(record["licence"]) \
            else {"@type": "dct:LicenseDocument", "rdfs:label": record["licence"]}
    if record["update_frequency"] in FREQUENCIES:
        node["dct:accrualPeriodicity"] = {"@id": f"{_FREQUENCY}{FREQUENCIES[record['update_frequency']]}"}
    if record["updated_at"]:
        node["dct:modified"] = {"@value": record["updated_at"], "@type": "xsd:dateTime"}
    if record["resolution_m"]:
        node["dcat:spatialResolutionInMeters"] = {"@value": record["resolution_m"], "@type": "xsd:decimal"}
    return node


def _context() -> dict:
    return {**DCAT_CONTEXT, "rdfs": "http://www.w3.org/2000/01/rdf-schema#"}


def dcat_record(record: dict, base: str) -> dict:
    return {"@context": _context(), **dcat_dataset(record, base)}


def dcat_catalog(records: list[dict], base: str, title: str) -> dict:
    """A dcat:Catalog of the records given."""
    return {"@context": _context(), "@id": f"{base}/catalog.jsonld", "@type": "dcat:Catalog",
            "dct:title": title, "foaf:homepage": {"@id": f"{base}/"},
            "dcat:dataset": [dcat_dataset(rec, base) for rec in records]}
