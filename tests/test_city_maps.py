"""The maps follow the city, on the region database (Binjai + Kabupaten Deli Serdang + Kabupaten Karo): the web map's
title, view, tiles and legend for `?city=`, the landing page's cities, `/embed/{city code}`, static maps drawing one
city's features in its own extent, raster tiles transparent outside the city, HTML views keeping `?city=`. Expected
values come from the source boundary files and the database, never from the code under test."""

from __future__ import annotations

import gzip
import io
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import httpx
import mapbox_vector_tile
import morecantile
import numpy as np
import pytest
import shapely
from PIL import Image
from pmtiles.reader import MmapSource, all_tiles
from pyproj import Transformer
from sqlalchemy import text

from layers.maps import MAPS
from layers.planning import PARK_CLASSES
from tests.cli_inprocess import run_cli
from tests.conftest import problem_of

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "layers" / "sample" / "data"
ARTIFACTS = ROOT / "tests" / "artifacts"
KOTA_FILES = {"12.75": "kota_binjai", "12.07": "kabkota_deli_serdang", "12.06": "kabkota_karo"}
CONFIG_RE = re.compile(r'<script type="application/json" id="petakota-config">(.*?)</script>', re.S)
TMS = morecantile.tms.get("WebMercatorQuad")
BACKGROUND = (0xF4, 0xF1, 0xEA)  # the static map's frame


def boundary(code: str):
    return gpd.read_file(DATA / f"{KOTA_FILES[code]}.geojson")


def source_name(code: str) -> str:
    return boundary(code).nama.iloc[0]


@pytest.fixture()
def api(region):
    with httpx.Client(base_url=region[1], timeout=120) as client:
        yield client


def config_of(html: str) -> dict:
    return json.loads(CONFIG_RE.search(html).group(1))


def held(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT kode FROM kota ORDER BY kode")).scalars())


def present_in(engine, layer_ids, code: str) -> set[str]:
    with engine.connect() as conn:
        return {i for i in layer_ids
                if conn.execute(text(f"SELECT count(*) FROM {i} WHERE kabkota = :c"), {"c": code}).scalar()}


# --- the web map ------------------------------------------------------------------------------------------------

def test_the_map_of_a_city_has_its_title_view_scoped_tiles_and_legend(region, api):
    engine = region[0]
    page = api.get("/map", params={"city": "12.07"})
    assert page.status_code == 200
    cfg = config_of(page.text)
    name = source_name("12.07")
    assert name == "Kabupaten Deli Serdang"
    assert f"<title>Peta Tata Ruang {name}</title>" in page.text and cfg["title"]["en"].startswith(name)
    with engine.connect() as conn:
        lon, lat, zoom = conn.execute(text("SELECT center_lon, center_lat, zoom FROM kota WHERE kode = '12.07'")).one()
    view = cfg["city"]
    assert (view["center_lon"], view["center_lat"], view["zoom"]) == (lon, lat, zoom)
    assert view["bbox"] == pytest.approx(list(boundary("12.07").total_bounds), abs=1e-6)
    assert view["codes"] == view["scope"] == ["12.07"]
    for layer in cfg["layers"]:
        assert parse_qs(urlsplit(layer["tiles"]).query) == {"city": ["12.07"]}, layer["tiles"]
    # a tile across the Binjai - Deli Serdang border, fetched as the page asks for it: Deli Serdang's only
    tile = TMS.tile(98.53, 3.60, 12)
    kel = next(layer for layer in cfg["layers"] if layer["id"] == "kelurahan")
    url = kel["tiles"].replace("{z}", str(tile.z)).replace("{x}", str(tile.x)).replace("{y}", str(tile.y))
    decoded = mapbox_vector_tile.decode(api.get(url).content)
    assert {f["properties"]["kabkota"] for f in decoded["kelurahan"]["features"]} == {"12.07"}
    # the legend: the layers with features in the city (Deli Serdang's are boundaries only, Binjai's parks are not)
    ids = [layer["id"] for layer in cfg["layers"]]
    in_city = {layer["id"] for layer in cfg["layers"] if "12.07" in layer["cities"]}
    assert in_city == present_in(engine, ids, "12.07")
    assert {"kelurahan", "kecamatan", "kota"} <= in_city and "roads" not in in_city
    # the switcher offers every city held and the whole region
    assert [c["value"] for c in cfg["cities"]] == [*held(engine), "all"]


def test_without_a_city_the_map_is_the_service_city_and_a_region_shows_every_city(region, api):
    engine, _, settings = region
    home = config_of(api.get("/map").text)
    assert home["title"]["id"] == MAPS[settings.city.map_id].title_id
    assert home["city"]["codes"] == [settings.city.kode]
    assert all(layer["tiles"].endswith(f"?city={settings.city.kode}") for layer in home["layers"])

    region_cfg = config_of(api.get("/map", params={"city": "all"}).text)
    union = np.array([boundary(c).total_bounds for c in KOTA_FILES])
    assert region_cfg["city"]["fit"] is True
    assert region_cfg["city"]["bbox"] == pytest.approx([*union[:, :2].min(axis=0), *union[:, 2:].max(axis=0)],
                                                       abs=1e-6)
    assert region_cfg["city"]["codes"] == held(engine)
    assert all("city=" not in layer["tiles"] for layer in region_cfg["layers"])  # every city: unscoped tiles
    for code in KOTA_FILES:
        assert source_name(code) in region_cfg["title"]["id"]

    two = config_of(api.get("/map", params={"city": "12.75,12.07"}).text)
    assert all(layer["tiles"].endswith("?city=12.07,12.75") for layer in two["layers"])
    assert "Karo" not in two["title"]["id"]
    problem = problem_of(api.get("/map", params={"city": "12.99"}))
    assert problem["status"] == 400 and "12.06 (Kabupaten Karo)" in problem["detail"]


def test_the_landing_page_lists_the_cities_held(region, api):
    engine = region[0]
    doc = api.get("/", params={"f": "json"}).json()
    assert [c["code"] for c in doc["cities"]] == held(engine) == sorted(KOTA_FILES)
    for city in doc["cities"]:
        hrefs = {link["rel"]: link["href"] for link in city["links"]}
        assert urlsplit(hrefs["describedby"]).path == f"/cities/{city['code']}"
        assert api.get(hrefs["describedby"]).json()["name"] == source_name(city["code"]) == city["name"]
        assert hrefs["alternate"].endswith(f"/map?city={city['code']}")
        assert f"<title>Peta Tata Ruang {city['name']}</title>" in api.get(hrefs["alternate"]).text
    html = api.get("/", params={"f": "html"}).text
    section = html.split('<section id="cities">', 1)[1].split("</section>", 1)[0]
    for code in KOTA_FILES:
        assert f"/map?city={code}" in section and f"/cities/{code}" in section and source_name(code) in section


def test_embed_of_a_city_code_shows_that_city(region, api):
    karo = api.get("/embed/12.06")
    assert karo.status_code == 200
    cfg = config_of(karo.text)
    assert "<title>Peta Tata Ruang Kabupaten Karo</title>" in karo.text
    west, south, east, north = boundary("12.06").total_bounds
    assert west <= cfg["city"]["center_lon"] <= east and south <= cfg["city"]["center_lat"] <= north
    assert cfg["embed"] is True and 'id="panel"' not in karo.text
    assert all(layer["tiles"].endswith("?city=12.06") for layer in cfg["layers"])
    assert {layer["id"] for layer in cfg["layers"] if "12.06" in layer["cities"]} == \
        present_in(region[0], [layer["id"] for layer in cfg["layers"]], "12.06")
    own = api.get("/embed/binjai")  # the map ids keep working
    assert f"<title>{MAPS['binjai'].title_id}</title>" in own.text
    assert problem_of(api.get("/embed/12.99"))["status"] == 404
    assert problem_of(api.get("/embed/no-such-map"))["status"] == 404


# --- static maps ------------------------------------------------------------------------------------------------

def park_pixels(png: bytes) -> int:
    """Pixels of the map frame (left of the legend) in a park colour at the style's opacity."""
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(float)
    frame = img[:, : int(img.shape[1] * 0.72)]
    colours = [0.7 * np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)]) + 0.3 * np.array(under)
               for _, _, c in PARK_CLASSES.values() for under in (BACKGROUND, (255, 255, 255))]
    mask = np.zeros(frame.shape[:2], bool)
    for c in colours:
        mask |= (np.abs(frame - c) <= 20).all(axis=-1)
    return int(mask.sum())


def drawn_aspect(png: bytes) -> float:
    """Width / height of what is drawn in the map frame: the kelurahan/desa fill (#777777 at 5 % over the frame's
    background) covers the city and nothing else (the scale bar and north arrow are black)."""
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(float)
    h, w = img.shape[:2]
    frame = img[int(0.10 * h):int(0.92 * h), int(0.02 * w):int(0.72 * w)]
    tint = 0.05 * 0x77 + 0.95 * np.array(BACKGROUND)
    filled = (np.abs(frame - tint) <= 3).all(axis=-1)
    rows = np.where(filled.sum(axis=1) >= 3)[0]
    cols = np.where(filled.sum(axis=0) >= 3)[0]
    return (cols.max() - cols.min()) / (rows.max() - rows.min())


def metric_aspect(code: str) -> float:
    x0, y0, x1, y1 = boundary(code).to_crs(32647).total_bounds
    return (x1 - x0) / (y1 - y0)


def test_a_static_map_of_a_city_draws_only_its_features_in_its_extent(region, api):
    binjai_box = ",".join(str(v) for v in boundary("12.75").total_bounds)
    size = {"width": 900, "height": 700, "bbox": binjai_box}
    of_binjai = api.get("/maps/binjai.png", params={**size, "city": "12.75"})
    of_deli = api.get("/maps/binjai.png", params={**size, "city": "12.07"})
    assert of_binjai.status_code == of_deli.status_code == 200
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "static-12.07-over-binjai.png").write_bytes(of_deli.content)
    # over Binjai, Binjai's parks are drawn for Binjai and none for Deli Serdang (no park of it is there)
    with region[0].connect() as conn:
        deli_parks_here = conn.execute(text(
            "SELECT count(*) FROM parks WHERE kabkota = '12.07' AND geom && ST_MakeEnvelope(:a, :b, :c, :d, 4326)"),
            dict(zip("abcd", boundary("12.75").total_bounds, strict=True))).scalar()
    assert deli_parks_here == 0
    assert park_pixels(of_binjai.content) > 200
    assert park_pixels(of_deli.content) == 0

    # no bbox: the city's own extent, drawn in its metric CRS (the drawn shape has the city's proportions)
    whole = api.get("/maps/binjai.png", params={"width": 900, "height": 900, "city": "12.07"})
    assert whole.status_code == 200
    (ARTIFACTS / "static-12.07.png").write_bytes(whole.content)
    assert drawn_aspect(whole.content) == pytest.approx(metric_aspect("12.07"), rel=0.04)
    assert abs(metric_aspect("12.07") - metric_aspect("12.06")) > 0.5  # the check tells the cities apart
    pdf = api.get("/maps/binjai.pdf", params={"city": "12.06"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert problem_of(api.get("/maps/binjai.png", params={"city": "12.99"}))["status"] == 400


def cli(settings, *args: str) -> subprocess.CompletedProcess:
    """The command in this process (test_browser runs render, embed-snippet and export-embed as real processes)."""
    result = run_cli(*args, env={"DATABASE_URL": settings.database_url, "PETAKOTA_DATA_DIR": str(settings.data_dir)})
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_render_and_embed_snippet_take_a_city(region, tmp_path):
    settings = region[2]
    out = tmp_path / "karo.png"
    cli(settings, "render", "binjai", "--city", "12.06", "--out", str(out), "--width", "900", "--height", "900")
    assert drawn_aspect(out.read_bytes()) == pytest.approx(metric_aspect("12.06"), rel=0.04)
    snippet = cli(settings, "embed-snippet", "12.07", "--base-url", "https://peta.example.go.id").stdout
    assert 'src="https://peta.example.go.id/embed/12.07"' in snippet
    assert 'title="Peta Tata Ruang Kabupaten Deli Serdang"' in snippet
    # the static export of a city: its title and view, and an archive holding only its features
    site = tmp_path / "karo"
    cli(settings, "export-embed", "12.06", "--out", str(site), "--minzoom", "9", "--maxzoom", "9")
    page = (site / "index.html").read_text()
    assert "<title>Peta Tata Ruang Kabupaten Karo</title>" in page
    assert config_of(page)["city"]["codes"] == ["12.06"]
    with open(site / "12.06.pmtiles", "rb") as f:
        source = MmapSource(f)
        tiles = list(all_tiles(source))
    cities = set()
    for _, data in tiles:
        decoded = mapbox_vector_tile.decode(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
        cities |= {f["properties"]["kabkota"] for layer in decoded.values() for f in layer["features"]}
    assert tiles and cities == {"12.06"}


# --- raster tiles -----------------------------------------------------------------------------------------------

def rgba(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")).astype(int)


def pixel_centres(tile) -> tuple[np.ndarray, np.ndarray]:
    b = TMS.xy_bounds(tile)
    step = (b.right - b.left) / 256
    xs = b.left + (np.arange(256) + 0.5) * step
    ys = b.top - (np.arange(256) + 0.5) * step
    return np.meshgrid(xs, ys)


def test_raster_tiles_with_a_city_are_transparent_outside_it(region, api):
    """A tile on Binjai's edge: unscoped, the elevation raster is drawn past the boundary; with ?city=12.75 every
    pixel more than one pixel outside Binjai (computed here with shapely) is transparent and every pixel inside is
    as before; with ?city=12.07 the inside of Binjai is transparent instead."""
    to_3857 = Transformer.from_crs(4326, 3857, always_xy=True)
    binjai = shapely.transform(boundary("12.75").geometry.iloc[0],
                               lambda xy: np.column_stack(to_3857.transform(xy[:, 0], xy[:, 1])))
    tile = TMS.tile(98.445, 3.60, 13)  # the western edge
    path = f"/rasters/elevation/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png"
    whole = api.get(path)
    assert whole.status_code == 200
    xs, ys = pixel_centres(tile)
    step = xs[0, 1] - xs[0, 0]
    points = shapely.points(xs, ys)
    inside = shapely.contains(shapely.buffer(binjai, -1.5 * step), points)
    outside = ~shapely.intersects(shapely.buffer(binjai, 1.5 * step), points)
    unscoped = rgba(whole.content)
    assert (unscoped[..., 3][outside] > 0).sum() > 500 and (unscoped[..., 3][inside] > 0).sum() > 500

    scoped = api.get(path, params={"city": "12.75"})
    assert scoped.status_code == 200 and scoped.content != whole.content
    mine = rgba(scoped.content)
    assert (mine[..., 3][outside] > 0).sum() == 0
    assert (mine[inside] == unscoped[inside]).all()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "raster-elevation-12.75.png").write_bytes(scoped.content)

    other = api.get(path, params={"city": "12.07"})
    assert other.status_code in (200, 204)
    if other.status_code == 200:
        theirs = rgba(other.content)
        assert (theirs[..., 3][inside] > 0).sum() == 0
    # a tile wholly inside Deli Serdang's neighbour Binjai: nothing of Deli Serdang there
    centre = TMS.tile(98.49, 3.60, 15)
    assert api.get(f"/rasters/elevation/tiles/WebMercatorQuad/{centre.z}/{centre.x}/{centre.y}.png",
                   params={"city": "12.07"}).status_code == 204
    assert problem_of(api.get(path, params={"city": "12.99"}))["status"] == 400


# --- HTML views -------------------------------------------------------------------------------------------------

def test_html_views_of_items_keep_the_city_in_their_links(api):
    page = api.get("/collections/kelurahan/items", params={"city": "12.06", "f": "html", "limit": 5}).text
    links = re.findall(r'href="([^"]+)"', page)
    features = [h for h in links if re.search(r"/collections/kelurahan/items/\d+", h)]
    assert len(features) == 5
    assert all(parse_qs(urlsplit(h.replace("&amp;", "&")).query).get("city") == ["12.06"] for h in features)
    crumbs = page.split('class="crumbs"', 1)[1].split("</nav>", 1)[0]
    collection_links = re.findall(r'href="([^"]*/collections/kelurahan[^"]*)"', crumbs)
    assert collection_links and all("city=12.06" in h for h in collection_links)
    item = api.get(features[0].replace("&amp;", "&"))
    assert item.status_code == 200
    crumbs = item.text.split('class="crumbs"', 1)[1].split("</nav>", 1)[0]
    assert all("city=12.06" in h for h in re.findall(r'href="([^"]*/collections/kelurahan[^"]*)"', crumbs))
    # without a city, links are as before
    plain = api.get("/collections/kelurahan/items", params={"f": "html", "limit": 2}).text
    assert "city=" not in plain.split("<main>", 1)[1].split("</main>", 1)[0]


def test_measuring_takes_the_city_metric_crs(api):
    square = {"type": "Polygon", "coordinates": [[[98.80, 3.50], [98.81, 3.50], [98.81, 3.51], [98.80, 3.51],
                                                  [98.80, 3.50]]]}
    to_utm = Transformer.from_crs(4326, 32647, always_xy=True)
    expected = shapely.transform(shapely.geometry.shape(square),
                                 lambda xy: np.column_stack(to_utm.transform(xy[:, 0], xy[:, 1]))).area / 1e4
    measured = api.post("/measure", params={"city": "12.07"}, json={"geometry": square}).json()
    assert measured["crs"] == api.get("/cities/12.07").json()["metric_crs"]
    assert measured["area_ha"] == pytest.approx(expected, rel=1e-6)
    assert problem_of(api.post("/measure", params={"city": "12.99"}, json={"geometry": square}))["status"] == 404


def test_with_one_city_held_the_map_is_as_before(http, settings):
    """The Binjai-only database: no switcher, unscoped tiles (shared with every other client), the map's own title."""
    cfg = config_of(http.get("/map").text)
    assert cfg["cities"] == [] and cfg["city"]["scope"] == []
    assert all("city=" not in layer["tiles"] for layer in cfg["layers"])
    assert cfg["title"]["id"] == MAPS[settings.city.map_id].title_id
    assert (cfg["city"]["center_lon"], cfg["city"]["center_lat"], cfg["city"]["zoom"]) == (
        settings.city.center_lon, settings.city.center_lat, settings.city.zoom)
    assert [c["code"] for c in http.get("/", params={"f": "json"}).json()["cities"]] == [settings.city.kode]
