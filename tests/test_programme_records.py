"""Programmes, indicators and progress as OGC API record collections (items with `"geometry": null`): listed,
paged with exact counts, filtered, visible per key, and readable by GDAL and OWSLib."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import text

from gis.data.auth import create_key
from tests import programme_rows
from tests.conftest import problem_of

RECORDS = ("programmes", "programme_indicators", "programme_progress")


@pytest.fixture(scope="module")
def rows(engine):
    inserted = programme_rows.insert(engine)
    yield inserted
    programme_rows.remove(engine)


@pytest.fixture(scope="module")
def camat_keys(engine):
    with engine.begin() as conn:
        return {kec: create_key(conn, f"Camat uji {kec}", "analyst", kecamatan=kec)[1]
                for kec in ("12.75.01", "12.75.02")}


def _all(http, collection, headers=None, **params):
    r = http.get(f"/collections/{collection}/items", params={"limit": 1000, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _ours(features):
    return [f for f in features if any(o in str(f["properties"].get("kodeskpd", f["properties"].get(
        "programme_kode", ""))) for o in programme_rows.OPDS)]


def test_record_collections_are_listed_after_the_layers_and_described(http, rows):
    ids = [c["id"] for c in http.get("/collections").json()["collections"]]
    assert ids[-3:] == list(RECORDS)
    doc = http.get("/collections/programmes").json()
    assert doc["id"] == "programmes" and doc["geometryType"] is None
    assert any(link["rel"] == "items" for link in doc["links"])
    assert http.get("/collections", params={"f": "html"}).status_code == 200
    assert http.get("/collections/programme_progress", params={"f": "html"}).status_code == 200
    q = http.get("/collections/programmes/queryables").json()
    assert "kodeskpd" in q["properties"] and "catatan" not in q["properties"]


def test_anonymous_reads_public_programmes_and_their_children_without_private_fields(http, engine, rows):
    doc = _all(http, "programmes")
    kodes = {f["properties"]["kode"] for f in doc["features"]}
    assert rows.public_a in kodes and rows.public_b in kodes and rows.hidden_a not in kodes
    assert doc["numberMatched"] == programme_rows.counts(engine, "programmes", public_only=True)
    for f in doc["features"]:
        assert f["geometry"] is None and "catatan" not in f["properties"]
    for coll in ("programme_indicators", "programme_progress"):
        doc = _all(http, coll)
        assert doc["numberMatched"] == programme_rows.counts(engine, coll, public_only=True)
        assert rows.hidden_a not in {f["properties"]["programme_kode"] for f in doc["features"]}
        assert all("catatan" not in f["properties"] and "oleh" not in f["properties"] for f in doc["features"])
    hidden_id = rows.ids[rows.hidden_a]
    assert problem_of(http.get(f"/collections/programmes/items/{hidden_id}"))["status"] == 404
    hidden_progress = rows.progress[rows.hidden_a][0]
    assert http.get(f"/collections/programme_progress/items/{hidden_progress}").status_code == 404


def test_an_analyst_key_reads_every_programme_with_private_fields(http, engine, keys, rows):
    doc = _all(http, "programmes", headers={"X-API-Key": keys["analyst"]})
    assert doc["numberMatched"] == programme_rows.counts(engine, "programmes", public_only=False)
    hidden = next(f for f in doc["features"] if f["properties"]["kode"] == rows.hidden_a)
    assert hidden["properties"]["catatan"] == "Catatan rahasia Hotel 5523"
    progress = _all(http, "programme_progress", headers={"X-API-Key": keys["analyst"]},
                    programme_kode=rows.public_a)
    assert {f["properties"]["oleh"] for f in progress["features"]} == {"Petugas Alfa Uji"}


def test_single_item_has_its_version_as_etag(http, engine, rows):
    pid = rows.ids[rows.public_a]
    r = http.get(f"/collections/programmes/items/{pid}")
    assert r.status_code == 200 and r.json()["geometry"] is None
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version FROM programmes WHERE id = :i"), {"i": pid}).scalar_one()
    assert r.headers["etag"] == f'"{version}"'
    assert r.json()["properties"]["kode"] == rows.public_a
    assert http.get(f"/collections/programmes/items/{pid}", params={"f": "html"}).status_code == 200


def test_paging_follows_next_links_with_exact_counts(http, engine, keys):
    headers = {"X-API-Key": keys["analyst"]}
    total = programme_rows.counts(engine, "programme_indicators", public_only=False)
    assert total >= 4
    url, seen = "/collections/programme_indicators/items?limit=1", []
    while url:
        doc = http.get(url, headers=headers).json()
        assert doc["numberMatched"] == total and doc["numberReturned"] == 1
        seen += [f["id"] for f in doc["features"]]
        url = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
    assert len(seen) == total == len(set(seen))


def test_filters_by_property_datetime_and_city(http, rows):
    doc = _all(http, "programmes", kodeskpd=programme_rows.OPD_B)
    assert [f["properties"]["kode"] for f in doc["features"]] == [rows.public_b]
    doc = _all(http, "programme_progress", datetime=f"{programme_rows.YEAR}-03-02/{programme_rows.YEAR}-03-31")
    dates = {f["properties"]["tanggal"] for f in _ours(doc["features"])}
    assert dates == {f"{programme_rows.YEAR}-03-07"}  # the hidden programme's 03-05 stays hidden
    assert _all(http, "programmes", city="12.75")["numberMatched"] == _all(http, "programmes")["numberMatched"]
    doc = _all(http, "programme_indicators", city="12.75", programme_kode=rows.public_a)
    assert doc["numberMatched"] == 2


def test_sorting_and_choosing_properties(http, rows):
    doc = _all(http, "programme_progress", sortby="-tanggal", properties="programme_kode,tanggal")
    dates = [f["properties"]["tanggal"] for f in doc["features"]]
    assert dates == sorted(dates, reverse=True) and len(dates) >= 3
    assert all(set(f["properties"]) == {"programme_kode", "tanggal"} for f in doc["features"])


def test_anonymous_cannot_probe_private_fields_by_filtering(http, keys, rows):
    # a filter on a private field matches nothing anonymously, but does match for a key that reads it
    assert _all(http, "programmes", catatan="Catatan internal Alfa 7781")["numberMatched"] == 0
    doc = _all(http, "programmes", headers={"X-API-Key": keys["analyst"]}, catatan="Catatan internal Alfa 7781")
    assert doc["numberMatched"] == 1


@pytest.mark.parametrize("params", [{"tahun": "abc"}, {"nonsense": "1"}, {"bbox": "98,3,99,4"},
                                    {"filter": "tahun=2026"}, {"sortby": "catatan"}, {"limit": "0"},
                                    {"datetime": "yesterday"}, {"city": "99.99"}, {"f": "pdf"}])
def test_bad_parameters_are_problem_400s(http, rows, params):
    r = http.get("/collections/programmes/items", params=params)
    assert r.status_code == 400, r.text
    assert problem_of(r)["detail"]


def test_csv_and_geopackage_have_the_same_rows(http, engine, rows, tmp_path):
    import pyogrio

    r = http.get("/collections/programmes/items", params={"f": "csv", "limit": 1000})
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert len(table) == programme_rows.counts(engine, "programmes", public_only=True)
    assert "catatan" not in table[0] and {rows.public_a, rows.public_b} <= {t["kode"] for t in table}
    r = http.get("/collections/programme_progress/items", params={"f": "gpkg", "limit": 1000})
    path = tmp_path / "progress.gpkg"
    path.write_bytes(r.content)
    frame = pyogrio.read_dataframe(path, read_geometry=False)
    assert len(frame) == programme_rows.counts(engine, "programme_progress", public_only=True)
    assert "oleh" not in frame.columns


def test_camat_key_reads_its_kecamatan_private_notes_and_not_another(http, engine, rows, camat_keys):
    north = _all(http, "programmes", headers={"X-API-Key": camat_keys["12.75.01"]})
    by_kode = {f["properties"]["kode"]: f["properties"] for f in north["features"]}
    assert by_kode[rows.public_a]["catatan"] == "Catatan internal Alfa 7781"  # a point in 12.75.01
    assert "catatan" not in by_kode[rows.public_b]  # public, but lies in 12.75.02
    assert rows.hidden_a not in by_kode  # not public, lies in 12.75.02
    city = _all(http, "programmes", headers={"X-API-Key": camat_keys["12.75.02"]})
    by_kode = {f["properties"]["kode"]: f["properties"] for f in city["features"]}
    assert by_kode[rows.hidden_a]["catatan"] == "Catatan rahasia Hotel 5523"
    assert by_kode[rows.public_b]["catatan"] == "Catatan internal Bravo 6634"
    assert "catatan" not in by_kode[rows.public_a]
    notes = _all(http, "programme_progress", headers={"X-API-Key": camat_keys["12.75.01"]})
    mine = {f["properties"]["programme_kode"]: f["properties"] for f in notes["features"]}
    assert mine[rows.public_a]["oleh"] == "Petugas Alfa Uji" and "oleh" not in mine[rows.public_b]


def test_gdal_ogr2ogr_copies_each_record_collection_with_every_row(server, engine, rows, tmp_path):
    import subprocess

    import pyogrio

    for coll in RECORDS:
        out = tmp_path / f"{coll}.gpkg"
        done = subprocess.run(["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{server}/collections/{coll}", coll],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        frame = pyogrio.read_dataframe(out, read_geometry=False)
        assert len(frame) == programme_rows.counts(engine, coll, public_only=True)
        assert "catatan" not in frame.columns


def test_gdal_with_an_api_key_copies_every_programme_with_its_notes(server, engine, keys, rows, tmp_path):
    import subprocess

    import pyogrio

    out = tmp_path / "programmes.gpkg"
    done = subprocess.run(["ogr2ogr", "--config", "GDAL_HTTP_HEADERS", f"X-API-Key: {keys['analyst']}", "-f", "GPKG",
                           str(out), f"OAPIF:{server}/collections/programmes", "programmes"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    frame = pyogrio.read_dataframe(out, read_geometry=False)
    assert len(frame) == programme_rows.counts(engine, "programmes", public_only=False)
    assert "Catatan rahasia Hotel 5523" in set(frame["catatan"])


def test_owslib_reads_programme_items(server, engine, rows):
    from owslib.ogcapi.features import Features

    api = Features(server)
    assert {"programmes", "programme_indicators", "programme_progress"} <= {
        c["id"] for c in api.collections()["collections"]}
    doc = api.collection_items("programmes", limit=1000)
    assert doc["numberMatched"] == programme_rows.counts(engine, "programmes", public_only=True)
    assert {rows.public_a, rows.public_b} <= {f["properties"]["kode"] for f in doc["features"]}


def test_the_python_client_reads_programmes_into_a_frame(server, engine, keys, rows):
    from gis.client import Client

    with Client(server, api_key=keys["analyst"]) as client:
        frame = client.read("programme_progress", page_size=2)
    assert len(frame) == programme_rows.counts(engine, "programme_progress", public_only=False)
    assert frame.geometry.isna().all() and "Petugas Hotel Uji" in set(frame["oleh"])
