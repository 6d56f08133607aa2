"""Field staff on a phone (Chromium at 390x844): a planner types the key in the panel, taps a park, takes a photo
with the popup's upload control and sees it listed with its thumbnail; the public's popup lists no private photo
and offers no upload."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.test_attachments import photo
from tests.test_browser import Watched, latlng_to_px, screenshot, wait_ready

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def spot(engine):
    """(park id, lon, lat): a point inside a Binjai park at least 60 m from anything drawn above the parks."""
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT p.id, ST_X(s.pt), ST_Y(s.pt) FROM parks p CROSS JOIN LATERAL (SELECT ST_PointOnSurface("
            "ST_Difference(p.geom, coalesce((SELECT ST_Union(ST_Buffer(g::geography, 60)::geometry) FROM ("
            "SELECT geom g FROM roads UNION ALL SELECT geom FROM rivers UNION ALL SELECT geom FROM business_centers "
            "UNION ALL SELECT geom FROM toll_gates) o WHERE ST_DWithin(o.g::geography, p.geom::geography, 100)), "
            "'SRID=4326;GEOMETRYCOLLECTION EMPTY'::geometry))) pt) s "
            "WHERE p.kabkota = '12.75' AND NOT ST_IsEmpty(s.pt) ORDER BY p.area_ha DESC LIMIT 1")).one())


def open_popup(page, lon: float, lat: float):
    page.evaluate("([lat, lon]) => petakota.map.setView([lat, lon], 17, {animate: false})", [lat, lon])
    wait_ready(page)
    x, y = latlng_to_px(page, lat, lon)
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.locator(".leaflet-popup-content #pk-attachments").wait_for(timeout=10_000)
    page.wait_for_function("() => petakota.results.attachments !== undefined", timeout=10_000)


def test_a_planner_attaches_a_photo_from_the_popup_on_a_phone(browser, server, keys, spot, tmp_path, http):
    fid, lon, lat = spot
    picture = tmp_path / "IMG_2001.jpg"
    picture.write_bytes(photo(lon, lat, size=(1200, 900)))
    w = Watched(browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True))
    try:
        page = w.open(f"{server}/map?basemap=none").page
        page.click("#pk-panel-toggle")  # on a phone the panel is a drawer over the map, closed until opened
        page.fill("#pk-key", keys["planner"])
        page.press("#pk-key", "Tab")  # the key is taken on change, in place: tiles are asked again with it
        page.wait_for_function("() => petakota.results.key === true")
        page.keyboard.press("Escape")  # the drawer closes: the map is free to tap
        page.wait_for_function("() => !petakotaLayout.drawerOpen")
        wait_ready(page)
        open_popup(page, lon, lat)
        assert page.evaluate("() => petakota.results.popup") == {"layer": "parks", "id": fid}
        control = page.locator("#pk-attach-file")
        assert control.get_attribute("accept") == "image/*,application/pdf" and control.get_attribute("capture")
        for selector in ("#pk-attach-file", "#pk-attach-public", ".leaflet-popup-content"):
            r = page.locator(selector).bounding_box()
            assert r and r["x"] >= 0 and r["x"] + r["width"] <= PHONE["width"], (selector, r)
        for selector in ("#pk-attach-file", "#pk-attach-public"):  # on screen and not covered (a finger reaches it)
            page.locator(selector).scroll_into_view_if_needed()
            assert page.evaluate("""s => { const e = document.querySelector(s), r = e.getBoundingClientRect();
                const x = r.left + Math.min(20, r.width / 2), y = r.top + r.height / 2;
                return y > 0 && y < innerHeight && document.elementFromPoint(x, y) === e; }""", selector), selector
        control.set_input_files(str(picture))
        page.wait_for_function("() => petakota.results.attached && (petakota.results.attachments || [])"
                               ".some(a => a.id === petakota.results.attached.id)", timeout=20_000)
        attached = page.evaluate("() => petakota.results.attached")
        item = page.locator(f".pk-attachment[data-id='{attached['id']}']")
        assert item.inner_text().strip() == "IMG_2001.jpg"
        thumb = f".pk-attachment[data-id='{attached['id']}'] img"
        page.wait_for_function(f"""() => {{ const i = document.querySelector("{thumb}");
            return i && i.complete && i.naturalWidth > 0; }}""", timeout=10_000)
        assert page.evaluate(f"""() => document.querySelector("{thumb}").naturalWidth""") == 320
        top = page.evaluate("""() => document.querySelector('.leaflet-popup').getBoundingClientRect().top -
            document.getElementById('map').getBoundingClientRect().top""")
        assert top >= 0  # the whole popup is on the map, its title too
        screenshot(page, "attachments-phone-popup")
        assert w.errors() == []
    finally:
        w.close()

    got = http.get(f"/attachments/{attached['id']}", headers={"X-API-Key": keys["planner"]})
    assert got.content == picture.read_bytes()
    assert attached["public"] is False and attached["far"] is False and attached["distance_m"] < 1

    anonymous = Watched(browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True))
    try:
        page = anonymous.open(f"{server}/map?basemap=none").page
        open_popup(page, lon, lat)
        shown = [a["id"] for a in page.evaluate("() => petakota.results.attachments")]
        assert attached["id"] not in shown and page.locator("#pk-attach-file").count() == 0
        assert anonymous.errors() == []
    finally:
        anonymous.close()

