"""Printed maps, read back as a person would: the PDF's page size (pdfinfo), its text (pdftotext: title, area,
kelurahan names, grid labels, legend, notice) and its pixels (pdftoppm). The scale is checked against the grid
the page itself prints (the UTM labels' positions give metres per point) and the bar is measured in pixels;
expected names, sub-zones and extents come from the database and the source boundary file in EPSG:32647."""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from PIL import Image
from sqlalchemy import text

from gis.data.cities import held_cities
from gis.data.registry import load_catalog
from gis.render.print_labels import LABEL_SIZES, LabelCandidate, place_labels
from gis.render.print_layout import Box, page_layout
from gis.render.print_map import render_print
from layers.maps import MAPS
from layers.planning import ZONES
from tests.conftest import problem_of
from tests.print_pdf import (
    ARTIFACTS,
    ROOT,
    longest_dark_run,
    page_sizes,
    raster,
    run,
    text_of,
    words_of,
)

BINJAI = ROOT / "layers" / "sample" / "data" / "kota_binjai.geojson"
ISO_POINTS = {"A4": (595, 842), "A3": (842, 1191)}
METRES_PER_POINT_AT_1 = 0.0254 / 72
NOTICE = "Data ilustratif (dibuat untuk contoh), bukan data resmi."


def printed(engine, settings, tmp_path: Path, name: str, **kwargs):
    with engine.connect() as conn:
        data, info = render_print(conn, settings, MAPS["binjai"], load_catalog(conn), held_cities(conn), **kwargs)
    path = tmp_path / f"{name}.{kwargs.get('fmt', 'pdf')}"
    path.write_bytes(data)
    return path, info


def flat(s: str) -> str:
    return " ".join(s.split())


# --- paper ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("paper,orientation", [("A4", "portrait"), ("A3", "landscape")])
def test_paper_sizes_over_http(http, tmp_path, paper, orientation):
    r = http.get("/maps/binjai.pdf", params={"paper": paper, "orientation": orientation}, timeout=120)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "p.pdf"
    pdf.write_bytes(r.content)
    short, long = ISO_POINTS[paper]
    assert page_sizes(pdf) == [(short, long) if orientation == "portrait" else (long, short)]
    raster(pdf, f"print-binjai-{paper}-{orientation}", dpi=100)


def test_a_png_print_is_the_same_page_at_300_dpi(http, tmp_path):
    r = http.get("/maps/binjai.png", params={"paper": "A4", "orientation": "landscape"}, timeout=120)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    im = Image.open(io.BytesIO(r.content))
    expected = (297 / 25.4 * 300, 210 / 25.4 * 300)  # 300 dpi over the ISO page (whole pixels)
    assert all(abs(got - want) < 1 for got, want in zip(im.size, expected, strict=True)), im.size
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    im.resize((im.width // 4, im.height // 4)).save(ARTIFACTS / "print-binjai-A4-landscape-png.png")


# --- the page: names, grid, scale, north arrow ---------------------------------------------------------------------

def test_kelurahan_names_grid_and_a_true_scale_bar(engine, settings, tmp_path):
    lonlat = tuple(gpd.read_file(BINJAI).total_bounds)  # the city's box, from the source file
    pdf, info = printed(engine, settings, tmp_path, "city", paper="A4", orientation="landscape", bbox=lonlat)
    words = words_of(pdf)
    page_text = flat(text_of(pdf))
    assert "Peta Tata Ruang Kota Binjai" in page_text
    with engine.connect() as conn:
        names = set(conn.execute(text("SELECT nama FROM kelurahan WHERE kabkota = '12.75'")).scalars())

    # names: every word inside the map frame belongs to a placed label, and the labels are kelurahan names
    frame = info.frame
    inside = [w for w in words if frame.x0 < w.centre[0] < frame.x1 and frame.y0 < w.centre[1] < frame.y1]
    placed = {label.text for label in info.labels}
    assert placed <= names and len(placed) >= 0.6 * len(names)
    for w in inside:
        owner = [lb for lb in info.labels if lb.box.x0 - 1.5 <= w.centre[0] <= lb.box.x1 + 1.5
                 and lb.box.y0 - 1.5 <= w.centre[1] <= lb.box.y1 + 1.5]
        assert owner and w.text in owner[0].text.split(), w
    assert {w.text for w in inside} == {part for name in placed for part in name.split()}
    # no two names overlap, and some had to be shrunk or left out at this scale (the rule did work)
    for a, b in itertools.combinations(info.labels, 2):
        assert not a.box.intersects(b.box), (a.text, b.text)
    assert info.dropped or any(label.size < 7 for label in info.labels)

    # grid labels: eastings below the frame and northings left of it, in the text layer
    eastings = sorted((float(w.text), w.centre[0]) for w in words
                      if re.fullmatch(r"\d{6}", w.text) and w.centre[1] < frame.y0)
    northings = sorted((float(w.text), w.centre[1]) for w in words
                       if re.fullmatch(r"\d{6,7}", w.text) and w.centre[0] < frame.x0)
    assert len(eastings) >= 3 and len(northings) >= 3
    assert "mT" in page_text and "mU" in page_text
    # metres per point from the printed grid itself (label positions against their values)
    slope_x = np.polyfit([p for _, p in eastings], [e for e, _ in eastings], 1)[0]
    slope_y = np.polyfit([p for _, p in northings], [n for n, _ in northings], 1)[0]
    assert slope_x == pytest.approx(slope_y, rel=0.01)
    scale = int(re.search(r"Skala 1:([\d.]+)", page_text).group(1).replace(".", ""))
    assert slope_x == pytest.approx(scale * METRES_PER_POINT_AT_1, rel=0.01)
    # the box asked for (in EPSG:32647) lies inside the frame
    x0, y0, x1, y1 = gpd.GeoSeries([shapely.box(*lonlat)], crs=4326).to_crs(32647).total_bounds
    left_e = eastings[0][0] - (eastings[0][1] - frame.x0) * slope_x
    bottom_n = northings[0][0] - (northings[0][1] - frame.y0) * slope_y
    assert left_e <= x0 and left_e + frame.width * slope_x >= x1
    assert bottom_n <= y0 and bottom_n + frame.height * slope_y >= y1
    # ...and a rounder scale would not hold it: the round scale below does not fit
    assert (x1 - x0) / frame.width > 0.6 * slope_x or (y1 - y0) / frame.height > 0.6 * slope_y

    # the scale bar: its length in pixels, at the grid's metres per pixel, is the length written under it
    dpi = 200
    img = raster(pdf, "print-binjai-A4-landscape", dpi=dpi)
    px = dpi / 72
    height_px = img.shape[0]
    bar = info.scale_bar
    region = (int((bar.x0 - 3) * px), int(height_px - (bar.y1 + 2) * px), int((bar.x1 + 3) * px),
              int(height_px - (bar.y0 - 2) * px))
    bar_px = longest_dark_run(img, region)
    label = re.search(r"0\s+([\d,]+) (km|m)\b", page_text)
    metres = float(label.group(1).replace(",", ".")) * (1000 if label.group(2) == "km" else 1)
    assert bar_px / px * slope_x == pytest.approx(metres, rel=0.02)

    # the north arrow and the scale do not touch each other, the frame or any name
    for a, b in itertools.combinations([info.north, info.scale_box, frame, info.legend_box], 2):
        assert not a.intersects(b), (a, b)
    assert not any(label.box.intersects(info.north) or label.box.intersects(info.scale_box)
                   for label in info.labels)
    assert info.north.x1 - info.north.x0 > 10 and img[region[1]:region[3], region[0]:region[2]].min() < 60


def test_portrait_boxes_do_not_collide(engine, settings, tmp_path):
    pdf, info = printed(engine, settings, tmp_path, "portrait", paper="A3", orientation="portrait")
    assert page_sizes(pdf) == [ISO_POINTS["A3"]]
    page = (0, 0, *info.size)
    for box in (info.north, info.scale_box, info.legend_box, info.frame):
        assert page[0] <= box.x0 and box.x1 <= page[2] and page[1] <= box.y0 and box.y1 <= page[3]
    for a, b in itertools.combinations([info.north, info.scale_box, info.frame, info.legend_box], 2):
        assert not a.intersects(b), (a, b)
    raster(pdf, "print-binjai-A3-portrait", dpi=60)


# --- legend, zoning, notice -----------------------------------------------------------------------------------------

def test_the_legend_lists_exactly_the_layers_drawn_with_their_sub_zones(engine, settings, tmp_path):
    pdf, info = printed(engine, settings, tmp_path, "zoning", paper="A3", orientation="landscape",
                        layers="zoning,kelurahan,roads")
    assert info.legend_layers == ["zoning", "kelurahan", "roads"]
    legend = flat(text_of(pdf, crop=(info.legend_box.x0 - 1, info.legend_box.y0 - 1, info.legend_box.x1 + 1,
                                     info.legend_box.y1 + 1), height=info.size[1]))
    catalog = {k: v for k, v in load_catalog(engine.connect()).items()}
    for layer_id in ("zoning", "kelurahan", "roads"):
        assert catalog[layer_id].title_id in legend, layer_id
    for layer_id in ("parks", "rivers", "business_centers", "toll_gates", "kecamatan"):
        assert catalog[layer_id].title_id not in legend, layer_id
    with engine.connect() as conn:
        present = set(conn.execute(text("SELECT DISTINCT kodszn FROM zoning WHERE kabkota = '12.75'")).scalars())
    lines = {line.strip() for line in text_of(pdf, crop=(info.legend_box.x0 - 1, info.legend_box.y0 - 1,
                                                         info.legend_box.x1 + 1, info.legend_box.y1 + 1),
                                              height=info.size[1]).splitlines()}
    shown = {ZONES[code][0] for code in present}
    assert shown <= lines, shown - lines  # every sub-zone on the page, by its declared label
    assert not ({name for name, _en, _c in ZONES.values()} - shown) & lines  # and no other
    assert NOTICE in flat(text_of(pdf))  # the zoning is illustrative
    # the zoning's fill is a 300 dpi raster inside the PDF
    images = run("pdfimages", "-list", str(pdf)).splitlines()[2:]
    assert images and all(line.split()[12:14] == ["300", "300"] for line in images)
    raster(pdf, "print-binjai-zoning-A3", dpi=80)


def test_no_notice_when_only_real_data_is_drawn(engine, settings, tmp_path):
    pdf, info = printed(engine, settings, tmp_path, "real", layers="kelurahan,kecamatan,kota")
    assert not info.illustrative and NOTICE not in flat(text_of(pdf))
    assert "(ilustratif)" not in text_of(pdf)


def test_a_kelurahan_print_names_it_and_greys_its_neighbours(engine, settings, tmp_path):
    with engine.connect() as conn:
        code, name, kec = conn.execute(text(
            "SELECT l.kode, l.nama, k.nama FROM kelurahan l JOIN kecamatan k ON k.kode = l.kecamatan_kode "
            "ORDER BY l.area_ha DESC LIMIT 1")).one()
    pdf, info = printed(engine, settings, tmp_path, "kel", kelurahan=code, orientation="portrait", lang="en")
    words = flat(text_of(pdf))
    assert f"Kecamatan {kec}" in words and f"Kelurahan {name}" in words
    assert "Scale 1:" in words and "mE" in words and "Legend" in words
    city_pdf, city = printed(engine, settings, tmp_path, "city", orientation="portrait")
    assert info.scale < city.scale  # framed closer
    # the printed kelurahan's label is black; its neighbours' grey
    own = [label for label in info.labels if label.text == name]
    assert own and not own[0].muted and any(label.muted for label in info.labels)
    # the locator: the city in grey, the printed area outlined in red inside it, in the frame's proportions
    dpi = 150
    img = raster(pdf, "print-kelurahan-portrait-en", dpi=dpi)
    layout = page_layout("A4", "portrait")
    px, inset = dpi / 72, layout.inset
    crop = img[int((info.size[1] - inset.y1) * px) + 2:int((info.size[1] - inset.y0) * px) - 2,
               int(inset.x0 * px) + 2:int(inset.x1 * px) - 2]
    red = np.argwhere((np.abs(crop - (0xD0, 0, 0)) < 40).all(axis=-1))
    grey = np.argwhere((np.abs(crop - (0x9A, 0x9A, 0x9A)) < 6).all(axis=-1))
    assert len(red) > 20 and len(grey) > 200
    (r0, c0), (r1, c1) = red.min(axis=0), red.max(axis=0)
    (g0, h0), (g1, h1) = grey.min(axis=0), grey.max(axis=0)
    assert g0 < (r0 + r1) / 2 < g1 and h0 < (c0 + c1) / 2 < h1  # centred on a kelurahan of the city
    assert (c1 - c0) / (r1 - r0) == pytest.approx(info.frame.width / info.frame.height, rel=0.08)


# --- bad parameters -------------------------------------------------------------------------------------------------

def test_bad_print_parameters_are_400_naming_the_choices(http):
    cases = [({"paper": "A5"}, "A4, A3"), ({"orientation": "sideways"}, "portrait, landscape"),
             ({"layers": "zoning,nope"}, "allowed: zoning, kelurahan"),
             ({"kelurahan": "99.99.99.9999"}, "Kemendagri code (PP.KK.CC.DDDD"),
             ({"kecamatan": "12.75.01", "kelurahan": "12.75.01.1001"}, "one of bbox, kelurahan or kecamatan"),
             ({"paper": "A4", "width": 800}, "paper=A4|A3"), ({"paper": "A4", "bbox": "98.5,3.6,nope"}, "bbox")]
    for params, words in cases:
        body = problem_of(http.get("/maps/binjai.pdf", params=params))
        assert body["status"] == 400 and words in body["detail"], (params, body["detail"])
    assert problem_of(http.get("/maps/binjai.tiff", params={"paper": "A4"}))["status"] == 400


def test_the_screen_map_keeps_its_size_and_its_scale_label_clears_the_bar(http, tmp_path):
    r = http.get("/maps/binjai.png", params={"width": 640, "height": 480})
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (640, 480)
    r = http.get("/maps/binjai.pdf", params={"width": 400, "height": 300})  # small: where the label used to sit
    assert r.status_code == 200
    pdf = tmp_path / "screen.pdf"
    pdf.write_bytes(r.content)
    assert page_sizes(pdf) == [(288, 216)]  # 400 x 300 px at 100 dpi, in points
    body = flat(text_of(pdf))
    assert "Legenda, skala dan arah utara" not in body and "Dicetak:" in body
    # the "x km" label: its box ends above the bar's top (the bar found in the pixels under it)
    unit = next(w for w in words_of(pdf) if w.text in ("km", "m") and w.y0 < 216 * 0.3)
    dpi = 288
    img = raster(pdf, "static-screen-400x300", dpi=dpi)
    px = dpi / 72
    cx = int(unit.centre[0] * px)
    column = (img[:, cx - 2 * int(px):cx + 2 * int(px)] < 60).all(axis=-1).all(axis=1)
    below = [row for row in np.nonzero(column)[0] if row > (216 - unit.y0) * px]  # dark rows under the label
    assert below, "no scale bar under the label"
    bar_top_pt = 216 - below[0] / px
    assert unit.y0 - bar_top_pt >= 1.0, (unit, bar_top_pt)


# --- the layout and the placing rule, without a database ------------------------------------------------------------

@pytest.mark.parametrize("paper,orientation", list(itertools.product(("A4", "A3"), ("portrait", "landscape"))))
def test_every_layout_keeps_its_parts_apart_and_on_the_page(paper, orientation):
    layout = page_layout(paper, orientation)
    short, long = ISO_POINTS[paper]
    assert tuple(round(v) for v in layout.size) == ((short, long) if orientation == "portrait" else (long, short))
    parts = [layout.map, layout.title, layout.north, layout.scale, layout.legend, layout.inset, layout.notes]
    page = Box(0, 0, *layout.size)
    for part in parts:
        assert page.contains(part) and part.width > 20 and part.height > 20, part
    for a, b in itertools.combinations(parts, 2):
        assert not a.intersects(b), (a, b)


def test_labels_that_would_collide_are_shrunk_or_left_out():
    def measure(text, size):  # a monospaced stand-in: 0.6 em per character, 1.2 em high
        return 0.6 * size * len(text), 1.2 * size

    frame = Box(0, 0, 200, 100)
    big, near, far, edge = (LabelCandidate("Kelurahan A", 100, 50, 9), LabelCandidate("Kelurahan B", 100, 55, 5),
                            LabelCandidate("C", 20, 20, 3), LabelCandidate("Kelurahan D", 198, 50, 8))
    placed, dropped = place_labels([near, far, big, edge], measure, frame)
    assert [p.text for p in placed] == ["Kelurahan A", "C"] and set(dropped) == {"Kelurahan B", "Kelurahan D"}
    assert placed[0].size == max(LABEL_SIZES)  # the larger area placed first, at full size
    # a neighbour that fits only smaller is shrunk rather than dropped
    width_at = {s: measure("Kelurahan E", s)[0] for s in LABEL_SIZES}
    x = 100 + width_at[LABEL_SIZES[0]] / 2 + width_at[LABEL_SIZES[-1]] / 2 + 2.5
    placed, dropped = place_labels([big, LabelCandidate("Kelurahan E", x, 50, 1)], measure, frame)
    assert not dropped and placed[1].size < LABEL_SIZES[0]
    for a, b in itertools.combinations(placed, 2):
        assert not a.box.intersects(b.box)
