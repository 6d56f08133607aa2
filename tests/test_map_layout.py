"""The map pages' layout in Debian's Chromium at the sizes a planning office uses: a phone (390x844), a tablet
(768x1024), a laptop (1366x768), a desktop (1920x1080) and the public embed in a 560x320 iframe. Element boxes are
measured in the browser: the map comes first (the panel a drawer on phones, a bounded column from 700 px up), the
legend sits behind a button and stays small, the embed shows its title and the whole city. Screenshots are kept
in tests/artifacts/map-layout-*.png."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from gis.render.messages import MESSAGES
from layers.maps import MAPS
from tests.test_browser import ARTIFACTS, Watched

PHONE = {"width": 390, "height": 844}
WIDE = [{"width": 768, "height": 1024}, {"width": 1366, "height": 768}, {"width": 1920, "height": 1080}]
IFRAME = {"width": 560, "height": 320}
LEGEND_SHARE = 0.25  # the most of the map an open legend may cover


def ready(frame):
    """Every visible layer drawn once, then two frames painted (the layout settled)."""
    frame.wait_for_function("() => window.petakota && window.petakota.ready === true", timeout=45_000)
    frame.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def box(frame, selector: str) -> dict | None:
    """The element's box in its frame's viewport, or None when it is not displayed (or hidden)."""
    return frame.evaluate("""s => { const e = document.querySelector(s);
        if (!e) { return null; }
        const r = e.getBoundingClientRect(), st = getComputedStyle(e);
        if (!r.width || !r.height || st.visibility === 'hidden' || st.display === 'none') { return null; }
        return {x: r.left, y: r.top, width: r.width, height: r.height}; }""", selector)


def area(b: dict | None) -> float:
    return b["width"] * b["height"] if b else 0.0


def inside(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    return (inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack)


def map_share_reached(frame, viewport: dict) -> float:
    """The share of a horizontal line across the middle of the map whose points belong to the map (not covered by
    the panel or anything else outside #map), relative to the viewport's width."""
    m = box(frame, "#map")
    y = m["y"] + m["height"] / 2
    xs = [i + 0.5 for i in range(0, viewport["width"], 5)]
    hits = frame.evaluate("""([xs, y]) => xs.filter(x => { const e = document.elementFromPoint(x, y);
        return !!e && !!e.closest('#map') && !e.closest('.leaflet-control'); }).length""", [xs, y])
    return hits / len(xs)


def shot(page, name: str):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"map-layout-{name}.png")


def open_page(browser, url: str, viewport: dict) -> Watched:
    w = Watched(browser.new_context(viewport=viewport))
    w.page.goto(url, wait_until="load")
    ready(w.page)
    return w


def only_local(w: Watched, server: str, frame=None):
    """Nothing asked of another host than the service (no basemap), no JavaScript error in the map's page."""
    assert w.hosts == {urlsplit(server).netloc}, w.hosts
    hook = (frame or w.page).evaluate("() => (window.petakota && window.petakota.errors) || ['no petakota']")
    assert list(hook) + w.page_errors + w.console_errors == []


def legend_fits(frame, what: str) -> float:
    """The open legend's share of the map's area (asserted under LEGEND_SHARE, and inside the map)."""
    legend, m = box(frame, "#pk-legend"), box(frame, "#map")
    assert legend is not None, f"{what}: the legend is not shown"
    assert inside(legend, m), (what, legend, m)
    share = area(legend) / area(m)
    assert share <= LEGEND_SHARE, f"{what}: the legend covers {share:.0%} of the map"
    return share


# --- configuration ----------------------------------------------------------------------------------------------

def config_of(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="petakota-config">(.*?)</script>', html,
                                re.S).group(1))


def test_the_embed_fits_the_city_and_the_planner_keeps_its_view(http):
    embed, planner = config_of(http.get("/embed/binjai").text), config_of(http.get("/map").text)
    city = http.get("/cities/12.75").json()
    assert embed["city"]["fit"] is True and embed["city"]["bbox"] == city["bbox"]
    assert planner["city"]["fit"] is False and planner["city"]["zoom"] == city["default_view"]["zoom"]
    page = http.get("/embed/binjai").text
    assert '<h1 id="pk-title"' in page and "layout.js" in page


# --- a phone -----------------------------------------------------------------------------------------------------

def test_a_phone_gets_the_whole_map_and_the_panel_as_a_drawer(browser, server):
    w = open_page(browser, f"{server}/map?basemap=none", PHONE)
    page = w.page
    try:
        m = box(page, "#map")
        assert m["width"] >= 0.85 * PHONE["width"] and m["height"] >= 0.85 * PHONE["height"], m
        assert box(page, "#panel") is None  # the drawer is closed: nothing of it is on screen or reachable
        assert map_share_reached(page, PHONE) >= 0.85
        button = page.get_by_role("button", name=MESSAGES["layout_panel"]["id"])
        assert button.is_visible() and button.get_attribute("aria-expanded") == "false"
        assert box(page, "#pk-titlebar-title") and page.inner_text("#pk-titlebar-title") == MAPS["binjai"].title_id
        # the legend is collapsed, its button is there
        assert box(page, "#pk-legend") is None
        legend_button = page.locator("#pk-legend-toggle")
        assert legend_button.is_visible() and legend_button.get_attribute("aria-expanded") == "false"
        shot(page, "390x844")

        button.click()
        page.wait_for_function("() => getComputedStyle(document.getElementById('panel')).transform === 'none'")
        panel = box(page, "#panel")
        assert panel and inside(panel, {"x": 0, "y": 0, **PHONE}), panel
        assert button.get_attribute("aria-expanded") == "true"
        assert page.evaluate("() => document.getElementById('panel').contains(document.activeElement)")
        assert page.locator("#pk-search").is_visible()  # the tools are reachable in the drawer
        shot(page, "390x844-drawer")
        page.keyboard.press("Escape")
        page.wait_for_function("() => getComputedStyle(document.getElementById('panel')).visibility === 'hidden'")
        assert button.get_attribute("aria-expanded") == "false" and box(page, "#panel") is None
        assert page.evaluate("() => document.activeElement.id") == "pk-panel-toggle"  # focus back on the button
        assert map_share_reached(page, PHONE) >= 0.85

        page.keyboard.press("Enter")  # the keyboard opens it again, the button closes it
        page.wait_for_function("() => getComputedStyle(document.getElementById('panel')).visibility === 'visible'")
        button.click()
        page.wait_for_function("() => getComputedStyle(document.getElementById('panel')).visibility === 'hidden'")
        assert map_share_reached(page, PHONE) >= 0.85

        # a drawing tool needs the map: choosing it closes the drawer
        button.click()
        page.wait_for_function("() => getComputedStyle(document.getElementById('panel')).visibility === 'visible'")
        page.click("#pk-measure-line")
        page.wait_for_function("() => getComputedStyle(document.getElementById('panel')).visibility === 'hidden'")
        assert button.get_attribute("aria-expanded") == "false"

        # the keyboard reaches the legend's button from the top of the page
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        reached = []
        for _ in range(12):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("() => document.activeElement.id"))
            if reached[-1] == "pk-legend-toggle":
                break
        assert reached[-1] == "pk-legend-toggle", reached
        page.keyboard.press("Enter")
        legend_fits(page, "phone")
        assert legend_button.get_attribute("aria-expanded") == "true"
        shot(page, "390x844-legend")

        # the title bar follows the map's title (a city switch retitles it)
        page.evaluate("() => { document.getElementById('pk-title').textContent = 'Peta Tata Ruang Kota Medan'; }")
        page.wait_for_function("() => document.getElementById('pk-titlebar-title').textContent"
                               " === 'Peta Tata Ruang Kota Medan'")
        only_local(w, server)
    finally:
        w.close()


# --- a tablet, a laptop, a desktop --------------------------------------------------------------------------------

@pytest.mark.parametrize("viewport", WIDE, ids=[f"{v['width']}x{v['height']}" for v in WIDE])
def test_wider_screens_get_the_panel_as_a_bounded_column(browser, server, viewport):
    w = open_page(browser, f"{server}/map?basemap=none", viewport)
    page = w.page
    try:
        m, panel = box(page, "#map"), box(page, "#panel")
        assert panel and 280 <= panel["width"] <= 380, panel
        assert m["x"] + m["width"] <= panel["x"] + 1, (m, panel)  # side by side, the panel never over the map
        assert m["width"] >= viewport["width"] - panel["width"] - 1 and m["height"] >= viewport["height"] - 1
        assert not page.locator("#pk-panel-toggle").is_visible()  # no drawer button when the column is shown
        assert map_share_reached(page, viewport) >= (viewport["width"] - panel["width"] - 6) / viewport["width"]
        button = page.locator("#pk-legend-toggle")
        assert button.get_attribute("aria-expanded") == "true"
        share = legend_fits(page, f"{viewport['width']}x{viewport['height']}")
        assert share > 0.01  # it does show the layers
        shot(page, f"{viewport['width']}x{viewport['height']}")
        # the legend scrolls rather than grow past its bounds
        sizes = page.evaluate("() => { const l = document.getElementById('pk-legend');"
                              " return [l.scrollHeight, l.clientHeight, getComputedStyle(l).overflowY]; }")
        assert sizes[2] == "auto" and (sizes[0] <= sizes[1] + 1 or box(page, "#pk-legend")["height"] >= 100)
        button.click()
        assert box(page, "#pk-legend") is None and button.get_attribute("aria-expanded") == "false"
        button.focus()
        page.keyboard.press("Enter")
        assert box(page, "#pk-legend") is not None
        only_local(w, server)
    finally:
        w.close()


# --- the embed in a small iframe ----------------------------------------------------------------------------------

def embed_frame(page, server: str, lang: str = "id"):
    page.set_content(f'<!doctype html><html><body style="margin:20px"><p>Situs kota</p>'
                     f'<iframe id="peta" title="Peta" src="{server}/embed/binjai?basemap=none&lang={lang}" '
                     f'width="{IFRAME["width"]}" height="{IFRAME["height"]}" style="border:1px solid #888">'
                     f'</iframe></body></html>')
    page.wait_for_function("() => document.getElementById('peta').contentWindow !== null")
    for _ in range(200):
        frame = next((f for f in page.frames if "/embed/binjai" in f.url), None)
        if frame is not None:
            break
        page.wait_for_timeout(50)
    ready(frame)
    return frame


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_small_iframe_shows_the_title_the_whole_city_and_the_legend_behind_a_button(browser, server, http, lang):
    w = Watched(browser.new_context(viewport={"width": 800, "height": 600}))
    page = w.page
    try:
        frame = embed_frame(page, server, lang)
        title = MAPS["binjai"].title_en if lang == "en" else MAPS["binjai"].title_id
        heading = box(frame, "#pk-title")
        assert heading and heading["y"] >= 0 and heading["height"] <= 40
        assert frame.inner_text("#pk-title") == title
        m = box(frame, "#map")
        assert inside(m, {"x": 0, "y": 0, **IFRAME}) and area(m) >= 0.85 * area({**IFRAME})
        # the whole city in view
        west, south, east, north = http.get("/cities/12.75").json()["bbox"]
        shown = frame.evaluate("() => { const b = petakota.map.getBounds();"
                               " return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }")
        city = (west, south, east, north)
        assert shown[0] <= west and shown[1] <= south and shown[2] >= east and shown[3] >= north, (shown, city)
        # ... and not a speck in it: the city spans at least a third of the map's width or height
        assert max((east - west) / (shown[2] - shown[0]), (north - south) / (shown[3] - shown[1])) >= 1 / 3
        # the legend behind a button, named in the page's language
        assert box(frame, "#pk-legend") is None
        button = frame.locator("#pk-legend-toggle")
        assert button.is_visible() and button.inner_text().strip().startswith(MESSAGES["legend"][lang])
        assert button.get_attribute("aria-expanded") == "false"
        assert map_share_reached(frame, IFRAME) >= 0.85
        shot(page, f"embed-560x320-{lang}")
        button.click()
        legend_fits(frame, "embed")
        if lang == "id":
            shot(page, "embed-560x320-legend")
        only_local(w, server, frame)
    finally:
        w.close()
