"""Keys naming an OPD edit only that OPD's programmes and programme locations; keys naming a kecamatan (a camat's)
read their kecamatan's programmes and write nothing. Created by the admin API and the CLI, shown in listings."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from gis.data.auth import create_key
from tests import programme_rows
from tests.conftest import problem_of
from tests.test_admin import cli_here

PROGRESS = {"tanggal": f"{programme_rows.YEAR}-05-01", "status": "berjalan", "realisasi_rp": 1000}


@pytest.fixture(scope="module")
def rows(engine):
    inserted = programme_rows.insert(engine)
    yield inserted
    programme_rows.remove(engine)


@pytest.fixture(scope="module")
def opd_keys(engine):
    with engine.begin() as conn:
        return {"a": create_key(conn, "Dinas Uji Alfa", "planner", opd=programme_rows.OPD_A)[1],
                "camat": create_key(conn, "Camat Uji Binjai Kota", "planner", kecamatan="12.75.02")[1]}


def _state(engine, table: str) -> tuple:
    """What a refused write must leave alone: the table's rows and its history."""
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, version, nama FROM {table} ORDER BY id")).all()
        history = conn.execute(text("SELECT count(*) FROM feature_history WHERE layer = :l"), {"l": table}).scalar()
    return rows, history


def _point_feature(engine, kecamatan: str, opd: str, programme: str) -> dict:
    with engine.connect() as conn:
        lon, lat = conn.execute(text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM kecamatan "
                                     "WHERE kode = :k) s"), {"k": kecamatan}).one()
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"programme_kode": programme, "nama": "Titik baru Uji", "kodeskpd": opd,
                           "kecamatan_kode": kecamatan}}


def _props(**values) -> dict:
    return {"type": "Feature", "properties": values}


def _etag(http, key, layer, fid) -> str:
    r = http.get(f"/collections/{layer}/items/{fid}", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return r.headers["etag"]


def test_opd_key_edits_its_own_programme_and_not_another_opds(http, engine, rows, opd_keys):
    key = {"X-API-Key": opd_keys["a"]}
    assert http.post(f"/programmes/{rows.public_a}/progress", json=PROGRESS, headers=key).status_code == 201
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM programme_progress WHERE programme_kode = :k"),
                         {"k": rows.public_b}).scalar()
    r = http.post(f"/programmes/{rows.public_b}/progress", json=PROGRESS, headers=key)
    problem = problem_of(r)
    assert problem["status"] == 403 and programme_rows.OPD_A in problem["detail"]
    etag = http.get(f"/collections/programmes/items/{rows.ids[rows.public_b]}").headers["etag"]
    r = http.patch(f"/programmes/{rows.public_b}", json={"catatan": "bukan milik kami"},
                   headers={**key, "If-Match": etag})
    assert problem_of(r)["status"] == 403
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM programme_progress WHERE programme_kode = :k"),
                            {"k": rows.public_b}).scalar() == n
        assert conn.execute(text("SELECT catatan FROM programmes WHERE kode = :k"),
                            {"k": rows.public_b}).scalar() == "Catatan internal Bravo 6634"


def test_opd_key_edits_its_own_locations_only(http, engine, rows, opd_keys):
    key = opd_keys["a"]
    own, other = rows.points[0], rows.areas[0]
    # its own point: edited
    r = http.patch(f"/collections/programme_points/items/{own}", json=_props(keterangan="Diperluas"),
                   headers={"X-API-Key": key, "If-Match": _etag(http, key, "programme_points", own)})
    assert r.status_code == 204, r.text
    # another OPD's area: refused, nothing changed
    before = _state(engine, "programme_areas")
    r = http.patch(f"/collections/programme_areas/items/{other}", json=_props(keterangan="Diambil"),
                   headers={"X-API-Key": key, "If-Match": _etag(http, key, "programme_areas", other)})
    problem = problem_of(r)
    assert problem["status"] == 403 and programme_rows.OPD_B in problem["detail"]
    r = http.delete(f"/collections/programme_areas/items/{other}",
                    headers={"X-API-Key": key, "If-Match": _etag(http, key, "programme_areas", other)})
    assert problem_of(r)["status"] == 403
    assert _state(engine, "programme_areas") == before
    # giving its own point to another OPD, or creating one for another OPD: refused
    before = _state(engine, "programme_points")
    r = http.patch(f"/collections/programme_points/items/{own}",
                   json={"type": "Feature", "properties": {"kodeskpd": programme_rows.OPD_B}},
                   headers={"X-API-Key": key, "If-Match": _etag(http, key, "programme_points", own)})
    assert problem_of(r)["status"] == 403
    r = http.post("/collections/programme_points/items", headers={"X-API-Key": key},
                  content=json.dumps(_point_feature(engine, "12.75.01", programme_rows.OPD_B, rows.public_b)))
    assert problem_of(r)["status"] == 403
    assert _state(engine, "programme_points") == before
    r = http.post("/collections/programme_points/items", headers={"X-API-Key": key},
                  content=json.dumps(_point_feature(engine, "12.75.01", programme_rows.OPD_A, rows.public_a)))
    assert r.status_code == 201, r.text


def test_opd_key_cannot_edit_layers_without_an_opd(http, engine, opd_keys):
    with engine.connect() as conn:
        fid = conn.execute(text("SELECT min(id) FROM parks")).scalar_one()
    key = opd_keys["a"]
    r = http.patch(f"/collections/parks/items/{fid}", json={"type": "Feature", "properties": {"nama": "Uji"}},
                   headers={"X-API-Key": key, "If-Match": _etag(http, key, "parks", fid)})
    problem = problem_of(r)
    assert problem["status"] == 403 and "kodeskpd" in problem["detail"]


def test_camat_key_reads_its_kecamatan_and_writes_nothing(http, engine, rows, opd_keys, keys):
    key = {"X-API-Key": opd_keys["camat"]}
    r = http.get(f"/collections/programmes/items/{rows.ids[rows.hidden_a]}", headers=key)
    assert r.json()["properties"]["catatan"] == "Catatan rahasia Hotel 5523"  # targets 12.75.02
    r = http.get(f"/collections/programmes/items/{rows.ids[rows.public_a]}", headers=key)
    assert "catatan" not in r.json()["properties"]  # lies in 12.75.01
    assert problem_of(http.post(f"/programmes/{rows.hidden_a}/progress", json=PROGRESS, headers=key))[
        "status"] == 403
    area = rows.areas[0]
    before = _state(engine, "programme_areas")
    r = http.patch(f"/collections/programme_areas/items/{area}", json=_props(keterangan="x"),
                   headers={**key, "If-Match": _etag(http, keys["admin"], "programme_areas", area)})
    assert problem_of(r)["status"] == 404  # the locations are not a camat's to see (below)
    assert _state(engine, "programme_areas") == before
    with engine.connect() as conn:
        park = conn.execute(text("SELECT id FROM parks ORDER BY id LIMIT 1")).scalar_one()
    parks_before = _state(engine, "parks")
    r = http.patch(f"/collections/parks/items/{park}", json=_props(nama="x"),
                   headers={**key, "If-Match": _etag(http, keys["admin"], "parks", park)})
    problem = problem_of(r)
    assert problem["status"] == 403 and "kecamatan" in problem["detail"]
    assert _state(engine, "parks") == parks_before
    # of the layers, a camat reads what the public reads: no owners of parcels, no locations
    assert http.get("/collections/programme_areas/items", headers=key).status_code == 404
    parcels = http.get("/collections/project_parcels/items", params={"limit": 1000}, headers=key).json()
    assert parcels["features"] and all("nik" not in f["properties"] for f in parcels["features"])
    analyst = http.get("/collections/project_parcels/items", params={"limit": 1000},
                       headers={"X-API-Key": keys["analyst"]}).json()
    assert all("nik" in f["properties"] for f in analyst["features"])  # the check above can fail


def test_admin_api_creates_and_lists_keys_naming_an_opd_or_a_kecamatan(http, keys, rows):
    admin = {"X-API-Key": keys["admin"]}
    made = http.post("/admin/keys", json={"name": "Dinas Uji Bravo API", "role": "planner",
                                          "opd": programme_rows.OPD_B}, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["opd"] == programme_rows.OPD_B and made.json()["kecamatan"] is None
    camat = http.post("/admin/keys", json={"name": "Camat Uji API", "role": "analyst", "kecamatan": "12.75.01"},
                      headers=admin).json()
    listed = {k["name"]: k for k in http.get("/admin/keys", headers=admin).json()["keys"]}
    assert listed["Dinas Uji Bravo API"]["opd"] == programme_rows.OPD_B
    assert listed["Camat Uji API"]["kecamatan"] == "12.75.01"
    # the new OPD key works at once, for its own OPD only
    key = {"X-API-Key": made.json()["key"]}
    assert http.post(f"/programmes/{rows.public_b}/progress", json=PROGRESS, headers=key).status_code == 201
    assert problem_of(http.post(f"/programmes/{rows.public_a}/progress", json=PROGRESS, headers=key))[
        "status"] == 403
    r = http.get(f"/collections/programmes/items/{rows.ids[rows.public_a]}", headers={"X-API-Key": camat["key"]})
    assert r.json()["properties"]["catatan"] == "Catatan internal Alfa 7781"
    bad = http.post("/admin/keys", json={"name": "x", "role": "analyst", "kecamatan": "Binjai Kota"},
                    headers=admin)
    assert problem_of(bad)["status"] == 400 and "kecamatan" in problem_of(bad)["detail"]


def test_cli_creates_and_lists_keys_naming_an_opd_or_a_kecamatan(settings, http, rows):
    created = cli_here(settings, "keys", "create", "--role", "planner", "--name", "Dinas Uji Alfa CLI",
                        "--opd", programme_rows.OPD_A)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert cli_here(settings, "keys", "create", "--role", "analyst", "--name", "Camat Uji CLI",
                     "--kecamatan", "12.75.05").returncode == 0
    listing = cli_here(settings, "keys", "list").stdout.splitlines()
    assert f"OPD {programme_rows.OPD_A}" in next(x for x in listing if "Dinas Uji Alfa CLI" in x)
    assert "kecamatan 12.75.05" in next(x for x in listing if "Camat Uji CLI" in x)
    assert http.post(f"/programmes/{rows.public_a}/progress", json=PROGRESS,
                     headers={"X-API-Key": key}).status_code == 201
    assert http.post(f"/programmes/{rows.public_b}/progress", json=PROGRESS,
                     headers={"X-API-Key": key}).status_code == 403
    bad = cli_here(settings, "keys", "create", "--role", "planner", "--name", "x", "--opd", "bad code!")
    assert bad.returncode == 1 and "opd" in bad.stderr
