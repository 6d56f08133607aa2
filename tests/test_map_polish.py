"""The planner map without dead ends, through HTTP and in Debian's Chromium: a refusal for a geometry outside the
city carries a stable problem code (and the page translates it by that code), the conformity verdict in words,
activity names in English on the English page, identification numbers with at most two decimals in the
language's marks. The looks and the language switch: tests/test_map_looks_and_state.py."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal

import pytest
from shapely.geometry import Polygon, box, mapping
from sqlalchemy import text

from gis.analyses.itbx import VERDICT_TEXT, VERDICTS
from gis.data.identify import format_field
from gis.render.messages import MESSAGES
from layers import CATALOG
from layers.rdtr import ACTIVITY_NAMES_EN
from tests.conftest import problem_of
from tests.test_browser import click_map, estate_site, run_drawing, screenshot, wait_ready


def west_of_city(engine, km: float = 5.0):
    """A ~400 m square `km` west of the city's westernmost point (lon/lat), and that point."""
    with engine.connect() as conn:
        west, lat = conn.execute(text("SELECT ST_XMin(geom), (ST_YMin(geom) + ST_YMax(geom)) / 2 FROM kota")).one()
    lon = west - km / 111.0
    return box(lon, lat, lon + 0.0036, lat + 0.0036), (lat, lon)


# --- 1: "outside the city" is a problem with a stable code ---------------------------------------------------------

@pytest.mark.parametrize("process, inputs", [
    ("zoning-conformity", lambda g: {"geometry": g, "activity": "perumahan"}),
    ("site-suitability", lambda g: {"mode": "evaluate", "site": g}),
], ids=["zoning-conformity", "site-suitability"])
def test_a_geometry_outside_the_city_is_refused_with_the_outside_city_code(http, engine, server, process, inputs):
    square, _ = west_of_city(engine)
    with engine.connect() as conn:  # the square is outside the city, as PostGIS sees it
        assert not conn.execute(text("SELECT bool_or(ST_Intersects(geom, ST_GeomFromText(:w, 4326))) FROM kota"),
                                {"w": square.wkt}).scalar()
    r = http.post(f"/processes/{process}/execution", json={"inputs": inputs(mapping(square))})
    body = problem_of(r)
    assert r.status_code == 400
    assert body["code"] == "outside-city"
    assert body["type"] == f"{server}/problems/outside-city"  # absolute, on the service that answered
    assert "outside the city" in body["detail"]
    described = http.get(body["type"].removeprefix(server))
    assert described.status_code == 200
    assert described.json()["code"] == "outside-city" and described.json()["status"] == 400


def test_other_problems_keep_about_blank_and_unknown_types_are_404(http):
    bad = problem_of(http.post("/processes/zoning-conformity/execution", json={"inputs": {"geometry": None}}))
    assert bad["type"] == "about:blank" and "code" not in bad
    missing = problem_of(http.get("/problems/no-such-problem"))
    assert missing["status"] == 404 and "outside-city" in missing["detail"]


def test_the_page_says_outside_the_city_in_bahasa_indonesia_by_the_code(watched, server, engine):
    square, (lat, lon) = west_of_city(engine)
    w = watched(f"{server}/map?basemap=none")
    page = w.page
    page.evaluate("([lat, lon]) => petakota.map.setView([lat, lon], 15, {animate: false})",
                  [lat + 0.0018, lon + 0.0018])
    page.click("#pk-draw-site")
    x0, y0, x1, y1 = square.bounds
    for la, lo in ((y0, x0), (y0, x1), (y1, x1)):
        click_map(page, la, lo)
    page.click("#pk-finish")
    page.locator("#pk-output .pk-refusal").wait_for(timeout=60_000)
    assert page.evaluate("() => petakota.results.refusalCode") == "outside-city"
    assert page.locator("#pk-output .pk-refusal").inner_text() == MESSAGES["draw_outside_city"]["id"]
    assert "outside" not in page.locator("#pk-output").inner_text()  # no English in the Indonesian page
    screenshot(page, "polish-outside-city-id")
    assert [e for e in w.errors() if "status of 400" not in e] == []


# --- 2: the conformity verdict in words -----------------------------------------------------------------------------

def test_every_verdict_has_its_words_as_the_analysis_writes_them():
    for v in VERDICTS:
        for i, lang in enumerate(("id", "en")):
            words = MESSAGES[f"verdict_{v}"][lang]
            assert VERDICT_TEXT[v][i].startswith(words.lower()), (v, lang, words)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_site_check_shows_the_verdict_in_words_with_its_letter(watched, server, engine, http, lang):
    corners, estate = estate_site(engine)
    w = watched(f"{server}/map?basemap=none&lang={lang}")
    page = w.page
    page.evaluate("([lat, lon]) => petakota.map.setView([lat, lon], 15, {animate: false})",
                  [estate.centroid.y, estate.centroid.x])
    page.fill("#pk-kbli", "47111")  # retail in the industrial estate: not simply permitted
    clicked = run_drawing(page, "#pk-draw-site", corners)
    page.wait_for_function("() => petakota.results.conformity", timeout=120_000)
    site = Polygon([(lon, lat) for lat, lon in clicked])
    asked = http.post("/processes/zoning-conformity/execution",
                      json={"inputs": {"geometry": mapping(site), "kbli": "47111"}}).json()
    v = asked["verdict"]
    assert v in VERDICTS and v != "I"
    shown = page.locator(f"#pk-output .pk-verdict-{v}").inner_text()
    words = f"{MESSAGES[f'verdict_{v}'][lang]} ({v})"
    assert shown.startswith(f"{MESSAGES['verdict'][lang]}: {words} - "), shown
    zones = page.locator("#pk-zones li").all_inner_texts()
    assert any(z.endswith(f" - {words}") for z in zones), zones  # each zone's rule in words too
    screenshot(page, f"polish-verdict-words-{lang}")
    assert w.errors() == []


# --- 3: activity names in English ------------------------------------------------------------------------------------

KBLI_CSV = "layers/reference/kbli2020.csv"
NO_ENGLISH = ("Industri kerupuk dan sejenisnya", "10793")  # a row of a city's table with no English name known


def english_titles() -> dict[str, str]:
    from tests.test_browser import ROOT

    with open(ROOT / KBLI_CSV, encoding="utf-8", newline="") as f:
        return {r["kode"]: r["judul_en"] for r in csv.DictReader(f) if r["judul_en"]}


def config_of(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="petakota-config">(.*?)</script>', html,
                                re.S).group(1))


@pytest.fixture()
def untranslated_activity(engine):
    """One ITBX row whose activity has no English name (its KBLI code has no English title either)."""
    name, code = NO_ENGLISH
    assert code not in english_titles()
    with engine.begin() as conn:
        row = conn.execute(text("INSERT INTO itbx (kabkota, kodszn, kbli, kegiatan, ketentuan) VALUES "
                                "('12.75', 'K-1', :k, :n, 'I') RETURNING id"), {"k": code, "n": name}).scalar()
    yield name, code
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM itbx WHERE id = :i"), {"i": row})


def expected_option(kegiatan: str, kbli: str | None, lang: str) -> str:
    """What the drop-down shows: the English name on the English page where one is known (the glossary, else the
    KBLI code's English title), otherwise the table's own name; with the KBLI code when the row has one."""
    english = ACTIVITY_NAMES_EN.get(kegiatan.casefold()) or english_titles().get(kbli or "")
    name = english if lang == "en" and english else kegiatan
    return name + (f" (KBLI {kbli})" if kbli else "")


def test_the_english_map_gets_english_activity_names_and_kbli_titles(http, engine, untranslated_activity):
    activities = config_of(http.get("/map", params={"lang": "en"}).text)["activities"]
    by_name = {a["kegiatan"]: a for a in activities}
    assert by_name["industri besar"]["name_en"] == "Large-scale industry"
    assert by_name[NO_ENGLISH[0]]["name_en"] is None and by_name[NO_ENGLISH[0]]["kbli"] == NO_ENGLISH[1]
    titles = english_titles()
    for a in activities:
        assert a["name_en"] == (ACTIVITY_NAMES_EN.get(a["kegiatan"].casefold()) or titles.get(a["kbli"] or "")), a
    found = http.get("/kbli", params={"q": "10710"}).json()["kbli"]
    assert found[0]["kode"] == "10710" and found[0]["judul_en"] == titles["10710"]
    assert [k["judul_en"] for k in http.get("/kbli", params={"q": "10793"}).json()["kbli"]] in ([], [None])
    corners, _ = estate_site(engine)
    site = {"type": "Polygon", "coordinates": [[[lon, lat] for lat, lon in [*corners, corners[0]]]]}
    asked = http.post("/processes/zoning-conformity/execution", json={"inputs": {"geometry": site, "kbli": "10710"}})
    assert asked.status_code == 200, asked.text[:300]
    said = asked.json()["explanation"]  # the English explanation names the KBLI by its English title
    assert said["en"].startswith(f"KBLI 10710 ({titles['10710']}) on a ") and "Industri Produk Roti" in said["id"]


@pytest.mark.parametrize("lang", ["en", "id"])
def test_the_activity_drop_down_speaks_the_page_language(watched, server, engine, lang, untranslated_activity):
    w = watched(f"{server}/map?basemap=none&lang={lang}")
    page = w.page
    options = page.eval_on_selector_all("#pk-activity option", "os => os.map(o => [o.value, o.textContent])")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT DISTINCT kegiatan, kbli FROM itbx WHERE kabkota = '12.75' "
                                 "AND kegiatan IS NOT NULL ORDER BY 1, 2")).all()
    assert [o[0] for o in options] == [r.kegiatan for r in rows]  # chosen by the table's own name
    assert [o[1] for o in options] == [expected_option(r.kegiatan, r.kbli, lang) for r in rows]
    shown = dict(options)
    if lang == "en":
        assert shown["industri besar"] == "Large-scale industry"
        assert shown[NO_ENGLISH[0]] == f"{NO_ENGLISH[0]} (KBLI {NO_ENGLISH[1]})"  # not nothing
        # the site check's result names the activity in English too
        corners, estate = estate_site(engine)
        page.evaluate("([lat, lon]) => petakota.map.setView([lat, lon], 15, {animate: false})",
                      [estate.centroid.y, estate.centroid.x])
        page.select_option("#pk-activity", "industri besar")
        run_drawing(page, "#pk-draw-site", corners)
        page.wait_for_function("() => petakota.results.conformity", timeout=120_000)
        verdict = page.locator("#pk-output .pk-verdict").inner_text()
        assert "Activity 'Large-scale industry' (industri besar)" in verdict, verdict
        # KBLI titles offered as one types, in English
        page.fill("#pk-kbli", "")
        page.type("#pk-kbli", "1071", delay=20)
        page.wait_for_function("() => document.querySelector('#pk-kbli-list option[value=\"10710\"]')")
        assert page.get_attribute("#pk-kbli-list option[value='10710']", "label") == english_titles()["10710"]
        screenshot(page, "polish-activities-en")
    else:
        assert shown["industri besar"] == "industri besar"
    assert w.errors() == []


# --- 4: identification numbers with at most two decimals, in the language's marks ---------------------------------

def test_a_measured_number_has_two_decimals_whatever_its_type():
    zoning = CATALOG["zoning"]
    fields = {f.name: f for f in zoning.fields}
    # a numeric column gives Decimal; a float in a field declared integer is still a measured number
    assert format_field(zoning, fields["luasha"], Decimal("1350.5123456"), "id") == "1.350,51"
    assert format_field(zoning, fields["luasha"], Decimal("1350.5123456"), "en") == "1,350.51"
    assert format_field(zoning, fields["rdtr_versi"], 47.7812345, "id") == "47,78"
    assert format_field(zoning, fields["rdtr_versi"], 2024, "id") == "2024"  # a whole number as written
    assert format_field(zoning, fields["rdtr_versi"], Decimal("2024"), "id") == "2024"
    assert format_field(zoning, fields["luasha"], float("nan"), "id") == "\u2014"


@pytest.fixture()
def measured_zone(engine):
    """The largest sub-zone with LUASHA set to a value of many decimals (put back afterwards): its id, a point
    inside it (lon, lat) and the value."""
    value = 1350.5123456
    with engine.begin() as conn:
        zid, before, lon, lat = conn.execute(text(
            "SELECT id, luasha, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM zoning "
            "ORDER BY ST_Area(geom) DESC LIMIT 1")).one()
        conn.execute(text("UPDATE zoning SET luasha = :v WHERE id = :i"), {"v": value, "i": zid})
    yield zid, (lon, lat), value
    with engine.begin() as conn:
        conn.execute(text("UPDATE zoning SET luasha = :v WHERE id = :i"), {"v": before, "i": zid})


def written_2(value: float, lang: str) -> str:
    """Two decimals, written independently of the service: en 1,350.51, id 1.350,51."""
    text_ = f"{value:,.2f}"
    return text_ if lang == "en" else text_.translate(str.maketrans(",.", ".,"))


@pytest.mark.parametrize("lang", ["id", "en"])
def test_identify_writes_a_feature_number_with_two_decimals(http, measured_zone, lang):
    zid, (lon, lat), value = measured_zone
    r = http.get("/identify", params={"lon": lon, "lat": lat, "layers": "zoning", "lang": lang, "zoom": 16})
    zone = next(f for f in r.json()["features"] if f["id"] == zid)
    luasha = next(p for p in zone["properties"] if p["name"] == "luasha")
    assert luasha["value"] == pytest.approx(value)  # the raw value is untouched
    assert luasha["text"] == written_2(value, lang) == {"id": "1.350,51", "en": "1,350.51"}[lang]
    decimal_mark = {"id": ",", "en": "."}[lang]
    for p in zone["properties"]:  # every fractional number of the feature: at most two decimals
        if isinstance(p["value"], float):
            assert len(p["text"].rpartition(decimal_mark)[2]) <= 2 or decimal_mark not in p["text"], p


def test_the_popup_shows_the_number_with_two_decimals(watched, server, measured_zone):
    from tests.test_map_interaction import click_at, show_layer, table_of

    zid, (lon, lat), value = measured_zone
    w = watched(f"{server}/map?basemap=none")
    page = w.page
    show_layer(page, "zoning")
    page.evaluate("([lat, lon]) => petakota.map.setView([lat, lon], 15, {animate: false})", [lat, lon])
    wait_ready(page)
    click_at(page, lat, lon)
    button = f"#pk-identify button[data-layer='zoning'][data-id='{zid}']"
    if page.get_attribute(button, "aria-expanded") != "true":
        page.click(button)
    shown = table_of(page, "zoning", zid)
    label = next(f.title_id for f in CATALOG["zoning"].fields if f.name == "luasha")
    assert shown[label] == written_2(value, "id") == "1.350,51"
    screenshot(page, "polish-identify-two-decimals")
    assert w.errors() == []
