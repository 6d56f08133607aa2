"""Progress updates reported by an OPD, changes of a programme under If-Match, and a programme's history, over
real HTTP."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import text

from gis.data.auth import create_key
from tests import programme_rows
from tests.conftest import problem_of


@pytest.fixture()
def rows(engine):
    inserted = programme_rows.insert(engine)
    yield inserted
    programme_rows.remove(engine)


@pytest.fixture(scope="module")
def opd_a(engine):
    with engine.begin() as conn:
        return create_key(conn, "Dinas Uji Alfa", "planner", opd=programme_rows.OPD_A)[1]


def _post(http, kode, key, body):
    return http.post(f"/programmes/{kode}/progress", json=body, headers={"X-API-Key": key})


def _scalar(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_progress_updates_realisation_and_spending_and_history_says_who(http, engine, rows, opd_a):
    indicator = rows.indicators[rows.public_a][0]
    before = _scalar(engine, "SELECT count(*) FROM programme_progress WHERE programme_kode = :k", k=rows.public_a)
    r = _post(http, rows.public_a, opd_a, {"tanggal": f"{programme_rows.YEAR}-05-02", "indicator_id": indicator,
                                           "realisasi": 7, "realisasi_rp": 250_000_000, "status": "berjalan",
                                           "catatan": "Pondasi selesai Alfa 3391"})
    assert r.status_code == 201, r.text
    row = r.json()
    assert row["oleh"] == "Dinas Uji Alfa" and row["realisasi"] == 7 and row["indicator_id"] == indicator
    assert r.headers["location"].endswith(f"/collections/programme_progress/items/{row['id']}")
    assert _scalar(engine, "SELECT count(*) FROM programme_progress WHERE programme_kode = :k",
                   k=rows.public_a) == before + 1
    assert _scalar(engine, "SELECT realisasi FROM programme_indicators WHERE id = :i", i=indicator) == 7
    assert _scalar(engine, "SELECT realisasi_rp FROM programmes WHERE kode = :k", k=rows.public_a) == 250_000_000
    # an update of an earlier date is kept but does not undo the newer realisation
    r = _post(http, rows.public_a, opd_a, {"tanggal": f"{programme_rows.YEAR}-04-20", "indicator": "IK1",
                                           "periode": str(programme_rows.YEAR), "realisasi": 5,
                                           "status": "berjalan"})
    assert r.status_code == 201, r.text
    assert _scalar(engine, "SELECT realisasi FROM programme_indicators WHERE id = :i", i=indicator) == 7

    hist = http.get(f"/programmes/{rows.public_a}/history", headers={"X-API-Key": opd_a}).json()["history"]
    mine = [h for h in hist if h["actor"] == "Dinas Uji Alfa (planner)"]
    assert {(h["collection"], h["action"]) for h in mine} >= {("programme_progress", "insert"),
                                                             ("programme_indicators", "update"),
                                                             ("programmes", "update")}
    update = next(h for h in mine if h["collection"] == "programme_indicators")
    assert update["before"]["realisasi"] == 0 and update["after"]["realisasi"] == 7
    # anonymous: the same history without who did it nor the private notes
    public = http.get(f"/programmes/{rows.public_a}/history").json()["history"]
    assert len(public) == len(hist) and all(h["actor"] is None for h in public)
    assert "Pondasi selesai Alfa 3391" not in str(public) and "Dinas Uji Alfa" not in str(public)
    assert "Pondasi selesai Alfa 3391" in str(hist)


def test_history_of_a_non_public_programme_is_hidden_from_the_public(http, keys, rows):
    assert problem_of(http.get(f"/programmes/{rows.hidden_a}/history"))["status"] == 404
    r = http.get(f"/programmes/{rows.hidden_a}/history", headers={"X-API-Key": keys["analyst"]})
    assert r.status_code == 200 and "Rahasia Hotel 9921" in r.text


@pytest.mark.parametrize("body, says", [
    ({"indicator_id": 0, "realisasi": 1, "status": "berjalan"}, "tanggal"),
    ({"tanggal": "2026-13-01", "status": "berjalan"}, "YYYY-MM-DD"),
    ({"tanggal": "FUTURE", "status": "berjalan"}, "future"),
    ({"tanggal": f"{programme_rows.YEAR - 1}-12-31", "status": "berjalan"}, "before the programme's year"),
    ({"tanggal": f"{programme_rows.YEAR}-05-01", "status": "hampir"}, "status must be one of"),
    ({"tanggal": f"{programme_rows.YEAR}-05-01", "status": "berjalan", "realisasi": -1, "indicator": "IK1",
      "periode": str(programme_rows.YEAR)}, "negative"),
    ({"tanggal": f"{programme_rows.YEAR}-05-01", "status": "berjalan", "realisasi_rp": 1.5}, "whole number"),
    ({"tanggal": f"{programme_rows.YEAR}-05-01", "status": "berjalan", "realisasi": 2}, "needs an indicator"),
    ({"tanggal": f"{programme_rows.YEAR}-05-01", "status": "berjalan", "indicator": "IK9", "periode": "2026"},
     "has no indicator"),
    ({"tanggal": f"{programme_rows.YEAR}-05-01", "status": "berjalan", "warna": "merah"}, "unknown members"),
])
def test_bad_progress_is_a_bilingual_problem(http, engine, rows, opd_a, body, says):
    if body.get("tanggal") == "FUTURE":
        body = {**body, "tanggal": (date.today() + timedelta(days=2)).isoformat()}
    before = _scalar(engine, "SELECT count(*) FROM feature_history")
    r = _post(http, rows.public_a, opd_a, body)
    assert r.status_code == 400, r.text
    detail = problem_of(r)["detail"]
    assert says in detail and " / " in detail  # Bahasa Indonesia / English
    assert _scalar(engine, "SELECT count(*) FROM feature_history") == before


def test_an_indicator_of_another_programme_is_refused(http, rows, opd_a):
    other = rows.indicators[rows.hidden_a][0]
    r = _post(http, rows.public_a, opd_a, {"tanggal": f"{programme_rows.YEAR}-05-01", "status": "berjalan",
                                           "indicator_id": other, "realisasi": 1})
    assert r.status_code == 400 and "is not one of" in problem_of(r)["detail"]


def test_progress_needs_a_planner_key(http, keys, rows):
    body = {"tanggal": f"{programme_rows.YEAR}-05-01", "status": "berjalan"}
    assert problem_of(http.post(f"/programmes/{rows.public_a}/progress", json=body))["status"] == 401
    assert problem_of(_post(http, rows.public_a, keys["analyst"], body))["status"] == 403
    assert problem_of(_post(http, "2026-nope", keys["planner"], body))["status"] == 404


def _etag(http, engine, kode):
    pid = _scalar(engine, "SELECT id FROM programmes WHERE kode = :k", k=kode)
    return http.get(f"/collections/programmes/items/{pid}").headers["etag"], pid


def test_patch_changes_editable_fields_under_if_match(http, engine, rows, opd_a):
    headers = {"X-API-Key": opd_a}
    etag, pid = _etag(http, engine, rows.public_a)
    patch = {"publik": False, "catatan": "Dipindah ke triwulan 3", "pagu_rp": 650_000_000,
             "tanggal_selesai": f"{programme_rows.YEAR}-12-20", "nama_subkegiatan": "Taman bermain anak (revisi)"}
    assert problem_of(http.patch(f"/programmes/{rows.public_a}", json=patch, headers=headers))["status"] == 428
    r = http.patch(f"/programmes/{rows.public_a}", json=patch, headers={**headers, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == f'"{int(etag.strip(chr(34))) + 1}"'
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT * FROM programmes WHERE id = :i"), {"i": pid}).mappings().one()
    assert {k: stored[k] for k in ("publik", "catatan", "pagu_rp", "nama_subkegiatan")} == {
        k: patch[k] for k in ("publik", "catatan", "pagu_rp", "nama_subkegiatan")}
    # now private: gone for the public
    assert http.get(f"/collections/programmes/items/{pid}").status_code == 404
    # the old ETag is stale
    r = http.patch(f"/programmes/{rows.public_a}", json={"catatan": "x"}, headers={**headers, "If-Match": etag})
    assert problem_of(r)["status"] == 412


@pytest.mark.parametrize("patch, says", [({"kodeskpd": "1.01"}, "cannot be changed"),
                                         ({"publik": "ya"}, "true or false"),
                                         ({"pagu_rp": -5}, "negative"),
                                         ({"tanggal_selesai": "2026-01-01"}, "before the start date"),
                                         ({"nama_program": ""}, "non-empty"),
                                         ({}, "nothing to change")])
def test_bad_patch_is_a_400(http, engine, rows, opd_a, patch, says):
    etag, _ = _etag(http, engine, rows.public_a)
    r = http.patch(f"/programmes/{rows.public_a}", json=patch, headers={"X-API-Key": opd_a, "If-Match": etag})
    assert r.status_code == 400 and says in problem_of(r)["detail"]


def test_two_concurrent_patches_with_the_same_if_match_one_wins(server, engine, rows, opd_a):
    etag, _ = _etag(httpx.Client(base_url=server), engine, rows.public_b)
    start, statuses = threading.Barrier(2), []

    def edit(n: int) -> None:
        with httpx.Client(base_url=server, timeout=30) as client:
            start.wait()
            statuses.append(client.patch(f"/programmes/{rows.public_b}", json={"catatan": f"catatan {n}"},
                                         headers={"X-API-Key": keys_b[0], "If-Match": etag}).status_code)

    with engine.begin() as conn:
        keys_b = [create_key(conn, "Dinas Uji Bravo", "planner", opd=programme_rows.OPD_B)[1]]
    threads = [threading.Thread(target=edit, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 412]
    assert _scalar(engine, "SELECT version FROM programmes WHERE kode = :k",
                   k=rows.public_b) == int(etag.strip('"')) + 1


def test_record_collections_are_not_written_through_the_generic_items_api(http, keys, rows):
    headers = {"X-API-Key": keys["planner"]}
    r = http.post("/collections/programmes/items", json={"type": "Feature", "properties": {}}, headers=headers)
    assert problem_of(r)["status"] == 405 and "/programmes/" in problem_of(r)["detail"]
    assert r.headers["allow"] == "GET, HEAD"
    pid = rows.ids[rows.public_a]
    r = http.delete(f"/collections/programmes/items/{pid}", headers={**headers, "If-Match": "*"})
    assert problem_of(r)["status"] == 405
    assert http.get(f"/collections/programmes/items/{pid}").status_code == 200
