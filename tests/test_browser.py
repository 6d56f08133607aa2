"""The web maps in a real browser (Playwright driving Debian's Chromium): the planner map, the public embed, the
static export read from a PMTiles archive. Each page must draw (pixels of the layer colours in the screenshots),
load nothing from outside hosts but the optional OpenStreetMap basemap, log no JavaScript error and send no private
field to the public. Screenshots are kept in tests/artifacts/ for a person to look at."""

from __future__ import annotations

import gzip
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from pmtiles.reader import MmapSource, Reader, all_tiles
from pyproj import Transformer
from shapely import wkt
from shapely.geometry import LineString, Polygon, box, mapping
from sqlalchemy import text

from gis.render.messages import MESSAGES
from gis.render.webmap import STATIC_DIR
from layers import CATALOG
from layers.maps import MAPS
from layers.planning import PARK_CLASSES
from tests.cli_inprocess import run_cli
from tests.conftest import serve, serve_app

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 800}
PRIVATE_FIELDS = ("pemilik", "nik", "kompensasi_rp", "kontak_nama", "kontak_telepon")
OSM_HOST = "tile.openstreetmap.org"
PROJECT = "kawasan-industri-binjai"
BACKGROUND = (0xF4, 0xF1, 0xEA)  # #map background in map.css (no basemap)
ROAD = (0xEB, 0x1E, 0x1E)
EMBED_BUDGET = 300 * 1024
READY_MS = 45_000
TO_METRIC = Transformer.from_crs(4326, 32647, always_xy=True)


def hex_rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


def blend(top, bottom, alpha: float) -> np.ndarray:
    return alpha * np.asarray(top, float) + (1 - alpha) * np.asarray(bottom, float)


# What a park and an arterial road look like on the web map with no basemap: the style's colour at the style's
# opacity (parks 0.7, lines 0.9) over the background tinted by the kelurahan fill (#777777 at 0.05).
UNDER = blend(hex_rgb("#777777"), BACKGROUND, 0.05)
PARK_ON_MAP = [blend(hex_rgb(c), UNDER, 0.7) for _, _, c in PARK_CLASSES.values()]
ROAD_ON_MAP = [blend(ROAD, UNDER, 0.9), blend(ROAD, BACKGROUND, 0.9)]


# --- helpers -----------------------------------------------------------------------------------------------------

class Watched:
    """A page with everything it did recorded: console errors, uncaught errors, every request and response."""

    def __init__(self, context):
        self.context = context
        self.page = page = context.new_page()
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.requests: list[str] = []
        self.responses = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("response", lambda r: self.responses.append(r))

    def _console(self, msg):
        if msg.type == "error":
            self.console_errors.append(f"{msg.text} @ {msg.location.get('url', '')}")

    @property
    def hosts(self) -> set[str]:
        """host:port of every http(s) request; any other scheme than data:/blob: is reported as itself."""
        out = set()
        for url in self.requests:
            u = urlsplit(url)
            if u.scheme in ("http", "https", "ws", "wss"):
                out.add(u.netloc)
            elif u.scheme not in ("data", "blob"):
                out.add(f"{u.scheme}:")
        return out

    def errors(self, ignore_host: str | None = None) -> list[str]:
        """Every JavaScript error: the page's own hook, uncaught exceptions, console errors."""
        hook = self.page.evaluate("() => (window.petakota && window.petakota.errors) || ['no window.petakota']")
        console = [m for m in self.console_errors if not (ignore_host and ignore_host in m)]
        return list(hook) + self.page_errors + console

    def checkpoint(self):
        """Forget the errors so far (a page shared by several tests)."""
        self.console_errors.clear()
        self.page_errors.clear()
        self.page.evaluate("() => { petakota.errors.length = 0; }")

    def open(self, url: str):
        self.page.goto(url, wait_until="load")
        wait_ready(self.page)
        return self

    def close(self):
        self.context.close()


def settle(page):
    """Waits until the map stops moving (a popup's auto-pan, a fly-to)."""
    page.evaluate("""() => new Promise(resolve => {
        let last = null, same = 0;
        (function tick() {
            const c = petakota.map.getCenter(), key = c.lat + ',' + c.lng + ',' + petakota.map.getZoom();
            same = key === last ? same + 1 : 0;
            last = key;
            if (same >= 5) { resolve(); } else { requestAnimationFrame(tick); }
        })();
    })""")


def wait_ready(page, timeout: int = READY_MS):
    """petakota.ready (every visible layer's tiles loaded once), then the current view done: the map still, no
    layer loading tiles, every tile faded in, and two frames painted."""
    page.wait_for_function("() => window.petakota && window.petakota.ready === true", timeout=timeout)
    settle(page)
    page.wait_for_function("""() => {
        let loading = false;
        petakota.map.eachLayer(l => { loading = loading || (l.isLoading && l.isLoading()); });
        return !loading && !petakota.map._animatingZoom && Array.from(document.querySelectorAll('.leaflet-tile'))
            .every(t => getComputedStyle(t).opacity === '1');
    }""", timeout=timeout)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def screenshot(page, name: str, selector: str | None = None) -> np.ndarray:
    """Saves tests/artifacts/<name>.png (the page, or one element) and returns it as an RGB array."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    data = page.locator(selector).screenshot(path=path) if selector else page.screenshot(path=path)
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def near(img: np.ndarray, colors, tol: float) -> int:
    """How many pixels are within `tol` (per channel) of any of `colors`."""
    mask = np.zeros(img.shape[:2], bool)
    for c in colors:
        mask |= (np.abs(img - np.asarray(c, float)) <= tol).all(axis=-1)
    return int(mask.sum())


def latlng_to_px(page, lat: float, lon: float) -> tuple[float, float]:
    p = page.evaluate("([lat, lon]) => petakota.map.latLngToContainerPoint([lat, lon])", [lat, lon])
    return p["x"], p["y"]


def px_to_latlng(page, x: float, y: float) -> tuple[float, float]:
    ll = page.evaluate("([x, y]) => petakota.map.containerPointToLatLng([x, y])", [x, y])
    return ll["lat"], ll["lng"]


def crop_to(img: np.ndarray, page, bounds) -> np.ndarray:
    """The part of a #map screenshot inside lon/lat `bounds` (minlon, minlat, maxlon, maxlat)."""
    x0, y1 = latlng_to_px(page, bounds[1], bounds[0])
    x1, y0 = latlng_to_px(page, bounds[3], bounds[2])
    h, w = img.shape[:2]
    return img[max(0, int(y0)):min(h, int(y1)), max(0, int(x0)):min(w, int(x1))]


def body_of(resp) -> bytes:
    """A response's body; Chromium keeps none for a fetch the page read before anyone asked (the embed's early
    tiles), so the same anonymous request is made again."""
    try:
        return resp.body()
    except PlaywrightError:  # "No data found for resource with given identifier"
        return httpx.get(resp.url, timeout=30).content


def tile_box(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """A Web Mercator tile's west, south, east, north in degrees."""
    def lat(row: int) -> float:
        return float(np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * row / 2 ** z)))))
    return x / 2 ** z * 360 - 180, lat(y + 1), (x + 1) / 2 ** z * 360 - 180, lat(y)


def city_bounds(engine) -> tuple[float, float, float, float]:
    with engine.connect() as conn:
        return tuple(conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                                       "FROM (SELECT ST_Extent(geom) e FROM kota) s")).one())


def private_values(engine) -> set[str]:
    """The owners' names and NIKs of the project parcels and the business centres' contacts."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT pemilik, nik FROM project_parcels UNION ALL "
                                 "SELECT kontak_nama, kontak_telepon FROM business_centers")).all()
    values = {str(v) for row in rows for v in row if v}
    assert len(values) > 20  # the sample city has them: the checks below can fail
    return values


def leaks_in_tile(decoded: dict, values: set[str]) -> list:
    found = []
    for name, layer in decoded.items():
        for f in layer["features"]:
            found += [(name, k) for k in f["properties"] if k in PRIVATE_FIELDS]
            found += [(name, v) for v in f["properties"].values() if str(v) in values]
    return found


def leaks_in_text(body: str, values: set[str]) -> list:
    found = [f for f in PRIVATE_FIELDS if re.search(rf"""["']{f}["']""", body)]
    return found + [v for v in values if v in body]


def kelurahan_only_boundary_points(engine, n: int = 40) -> list[tuple[float, float]]:
    """Points (lon, lat) on kelurahan boundaries at least ~150 m from any kecamatan or city boundary, so that
    only the kelurahan layer draws a line there."""
    with engine.connect() as conn:
        geom = conn.execute(text("""
            SELECT ST_AsText(ST_Difference(
                (SELECT ST_Union(ST_Boundary(geom)) FROM kelurahan),
                (SELECT ST_Buffer(ST_Union(ST_Boundary(geom)), 0.0015) FROM
                   (SELECT geom FROM kecamatan UNION ALL SELECT geom FROM kota) b)))""")).scalar()
    lines = wkt.loads(geom)
    assert lines.length > 0
    return [tuple(lines.interpolate(i / n, normalized=True).coords[0]) for i in range(n)]


def grey_line_near(page, img: np.ndarray, points, radius: int = 2) -> tuple[int, int]:
    """(points where a grey boundary line is drawn within `radius` px, points checked): points under a control
    (legend, layer switcher) or outside the view are skipped."""
    hit = checked = 0
    h, w = img.shape[:2]
    for lon, lat in points:
        x, y = latlng_to_px(page, lat, lon)
        xi, yi = int(round(x)), int(round(y))
        if not (radius <= xi < w - radius and radius <= yi < h - radius):
            continue
        on_map = page.evaluate("""([x, y]) => {
            const r = document.getElementById('map').getBoundingClientRect();
            const e = document.elementFromPoint(r.left + x, r.top + y);
            return !!e && !!e.closest('#map') && !e.closest('.leaflet-control') }""", [xi, yi])
        if not on_map:
            continue
        checked += 1
        patch = img[yi - radius:yi + radius + 1, xi - radius:xi + radius + 1]
        neutral = (patch.max(axis=-1) - patch.min(axis=-1)) <= 14
        darker = patch.mean(axis=-1) <= 222  # the background is ~240
        hit += bool((neutral & darker).any())
    return hit, checked




def cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "PETAKOTA_DATA_DIR": str(settings.data_dir)}
    result = subprocess.run([sys.executable, "-m", "gis", *args], capture_output=True, text=True, env=env,
                            timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def check_drew(page, img: np.ndarray, engine, what: str):
    """Parks and roads are drawn inside the city in their declared colours."""
    city = crop_to(img, page, city_bounds(engine))
    assert city.size, f"{what}: the city is not in view"
    per_class = [near(city, [c], 10) for c in PARK_ON_MAP]
    assert sum(per_class) > 120, f"{what}: only {sum(per_class)} pixels in a park colour"
    assert sum(n >= 10 for n in per_class) >= 3, f"{what}: park classes drawn {per_class}"
    roads = near(city, ROAD_ON_MAP, 16)
    assert roads > 150, f"{what}: only {roads} pixels in the arterial road colour"
    # and the background is there too: the map is not one flood of colour
    assert near(city, [BACKGROUND, UNDER], 4) > city.shape[0] * city.shape[1] * 0.2


# --- fixtures ----------------------------------------------------------------------------------------------------

@pytest.fixture()
def watched(browser):
    """Opens watched pages, each in its own context (own sessionStorage, no shared cache); closes them after."""
    opened = []

    def make():
        w = Watched(browser.new_context(viewport=VIEWPORT))
        opened.append(w)
        return w

    yield make
    for w in opened:
        w.close()


@pytest.fixture(scope="module")
def planner(browser, server):
    """One planner map (no basemap) shared by the planner-tool tests."""
    w = Watched(browser.new_context(viewport=VIEWPORT)).open(f"{server}/map?basemap=none")
    yield w
    w.close()


@pytest.fixture()
def tools(planner):
    """The shared planner map, with the errors of earlier tests forgotten and no popup open."""
    planner.checkpoint()
    planner.page.evaluate("() => { petakota.map.closePopup(); }")  # returns nothing: the map is too deep to send
    return planner


def local_host(server: str) -> str:
    return urlsplit(server).netloc


# --- 1, 2: the planner map --------------------------------------------------------------------------------------

def test_planner_map_draws_every_visible_layer_offline(watched, server, engine):
    w = watched().open(f"{server}/map?basemap=none")
    page = w.page
    loaded = page.evaluate("() => petakota.layersLoaded")
    expected = {i for i in MAPS["binjai"].visible if CATALOG[i].public}
    assert {"kelurahan", "parks", "roads", "kecamatan", "kota"} <= expected
    assert set(loaded) == expected, loaded
    assert w.errors() == []
    img = screenshot(page, "map-planner-nobasemap", "#map")
    screenshot(page, "map-planner-nobasemap-page")
    check_drew(page, img, engine, "planner map")
    hit, checked = grey_line_near(page, img, kelurahan_only_boundary_points(engine))
    assert checked >= 15 and hit >= 0.7 * checked, f"kelurahan boundary drawn at {hit} of {checked} points"
    assert w.hosts == {local_host(server)}, w.hosts
    tiles = [u for u in w.requests if "/tiles/WebMercatorQuad/" in u]
    # one tile holding every visible layer per place, not one per layer and place (latency is paid per request)
    assert tiles and all(urlsplit(u).path.startswith("/tiles/WebMercatorQuad/") for u in tiles), tiles[:3]
    assert {frozenset(parse_qs(urlsplit(u).query)["collections"][0].split(",")) for u in tiles} == {
        frozenset(expected)}
    # and only tiles over the city (its box with the map's 10 % margin)
    w0, s0, e0, n0 = city_bounds(engine)
    mx, my = 0.1 * (e0 - w0), 0.1 * (n0 - s0)
    for u in tiles:
        tw, ts, te, tn = tile_box(*map(int, urlsplit(u).path.split("/")[3:6]))
        assert tw <= e0 + mx and te >= w0 - mx and ts <= n0 + my and tn >= s0 - my, (u, (w0, s0, e0, n0))


def test_the_online_basemap_asks_only_osm_and_gives_way_to_the_city_basemap_when_unreachable(watched, server,
                                                                                             engine):
    w = watched()
    # Offline here, and no load on the OSM servers from a test: requests to outside hosts are recorded, then aborted.
    w.page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    w.open(f"{server}/map?basemap=online")
    assert w.hosts == {local_host(server), OSM_HOST}, w.hosts
    osm = [u for u in w.requests if urlsplit(u).netloc == OSM_HOST]
    assert osm and all(re.fullmatch(r"https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png", u) for u in osm), osm[:3]
    assert w.errors(ignore_host=OSM_HOST) == []
    # the first failed tile puts the city's own basemap in its place, and the page says so once
    w.page.wait_for_function("() => petakota.basemap() === 'city'", timeout=10_000)
    assert w.page.locator(".pk-basemap-note").inner_text() == MESSAGES["basemap_unavailable"]["id"]
    check_drew(w.page, screenshot(w.page, "map-planner-osm-offline", "#map"), engine, "planner map with basemap")


LAND = hex_rgb("#fbfaf6")  # the city's land on its own basemap (gis/render/basemap.py)
RIVER_LINE = hex_rgb("#9cc3e0")


def test_without_internet_the_map_opens_on_the_city_basemap_asks_no_outside_host_and_says_so_once(
        watched, settings):
    # a service whose online basemap cannot be reached (.invalid never resolves, RFC 6761)
    offline = settings.model_copy(update={"basemap_url": "https://basemap.invalid/{z}/{x}/{y}.png"})
    with serve(offline) as url:
        w = watched().open(f"{url}/map")
        page = w.page
        assert w.hosts == {local_host(url)}, w.hosts
        assert w.errors() == []
        assert page.evaluate("() => petakota.basemap()") == "city"
        assert page.locator(".pk-basemap-note").count() == 1
        assert page.locator(".pk-basemap-note").inner_text() == MESSAGES["basemap_unavailable"]["id"]
        # the basemap is drawn: with every layer switched off, the city's land and its rivers remain
        page.evaluate("() => Object.values(petakota.grids).forEach(g => petakota.map.removeLayer(g))")
        settle(page)
        img = screenshot(page, "map-planner-city-basemap", "#map")
        assert near(img, [LAND], 3) > 0.05 * img.shape[0] * img.shape[1]
        assert near(img, [BACKGROUND], 3) > 0  # outside the city: the page's plain background
        assert near(img, [RIVER_LINE], 12) > 100
        # said once: the page opened again in the same tab (a language switch, a reload) does not repeat it
        page.reload()
        wait_ready(page)
        assert page.evaluate("() => petakota.basemap()") == "city"
        assert page.locator(".pk-basemap-note").count() == 0
        # the switcher offers both basemaps, in the page's language
        labels = page.locator(".leaflet-control-layers-base label").all_inner_texts()
        assert [x.strip() for x in labels] == [MESSAGES["basemap_city"]["id"], MESSAGES["basemap_online"]["id"]]


# --- 3: the public embed ----------------------------------------------------------------------------------------

def test_embed_is_small_public_and_draws(watched, server, engine):
    w = watched().open(f"{server}/embed/binjai?basemap=none")
    page = w.page
    assert w.errors() == []
    assert w.hosts == {local_host(server)}, w.hosts
    assert page.locator("#panel").count() == 0  # no planner tools in an embed
    img = screenshot(page, "embed-binjai", "#map")
    check_drew(page, img, engine, "embed")
    loaded = set(page.evaluate("() => petakota.layersLoaded"))
    assert loaded == {i for i in MAPS["binjai"].visible if CATALOG[i].public}

    values = private_values(engine)
    total, tiles, checked, drawn = 0, 0, [], set()
    for resp in w.responses:
        if urlsplit(resp.url).scheme not in ("http", "https"):
            continue
        total += resp.request.sizes()["responseBodySize"]
        ctype = resp.headers.get("content-type", "")
        if resp.status != 200:
            continue
        if "vnd.mapbox-vector-tile" in ctype:
            tiles += 1
            decoded = mapbox_vector_tile.decode(body_of(resp))
            assert leaks_in_tile(decoded, values) == [], resp.url
            drawn |= {name for name, layer in decoded.items() if layer["features"]}
            checked.append(resp.url)
        elif "html" in ctype or "json" in ctype:
            assert leaks_in_text(resp.text(), values) == [], resp.url
            checked.append(resp.url)
    # one tile request holds every visible layer: each one's data was in the tiles checked
    assert tiles >= 1 and drawn >= loaded and any("/embed/binjai" in u for u in checked), (tiles, drawn)
    # the first tiles were asked for while the scripts loaded (early.js), and the map drew those, asking none twice
    asked = [u for u in w.requests if "/tiles/WebMercatorQuad/" in u]
    assert page.evaluate("() => Object.keys(window.petakotaEarly).length") == 0
    assert len(asked) == len(set(asked)), asked
    assert 20_000 < total < EMBED_BUDGET, f"the embed transferred {total} bytes"
    # the page carries the libraries (no script file asked for) and the server compressed it
    assert not [u for u in w.requests if u.split("?")[0].endswith(".js")]
    doc = next(r for r in w.responses if "/embed/binjai" in r.url)
    assert "Leaflet" in doc.text() and "protomapsL" in doc.text()
    assert doc.headers.get("content-encoding") == "gzip"
    assert doc.request.sizes()["responseBodySize"] < len(doc.body()) / 2


# --- 4: planner tools -------------------------------------------------------------------------------------------

def click_map(page, lat: float, lon: float) -> tuple[float, float]:
    """Clicks the map at (about) lat/lon, on a whole pixel; returns the exact lat/lon of that pixel."""
    settle(page)
    x, y = latlng_to_px(page, lat, lon)
    x, y = round(x), round(y)
    exact = px_to_latlng(page, x, y)
    r = page.locator("#map").bounding_box()
    page.mouse.click(r["x"] + x, r["y"] + y)
    page.evaluate("() => { petakota.map.closePopup(); }")  # a feature's popup must not cover the next vertex
    settle(page)
    return exact


def run_drawing(page, button: str, latlons) -> list[tuple[float, float]]:
    page.evaluate("() => { delete petakota.results.measure; delete petakota.results.conformity;"
                  " delete petakota.results.evaluate; }")
    page.click(button)
    clicked = [click_map(page, lat, lon) for lat, lon in latlons]
    # what the planner sees: the shape being drawn (one SVG path in the overlay pane)
    drawn = page.locator('.leaflet-overlay-pane path[stroke="#00B3FF"]').count()
    assert drawn >= 1, f"clicking the map {len(clicked)} times drew nothing; page errors: {page_errors(page)}"
    page.click("#pk-finish")
    page.wait_for_function("() => petakota.results.measure", timeout=30_000)
    return clicked


def page_errors(page) -> list[str]:
    return page.evaluate("() => petakota.errors.slice(0, 3)")


def written(value: float, decimals: int, lang: str) -> str:
    """`value` as each language writes it: en 1,350.51, id 1.350,51 (Python's own formatting, then the marks
    swapped: independent of the page's Intl and of the service's formatter)."""
    text = f"{value:,.{decimals}f}"
    return text if lang == "en" else text.translate(str.maketrans(",.", ".,"))


def metric(lonlat_geom):
    """The geometry in EPSG:32647 (metres), projected with pyproj independently of the service."""
    return shapely.transform(lonlat_geom, lambda xy: np.column_stack(TO_METRIC.transform(xy[:, 0], xy[:, 1])))


def test_search_zooms_to_kelurahan(tools):
    page = tools.page
    page.fill("#pk-search", "Tunggurono")  # found as it is typed (no Enter)
    item = page.locator("#pk-search-results li", has_text="Tunggurono")
    item.first.wait_for(timeout=15_000)
    assert page.locator("#pk-search-results li").first.inner_text().startswith("Tunggurono (Kelurahan")
    zoom_before = page.evaluate("() => petakota.map.getZoom()")
    item.first.click()
    page.wait_for_function("() => petakota.results.search", timeout=10_000)
    chosen = page.evaluate("() => petakota.results.search")
    assert (chosen["collection"], chosen["name"]) == ("kelurahan", "Tunggurono")
    assert page.evaluate("() => petakota.map.getZoom()") > zoom_before
    wait_ready(page)
    screenshot(page, "planner-search-tunggurono")
    assert tools.errors() == []


def test_clicking_a_feature_opens_its_popup(tools, engine):
    with engine.connect() as conn:
        # a point of Tunggurono at least 100 m from anything drawn above the kelurahan layer
        lon, lat = conn.execute(text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_Difference(k.geom, (SELECT ST_Union("
            "ST_Buffer(g::geography, 100)::geometry) FROM (SELECT geom g FROM roads UNION ALL SELECT geom FROM parks "
            "UNION ALL SELECT geom FROM industrial_zones UNION ALL SELECT geom FROM business_centers "
            "UNION ALL SELECT geom FROM rivers UNION ALL SELECT geom FROM toll_gates) o))) p "
            "FROM kelurahan k WHERE k.nama = 'Tunggurono') s")).one()
    page = tools.page
    page.evaluate("([lat, lon]) => petakota.map.setView([lat, lon], 14, {animate: false})", [lat, lon])
    wait_ready(page)
    before = len(page_errors(page))
    x, y = latlng_to_px(page, lat, lon)
    r = page.locator("#map").bounding_box()
    page.mouse.click(r["x"] + x, r["y"] + y)
    popup = page.locator(".leaflet-popup-content")
    try:
        popup.first.wait_for(timeout=5_000)
    except Exception:
        pytest.fail(f"no popup after clicking the kelurahan; page errors: {page_errors(page)[before:]}")
    assert "Tunggurono" in popup.all_inner_texts()[-1]
    screenshot(page, "planner-popup")
    page.evaluate("() => { petakota.map.closePopup(); }")
    assert tools.errors() == []


def test_measure_area_and_length(tools):
    page = tools.page
    page.evaluate("() => petakota.map.setView([3.60, 98.49], 13, {animate: false})")
    # a 0.03 x 0.02 degree rectangle (about 3.3 x 2.2 km) in the city centre
    corners = [(3.59, 98.475), (3.59, 98.505), (3.61, 98.505), (3.61, 98.475)]
    clicked = run_drawing(page, "#pk-measure-area", corners)
    m = page.evaluate("() => petakota.results.measure")
    expected = metric(Polygon([(lon, lat) for lat, lon in clicked]))
    assert 600 < expected.area / 1e4 < 800  # the clicks landed where they were meant to
    assert m["area_ha"] == pytest.approx(expected.area / 1e4, rel=0.005)
    assert m["length_m"] == pytest.approx(expected.length, rel=0.005)
    shown = page.locator("#pk-output").inner_text()
    assert f"{written(m['area_ha'], 2, 'id')} ha" in shown, shown
    assert f"{written(m['length_m'], 0, 'id')} m" in shown, shown
    screenshot(page, "planner-measure-area")

    clicked = run_drawing(page, "#pk-measure-line", [(3.595, 98.48), (3.605, 98.50)])
    m = page.evaluate("() => petakota.results.measure")
    expected_m = metric(LineString([(lon, lat) for lat, lon in clicked])).length
    assert 2000 < expected_m < 3000
    assert m["length_m"] == pytest.approx(expected_m, rel=0.005) and m["area_ha"] == 0
    assert f"{written(m['length_m'], 1, 'id')} m" in page.locator("#pk-output").inner_text()
    assert tools.errors() == []


def test_panel_numbers_follow_the_language(watched, server):
    """The same drawn area reads 1.234,56 on the Bahasa Indonesia map and 1,234.56 on the English one."""
    corners = [(3.59, 98.475), (3.59, 98.505), (3.61, 98.505), (3.61, 98.475)]
    shown = {}
    for lang in ("id", "en"):
        w = watched().open(f"{server}/map?basemap=none&lang={lang}")
        page = w.page
        page.evaluate("() => petakota.map.setView([3.60, 98.49], 13, {animate: false})")
        clicked = run_drawing(page, "#pk-measure-area", corners)
        m = page.evaluate("() => petakota.results.measure")
        expected = metric(Polygon([(lon, lat) for lat, lon in clicked]))
        assert m["area_ha"] == pytest.approx(expected.area / 1e4, rel=0.005)
        assert expected.length > 1000  # the perimeter has a thousands mark
        text = shown[lang] = page.locator("#pk-output").inner_text()
        area, perimeter = written(m["area_ha"], 2, lang), written(m["length_m"], 0, lang)
        label = {"id": ("Luas", "Keliling"), "en": ("Area", "Perimeter")}[lang]
        assert f"{label[0]}: {area} ha, {label[1]}: {perimeter} m" == text, text
        target = page.locator("#pk-siting").inner_text()
        assert f"({written(138, 0, lang)} ha)" in target
        assert w.errors() == []
    assert "," in shown["id"].split(" ha")[0] and "." in shown["en"].split(" ha")[0]


def estate_site(engine):
    """Four corners (lat, lon) of a square well inside the planned estate (>= 150 m from its edge), and the
    estate (lon/lat shapely geometry)."""
    with engine.connect() as conn:
        estate = wkt.loads(conn.execute(text("SELECT ST_AsText(geom) FROM projects WHERE slug = :s"),
                                        {"s": PROJECT}).scalar())
    inner = metric(estate).buffer(-150)
    assert not inner.is_empty
    c = inner.representative_point()
    half = 250.0
    while not inner.contains(box(c.x - half, c.y - half, c.x + half, c.y + half)):
        half *= 0.8
        assert half > 20, "no room inside the estate"
    back = Transformer.from_crs(32647, 4326, always_xy=True)
    square = [(c.x - half, c.y - half), (c.x + half, c.y - half), (c.x + half, c.y + half), (c.x - half, c.y + half)]
    return [back.transform(x, y)[::-1] for x, y in square], estate


def test_site_inside_estate_conforms_and_is_scored(tools, engine):
    page = tools.page
    corners, estate = estate_site(engine)
    lat, lon = estate.centroid.y, estate.centroid.x
    page.evaluate("([lat, lon]) => petakota.map.setView([lat, lon], 15, {animate: false})", [lat, lon])
    options = page.eval_on_selector_all("#pk-activity option", "os => os.map(o => o.value)")
    assert "industri besar" in options
    page.select_option("#pk-activity", "industri besar")
    clicked = run_drawing(page, "#pk-draw-site", corners)
    site = Polygon([(lon, lat) for lat, lon in clicked])
    assert estate.contains(site)
    page.wait_for_function("() => petakota.results.conformity && petakota.results.evaluate", timeout=120_000)
    conformity, evaluate = page.evaluate("() => [petakota.results.conformity, petakota.results.evaluate]")
    assert conformity["verdict"] == "I", conformity
    score = evaluate["score"]
    assert isinstance(score, (int, float)) and not isinstance(score, bool) and 0 <= score <= 100, evaluate
    assert page.locator("#pk-output .pk-verdict-I").count() == 1
    zones = page.locator("#pk-zones li").all_inner_texts()
    assert zones[0].startswith("Kawasan peruntukan industri (KPI): 100 %"), zones  # zone names, not only codes
    # the analysis writes its explanation with the decimals of each language; the page shows its language's
    assert evaluate["explanation"]["id"].startswith(f"Skor {written(evaluate['score'], 2, 'id')} (")
    assert evaluate["explanation"]["en"].startswith(f"Score {evaluate['score']:.2f} (")
    shown = page.locator("#pk-suitability").inner_text()
    assert shown.startswith(f"{MESSAGES['suitability']['id']}: Skor {written(evaluate['score'], 2, 'id')} ("), shown
    assert page.evaluate("() => petakota.results.measure.area_ha") == pytest.approx(metric(site).area / 1e4,
                                                                                      rel=0.005)
    wait_ready(page)
    screenshot(page, "planner-site-in-estate")
    assert tools.errors() == []


def test_a_site_checked_by_kbli_shows_what_the_api_answers(tools, engine, http):
    page = tools.page
    corners, estate = estate_site(engine)
    page.evaluate("([lat, lon]) => petakota.map.setView([lat, lon], 15, {animate: false})",
                  [estate.centroid.y, estate.centroid.x])
    page.fill("#pk-kbli", "47111")
    clicked = run_drawing(page, "#pk-draw-site", corners)
    page.wait_for_function("() => petakota.results.conformity", timeout=120_000)
    shown = page.evaluate("() => petakota.results.conformity")
    site = Polygon([(lon, lat) for lat, lon in clicked])
    asked = http.post("/processes/zoning-conformity/execution",
                      json={"inputs": {"geometry": mapping(site), "kbli": "47111"}}).json()
    assert shown["kbli"] == "47111" and shown["verdict"] == asked["verdict"] != "I"  # retail: limited in the estate
    assert page.locator(f"#pk-output .pk-verdict-{asked['verdict']}").count() == 1
    page.fill("#pk-kbli", "")
    assert tools.errors() == []


def test_siting_finds_a_138_ha_candidate(tools, server):
    page = tools.page
    page.click("#pk-siting")
    page.wait_for_function("() => petakota.results.siting", timeout=240_000)
    siting = page.evaluate("() => petakota.results.siting")
    areas = [f["properties"]["area_ha"] for f in siting["candidates"]["features"]]
    assert areas and max(areas) >= 138, areas
    assert page.locator("#pk-sites li").count() == len(areas)
    # numbered on the map and in the list, in the same order, each with its area as the page's language writes it
    labels = page.locator(".pk-site-number").all_inner_texts()
    assert labels == [str(n) for n in range(1, len(areas) + 1)], labels
    for n, area in enumerate(areas, start=1):
        button = page.locator(f"#pk-sites li[data-site='{n}'] button").inner_text()
        assert button == f"Lokasi {n}: {written(area, 1, 'id')} ha", button
    # the suitability raster's legend: its title and the ends of its ramp, written the Indonesian way
    page.wait_for_function("() => petakota.results.rasterLegend", timeout=30_000)
    raster = page.evaluate("() => petakota.results.rasterLegend")
    low, high = raster["legend"]["rescale"]
    assert low < high
    assert raster["title"]["id"] in page.locator("#pk-raster-legend b").inner_text()
    ends = page.locator("#pk-raster-legend .pk-ramp-ends span").all_inner_texts()
    assert ends == [written(low, 2, "id"), written(high, 2, "id")], ends
    # the list leads to the map: the last candidate in view, marked
    last = len(areas)
    page.click(f"#pk-sites li[data-site='{last}'] button")
    settle(page)
    assert page.evaluate("() => petakota.results.site") == last
    bounds = page.evaluate("() => { const b = L.geoJSON(petakota.results.siting.candidates.features[%d])"
                           ".getBounds(); return petakota.map.getBounds().contains(b); }" % (last - 1))
    assert bounds and page.locator(f"#pk-sites li[data-site='{last}']").get_attribute("class").count("pk-active")
    # and the map to the list: clicking number 1 (in the middle of the map, clear of the legend) marks the first
    page.evaluate("() => petakota.map.setView(L.geoJSON(petakota.results.siting.candidates.features[0])"
                  ".getBounds().getCenter(), 14, {animate: false})")
    settle(page)
    page.locator(".pk-site-number").first.click()
    assert page.evaluate("() => petakota.results.site") == 1
    assert "pk-active" in page.locator("#pk-sites li[data-site='1']").get_attribute("class")
    assert "pk-active" not in page.locator(f"#pk-sites li[data-site='{last}']").get_attribute("class") or last == 1
    page.evaluate("() => petakota.map.fitBounds(L.geoJSON(petakota.results.siting.candidates).getBounds())")
    wait_ready(page)
    page.wait_for_timeout(500)  # the suitability raster's PNG tiles
    screenshot(page, "planner-siting")
    assert tools.errors() == []
    assert tools.hosts == {local_host(server)}, tools.hosts


# --- 5: the project panel ---------------------------------------------------------------------------------------

def test_project_panel_shows_acquisition_progress(watched, server, engine):
    with engine.connect() as conn:
        acquired = conn.execute(text("SELECT sum(area_ha) FROM project_parcels WHERE project_slug = :s "
                                     "AND status IN ('compensated', 'certified')"), {"s": PROJECT}).scalar()
        milestones = conn.execute(text("SELECT nama FROM project_milestones WHERE project_slug = :s"),
                                  {"s": PROJECT}).scalars().all()
    assert acquired and milestones
    w = watched().open(f"{server}/map?project={PROJECT}&basemap=none")
    page = w.page
    page.wait_for_function("() => petakota.results.progress", timeout=60_000)
    label = page.locator("#pk-progress-label").inner_text()
    assert f"{written(acquired, 1, 'id')} ha dibebaskan" in label and "138" in label, label
    share = round(100 * acquired / 138)
    assert f"({share} %)" in label, label
    items = page.locator("#pk-milestones li").all_inner_texts()
    assert len(items) == len(milestones)
    for name in milestones:
        assert any(name in i for i in items), (name, items)
    months = ("Januari Februari Maret April Mei Juni Juli Agustus September Oktober November Desember").split()
    for i in items:  # planned dates as Bahasa Indonesia writes them, not ISO
        assert re.match(rf"^\d{{1,2}} ({'|'.join(months)}) \d{{4}} ", i) and not re.search(r"\d{4}-\d\d", i), i
    width = page.evaluate("() => document.getElementById('pk-progress-fill').style.width")
    assert float(width.rstrip("%")) == pytest.approx(100 * acquired / 138, abs=0.5)
    wait_ready(page)  # fitted to the project: its tiles
    screenshot(page, "map-project-progress")
    assert w.errors() == []
    assert w.hosts == {local_host(server)}


# --- 6: language ------------------------------------------------------------------------------------------------

def test_language(watched, server):
    default = watched().open(f"{server}/map?basemap=none")
    page = default.page
    assert page.locator("#pk-legend > b").inner_text() == "Legenda"
    assert page.evaluate("() => [petakota.lang, document.documentElement.lang]") == ["id", "id"]
    assert page.locator("#panel h1").inner_text() == MAPS["binjai"].title_id
    assert "Ukur luas" in page.locator("#pk-measure-area").inner_text()

    en = watched().open(f"{server}/map?basemap=none&lang=en")
    p = en.page
    assert p.locator("#pk-legend > b").inner_text() == "Legend"
    assert p.locator("#panel h1").inner_text() == MAPS["binjai"].title_en
    assert p.evaluate("() => [petakota.lang, document.documentElement.lang]") == ["en", "en"]
    assert "Green open space (parks)" in p.locator("#pk-legend").inner_text()
    assert "Measure area" in p.locator("#pk-measure-area").inner_text()
    screenshot(p, "map-planner-en")
    embed = watched().open(f"{server}/embed/binjai?basemap=none&lang=en")
    assert embed.page.locator("#pk-legend > b").inner_text() == "Legend"
    assert embed.page.title() == MAPS["binjai"].title_en
    for w in (default, en, embed):
        assert w.errors() == []

    # the language button: the whole page switches, not only the parts drawn by the script
    page.click("#pk-lang")  # reloads the page
    page.wait_for_function("() => window.petakota && petakota.lang === 'en'", timeout=15_000)
    wait_ready(page)
    assert page.locator("#pk-legend > b").inner_text() == "Legend"
    assert "Measure area" in page.locator("#pk-measure-area").inner_text()
    screenshot(page, "map-planner-lang-button")
    assert (page.locator("#panel h1").inner_text(), page.evaluate("() => document.documentElement.lang")) == (
        MAPS["binjai"].title_en, "en"), "the language button left the server-rendered title in Bahasa Indonesia"
    # and an explicit ?lang= in a link still wins over the remembered choice
    page.goto(f"{server}/map?basemap=none&lang=id")
    wait_ready(page)
    assert page.locator("#pk-legend > b").inner_text() == "Legenda", "?lang=id ignored after the button chose en"
    assert default.errors() == []


# --- 7: static maps ---------------------------------------------------------------------------------------------

def legend_colours(img: np.ndarray) -> dict[str, int]:
    """Pixels in the legend column (right of the map frame) in each park class colour and the arterial road's."""
    legend = img[:, int(img.shape[1] * 0.73):]
    out = {kelas: near(legend, [hex_rgb(c)], 6) for kelas, (_, _, c) in PARK_CLASSES.items()}
    out["parks"] = sum(out.values())
    out["road"] = near(legend, [ROAD], 6)
    return out


def test_static_map_png_pdf_and_cli(server, settings, engine, tmp_path):
    with engine.connect() as conn:
        classes_drawn = set(conn.execute(text("SELECT DISTINCT kelas FROM parks")).scalars())
    with httpx.Client(base_url=server, timeout=120) as http:
        r = http.get("/maps/binjai.png", params={"width": 900, "height": 700})
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        (ARTIFACTS / "static-binjai.png").parent.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "static-binjai.png").write_bytes(r.content)
        im = Image.open(io.BytesIO(r.content))
        assert im.size == (900, 700)
        img = np.asarray(im.convert("RGB")).astype(int)
        colours = legend_colours(img)
        assert colours["parks"] > 100 and colours["road"] > 10, colours
        # every park class on the map has its swatch in the legend
        missing = sorted(k for k in classes_drawn if colours[k] < 15)  # checked last
        # the map frame itself has parks drawn in it
        frame = img[int(0.10 * 700):int(0.92 * 700), int(0.02 * 900):int(0.72 * 900)]
        assert near(frame, [blend(hex_rgb(c), (255, 255, 255), 0.7) for _, _, c in PARK_CLASSES.values()]
                    + [blend(hex_rgb(c), BACKGROUND, 0.7) for _, _, c in PARK_CLASSES.values()], 25) > 50

        r = http.get("/maps/binjai.png", params={"bbox": "98.52,3.59,98.54,3.61", "width": 400, "height": 300})
        assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (400, 300)
        (ARTIFACTS / "static-binjai-bbox.png").write_bytes(r.content)
        r = http.get("/maps/binjai.pdf", params={"width": 900, "height": 700})
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        assert r.content.startswith(b"%PDF")
        bad = http.get("/maps/binjai.png", params={"bbox": "98.5,3.6,nope"})
        assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")

    out = tmp_path / "binjai.png"
    # in this process: test_print_atlas runs render through python -m gis; embed-snippet runs it here
    rendered = run_cli("render", "binjai", "--out", str(out), "--width", "640", "--height", "480",
                       env={"DATABASE_URL": settings.database_url, "PETAKOTA_DATA_DIR": str(settings.data_dir)})
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    im = Image.open(out)
    assert im.format == "PNG" and im.size == (640, 480)
    assert legend_colours(np.asarray(im.convert("RGB")).astype(int))["parks"] > 50
    snippet = cli(settings, "embed-snippet", "binjai", "--base-url", "https://peta.binjaikota.go.id").stdout
    assert snippet.lstrip().startswith("<iframe") and 'src="https://peta.binjaikota.go.id/embed/binjai"' in snippet
    assert not missing, f"park classes drawn on the map but missing from the static map's legend: {missing}"


# --- 8: the static export ---------------------------------------------------------------------------------------

def test_static_export_runs_without_the_service(settings, engine, tmp_path, watched):
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    out = tmp_path / "site"
    cli(settings, "export-embed", "binjai", "--out", str(out), "--minzoom", "11", "--maxzoom", "13")
    assert (out / "index.html").is_file() and (out / "binjai.pmtiles").is_file()
    page_html = (out / "index.html").read_text()
    for library in ("leaflet/leaflet.js", "protomaps-leaflet/protomaps-leaflet.js"):  # carried whole, as published
        published = (STATIC_DIR / "vendor" / library).read_text()
        assert published in page_html
        page_html = page_html.replace(published, "")
    # what PetaKota writes in the page names no other host than the optional basemap's
    assert {urlsplit(u).netloc for u in re.findall(r"https?://[^\s\"'<>]+", page_html)} <= {OSM_HOST}

    values = private_values(engine)
    with open(out / "binjai.pmtiles", "rb") as f:
        source = MmapSource(f)
        header = Reader(source).header()
        tiles = list(all_tiles(source))
    assert (header["min_zoom"], header["max_zoom"]) == (11, 13) and len(tiles) >= 6
    seen = set()
    for _, data in tiles:
        decoded = mapbox_vector_tile.decode(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
        seen |= set(decoded)
        assert leaks_in_tile(decoded, values) == []
    assert {"kelurahan", "parks", "roads"} <= seen
    assert leaks_in_text(page_html, values) == []

    app = Starlette(routes=[Mount("/", StaticFiles(directory=out, html=True))])
    with serve_app(app) as base:
        w = watched().open(f"{base}/index.html?basemap=none")
        page = w.page
        assert w.errors() == []
        assert w.hosts == {local_host(base)}, w.hosts
        ranged = [r for r in w.responses if r.url.endswith("binjai.pmtiles")]
        assert ranged and all(r.status == 206 for r in ranged)  # PMTiles reads byte ranges
        loaded = set(page.evaluate("() => petakota.layersLoaded"))
        assert loaded == {i for i in MAPS["binjai"].visible if CATALOG[i].public}
        img = screenshot(page, "export-embed-binjai", "#map")
        check_drew(page, img, engine, "static export")


# --- 9: cities: the switcher and the region view ----------------------------------------------------------------

def boundary_points(engine, code: str, n: int = 80) -> list[tuple[float, float]]:
    with engine.connect() as conn:
        geom = wkt.loads(conn.execute(text("SELECT ST_AsText(ST_Boundary(geom)) FROM kota WHERE kode = :c"),
                                      {"c": code}).scalar())
    return [tuple(geom.interpolate(i / n, normalized=True).coords[0]) for i in range(n)]


def test_the_map_switches_city_in_place_and_shows_the_region(watched, region):
    engine, base, settings = region
    with engine.connect() as conn:
        cities = {r.kode: r for r in conn.execute(text(
            "SELECT kode, nama, ST_XMin(geom) w, ST_YMin(geom) s, ST_XMax(geom) e, ST_YMax(geom) n FROM kota"))}
    w = watched().open(f"{base}/map?basemap=none")
    page = w.page
    assert page.locator("#pk-city option").evaluate_all("os => os.map(o => o.value)") == [*sorted(cities), "all"]
    assert page.locator("#pk-city").input_value() == settings.city.kode
    # some panel state: a search's results (in the city in view)
    page.fill("#pk-search", f"{settings.city.kode}.01")
    page.wait_for_function("() => document.querySelectorAll('#pk-search-results li').length > 0")
    found = page.locator("#pk-search-results").inner_text()
    assert found.count(f"({settings.city.kode}.01") >= 2
    asked = len(w.requests)

    page.select_option("#pk-city", "12.07")
    wait_ready(page)
    deli = cities["12.07"]
    lng, lat = page.evaluate("() => { const c = petakota.map.getCenter(); return [c.lng, c.lat]; }")
    assert deli.w <= lng <= deli.e and deli.s <= lat <= deli.n, (lng, lat)
    title = f"Peta Tata Ruang {deli.nama}"
    assert page.locator("#pk-title").inner_text() == title and page.title() == title
    assert parse_qs(urlsplit(page.url).query)["city"] == ["12.07"]
    assert page.locator("#pk-search-results").inner_text() == found  # the panel kept its state
    tiles = [u for u in w.requests[asked:] if "/tiles/WebMercatorQuad/" in u]
    assert tiles and all(parse_qs(urlsplit(u).query).get("city") == ["12.07"] for u in tiles), tiles[:3]
    # the legend lists the visible layers with features in Deli Serdang, and only those
    legend = page.locator("#pk-legend").inner_text()
    with engine.connect() as conn:
        for layer_id in (i for i in MAPS["binjai"].visible if CATALOG[i].public):
            there = conn.execute(text(f"SELECT count(*) FROM {layer_id} WHERE kabkota = '12.07'")).scalar() > 0
            assert (CATALOG[layer_id].title_id in legend) == there, (layer_id, there, legend)
    img = screenshot(page, "map-switch-deli-serdang", "#map")
    screenshot(page, "map-switch-deli-serdang-page")
    hit, checked = grey_line_near(page, img, boundary_points(engine, "12.07"), radius=3)
    assert checked >= 20 and hit >= 0.7 * checked, f"Deli Serdang's boundary drawn at {hit} of {checked} points"

    # the whole region: every city in view, tiles unscoped
    asked = len(w.requests)
    page.select_option("#pk-city", "all")
    wait_ready(page)
    bounds = page.evaluate("() => petakota.map.getBounds().toBBoxString()").split(",")
    west, south, east, north = (float(v) for v in bounds)
    for c in cities.values():
        assert west <= (c.w + c.e) / 2 <= east and south <= (c.s + c.n) / 2 <= north, c.kode
    tiles = [u for u in w.requests[asked:] if "/tiles/WebMercatorQuad/" in u]
    assert tiles and all("city=" not in u for u in tiles)
    assert all(c.nama in page.locator("#pk-title").inner_text() for c in cities.values())
    screenshot(page, "map-switch-region")
    assert w.errors() == []
    # the address names the region: a reload opens it again
    page.reload(wait_until="load")
    wait_ready(page)
    assert page.locator("#pk-city").input_value() == "all"
    assert w.errors() == []
