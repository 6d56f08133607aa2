"""The planner map without dead ends, through HTTP and in Debian's Chromium: a refusal for a geometry outside the
city carries a stable problem code (and the page translates it by that code), the conformity verdict in words,
activity names in English on the English page, identification numbers with at most two decimals in the
language's marks, the page's looks in the stylesheet (not inline), and a language switch that keeps the view,
the layers switched on, the drawing and the siting result."""

from __future__ import annotations

import pytest
from shapely.geometry import Polygon, box, mapping
from sqlalchemy import text

from gis.analyses.itbx import VERDICT_TEXT, VERDICTS
from gis.render.messages import MESSAGES
from tests.conftest import problem_of
from tests.test_browser import VIEWPORT, Watched, click_map, estate_site, run_drawing, screenshot


@pytest.fixture()
def watched(browser):
    opened = []

    def make(url: str, viewport: dict | None = None) -> Watched:
        w = Watched(browser.new_context(viewport=viewport or VIEWPORT)).open(url)
        opened.append(w)
        return w

    yield make
    for w in opened:
        w.close()


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
