"""The programme dashboard over HTTP: its data (scorecards as the analysis computes them, the public's view without
private programmes or notes, a key's view with them), a programme's drill-down with its history and the evidence of
its locations, the PDF (read back with poppler: OPD names, figures, dates, the notice; the map's status colours),
the programme-status process, and bad parameters explained."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text

from gis.analyses import programmes as rules
from gis.core.language import format_date, format_number
from gis.data import attachments
from gis.data.auth import ANONYMOUS, create_key
from gis.data.registry import find_layer
from gis.render.dashboard_messages import DASHBOARD_MESSAGES
from tests.conftest import problem_of
from tests.test_attachments import photo
from tests.test_programme_status import (
    AS_OF,
    CITY,
    ESTATE,
    OPDS,
    PROGRAMMES,
    SECRET,
    YEAR,
    insert_programmes,
    kode_of,
    load,
    remove_programmes,
)

QUERY = {"city": CITY, "year": YEAR, "as_of": AS_OF.isoformat()}
PUBLIC = {kode_of(n) for n, p in PROGRAMMES.items() if p[1]}


@pytest.fixture(scope="module")
def programmes(engine):
    insert_programmes(engine)
    yield
    remove_programmes(engine)


@pytest.fixture(scope="module")
def evidence(engine, settings, programmes):
    """A public and a private photo on the late programme's point."""
    with engine.connect() as conn:
        fid, lon, lat = conn.execute(text("SELECT id, ST_X(geom), ST_Y(geom) FROM programme_points "
                                          "WHERE programme_kode = :k"), {"k": kode_of("late")}).one()
        layer = find_layer(conn, "programme_points")
    shown = attachments.add(engine, settings, layer, fid, "taman.jpg", photo(lon, lat), "petugas uji", public=True)
    hidden = attachments.add(engine, settings, layer, fid, "rahasia.jpg", photo(lon, lat, size=(300, 200)),
                             "petugas uji", public=False)
    yield shown, hidden
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM attachments WHERE id = ANY(:i)"), {"i": [shown["id"], hidden["id"]]})
        conn.execute(text("DELETE FROM feature_history WHERE layer = 'programme_points' AND feature_id = :f"),
                     {"f": fid})


@pytest.fixture(scope="module")
def camat(engine):
    with engine.begin() as conn:
        key_id, key = create_key(conn, "Camat uji Binjai Utara", "analyst", kecamatan="12.75.01")
    yield key
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM api_keys WHERE id = :i"), {"i": key_id})


def cards_by(cards: list[dict], key: str) -> dict:
    return {c[key]: c for c in cards}


# --- data --------------------------------------------------------------------------------------------------------

def test_public_data_holds_public_programmes_only(http, engine, programmes):
    r = http.get("/dashboard/data", params=QUERY)
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
    body = r.json()
    assert {p["kode"] for p in body["programmes"]} == PUBLIC and body["public"] is True
    assert SECRET not in r.text and "petugas uji" not in r.text
    assert body["as_of"] == AS_OF.isoformat() and body["year"] == YEAR and YEAR in body["years"]
    data, statuses = load(engine, who=ANONYMOUS)
    want = rules.scorecards(statuses, data.locations, data.kecamatan)
    assert body["scorecards"]["opd"] == want["opd"] and body["scorecards"]["kecamatan"] == want["kecamatan"]
    located = {f["properties"]["programme_kode"] for f in body["locations"]["features"]}
    assert located and located <= PUBLIC
    by_kode = {p["kode"]: p for p in body["programmes"]}
    assert by_kode[kode_of("late")]["status"] == "terlambat" and by_kode[kode_of("late")]["days_late"] == 92
    assert by_kode[kode_of("late")]["status_label"] == "Terlambat" and by_kode[kode_of("late")]["colour"] == "#C00000"


def test_a_key_sees_private_programmes_and_english(http, keys, programmes):
    body = http.get("/dashboard/data", params={**QUERY, "lang": "en"}, headers={"X-API-Key": keys["analyst"]}).json()
    assert {p["kode"] for p in body["programmes"]} == {kode_of(n) for n in PROGRAMMES}
    assert body["public"] is False and body["private"] is True
    assert cards_by(body["scorecards"]["opd"], "kodeskpd")["UJI.01"]["programmes"] == 5
    assert body["statuses"]["terlambat"]["label"] == "Late"
    assert body["scorecards"]["kecamatan"][-1]["nama"] == "City-wide"


def test_a_camat_sees_its_kecamatan(http, camat, programmes):
    body = http.get("/dashboard/data", params=QUERY, headers={"X-API-Key": camat}).json()
    shown = {p["kode"] for p in body["programmes"]}
    assert shown == PUBLIC | {kode_of("notstarted")}  # private in 12.75.01: yes; private in 12.75.02: no


# --- drill-down and evidence ----------------------------------------------------------------------------------

def test_drilldown_gives_indicators_and_history(http, keys, programmes):
    kode = kode_of("ontrack")
    body = http.get(f"/dashboard/programmes/{kode}", params={"as_of": AS_OF.isoformat()}).json()
    assert body["status"] == "sesuai" and body["as_of"] == AS_OF.isoformat()
    # the history as of the date: the update of 1 August is not known yet on 1 July
    assert [u["tanggal"] for u in body["progress"]] == ["2031-03-01", "2031-06-01", "2031-06-20"]
    assert [u["realisasi"] for u in body["progress"]][:2] == [20, 40]
    assert all("catatan" not in u and "oleh" not in u for u in body["progress"])
    assert body["indicators"][0]["realised"] == 40 and body["indicators"][0]["state"] == "behind"
    keyed = http.get(f"/dashboard/programmes/{kode}", params={"as_of": AS_OF.isoformat()},
                     headers={"X-API-Key": keys["analyst"]}).json()
    assert keyed["progress"][0]["oleh"] == "petugas uji"
    later = http.get(f"/dashboard/programmes/{kode}", params={"as_of": "2031-08-02"},
                     headers={"X-API-Key": keys["analyst"]}).json()
    assert later["status"] == "selesai" and later["progress"][-1]["catatan"] == "after as_of"


def test_drilldown_of_the_estate_lists_its_milestones_with_days_late(http, engine, programmes):
    with engine.connect() as conn:
        due = conn.execute(text("SELECT nama, planned_date FROM project_milestones WHERE project_slug = :s "
                                "AND planned_date < :d AND (actual_date IS NULL OR actual_date > :d)"),
                           {"s": ESTATE, "d": AS_OF}).all()
    body = http.get(f"/dashboard/programmes/{kode_of('estate')}", params={"as_of": AS_OF.isoformat()}).json()
    overdue = {m["nama"]: m["days_late"] for m in body["milestones"] if m["state"] == "overdue"}
    assert overdue == {n: (AS_OF - d).days for n, d in due} and overdue
    assert body["milestones_late"] == len(due) and body["days_late"] >= max(overdue.values())


def test_a_private_programme_is_not_found_for_the_public(http, keys, programmes):
    kode = kode_of("troubled")
    r = http.get(f"/dashboard/programmes/{kode}")
    assert r.status_code == 404 and SECRET not in r.text and kode in problem_of(r)["detail"]
    keyed = http.get(f"/dashboard/programmes/{kode}", params={"as_of": AS_OF.isoformat()},
                     headers={"X-API-Key": keys["analyst"]}).json()
    assert keyed["status"] == "berisiko" and keyed["progress"][0]["catatan"] == SECRET


def test_evidence_of_locations_follows_privacy(http, keys, evidence):
    shown, hidden = evidence
    kode = kode_of("late")
    public = http.get(f"/dashboard/programmes/{kode}").json()["attachments"]
    assert [a["id"] for a in public] == [shown["id"]] and public[0]["uploaded_by"] is None
    keyed = http.get(f"/dashboard/programmes/{kode}", headers={"X-API-Key": keys["analyst"]}).json()["attachments"]
    assert [a["id"] for a in keyed] == [shown["id"], hidden["id"]]
    thumb = http.get(f"/dashboard/attachments/{shown['id']}/thumbnail")
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.content)).width == 320
    assert http.get(f"/dashboard/attachments/{shown['id']}").content.startswith(b"\xff\xd8")
    assert http.get(f"/dashboard/attachments/{hidden['id']}").status_code == 404
    assert http.get(f"/dashboard/attachments/{hidden['id']}", headers={"X-API-Key": keys["analyst"]}).status_code == 200
    assert http.get(f"/attachments/{shown['id']}").status_code == 404  # the layer itself stays behind a key


# --- the PDF ---------------------------------------------------------------------------------------------------

def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "dasbor.pdf"
    path.write_bytes(data)
    return subprocess.run([shutil.which("pdftotext"), "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_pdf_has_the_scorecards_dates_and_notice(http, keys, programmes, tmp_path):
    r = http.get("/dashboard.pdf", params=QUERY, headers={"X-API-Key": keys["analyst"]})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    words = pdf_text(r.content, tmp_path)
    body = http.get("/dashboard/data", params=QUERY, headers={"X-API-Key": keys["analyst"]}).json()
    for card in body["scorecards"]["opd"]:
        assert card["nama_skpd"] in words and OPDS[card["kodeskpd"]] == card["nama_skpd"]
        assert format_number(card["pagu_rp"], "id", decimals=0) in words
        assert format_number(card["realisasi_rp"], "id", decimals=0) in words
    assert format_number(sum(p[4] for p in PROGRAMMES.values()), "id", decimals=0) in words  # the total budget
    assert f"Per tanggal {format_date(AS_OF, 'id')}" in words
    assert DASHBOARD_MESSAGES["illustrative"]["id"].split(" (")[0] in words
    assert "Binjai Utara" in words and "Seluruh kota" in words and "Subkegiatan uji troubled" in words


def test_pdf_map_is_coloured_by_status(http, programmes, tmp_path):
    r = http.get("/dashboard.pdf", params={**QUERY, "lang": "en"})
    words = pdf_text(r.content, tmp_path)
    assert "Programme locations by status" in words and "Subkegiatan uji troubled" not in words  # public only
    (tmp_path / "d.pdf").write_bytes(r.content)
    pages = subprocess.run([shutil.which("pdfinfo"), str(tmp_path / "d.pdf")], capture_output=True, text=True).stdout
    count = int(next(line.split()[-1] for line in pages.splitlines() if line.startswith("Pages:")))
    for page in range(1, count + 1):
        out = tmp_path / f"p{page}"
        subprocess.run([shutil.which("pdftoppm"), "-png", "-r", "100", "-f", str(page), "-l", str(page),
                        str(tmp_path / "d.pdf"), str(out)], check=True)
        image = np.asarray(Image.open(next(tmp_path.glob(f"p{page}*.png"))).convert("RGB")).astype(int)
        text_here = subprocess.run([shutil.which("pdftotext"), "-f", str(page), "-l", str(page),
                                    str(tmp_path / "d.pdf"), "-"], capture_output=True, text=True).stdout
        if "Programme locations by status" in text_here:
            break
    drawn = image[:, : int(image.shape[1] * 0.74)]  # the map, left of its legend
    late = (np.abs(drawn - np.array([0xC0, 0x00, 0x00])) <= 30).all(axis=-1).sum()
    risk = (np.abs(drawn - np.array([0xFF, 0xC0, 0x00])) <= 30).all(axis=-1).sum()
    assert late > 10 and risk > 10  # the late point and the at-risk area


# --- the process -----------------------------------------------------------------------------------------------

def run(http, key=None, **inputs) -> dict:
    headers = {"X-API-Key": key} if key else {}
    r = http.post("/processes/programme-status/execution", headers=headers,
                  json={"inputs": {"city": CITY, "year": YEAR, "as_of": AS_OF.isoformat(), **inputs}})
    assert r.status_code == 200, r.text[:300]
    return r.json()


def test_process_groups_by_opd_kecamatan_and_programme(http, keys, camat, programmes):
    public = run(http, group_by="opd")
    assert cards_by(public["opd"], "kodeskpd")["UJI.01"]["programmes"] == 3 and public["as_of"] == "2031-07-01"
    full = run(http, keys["analyst"], group_by="opd")
    assert cards_by(full["opd"], "kodeskpd")["UJI.01"]["programmes"] == 5
    kecamatan = cards_by(run(http, keys["analyst"], group_by="kecamatan")["kecamatan"], "kecamatan_kode")
    assert kecamatan["12.75.02"]["programmes"] == 2 and kecamatan[None]["city_wide"]
    rows = {p["kode"]: p for p in run(http, camat, group_by="programme", lang="en")["programmes"]}
    assert set(rows) == PUBLIC | {kode_of("notstarted")}
    assert rows[kode_of("notstarted")]["status_label"] == "Not started"
    detail = run(http, programme=kode_of("late"))["programme"]
    assert detail["status"] == "terlambat" and detail["days_late"] == 92 and detail["indicators"][0]["state"] == "late"


def test_process_refuses_what_the_caller_may_not_see(http, programmes):
    r = http.post("/processes/programme-status/execution",
                  json={"inputs": {"city": CITY, "programme": kode_of("troubled")}})
    assert r.status_code == 404 and SECRET not in r.text
    r = http.post("/processes/programme-status/execution", json={"inputs": {"city": CITY, "group_by": "opd2"}})
    assert r.status_code == 400 and "group_by" in problem_of(r)["detail"]


# --- bad parameters --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "params", "needle"), [
    ("/dashboard/data", {"as_of": "30-06-2031"}, "?as_of= must be a date YYYY-MM-DD"),
    ("/dashboard/data", {"year": 1900}, "?year= must be a budget year"),
    ("/dashboard/data", {"city": "99.99"}, "99.99"),
    ("/dashboard", {"as_of": "kemarin"}, "?as_of= must be a date"),
    ("/dashboard.pdf", {"year": 3000}, "?year= must be a budget year"),
])
def test_bad_parameters_are_explained(http, path, params, needle):
    r = http.get(path, params=params)
    assert r.status_code in (400, 404) and needle in problem_of(r)["detail"]


def test_page_is_served_in_both_languages(http):
    ids = http.get("/dashboard", params={"city": CITY})
    ens = http.get("/dashboard", params={"city": CITY, "lang": "en"})
    assert ids.status_code == 200 and "Dasbor program" in ids.text and "Scorecards per agency" in ens.text
    assert "http://" not in ids.text.replace(str(http.base_url).rstrip("/"), "")  # every asset is the service's


def test_a_change_shows_at_the_next_request(http, engine, programmes):
    """The data are kept between requests, but a progress update written in the database itself shows at once."""
    first = http.get("/dashboard/data", params=QUERY).json()
    assert {p["kode"]: p for p in first["programmes"]}[kode_of("risk")]["status"] == "berisiko"
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO programme_progress (programme_kode, indicator_id, tanggal, realisasi, status, oleh) "
            "SELECT programme_kode, id, DATE '2031-06-30', 100, 'berjalan', 'psql' FROM programme_indicators "
            "WHERE programme_kode = :k"), {"k": kode_of("risk")})
    try:
        again = http.get("/dashboard/data", params=QUERY).json()
        assert {p["kode"]: p for p in again["programmes"]}[kode_of("risk")]["status"] == "selesai"
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM programme_progress WHERE programme_kode = :k AND oleh = 'psql'"),
                         {"k": kode_of("risk")})
    back = http.get("/dashboard/data", params=QUERY).json()
    assert {p["kode"]: p for p in back["programmes"]}[kode_of("risk")]["status"] == "berisiko"
