"""The planner map's looks and state in Debian's Chromium: the identification list, the drawn vertices, the numbered
siting candidates and the legends look as map.css says (the map's scripts write no inline style), and a language
switch keeps the view, the layers switched on, the drawing and the siting result."""

from __future__ import annotations

import re

import pytest

from layers import CATALOG
from tests.test_browser import ROOT, click_map, screenshot, wait_ready

# --- 5: the page's looks come from map.css, not from inline styles ---------------------------------------------------

STATIC = ROOT / "gis" / "render" / "static" / "petakota"
# the map's script and its parts (map_identify.js, map_draw.js, ...), one file per job
MAP_SCRIPTS = sorted(STATIC.glob("map*.js"))


def test_map_js_writes_no_inline_styles():
    source = "\n".join(p.read_text(encoding="utf-8") for p in MAP_SCRIPTS)
    assert 'style="' not in source and "style='" not in source
    assert not re.search(r"""\bstyle:\s*["']""", source)  # no style attribute written as a string
    # only the cursor (drawing), the progress bar's width and the custom properties carrying a colour
    # (layer.style is a layer's declared style, not an element's)
    assert set(re.findall(r"(?<!layer)\.style\.(\w+)", source)) <= {"cursor", "width", "setProperty"}
    assert len(re.findall(r"\.style\.width", source)) == 1 and "pk-progress-fill" in source


def scripts_of(html: str) -> list[str]:
    return re.findall(r'<script src="[^"]*/petakota/(map[^"/]*\.js)"></script>', html)


def test_the_map_script_is_small_parts_each_page_loads_before_map_js(http):
    # the planner map loads every part, the embed only identification and the legend; map.js, calling them, last
    planner, embed = scripts_of(http.get("/map").text), scripts_of(http.get("/embed/binjai").text)
    assert sorted(planner) == [p.name for p in MAP_SCRIPTS] and len(planner) >= 6
    assert planner[-1] == "map.js" and embed == []
    # the embed carries its own small scripts in the page (each file a round trip less): identification and the
    # legend, not the planner's tools
    page = http.get("/embed/binjai").text
    for name in ("map_identify.js", "map_legend.js", "map.js"):
        assert (STATIC / name).read_text(encoding="utf-8") in page, name
    assert all((STATIC / name).read_text(encoding="utf-8") not in page
               for name in ("map_search.js", "map_draw.js", "map_siting.js", "map_language.js"))
    for name in planner:  # the parts the page loads are the ones there are, each served
        assert http.get(f"/static/petakota/{name}").status_code == 200, name
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in MAP_SCRIPTS}
    assert max(sizes.values()) <= 300, sizes


def computed(page, selector: str, props: list[str]) -> dict[str, str]:
    return page.evaluate("""([s, props]) => { const e = document.querySelector(s), st = getComputedStyle(e);
        return Object.fromEntries(props.map(p => [p, st.getPropertyValue(p)])); }""", [selector, props])


def rgb(color: str) -> str:
    return "rgb({}, {}, {})".format(*(int(color[i:i + 2], 16) for i in (1, 3, 5)))


def test_vertices_identify_list_site_numbers_and_swatches_look_as_the_stylesheet_says(watched, server):
    w = watched(f"{server}/map?basemap=none")
    page = w.page
    # the legend's swatches: each entry's colour, through the stylesheet's custom property
    legend = page.evaluate("() => petakota.map && JSON.parse(document.getElementById('petakota-config')"
                           ".textContent).layers.filter(l => l.visible)[0].style.legend[0].color")
    swatch = computed(page, "#pk-legend .pk-swatch", ["background-color", "width", "height"])
    assert swatch == {"background-color": rgb(legend), "width": "11px", "height": "11px"}

    page.evaluate("() => petakota.map.setView([3.60, 98.49], 13, {animate: false})")
    page.click("#pk-measure-area")
    click_map(page, 3.59, 98.475)
    click_map(page, 3.59, 98.505)
    dot = computed(page, ".leaflet-marker-pane .pk-vertex .pk-vertex-dot",
                   ["width", "height", "border-top-color", "border-top-width", "background-color", "border-radius"])
    assert dot == {"width": "10px", "height": "10px", "border-top-color": rgb("#00B3FF"), "border-top-width": "2px",
                   "background-color": "rgb(255, 255, 255)", "border-radius": "7px"}
    page.click("#pk-clear")

    # the identification list: a plain list of full-width bold buttons
    page.mouse.click(*(lambda b: (b["x"] + b["width"] / 2, b["y"] + b["height"] / 2))(
        page.locator("#map").bounding_box()))
    page.wait_for_function("() => petakota.results.identify", timeout=15_000)
    page.locator(".leaflet-popup-content #pk-identify").wait_for(timeout=5_000)
    assert computed(page, "#pk-identify", ["list-style-type", "padding-left", "margin-top"]) == {
        "list-style-type": "none", "padding-left": "0px", "margin-top": "4px"}
    button = computed(page, "#pk-identify .pk-feature", ["font-weight", "text-align", "display", "cursor", "width"])
    list_width = page.evaluate("() => getComputedStyle(document.getElementById('pk-identify')).width")
    assert button == {"font-weight": "700", "text-align": "left", "display": "block", "cursor": "pointer",
                      "width": list_width}
    page.evaluate("() => petakota.map.closePopup()")

    # the siting candidates' numbers: purple discs with a white figure; the raster legend's ramp
    page.click("#pk-siting")
    page.wait_for_function("() => petakota.results.siting && petakota.results.rasterLegend", timeout=240_000)
    badge = computed(page, ".pk-site-number .pk-site-badge",
                     ["width", "height", "background-color", "color", "font-weight", "text-align", "border-radius"])
    assert badge == {"width": "24px", "height": "24px", "background-color": rgb("#7A00CC"),
                     "color": "rgb(255, 255, 255)", "font-weight": "700", "text-align": "center",
                     "border-radius": "12px"}
    ramp = computed(page, "#pk-raster-legend .pk-ramp", ["height", "background-image"])
    stops = page.evaluate("() => petakota.results.rasterLegend.legend.stops.map(s => s.color)")
    assert ramp["height"] == "10px" and ramp["background-image"].startswith("linear-gradient")
    assert ramp["background-image"].count("rgb") == len(stops) and rgb(stops[0]) in ramp["background-image"]
    assert computed(page, "#pk-raster-legend .pk-ramp-ends", ["display", "justify-content"]) == {
        "display": "flex", "justify-content": "space-between"}
    screenshot(page, "polish-stylesheet-looks")
    assert w.errors() == []


# --- 6: a language switch keeps the view, the layers, the drawing and the siting result -----------------------------

def shown_layers(page) -> list[str]:
    return page.evaluate("() => Object.keys(petakota.grids).filter(id => petakota.map.hasLayer(petakota.grids[id]))")


def test_the_language_switch_keeps_view_layers_sketch_and_siting(watched, server):
    w = watched(f"{server}/map?basemap=none")
    page = w.page
    before = shown_layers(page)
    assert "kecamatan" in before and "zoning" not in before
    # the planner's work: a view of their own, kecamatan off, zoning on, a site being drawn, the siting result
    page.evaluate("""() => { petakota.map.removeLayer(petakota.grids.kecamatan);
                              petakota.map.addLayer(petakota.grids.zoning); }""")
    page.click("#pk-siting")
    page.wait_for_function("() => petakota.results.siting && petakota.results.rasterLegend", timeout=240_000)
    sites = page.evaluate("() => petakota.results.siting.candidates.features.map(f => f.properties)")
    assert len(sites) >= 2
    page.click("#pk-sites li[data-site='2'] button")  # the second candidate chosen (the map zooms to it)
    page.evaluate("() => petakota.map.setView([3.6032, 98.4871], 14, {animate: false})")
    page.click("#pk-measure-area")
    for lat, lon in ((3.600, 98.480), (3.600, 98.495), (3.610, 98.495)):
        click_map(page, lat, lon)
    view = page.evaluate("() => [petakota.map.getCenter().lat, petakota.map.getCenter().lng, petakota.map.getZoom()]")
    layers = shown_layers(page)
    assert "kecamatan" not in layers and "zoning" in layers

    page.click("#pk-lang")  # a new page, in English
    page.wait_for_function("() => window.petakota && petakota.lang === 'en' && petakota.results.switched",
                           timeout=30_000)
    wait_ready(page)
    after = page.evaluate("() => [petakota.map.getCenter().lat, petakota.map.getCenter().lng, petakota.map.getZoom()]")
    assert after[2] == view[2] and after[0] == pytest.approx(view[0], abs=1e-6) and \
        after[1] == pytest.approx(view[1], abs=1e-6)
    assert sorted(shown_layers(page)) == sorted(layers)
    titles = [t.strip() for t in page.locator("#pk-legend .pk-legend-title").all_inner_texts()]
    assert any(t.startswith(CATALOG["zoning"].title_en) for t in titles), titles  # the legend follows
    assert not any(t.startswith(CATALOG["kecamatan"].title_en) for t in titles), titles
    assert page.locator(".leaflet-marker-pane .pk-vertex").count() == 3  # the sketch, still being drawn
    page.wait_for_function("() => document.querySelectorAll('#pk-sites li').length > 0", timeout=30_000)
    items = page.locator("#pk-sites li")
    assert items.count() == len(sites)
    for n, props in enumerate(sites, start=1):  # the same candidates, explained in English now
        assert page.locator(f"#pk-sites li[data-site='{n}'] p").inner_text() == props["explanation_en"]
        assert page.locator(f"#pk-sites li[data-site='{n}'] button").inner_text().startswith(f"Site {n}: ")
    assert page.get_attribute("#pk-sites li[data-site='2']", "aria-current") == "true"
    assert page.locator(".pk-site-number").count() == len(sites)
    screenshot(page, "polish-language-switch-kept")
    # the view is taken once: a reload opens the map as the address says
    page.reload()
    wait_ready(page)
    assert sorted(shown_layers(page)) == sorted(before)
    assert w.errors() == []
