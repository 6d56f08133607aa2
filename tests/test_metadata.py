"""Metadata (Satu Data): a record for every layer and raster, an admin's edits (API and CLI), the `catalog`
collection of OGC API - Records read with OWSLib, ISO 19139 and DCAT exports, nothing private for anonymous
callers."""

import json

import pytest
import rasterio
import rasterio.warp
import shapely
from lxml import etree
from owslib.ogcapi.records import Records
from shapely.geometry import box
from sqlalchemy import text
from typer.testing import CliRunner

from gis.cli.main import app
from gis.data.registry import load_catalog
from layers import CATALOG
from tests.conftest import problem_of

NS = {"gmd": "http://www.isotc211.org/2005/gmd", "gco": "http://www.isotc211.org/2005/gco",
      "gmx": "http://www.isotc211.org/2005/gmx"}
PRIVATE_LAYERS = {layer.id for layer in CATALOG.values() if not layer.public}


def _headers(keys, role):
    return {"X-API-Key": keys[role]}


def _layers(engine):
    """Every layer held: the declared ones and any added at runtime."""
    with engine.connect() as conn:
        return load_catalog(conn)


def _city_rasters(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r["id"]: dict(r) for r in conn.execute(text("SELECT * FROM rasters WHERE owner IS NULL")).mappings()}


def _layer_extent(engine, layer_id):
    """The layer's extent from its geometries, by shapely."""
    with engine.connect() as conn:
        geoms = shapely.from_wkb([r[0] for r in conn.execute(text(f"SELECT ST_AsBinary(geom) FROM {layer_id}"))])
    return tuple(shapely.total_bounds(geoms)) if len(geoms) else None


def _raster_extent(settings, entry):
    with rasterio.open(settings.data_dir / entry["path"]) as ds:
        return rasterio.warp.transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)


def _all(http, headers=None, **params) -> dict[str, dict]:
    body = http.get("/collections/catalog/items", params={"limit": 1000, **params}, headers=headers or {}).json()
    assert body["numberMatched"] == body["numberReturned"] == len(body["features"])
    return {f["id"]: f for f in body["features"]}


@pytest.fixture()
def clean_metadata(engine):
    yield
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM metadata"))
        conn.execute(text("DELETE FROM metadata_history"))


def test_every_layer_and_raster_has_a_record_with_its_declared_title(http, keys, engine):
    rasters = _city_rasters(engine)
    records = _all(http, _headers(keys, "admin"))
    layers = _layers(engine)
    assert set(CATALOG) <= set(layers)
    assert set(records) == set(layers) | {f"raster-{rid}" for rid in rasters}
    for layer in layers.values():
        props = records[layer.id]["properties"]
        assert (props["title"], props["title_en"]) == (layer.title_id, layer.title_en)
        assert props["illustrative"] == layer.illustrative and props["lineage"] == (layer.source or None)
    for rid, entry in rasters.items():
        assert records[f"raster-{rid}"]["properties"]["title"] == entry["title_id"]


def test_record_extents_are_the_data_extents(http, settings, engine):
    records = _all(http)
    parks = shapely.geometry.shape(records["parks"]["geometry"]).bounds
    expected = _layer_extent(engine, "parks")
    # PostGIS keeps a polygon's box in single precision, rounded outward: within a metre, never inside the data
    assert parks == pytest.approx(expected, abs=2e-5)
    assert parks[0] <= expected[0] and parks[1] <= expected[1] and parks[2] >= expected[2]
    slope = shapely.geometry.shape(records["raster-slope"]["geometry"]).bounds
    assert slope == pytest.approx(_raster_extent(settings, _city_rasters(engine)["slope"]), abs=1e-9)
    with rasterio.open(settings.data_dir / _city_rasters(engine)["slope"]["path"]) as ds:
        assert records["raster-slope"]["properties"]["resolution_m"] == pytest.approx(ds.res[0])


def test_anonymous_callers_see_no_private_layer_record(http, keys):
    anonymous = _all(http)
    assert PRIVATE_LAYERS and not PRIVATE_LAYERS & set(anonymous)
    assert PRIVATE_LAYERS <= set(_all(http, _headers(keys, "analyst")))
    for layer_id in PRIVATE_LAYERS:
        assert problem_of(http.get(f"/collections/catalog/items/{layer_id}"))["status"] == 404
        assert http.get(f"/collections/catalog/items/{layer_id}?f=iso").status_code == 404
    catalog = http.get("/catalog.jsonld").json()
    assert {d["dct:identifier"] for d in catalog["dcat:dataset"]} == set(anonymous)


def test_owslib_records_lists_the_catalog_and_searches_by_text_and_bbox(server, engine, settings):
    api = Records(server)
    assert "catalog" in api.records()
    listing = api.collection_items("catalog", limit=1000)
    layers = _layers(engine)
    public = {lid for lid, layer in layers.items() if layer.public}
    rasters = _city_rasters(engine)
    assert {f["id"] for f in listing["features"]} == public | {f"raster-{rid}" for rid in rasters}

    found = api.collection_items("catalog", q="sungai", limit=1000)
    expected = {lid for lid in public if "sungai" in " ".join(
        (layers[lid].title_id, layers[lid].title_en, layers[lid].description_id)).lower()}
    assert expected and {f["id"] for f in found["features"]} == expected

    # a corner of the city: the records whose data extent (computed here) meets it
    extents = {lid: _layer_extent(engine, lid) for lid in public}
    extents |= {f"raster-{rid}": _raster_extent(settings, e) for rid, e in rasters.items()}
    parks = extents["business_centers"]
    area = box(parks[0] - 0.002, parks[1] - 0.002, parks[0] + 0.001, parks[1] + 0.001)
    expected = {rid for rid, ext in extents.items() if ext and box(*ext).intersects(area)}
    assert 0 < len(expected) < len(extents)
    found = api.collection_items("catalog", bbox=list(area.bounds), limit=1000)
    assert {f["id"] for f in found["features"]} == expected
    assert found["numberMatched"] == len(expected)


def test_time_search_and_paging_count_exactly(http, engine):
    rasters = _city_rasters(engine)
    expected = {f"raster-{rid}" for rid, e in rasters.items() if e["acquired"] and e["acquired"].year == 2019}
    with engine.connect() as conn:
        for layer in _layers(engine).values():
            if layer.public and layer.time_field:
                dates = [r[0] for r in conn.execute(text(f"SELECT {layer.time_field} FROM {layer.id} "
                                                         f"WHERE {layer.time_field} IS NOT NULL"))]
                if dates and min(dates).isoformat() <= "2019-12-31" and max(dates).isoformat() >= "2019-01-01":
                    expected.add(layer.id)
    assert expected
    assert set(_all(http, datetime="2019-01-01/2019-12-31")) == expected

    seen, url = [], "/collections/catalog/items?limit=4"
    total = len(_all(http))
    while url:
        page = http.get(url).json()
        assert page["numberMatched"] == total
        seen += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == total


def test_admin_edit_is_stored_served_and_exported(http, keys, engine, clean_metadata):
    admin = {**_headers(keys, "admin"), "Content-Type": "application/merge-patch+json"}
    patch = {"licence": "CC-BY-4.0", "update_frequency": "annually", "keywords": ["RDTR", "pola ruang"],
             "contact": {"opd": "Dinas PUPR Kota Binjai", "role": "custodian", "email": "tataruang@binjaikota.go.id"},
             "temporal": {"start": "2021-01-01"}, "abstract": {"en": "The detailed spatial plan of the city"}}
    r = http.patch("/admin/metadata/zoning", content=json.dumps(patch), headers=admin)
    assert r.status_code == 200, r.text
    with engine.connect() as conn:
        row = conn.execute(text("SELECT licence, contact_opd, contact_email_public, title_id FROM metadata "
                                "WHERE resource = 'zoning'")).one()
    assert row == ("CC-BY-4.0", "Dinas PUPR Kota Binjai", None, None)  # the title keeps its default

    record = http.get("/collections/catalog/items/zoning").json()["properties"]
    assert record["license"] == "CC-BY-4.0" and record["updateFrequency"] == "annually"
    assert record["keywords"] == ["RDTR", "pola ruang"] and record["title"] == CATALOG["zoning"].title_id
    assert record["description_en"] == "The detailed spatial plan of the city"
    assert record["contacts"][0]["organization"] == "Dinas PUPR Kota Binjai"
    assert "emails" not in record["contacts"][0]  # a person's e-mail: not public unless declared so
    analyst = http.get("/collections/catalog/items/zoning", headers=_headers(keys, "analyst")).json()
    assert analyst["properties"]["contacts"][0]["emails"] == [{"value": "tataruang@binjaikota.go.id"}]

    xml = http.get("/collections/catalog/items/zoning.xml", headers=_headers(keys, "admin"))
    assert xml.headers["content-type"].startswith("application/vnd.iso.19139+xml")
    doc = etree.fromstring(xml.content)
    ident = doc.find(".//gmd:MD_DataIdentification", NS)
    assert ident.findtext("gmd:citation/*/gmd:title/gco:CharacterString", namespaces=NS) == \
        CATALOG["zoning"].title_id
    assert ident.findtext("gmd:abstract/gco:CharacterString", namespaces=NS) == CATALOG["zoning"].description_id
    box_ = ident.find(".//gmd:EX_GeographicBoundingBox", NS)
    served = [float(box_.findtext(f"gmd:{side}/gco:Decimal", namespaces=NS)) for side in
              ("westBoundLongitude", "southBoundLatitude", "eastBoundLongitude", "northBoundLatitude")]
    assert served == pytest.approx(_layer_extent(engine, "zoning"), abs=2e-5)
    assert "tataruang@binjaikota.go.id" in [e.text for e in doc.iter(f"{{{NS['gco']}}}CharacterString")]
    assert ident.findtext(".//gmd:otherConstraints/gmx:Anchor", namespaces=NS) == "CC-BY-4.0"
    assert ident.findtext(".//gmd:denominator/gco:Integer", namespaces=NS) == "5000"
    assert doc.findtext(".//gmd:MD_MaintenanceFrequencyCode", namespaces=NS) == "annually"
    assert "tataruang" not in http.get("/collections/catalog/items/zoning?f=iso").text  # anonymous

    dcat = http.get("/collections/catalog/items/zoning?f=dcat").json()
    assert dcat["@type"] == "dcat:Dataset" and "dcat" in dcat["@context"]
    assert http.get("/collections/catalog/items/zoning.jsonld").json() == dcat
    assert dcat["dct:license"] == {"@id": "https://creativecommons.org/licenses/by/4.0/"}

    history = http.get("/admin/metadata/zoning", headers=admin).json()["history"]
    assert [h["patch"] for h in history] == [patch]
    # null puts a member back to its default
    http.patch("/admin/metadata/zoning", content='{"licence": null}', headers=admin).raise_for_status()
    assert http.get("/collections/catalog/items/zoning").json()["properties"]["license"] == "other"
    # a licence in words is "other" for Records clients, the words kept in `rights`
    words = "Hak cipta Pemerintah Kota Binjai"
    http.patch("/admin/metadata/zoning", json={"licence": words}, headers=admin).raise_for_status()
    props = http.get("/collections/catalog/items/zoning").json()["properties"]
    assert props["license"] == "other" and words in props["rights"]


def test_public_email_is_shown_to_everyone(http, keys, clean_metadata):
    patch = {"contact": {"email": "ppid@binjaikota.go.id", "email_public": True}}
    http.patch("/admin/metadata/raster-slope", json=patch, headers=_headers(keys, "admin")).raise_for_status()
    contact = http.get("/collections/catalog/items/raster-slope").json()["properties"]["contacts"][0]
    assert contact["emails"] == [{"value": "ppid@binjaikota.go.id"}]


@pytest.mark.parametrize(("patch", "words"), [
    ({"topic_category": "roads"}, ["topic_category", "planningCadastre"]),
    ({"update_frequency": "sometimes"}, ["update_frequency", "annually"]),
    ({"contact": {"email": "not-an-email"}}, ["contact.email", "e-mail"]),
    ({"extent": [98.6, 3.5, 98.4, 3.7]}, ["extent", "west"]),
    ({"colour": "red"}, ["colour", "licence"]),
    ({"temporal": {"start": "2024-01-01", "end": "2020-01-01"}}, ["temporal.start", "after"]),
])
def test_bad_values_are_refused_with_what_is_wrong(http, keys, engine, patch, words):
    r = http.patch("/admin/metadata/zoning", json=patch, headers=_headers(keys, "admin"))
    detail = problem_of(r)["detail"]
    assert r.status_code == 400 and all(w in detail for w in words), detail
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM metadata")).scalar() == 0


def test_only_an_admin_edits(http, keys):
    body = {"licence": "CC0-1.0"}
    assert problem_of(http.patch("/admin/metadata/zoning", json=body, headers=_headers(keys, "planner")))[
        "status"] == 403
    assert problem_of(http.patch("/admin/metadata/zoning", json=body))["status"] == 401
    assert problem_of(http.patch("/admin/metadata/nope", json=body, headers=_headers(keys, "admin")))[
        "status"] == 404
    assert http.get("/collections/catalog/items/zoning").json()["properties"]["license"] == "other"


def test_cli_shows_sets_and_exports(settings, engine, tmp_path, clean_metadata):
    env = {"DATABASE_URL": settings.database_url, "PETAKOTA_DATA_DIR": str(settings.data_dir)}
    runner = CliRunner()
    out = runner.invoke(app, ["metadata", "set", "rivers", "--licence", "CC-BY-4.0", "--topic-category",
                              "inlandWaters", "--contact-opd", "Dinas PUPR"], env=env)
    assert out.exit_code == 0, out.output
    shown = json.loads(runner.invoke(app, ["metadata", "show", "rivers"], env=env).output)
    assert shown["licence"] == "CC-BY-4.0" and shown["contact"]["opd"] == "Dinas PUPR"
    assert shown["title"]["id"] == CATALOG["rivers"].title_id and "licence" in shown["edited"]
    bad = runner.invoke(app, ["metadata", "set", "rivers", "--update-frequency", "hourly"], env=env)
    assert bad.exit_code == 1 and "update_frequency" in bad.output

    target = tmp_path / "rivers.xml"
    assert runner.invoke(app, ["metadata", "export", "rivers", "--format", "iso", "-o", str(target)],
                         env=env).exit_code == 0
    doc = etree.parse(str(target))
    assert doc.findtext(".//gmd:MD_TopicCategoryCode", namespaces=NS) == "inlandWaters"
    dcat = json.loads(runner.invoke(app, ["metadata", "export", "rivers", "--format", "dcat"], env=env).output)
    assert dcat["@type"] == "dcat:Dataset" and dcat["dct:identifier"] == "rivers"


def test_nothing_private_in_any_anonymous_metadata_answer(http, keys, clean_metadata):
    secret = "perencana.pribadi@binjaikota.go.id"
    http.patch("/admin/metadata/zoning", json={"contact": {"email": secret}},
               headers=_headers(keys, "admin")).raise_for_status()
    private_titles = {CATALOG[lid].title_id for lid in PRIVATE_LAYERS} | {CATALOG[lid].title_en for lid in
                                                                          PRIVATE_LAYERS}
    ids = list(_all(http))
    answers = [http.get("/collections/catalog/items", params={"limit": 1000}).text,
               http.get("/collections/catalog/items", params={"q": "program", "limit": 1000}).text,
               http.get("/catalog.jsonld").text, http.get("/collections").text]
    for rid in ids:
        answers += [http.get(f"/collections/catalog/items/{rid}?f={fmt}").text for fmt in ("json", "iso", "dcat")]
    for body in answers:
        assert secret not in body
        assert not any(f"/collections/{lid}" in body for lid in PRIVATE_LAYERS)
        assert not any(title in body for title in private_titles)
    # the same answer with an analyst's key does carry the e-mail: the scan above would see it
    assert secret in http.get("/collections/catalog/items/zoning?f=iso", headers=_headers(keys, "analyst")).text
