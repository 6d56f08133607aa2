"""The planner map's interaction in a real browser (Debian's Chromium): a click lists the features of every
layer shown, most specific first, with the declarations' labels and translated values and the private fields the
typed key allows; search as one types; drawing with undo and a message for every refusal in the page's language;
the drawing kept across a language switch."""

from __future__ import annotations

import re

import pytest
from shapely.geometry import Polygon
from sqlalchemy import text

from gis.render.messages import MESSAGES
from layers import CATALOG
from tests.test_browser import (
    click_map,
    latlng_to_px,
    metric,
    screenshot,
    settle,
    wait_ready,
    written,
)

CORNERS = [(3.59, 98.475), (3.59, 98.505), (3.61, 98.505), (3.61, 98.475)]  # ~700 ha in the city centre


def click_at(page, lat: float, lon: float):
    """Clicks the map at lat/lon and waits for the list of what is there."""
    settle(page)
    page.evaluate("() => { delete petakota.results.identify; petakota.map.closePopup(); }")
    x, y = latlng_to_px(page, lat, lon)
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + round(x), box["y"] + round(y))
    page.wait_for_function("() => petakota.results.identify", timeout=15_000)
    page.locator(".leaflet-popup-content #pk-identify").wait_for(timeout=5_000)


def entries(page) -> list[dict]:
    return page.eval_on_selector_all("#pk-identify button.pk-feature", """bs => bs.map(b => ({
        layer: b.dataset.layer, id: +b.dataset.id, text: b.innerText, expanded: b.getAttribute('aria-expanded')}))""")


def table_of(page, layer: str, fid: int) -> dict[str, str]:
    """label -> text of an entry's properties (the entry must be open)."""
    body = page.locator(f"#pk-identify button[data-layer='{layer}'][data-id='{fid}'] + .pk-feature-body")
    assert body.is_visible()
    labels, texts = body.locator("th").all_inner_texts(), body.locator("td").all_inner_texts()
    return dict(zip(labels, texts, strict=True))


def show_layer(page, layer: str):
    page.evaluate("(id) => { petakota.map.addLayer(petakota.grids[id]); }", layer)
    wait_ready(page)


def drawing_vertices(page) -> int:
    return page.locator(".leaflet-marker-pane .pk-vertex").count()


def number_in(text_: str, lang: str) -> float:
    assert re.fullmatch(r"-?\d{1,3}(\.\d{3})*(,\d+)?" if lang == "id" else r"-?\d{1,3}(,\d{3})*(\.\d+)?", text_), text_
    return float(text_.replace(".", "").replace(",", ".") if lang == "id" else text_.replace(",", ""))


def test_a_click_on_a_zone_lists_the_zone_before_its_kelurahan(watched, server, engine):
    with engine.connect() as conn:
        # a point inside a sub-zone and a kelurahan, at least 60 m from every line and point drawn
        lon, lat, zone_id, kodszn, kel_id, kel_name, kel_area = conn.execute(text("""
            WITH o AS (SELECT ST_Union(ST_Buffer(g::geography, 60)::geometry) u FROM (
                SELECT geom g FROM roads UNION ALL SELECT geom FROM rivers UNION ALL SELECT geom FROM toll_gates
                UNION ALL SELECT geom FROM business_centers UNION ALL SELECT geom FROM parks
                UNION ALL SELECT geom FROM industrial_zones) s),
            p AS (SELECT ST_PointOnSurface(ST_Difference(z.geom, o.u)) pt FROM zoning z, o
                  WHERE NOT ST_IsEmpty(ST_Difference(z.geom, o.u)) ORDER BY ST_Area(z.geom) DESC LIMIT 1)
            SELECT ST_X(p.pt), ST_Y(p.pt), z.id, z.kodszn, k.id, k.nama, k.area_ha FROM p
            JOIN zoning z ON ST_Intersects(z.geom, p.pt) JOIN kelurahan k ON ST_Intersects(k.geom, p.pt)
            ORDER BY ST_Area(z.geom) LIMIT 1""")).one()
    w = watched(f"{server}/map?basemap=none")
    page = w.page
    show_layer(page, "zoning")  # "Rencana pola ruang" switched on, kelurahan still on
    page.evaluate("([lat, lon]) => petakota.map.setView([lat, lon], 15, {animate: false})", [lat, lon])
    wait_ready(page)
    click_at(page, lat, lon)
    found = entries(page)
    layers = [e["layer"] for e in found]
    assert "zoning" in layers and "kelurahan" in layers, found
    assert layers.index("zoning") < layers.index("kelurahan"), found  # the zone is the more specific
    assert {"layer": "zoning", "id": zone_id} in [{"layer": e["layer"], "id": e["id"]} for e in found]
    zoning = CATALOG["zoning"]
    assert found[0]["expanded"] == "true"  # the first opens by itself
    zone_entry = next(e for e in found if e["layer"] == "zoning")
    assert zone_entry["text"].startswith(zoning.title_id)
    if zone_entry["expanded"] != "true":
        page.click(f"#pk-identify button[data-layer='zoning'][data-id='{zone_id}']")
    shown = table_of(page, "zoning", zone_id)
    labels = {f.name: f.title_id for f in zoning.public_fields}
    assert list(shown) == list(labels.values())  # every public field, labelled as declared
    # a coded value by its declared label, not its code
    assert shown[labels["kodszn"]] == zoning.value_labels("kodszn")[kodszn][0] != kodszn

    # the kelurahan entry opens from the keyboard (Tab to it, Enter), its values in Bahasa Indonesia
    button = page.locator(f"#pk-identify button[data-layer='kelurahan'][data-id='{kel_id}']")
    assert button.get_attribute("aria-expanded") == "false"
    button.focus()
    page.keyboard.press("Enter")
    assert button.get_attribute("aria-expanded") == "true"
    assert kel_name in button.inner_text()
    shown = table_of(page, "kelurahan", kel_id)
    assert shown["Jenis"] in ("Kelurahan", "Desa")
    assert number_in(shown["Luas (ha)"], "id") == pytest.approx(kel_area, abs=0.01)
    page.keyboard.press("Space")
    assert button.get_attribute("aria-expanded") == "false"
    screenshot(page, "interaction-identify-zoning")
    assert w.errors() == []


def test_a_key_typed_in_the_panel_shows_private_fields(watched, server, engine, keys):
    with engine.connect() as conn:
        fid, owner, status, area, lon, lat = conn.execute(text(
            "SELECT id, pemilik, status, area_ha, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
            "FROM project_parcels WHERE pemilik IS NOT NULL AND status = 'agreed' ORDER BY area_ha DESC LIMIT 1"
        )).one()
    w = watched(f"{server}/map?basemap=none")
    page = w.page
    show_layer(page, "project_parcels")
    page.evaluate("([lat, lon]) => petakota.map.setView([lat, lon], 17, {animate: false})", [lat, lon])
    wait_ready(page)
    parcel = f"#pk-identify button[data-layer='project_parcels'][data-id='{fid}']"

    def parcel_table() -> dict[str, str]:
        click_at(page, lat, lon)
        if page.get_attribute(parcel, "aria-expanded") != "true":
            page.click(parcel)
        return table_of(page, "project_parcels", fid)

    public = parcel_table()
    assert "Nama pemilik" not in public and owner not in page.locator("#pk-identify").inner_text()
    assert public["Status pengadaan"] == "Sepakat"  # the legend's word, not "agreed"
    assert number_in(public["Luas (ha)"], "id") == pytest.approx(area, abs=0.01)

    page.fill("#pk-key", keys["analyst"])  # typed, not yet confirmed: the next click already uses it
    keyed = parcel_table()
    assert keyed["Nama pemilik"] == owner
    assert page.locator(f"{parcel} + .pk-feature-body tr.pk-private[data-field='pemilik']").count() == 1
    assert keyed["Status pengadaan"] == "Sepakat"
    screenshot(page, "interaction-identify-private")
    assert w.errors() == []


def test_search_lists_as_one_types_and_zooms_to_the_choice(watched, server, engine):
    with engine.connect() as conn:
        bbox = conn.execute(text("SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
                                 "FROM kelurahan WHERE nama = 'Tunggurono'")).one()
    w = watched(f"{server}/map?basemap=none")
    page = w.page
    page.click("#pk-search")
    page.keyboard.type("Tungurono", delay=30)  # misspelt, and no Enter
    item = page.locator("#pk-search-results li", has_text="Tunggurono")
    item.first.wait_for(timeout=15_000)
    texts = page.locator("#pk-search-results li").all_inner_texts()
    index = next(i for i, t in enumerate(texts) if t.startswith("Tunggurono (Kelurahan"))
    for _ in range(index + 1):
        page.keyboard.press("ArrowDown")
    assert page.locator("#pk-search-results li.pk-active").inner_text() == texts[index]
    page.keyboard.press("Enter")
    page.wait_for_function("() => petakota.results.search", timeout=10_000)
    assert page.evaluate("() => petakota.results.search.name") == "Tunggurono"
    settle(page)
    west, south, east, north = (float(v) for v in
                                page.evaluate("() => petakota.map.getBounds().toBBoxString()").split(","))
    assert west <= bbox[0] and south <= bbox[1] and east >= bbox[2] and north >= bbox[3]  # all of it in view
    assert (east - west) < 4 * (bbox[2] - bbox[0]) or (north - south) < 4 * (bbox[3] - bbox[1])  # and zoomed to it
    wait_ready(page)
    screenshot(page, "interaction-search-tungurono")
    assert w.errors() == []


@pytest.mark.parametrize("lang", ["id", "en"])
def test_too_few_points_say_so_in_the_page_language(watched, server, lang):
    w = watched(f"{server}/map?basemap=none&lang={lang}")
    page = w.page
    page.evaluate("() => petakota.map.setView([3.60, 98.49], 13, {animate: false})")
    asked = len(w.requests)
    page.click("#pk-measure-area")
    for lat, lon in CORNERS[:2]:
        click_map(page, lat, lon)
    page.click("#pk-finish")
    assert page.locator("#pk-output .pk-refusal").inner_text() == MESSAGES["draw_need_area"][lang]
    page.click("#pk-measure-line")
    click_map(page, *CORNERS[0])
    page.click("#pk-finish")
    assert page.locator("#pk-output .pk-refusal").inner_text() == MESSAGES["draw_need_line"][lang]
    assert not [u for u in w.requests[asked:] if "/measure" in u]  # refused on the page, nothing was sent
    assert w.errors() == []


def test_a_site_outside_the_city_is_refused_in_bahasa_indonesia(watched, server, engine):
    with engine.connect() as conn:
        west = conn.execute(text("SELECT ST_XMin(geom) FROM kota")).scalar()
    w = watched(f"{server}/map?basemap=none")
    page = w.page
    lon0 = west - 0.05
    page.evaluate("([lat, lon]) => petakota.map.setView([lat, lon], 14, {animate: false})", [3.6, lon0])
    page.click("#pk-draw-site")
    for dlat, dlon in ((0, 0), (0, 0.005), (0.005, 0.005)):
        click_map(page, 3.6 + dlat, lon0 + dlon)
    page.click("#pk-finish")
    page.locator("#pk-output .pk-refusal").wait_for(timeout=60_000)
    assert "outside the city" in page.evaluate("() => petakota.results.refusal")  # what the service said
    assert page.locator("#pk-output .pk-refusal").inner_text() == MESSAGES["draw_outside_city"]["id"]
    # the browser logs the refused requests themselves; nothing else went wrong
    assert [e for e in w.errors() if "status of 400" not in e] == []


def test_undo_removes_the_last_vertex_and_the_drawing_survives_a_language_switch(watched, server):
    w = watched(f"{server}/map?basemap=none")
    page = w.page
    page.evaluate("() => petakota.map.setView([3.60, 98.49], 13, {animate: false})")
    page.click("#pk-measure-area")
    clicked = [click_map(page, lat, lon) for lat, lon in CORNERS]
    stray = click_map(page, 3.60, 98.46)  # a misplaced fifth point, west of the last corner
    assert drawing_vertices(page) == 5
    page.click("#pk-undo")
    assert drawing_vertices(page) == 4
    page.click("#pk-finish")
    page.wait_for_function("() => petakota.results.measure", timeout=30_000)
    m = page.evaluate("() => petakota.results.measure")
    site = metric(Polygon([(lon, lat) for lat, lon in clicked]))
    assert m["area_ha"] == pytest.approx(site.area / 1e4, rel=0.005)  # the stray point is not in it
    assert metric(Polygon([(lon, lat) for lat, lon in [*clicked, stray]])).area / 1e4 > m["area_ha"] * 1.01
    # numbers as Bahasa Indonesia writes them: 1.350,51
    assert site.length > 1000
    shown = page.locator("#pk-output").inner_text()
    assert shown == f"Luas: {written(m['area_ha'], 2, 'id')} ha, Keliling: {written(m['length_m'], 0, 'id')} m"
    assert re.search(r"\d\.\d{3} m$", shown) and re.search(r"\d,\d\d ha", shown), shown

    page.click("#pk-lang")  # a new page in English
    page.wait_for_function("() => window.petakota && petakota.lang === 'en' && petakota.results.measure",
                           timeout=30_000)
    wait_ready(page)
    assert drawing_vertices(page) == 4
    again = page.evaluate("() => petakota.results.measure")
    assert again["area_ha"] == pytest.approx(m["area_ha"], rel=1e-6)
    assert page.locator("#pk-output").inner_text() == (
        f"Area: {written(m['area_ha'], 2, 'en')} ha, Perimeter: {written(m['length_m'], 0, 'en')} m")
    screenshot(page, "interaction-drawing-after-language-switch")
    # a vertex dragged: the shape is measured again with the moved corner
    x0, y0 = latlng_to_px(page, *clicked[2])
    box = page.locator("#map").bounding_box()
    page.evaluate("() => { delete petakota.results.measure; }")
    page.mouse.move(box["x"] + x0, box["y"] + y0)
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(box["x"] + x0 + 8 * step, box["y"] + y0 - 6 * step)
    page.mouse.up()
    page.wait_for_function("() => petakota.results.measure", timeout=30_000)
    moved = page.evaluate("() => petakota.map.containerPointToLatLng([%f, %f])" % (x0 + 40, y0 - 30))
    corners = [*clicked[:2], (moved["lat"], moved["lng"]), clicked[3]]
    dragged = page.evaluate("() => petakota.results.measure")
    expected = metric(Polygon([(lon, lat) for lat, lon in corners])).area / 1e4
    assert dragged["area_ha"] == pytest.approx(expected, rel=0.005) and dragged["area_ha"] > m["area_ha"] * 1.01
    page.click("#pk-clear")
    assert drawing_vertices(page) == 0 and page.locator("#pk-output").inner_text() == ""
    assert w.errors() == []

