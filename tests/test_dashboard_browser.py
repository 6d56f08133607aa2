"""The programme dashboard in Chromium: the scorecards shown equal the data, the map draws every location in its
status's colour, a programme's drill-down opens with its indicators, history and photo, a key typed on the page shows
the private programmes and their notes, the print stylesheet hides the controls, and no request leaves the service.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

from urllib.parse import urlsplit

import numpy as np

from tests.test_browser import ARTIFACTS, screenshot
from tests.test_dashboard import QUERY, evidence, programmes  # noqa: F401 - fixtures
from tests.test_programme_status import PROGRAMMES, PROGRESS, SECRET, kode_of

VIEWPORT = {"width": 1400, "height": 1000}
PAGE = f"/dashboard?city={QUERY['city']}&year={QUERY['year']}&as_of={QUERY['as_of']}"


def open_dashboard(browser, server, loads: int = 1):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server + PAGE, wait_until="load")
    page.wait_for_function("n => window.petakota && petakota.ready && petakota.loads >= n", arg=loads,
                           timeout=30_000)
    return context, page, requests


def elsewhere(requests: list[str], server: str) -> set[str]:
    own = urlsplit(server).netloc
    return {urlsplit(u).netloc or urlsplit(u).scheme for u in requests
            if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != own}


def cell_texts(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "cells => cells.map(c => c.textContent.trim())")


def test_scorecards_and_map_by_status(browser, server, http, programmes):  # noqa: F811
    data = http.get("/dashboard/data", params=QUERY).json()
    context, page, requests = open_dashboard(browser, server)
    try:
        assert page.evaluate("() => petakota.errors") == []
        for card in data["scorecards"]["opd"]:
            row = f"#dash-opd tr[data-opd='{card['kodeskpd']}']"
            cells = cell_texts(page, f"{row} th, {row} td")
            assert cells[0] == card["nama_skpd"] and cells[1] == str(card["programmes"])
            assert cells[2:8] == [str(card["by_status"][s]) for s in data["statuses"]]
            assert cells[8:11] == [str(card["indicators"][s]) for s in ("met", "behind", "late")]
        shown = page.eval_on_selector_all("#dash-kecamatan tbody tr", "rows => rows.map(r => r.dataset.kecamatan)")
        assert shown == [c["kecamatan_kode"] or "kota" for c in data["scorecards"]["kecamatan"]]
        assert len(page.locator("tr.dash-programme").all()) == len(data["programmes"])
        # every location drawn in its programme's status colour
        drawn = page.evaluate("""() => { const out = []; petakota.map.eachLayer(l => {
            if (l.feature && l.feature.properties.programme_kode) {
                out.push([l.feature.properties.programme_kode, l.options.fillColor]); } }); return out; }""")
        colour = {p["kode"]: p["colour"] for p in data["programmes"]}
        assert len(drawn) == len(data["locations"]["features"]) >= 3
        assert all(fill == colour[kode] for kode, fill in drawn)
        assert {"#C00000", "#FFC000", "#70AD47"} <= {fill for _, fill in drawn}
        page.evaluate("() => petakota.map.fitBounds(L.geoJSON(petakota.data.locations).getBounds().pad(0.3), "
                      "{animate: false})")
        page.wait_for_timeout(300)
        image = screenshot(page, "dashboard-map", "#map")
        late = (np.abs(image - np.array([0xC0, 0x00, 0x00])) <= 12).all(axis=-1).sum()
        assert late > 30  # the late programme's point, in red, on the map
        page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)
        assert elsewhere(requests, server) == set()
    finally:
        context.close()


def test_drilldown_opens_a_programmes_history(browser, server, evidence):  # noqa: F811
    context, page, requests = open_dashboard(browser, server)
    try:
        page.click(f"tr.dash-programme[data-kode='{kode_of('late')}']")
        page.wait_for_function("k => petakota.detail && petakota.detail.kode === k", arg=kode_of("late"))
        detail = page.locator("#dash-detail")
        assert detail.is_visible() and detail.get_attribute("data-kode") == kode_of("late")
        assert page.locator("#dash-detail .dash-detail-status").get_attribute("data-status") == "terlambat"
        assert page.locator("#dash-detail tr.dash-indicator").get_attribute("data-state") == "late"
        assert "92" in page.locator("#dash-detail tr.dash-indicator").inner_text()
        assert page.locator("#dash-detail .dash-attachment").count() == 1  # the public photo only
        page.wait_for_function("""() => { const i = document.querySelector('#dash-detail .dash-attachment img');
            return i && i.complete && i.naturalWidth === 320; }""", timeout=10_000)
        page.click(f"tr.dash-programme[data-kode='{kode_of('ontrack')}']")
        page.wait_for_function("k => petakota.detail && petakota.detail.kode === k", arg=kode_of("ontrack"))
        updates = page.locator("#dash-detail tr.dash-update")
        assert updates.count() == len([u for u in PROGRESS["ontrack"] if u[0] <= QUERY["as_of"]]) == 3
        assert "1 Maret 2031" in updates.first.inner_text()  # dates as Bahasa Indonesia writes them
        assert page.locator("#dash-detail th", has_text="Catatan").count() == 0  # no notes for the public
        page.screenshot(path=ARTIFACTS / "dashboard-drilldown.png", full_page=True)
        page.emulate_media(media="print")
        assert page.locator("#dash-controls").is_hidden() and page.locator("#map").is_visible()
        assert page.evaluate("() => petakota.errors") == []
        assert elsewhere(requests, server) == set()
    finally:
        context.close()


def test_a_key_typed_on_the_page_shows_private_programmes(browser, server, keys, programmes):  # noqa: F811
    context, page, requests = open_dashboard(browser, server)
    try:
        public = page.locator("tr.dash-programme").count()
        page.fill("#dash-key", keys["analyst"])
        page.press("#dash-key", "Tab")
        page.wait_for_function("() => petakota.loads >= 2 && petakota.ready && !petakota.data.public")
        assert page.locator("tr.dash-programme").count() == len(PROGRAMMES) > public
        page.click(f"tr.dash-programme[data-kode='{kode_of('troubled')}']")
        page.wait_for_function("k => petakota.detail && petakota.detail.kode === k", arg=kode_of("troubled"))
        assert SECRET in page.locator("#dash-detail").inner_text()
        page.click("#dash-pdf")  # asked for with the key, opened from memory
        page.wait_for_function("() => petakota.pdf > 10000", timeout=60_000)
        assert any("/dashboard.pdf?" in u and "year=2031" in u for u in requests)
        assert page.evaluate("() => petakota.errors") == []
        assert elsewhere(requests, server) == set()
    finally:
        context.close()
