"""OGC API - Features read (Parts 1-3) over real HTTP, checked against the database and the source files."""

import io
import json
import re
import sqlite3

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import box, shape
from sqlalchemy import text

from tests.conftest import SOURCE_DATA, problem_of
from tests.test_sample_city import utm_area_ha

FIXED_IDS = {"kota", "kecamatan", "kelurahan", "zoning", "industrial_zones", "parks", "business_centers",
             "projects", "project_parcels", "project_milestones", "roads", "rivers"}
PRIVATE_FIELDS = {"project_parcels": ("pemilik", "nik", "kompensasi_rp"),
                  "business_centers": ("kontak_nama", "kontak_telepon"), "assets": ("nilai_perolehan_rp",)}


def _source_kelurahan():
    return {f["properties"]["kode"]: f for f in json.loads(
        (SOURCE_DATA / "kelurahan_binjai.geojson").read_text())["features"]}


def test_landing_conformance_and_api(http):
    landing = http.get("/").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conf = http.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete" in conf
    api = http.get("/api")
    assert api.json()["openapi"].startswith("3.")
    assert "/collections/{collection_id}/items" in api.json()["paths"]


def test_collections_have_the_fixed_ids_with_extents(http):
    body = http.get("/collections").json()
    cols = {c["id"]: c for c in body["collections"]}
    assert FIXED_IDS <= set(cols)
    kel = http.get("/collections/kelurahan").json()
    west, south, east, north = kel["extent"]["spatial"]["bbox"][0]
    assert 98.43 < west < 98.45 and 3.52 < south < 3.53 and 98.53 < east < 98.55 and 3.67 < north < 3.68
    assert "http://www.opengis.net/def/crs/EPSG/0/32647" in kel["crs"]
    assert cols["parks"]["illustrative"] is True and cols["kelurahan"]["illustrative"] is False


def test_paging_walks_a_whole_collection_exactly_once(http, engine):
    with engine.connect() as conn:
        expected = sorted(r[0] for r in conn.execute(text("SELECT id FROM zoning")))
    seen, url, pages = [], "/collections/zoning/items?limit=37", 0
    while url:
        body = http.get(url).json()
        assert body["numberMatched"] == len(expected)
        assert body["numberReturned"] == len(body["features"])
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        pages += 1
    assert sorted(seen) == expected and len(seen) == len(set(seen))
    assert pages == -(-len(expected) // 37)


def test_a_kelurahan_in_utm_has_the_independently_computed_area(http):
    tunggurono = _source_kelurahan()["12.75.04.1005"]
    r = http.get("/collections/kelurahan/items", params={
        "nama": "Tunggurono", "crs": "http://www.opengis.net/def/crs/EPSG/0/32647"})
    assert r.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/32647>"
    feature = r.json()["features"][0]
    area_ha = shape(feature["geometry"]).area / 1e4
    assert area_ha == pytest.approx(utm_area_ha(shape(tunggurono["geometry"])), rel=1e-3)
    assert feature["properties"]["area_ha"] == pytest.approx(area_ha, rel=1e-3)


def test_epsg_4326_is_latitude_first(http):
    crs84 = http.get("/collections/toll_gates/items").json()["features"][0]["geometry"]["coordinates"]
    epsg = http.get("/collections/toll_gates/items",
                    params={"crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}).json()
    assert epsg["features"][0]["geometry"]["coordinates"] == pytest.approx(crs84[::-1])
    assert crs84[0] == pytest.approx(98.542, abs=0.01)


def test_bbox_returns_exactly_the_intersecting_kelurahan(http):
    area = (98.50, 3.58, 98.52, 3.60)
    expected = {k for k, f in _source_kelurahan().items() if shape(f["geometry"]).intersects(box(*area))}
    body = http.get("/collections/kelurahan/items", params={"bbox": ",".join(map(str, area)), "limit": 100}).json()
    assert {f["properties"]["kode"] for f in body["features"]} == expected
    # the same box given in UTM 47N
    utm = gpd.GeoSeries([box(*area)], crs=4326).to_crs(32647).total_bounds
    body = http.get("/collections/kelurahan/items", params={
        "bbox": ",".join(map(str, utm)), "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/32647",
        "limit": 100}).json()
    assert expected <= {f["properties"]["kode"] for f in body["features"]}


def test_properties_sortby_and_datetime(http, engine):
    body = http.get("/collections/kelurahan/items",
                    params={"properties": "nama,area_ha", "sortby": "-area_ha", "limit": 5}).json()
    assert all(set(f["properties"]) == {"nama", "area_ha"} for f in body["features"])
    areas = [f["properties"]["area_ha"] for f in body["features"]]
    assert areas == sorted(areas, reverse=True)
    assert body["features"][0]["properties"]["nama"] == "Tunggurono"  # the largest kelurahan
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM project_parcels WHERE status_date BETWEEN '2023-01-01' "
                              "AND '2024-12-31'")).scalar()
    body = http.get("/collections/project_parcels/items",
                    params={"datetime": "2023-01-01/2024-12-31", "limit": 1000}).json()
    assert body["numberMatched"] == n == len(body["features"])
    assert all("2023-01-01" <= f["properties"]["status_date"] <= "2024-12-31" for f in body["features"])


def test_cql2_text_and_json_filters(http):
    text_body = http.get("/collections/kelurahan/items", params={
        "filter": "kecamatan_kode = '12.75.04' AND area_ha > 100", "limit": 100}).json()
    expected = {k for k, f in _source_kelurahan().items()
                if f["properties"]["kecamatan_kode"] == "12.75.04" and f["properties"]["luas_km2"] * 100 > 100}
    assert {f["properties"]["kode"] for f in text_body["features"]} == expected
    cql_json = {"op": "s_intersects", "args": [{"property": "geometry"},
                                               {"type": "Point", "coordinates": [98.52, 3.59]}]}
    body = http.get("/collections/kelurahan/items", params={
        "filter": json.dumps(cql_json), "filter-lang": "cql2-json"}).json()
    inside = [k for k, f in _source_kelurahan().items() if shape(f["geometry"]).contains(shapely.Point(98.52, 3.59))]
    assert [f["properties"]["kode"] for f in body["features"]] == inside


def test_csv_and_geopackage_downloads(http, engine):
    r = http.get("/collections/kelurahan/items", params={"f": "csv", "limit": 100})
    assert r.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(r.text))
    assert len(table) == 37 and "wkt" in table.columns and "nama" in table.columns
    r = http.get("/collections/kelurahan/items", params={"f": "gpkg", "limit": 100})
    assert r.content[:16] == b"SQLite format 3\x00"
    frame = gpd.read_file(io.BytesIO(r.content))
    assert len(frame) == 37 and frame.crs.to_epsg() == 4326
    assert frame.to_crs(32647).area.sum() / 1e4 == pytest.approx(
        sum(utm_area_ha(shape(f["geometry"])) for f in _source_kelurahan().values()), rel=1e-3)


def _private_values(engine, layer: str) -> list[str]:
    cols = PRIVATE_FIELDS[layer]
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {', '.join(cols)} FROM {layer}")).all()
    return [str(v) for row in rows for v in row if v is not None]


@pytest.mark.parametrize("layer", list(PRIVATE_FIELDS))
@pytest.mark.parametrize("fmt", ["json", "html", "csv", "gpkg"])
def test_anonymous_responses_carry_no_private_field(http, engine, layer, fmt, tmp_path):
    r = http.get(f"/collections/{layer}/items", params={"f": fmt, "limit": 1000})
    assert r.status_code == 200
    if fmt == "gpkg":
        gpkg = tmp_path / "leak-check.gpkg"
        gpkg.write_bytes(r.content)
        with sqlite3.connect(gpkg) as db:
            # Geometry blobs are dumped as hex (X'...'): digits there are coordinates, not leaked values.
            dump = re.sub(r"X'[0-9A-Fa-f]*'", "X''", "\n".join(db.iterdump()))
    else:
        dump = r.text
    values = _private_values(engine, layer)
    assert len(values) > 5
    for name in PRIVATE_FIELDS[layer]:
        assert name not in dump
    leaked = [v for v in values if v in dump]
    assert leaked == []
    for path in (f"/collections/{layer}/queryables", f"/collections/{layer}/schema", f"/collections/{layer}"):
        body = http.get(path).text
        assert not any(name in body for name in PRIVATE_FIELDS[layer])


def test_an_analyst_key_reads_private_fields(http, keys):
    r = http.get("/collections/project_parcels/items", headers={"X-API-Key": keys["analyst"]})
    assert "nik" in r.json()["features"][0]["properties"]
    assert problem_of(http.get("/collections", headers={"X-API-Key": "pk_bogus_key"}))["status"] == 401


def test_html_views_use_only_local_assets(http):
    r = http.get("/collections/parks/items", params={"f": "html", "limit": 5})
    assert r.headers["content-type"].startswith("text/html")
    assert "/static/vendor/leaflet/leaflet.js" in r.text
    assert http.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert "unpkg" not in r.text and "cdn" not in r.text.lower()
    assert http.get("/collections", headers={"Accept": "text/html"}).headers["content-type"].startswith("text/html")


def test_single_item_has_etag_and_links(http, engine):
    with engine.connect() as conn:
        fid, version = conn.execute(text("SELECT id, version FROM parks ORDER BY id LIMIT 1")).one()
    r = http.get(f"/collections/parks/items/{fid}")
    assert r.headers["etag"] == f'"{version}"'
    assert r.json()["id"] == fid
    assert problem_of(http.get("/collections/parks/items/99999999"))["status"] == 404


HOSTILE = [
    ("/collections/kelurahan/items", {"filter": "nama = 'x'' OR 1=1 --'"}, 200),
    ("/collections/kelurahan/items", {"filter": "nama = 'x'; DROP TABLE kelurahan; --"}, 400),
    ("/collections/kelurahan/items", {"filter": "\"nama; DROP TABLE kelurahan\" = 1"}, 400),
    ("/collections/kelurahan/items", {"filter": "{not json", "filter-lang": "cql2-json"}, 400),
    ("/collections/kelurahan/items", {"sortby": "nama; DROP TABLE kelurahan"}, 400),
    ("/collections/kelurahan/items", {"sortby": "-(SELECT 1)"}, 400),
    ("/collections/kelurahan/items", {"properties": "nama,(SELECT pemilik FROM project_parcels)"}, 400),
    ("/collections/kelurahan/items", {"bbox": "1,2,3"}, 400),
    ("/collections/kelurahan/items", {"crs": "EPSG:1; DROP TABLE kelurahan"}, 400),
    ("/collections/kelurahan/items", {"limit": "100000"}, 400),
    ("/collections/kelurahan/items", {"datetime": "yesterday"}, 400),
    ("/collections/kelurahan/items", {"kode'--": "1"}, 400),
    ("/collections/kelurahan;DROP TABLE kelurahan/items", {}, 404),
    ("/collections/spatial_ref_sys/items", {}, 404),
    ("/collections/api_keys/items", {}, 404),
    ("/collections/..%2F..%2Fetc%2Fpasswd/items", {}, 404),
]


@pytest.mark.parametrize("path, params, status", HOSTILE)
def test_hostile_read_requests_are_4xx_problems_and_change_nothing(http, engine, path, params, status):
    r = http.get(path, params=params)
    assert r.status_code == status, r.text[:300]
    if status >= 400:
        problem_of(r)
    else:
        assert r.json()["numberMatched"] == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM kelurahan")).scalar() == 37
