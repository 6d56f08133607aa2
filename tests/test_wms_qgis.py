"""WMS read by a desktop GIS: QGIS 3.22's own WMS provider (python3-qgis, headless) against the running service.
QGIS lists the public layers from GetCapabilities and no private one, draws the project parcels in their style
colours where the database has parcels and leaves the map clear elsewhere - in Web Mercator, in EPSG:4326 (whose
1.3.0 axis order is latitude first) and in the city's UTM zone - identifies the parcel under a point without its
private fields, and shows the service's own words when a request is refused."""

import json
import math
import subprocess
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest
import shapely
from PIL import Image
from pyproj import Transformer
from sqlalchemy import text

from gis.render.style_spec import style_spec
from layers import CATALOG
from tests.conftest import live_public

CLIENT = Path(__file__).with_name("qgis_wms_client.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # python3-qgis is built for Debian's Python, not the project's venv
LAYER = "project_parcels"
STYLE = style_spec(CATALOG[LAYER])
PRIVATE_FIELDS = [f for f in CATALOG[LAYER].fields if not f.public]
PRIVATE_LAYERS = sorted(layer.id for layer in CATALOG.values() if not layer.public)
CRSS = (3857, 4326, 32647)
PIXEL_M = 5.0  # ground size of a map pixel
WIDTH = 360
MARGIN_PX = 3  # points this many pixels from any parcel edge are inside (or outside) beyond antialiasing
TO_UTM = Transformer.from_crs(4326, 32647, always_xy=True)


def in_crs(geometry, epsg: int):
    to = Transformer.from_crs(4326, epsg, always_xy=True)
    return shapely.transform(geometry, lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1])))


def parcels(engine) -> list[dict]:
    private = ", ".join(f"{f.name}::text" for f in PRIVATE_FIELDS)
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, parcel_id, status, {private}, ST_AsBinary(geom) FROM {LAYER} "
                                 f"ORDER BY id")).all()
    return [{"id": r[0], "parcel_id": r[1], "status": r[2], "private": [v for v in r[3:-1] if v],
             "geom": shapely.from_wkb(bytes(r[-1]))} for r in rows]


def view(features: list[dict], epsg: int) -> dict:
    """A map of the parcels' area in `epsg`, PIXEL_M metres a pixel, kept inside the layer's advertised box (QGIS
    asks only for the part of a map that box covers)."""
    utm = shapely.union_all([in_crs(f["geom"], 32647) for f in features]).envelope.buffer(-20, join_style="mitre")
    to = Transformer.from_crs(32647, epsg, always_xy=True)
    x0, y0, x1, y1 = to.transform_bounds(*utm.bounds)
    height = round(WIDTH * (utm.bounds[3] - utm.bounds[1]) / (utm.bounds[2] - utm.bounds[0]))
    res = (x1 - x0) / WIDTH
    y1 = y0 + height * res  # square pixels, so QGIS draws exactly this extent
    return {"crs": f"EPSG:{epsg}", "extent": [x0, y0, x1, y1], "width": WIDTH, "height": height, "res": res}


def pixel(v: dict, x: float, y: float) -> tuple[int, int]:
    x0, _, _, y1 = v["extent"]
    return math.floor((y1 - y) / v["res"]), math.floor((x - x0) / v["res"])


def inside_points(features: list[dict], v: dict, epsg: int) -> list[tuple[dict, shapely.Point]]:
    """Each parcel with a point of it at least MARGIN_PX pixels from its edge and from every other parcel."""
    shapes = [in_crs(f["geom"], epsg) for f in features]
    margin = MARGIN_PX * v["res"]
    out = []
    for i, (feature, shape) in enumerate(zip(features, shapes, strict=True)):
        others = shapely.union_all(shapes[:i] + shapes[i + 1:])
        core = shape.buffer(-margin).difference(others.buffer(margin)) & shapely.box(*v["extent"]).buffer(-margin)
        if not core.is_empty:
            out.append((feature, core.representative_point()))
    return out


def outside_points(features: list[dict], v: dict, epsg: int) -> list[shapely.Point]:
    """Points of a grid over the map at least MARGIN_PX pixels from every parcel."""
    taken = shapely.union_all([in_crs(f["geom"], epsg) for f in features]).buffer(MARGIN_PX * v["res"])
    x0, y0, x1, y1 = v["extent"]
    step = 12 * v["res"]
    grid = [shapely.Point(x, y) for x in np.arange(x0 + step / 2, x1, step) for y in np.arange(y0 + step / 2, y1, step)]
    return [p for p in grid if not taken.contains(p)]


def colour(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))


def asked_of(qgis: dict, operation: str) -> list[dict]:
    """The parameters of every request of `operation` QGIS sent."""
    return [dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)) for url in qgis["answer"]["requests"]
            if f"REQUEST={operation}" in url]


def run_qgis(job: dict, home: Path) -> dict:
    """QGIS's answer to `job` (see tests/qgis_wms_client.py); fails clearly when python3-qgis is missing."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8"}
    check = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True, env=env)
    if check.returncode != 0:
        pytest.fail(f"QGIS's Python bindings are missing from {SYSTEM_PYTHON}: install the Debian package "
                    f"python3-qgis (scripts/devenv.sh setup does). {check.stderr.strip()[-300:]}")
    result = subprocess.run([SYSTEM_PYTHON, str(CLIENT)], input=json.dumps(job), capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0 and result.stdout.strip(), result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def qgis(server, engine, tmp_path_factory):
    """One QGIS session: the layers it accepts, its browser's list, a map in each CRS, an identify and a map
    with a style the service does not offer."""
    home = tmp_path_factory.mktemp("qgis")
    features = parcels(engine)
    views = {epsg: view(features, epsg) for epsg in CRSS}
    utm = views[32647]
    (target, point), *_ = sorted(inside_points(features, utm, 32647), key=lambda fp: -fp[0]["geom"].area)
    renders = [{"layer": LAYER, **{k: v for k, v in views[epsg].items() if k != "res"},
                "out": str(home / f"map_{epsg}.png")} for epsg in CRSS]
    renders.append({"layer": LAYER, "crs": "EPSG:32647", "styles": "fancy", "extent": utm["extent"],
                    "width": 64, "height": 64, "out": str(home / "fancy.png")})
    job = {"url": f"{server}/wms", "layers": [LAYER, *PRIVATE_LAYERS], "renders": renders,
           "identify": {"layer": LAYER, "crs": "EPSG:32647", "extent": utm["extent"], "width": utm["width"],
                        "height": utm["height"], "point": [point.x, point.y]}}
    answer = run_qgis(job, home)
    return {"answer": answer, "features": features, "views": views, "target": target}


def test_qgis_lists_every_public_layer_and_accepts_no_private_one(qgis, engine):
    answer = qgis["answer"]
    assert sorted(answer["browser_layers"]) == live_public(engine)
    assert answer["layers"][LAYER] == {"valid": True, "error": ""}
    for name in PRIVATE_LAYERS:
        assert name not in answer["browser_layers"]
        assert answer["layers"][name]["valid"] is False, name
    assert any("REQUEST=GetCapabilities" in url for url in answer["requests"])


@pytest.mark.parametrize("epsg", CRSS)
def test_qgis_draws_the_parcels_in_their_style_colours_and_nothing_elsewhere(qgis, epsg):
    v = qgis["views"][epsg]
    drawn = next(r for r in qgis["answer"]["renders"] if r["crs"] == v["crs"] and r["out"].endswith(f"_{epsg}.png"))
    assert drawn["valid"] and drawn["saved"] and drawn["errors"] == [], drawn
    assert drawn["extent"] == pytest.approx(v["extent"], rel=1e-9, abs=1e-9 if epsg == 4326 else 1e-4)
    pixels = np.asarray(Image.open(drawn["out"]).convert("RGBA")).astype(int)
    assert pixels.shape == (v["height"], v["width"], 4)
    inside = inside_points(qgis["features"], v, epsg)
    assert len(inside) >= 5
    for feature, p in inside:
        row, col = pixel(v, p.x, p.y)
        expected = (*colour(STYLE.color_for(feature["status"])), round(STYLE.fill_opacity * 255))
        assert np.abs(pixels[row, col] - expected).max() <= 3, (feature["parcel_id"], pixels[row, col], expected)
    outside = outside_points(qgis["features"], v, epsg)
    assert len(outside) >= 5
    assert [tuple(pixels[pixel(v, p.x, p.y)]) for p in outside if pixels[pixel(v, p.x, p.y)][3] != 0] == []


def test_qgis_asks_for_each_map_in_its_crs_with_the_1_3_0_axis_order(qgis):
    maps = asked_of(qgis, "GetMap")
    for epsg in CRSS:
        v = qgis["views"][epsg]
        asked = [m for m in maps if m["CRS"] == v["crs"] and m.get("STYLES") == ""]
        assert len(asked) == 1 and asked[0]["VERSION"] == "1.3.0", maps
        x0, y0, x1, y1 = v["extent"]
        box = [float(c) for c in asked[0]["BBOX"].split(",")]
        assert box == pytest.approx([y0, x0, y1, x1] if epsg == 4326 else [x0, y0, x1, y1], rel=1e-9)
        # the image asked is the map's, give or take the pixel QGIS rounds up when it crops to the layer's box
        size = (int(asked[0]["WIDTH"]), int(asked[0]["HEIGHT"]))
        assert abs(size[0] - v["width"]) <= 1 and abs(size[1] - v["height"]) <= 1, (size, v)


def test_qgis_identifies_the_parcel_under_a_point_without_its_private_fields(qgis):
    target, answers = qgis["target"], qgis["answer"]["identify"]["answers"]
    asked = asked_of(qgis, "GetFeatureInfo")
    assert {a["INFO_FORMAT"] for a in asked} == {"text/html", "text/plain"}
    for fmt in ("html", "text"):
        answer = answers[fmt]
        assert answer["valid"] and answer["error"] == "" and len(answer["results"]) == 1, answer
        body = answer["results"][0]
        named = [f["parcel_id"] for f in qgis["features"] if f["parcel_id"] in body]
        assert named == [target["parcel_id"]], (fmt, named)
        assert target["private"] and [v for v in target["private"] if v in body] == []
        labels = [f.title_id for f in PRIVATE_FIELDS] + [f.name for f in PRIVATE_FIELDS]
        assert [label for label in labels if label.lower() in body.lower()] == [], fmt


def test_qgis_shows_the_services_reason_for_a_refused_map(qgis):
    fancy = next(r for r in qgis["answer"]["renders"] if r["out"].endswith("fancy.png"))
    assert fancy["valid"]
    log = "\n".join(qgis["answer"]["log"])
    assert "style 'fancy' is not offered" in log, log[-2000:]
