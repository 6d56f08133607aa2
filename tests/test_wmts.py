"""WMTS 1.0.0 read by real clients - OWSLib and GDAL's WMTS driver - against the running service: the public
layers and rasters for anonymous callers, both tile matrix sets, tiles whose pixels show the database's parks in
the style specification's colours where the tile matrix set's definition puts them, KVP and REST giving the same
tile, an edit redrawing the next tile, and an exception report for every malformed request."""

import io
import subprocess

import httpx
import numpy as np
import pytest
import rasterio
import shapely
from lxml import etree
from owslib.wmts import WebMapTileService
from PIL import Image
from pyproj import Transformer
from shapely.geometry import box, mapping
from sqlalchemy import text

from tests.conftest import live_public
from tests.test_wms import PARKS, PIXEL_M, PRIVATE_LAYERS, WHITE, blended, image_of, inside_point, parks_utm

WMTS_NS = "http://www.opengis.net/wmts/1.0"
OWS = "http://www.opengis.net/ows/1.1"
UTM_TO_MERC = Transformer.from_crs(32647, 3857, always_xy=True)
UTM_TO_LONLAT = Transformer.from_crs(32647, 4326, always_xy=True)


def public_rasters(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(text("SELECT id FROM rasters WHERE owner IS NULL")).scalars())


def capabilities(server, key=None, **params) -> etree._Element:
    r = httpx.get(f"{server}/wmts/1.0.0/WMTSCapabilities.xml", params=params,
                  headers={"X-API-Key": key} if key else {}, timeout=60)
    assert r.status_code == 200, r.text[:500]
    return etree.fromstring(r.content)


def matrices(root, set_id: str) -> dict[int, dict]:
    """level -> top-left corner, cell size (metres a pixel, from the scale denominator) and matrix size."""
    tms = next(el for el in root.iter(f"{{{WMTS_NS}}}TileMatrixSet")
               if el.findtext(f"{{{OWS}}}Identifier") == set_id and el.find(f"{{{WMTS_NS}}}TileMatrix") is not None)
    out = {}
    for m in tms.iter(f"{{{WMTS_NS}}}TileMatrix"):
        x, y = map(float, m.findtext(f"{{{WMTS_NS}}}TopLeftCorner").split())
        out[int(m.findtext(f"{{{OWS}}}Identifier"))] = {
            "left": x, "top": y, "cell": float(m.findtext(f"{{{WMTS_NS}}}ScaleDenominator")) * 0.00028,
            "width": int(m.findtext(f"{{{WMTS_NS}}}MatrixWidth")),
            "height": int(m.findtext(f"{{{WMTS_NS}}}MatrixHeight"))}
    return out


def tile_of(matrix: dict, x: float, y: float) -> tuple[int, int, tuple[float, float, float, float]]:
    """(row, col, box) of the tile holding the point (x, y), in the matrix's CRS."""
    size = matrix["cell"] * 256
    col, row = int((x - matrix["left"]) // size), int((matrix["top"] - y) // size)
    x0, y1 = matrix["left"] + col * size, matrix["top"] - row * size
    return row, col, (x0, y1 - size, x0 + size, y1)


def rest_tile(server, layer, set_id, z, row, col, key=None, headers=None) -> httpx.Response:
    return httpx.get(f"{server}/wmts/1.0.0/{layer}/default/{set_id}/{z}/{row}/{col}.png",
                     headers={**({"X-API-Key": key} if key else {}), **(headers or {})}, timeout=60)


def kvp(server, **params) -> httpx.Response:
    return httpx.get(f"{server}/wmts", params=params, timeout=60)


def pixel(image, bounds, x, y) -> tuple[int, ...]:
    x0, y0, x1, y1 = bounds
    col, row = int((x - x0) / (x1 - x0) * 256), int((y1 - y) / (y1 - y0) * 256)
    return tuple(int(v) for v in np.asarray(image.convert("RGB"))[row, col])


# --- capabilities ----------------------------------------------------------------------------------------------

def test_owslib_lists_public_layers_and_rasters_in_both_tile_matrix_sets(server, engine, keys):
    wmts = WebMapTileService(f"{server}/wmts/1.0.0/WMTSCapabilities.xml")
    expected = sorted(set(live_public(engine)) | set(public_rasters(engine)))
    assert sorted(wmts.contents) == expected and not set(PRIVATE_LAYERS) & set(wmts.contents)
    assert set(wmts.tilematrixsets) == {"WebMercatorQuad", "UTM47N"}
    assert wmts.tilematrixsets["UTM47N"].crs == "urn:ogc:def:crs:EPSG::32647"
    parks = wmts["parks"]
    assert parks.formats == ["image/png"] and set(parks.tilematrixsetlinks) == {"WebMercatorQuad", "UTM47N"}
    with engine.connect() as conn:
        extent = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                   "(SELECT ST_Extent(geom) e FROM parks) s")).one()
    assert parks.boundingBoxWGS84 == pytest.approx(tuple(extent), abs=1e-6)
    legend = image_of(httpx.get(parks.styles["default"]["legend"], timeout=30))
    assert legend.format == "PNG"
    # the limits hold the tiles over the parks' extent
    west, south, east, north = extent
    merc = Transformer.from_crs(4326, 3857, always_xy=True)
    (x0, x1), (y0, y1) = merc.transform([west, east], [south, north])
    level = matrices(capabilities(server), "WebMercatorQuad")[14]
    limits = parks.tilematrixsetlinks["WebMercatorQuad"].tilematrixlimits["14"]
    assert (limits.mintilerow, limits.mintilecol) == tile_of(level, x0, y1)[:2]
    assert (limits.maxtilerow, limits.maxtilecol) == tile_of(level, x1, y0)[:2]
    assert {"GetCapabilities", "GetTile"} <= {op.name for op in wmts.operations}
    tile = Image.open(io.BytesIO(wmts.gettile(layer="parks", tilematrixset="WebMercatorQuad", tilematrix="14",
                                              row=limits.mintilerow, column=limits.mintilecol).read()))
    assert tile.format == "PNG" and tile.size == (256, 256)
    with_key = capabilities(server, keys["analyst"])
    names = {el.findtext(f"{{{OWS}}}Identifier") for el in with_key.iter(f"{{{WMTS_NS}}}Layer")}
    assert set(PRIVATE_LAYERS) <= names


def test_kvp_capabilities_speak_english_and_keep_the_language_in_urls(server):
    r = kvp(server, SERVICE="WMTS", REQUEST="GetCapabilities", lang="en")
    root = etree.fromstring(r.content)
    assert "web map tile service" in root.findtext(f".//{{{OWS}}}Title")
    templates = [el.get("template") for el in root.iter(f"{{{WMTS_NS}}}ResourceURL")]
    assert templates and all(t.endswith(".png?lang=en") for t in templates)


# --- tiles -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("set_id", "srid"), [("WebMercatorQuad", 3857), ("UTM47N", 32647)])
def test_gdal_wmts_geotiff_shows_a_park_in_its_style_colour_and_the_background_around(server, engine, tmp_path,
                                                                                      set_id, srid):
    parks = parks_utm(engine)
    pid, kelas, geom, point = inside_point(parks)
    area = geom.buffer(60 * PIXEL_M)
    to_set = Transformer.from_crs(32647, srid, always_xy=True)
    corners = [to_set.transform(x, y) for x, y in area.exterior.coords]
    x0, y0 = min(c[0] for c in corners), min(c[1] for c in corners)
    x1, y1 = max(c[0] for c in corners), max(c[1] for c in corners)
    size = 400
    out = tmp_path / "parks.tif"
    source = f"WMTS:{server}/wmts/1.0.0/WMTSCapabilities.xml,layer=parks,tilematrixset={set_id}"
    result = subprocess.run(["gdal_translate", "-q", "-of", "GTiff", "-projwin", str(x0), str(y1), str(x1), str(y0),
                             "-outsize", str(size), str(size), source, str(out)],
                            capture_output=True, text=True, timeout=180,
                            env={"GDAL_HTTP_TIMEOUT": "60", "PATH": "/usr/bin:/bin",
                                 "GDAL_DEFAULT_WMS_CACHE_PATH": str(tmp_path / "cache")},  # fresh tiles only
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with rasterio.open(out) as tif:
        assert tif.crs.to_epsg() == srid and (tif.width, tif.height) == (size, size)
        pixels = np.dstack(tif.read())[:, :, :3]
        px, py = to_set.transform(point.x, point.y)
        row, col = tif.index(px, py)
        everything = shapely.union_all([g for _, _, g in parks]).buffer(4 * PIXEL_M)
        free = area.buffer(-20 * PIXEL_M).difference(everything)
        assert not free.is_empty
        outside = free.representative_point()
        orow, ocol = tif.index(*to_set.transform(outside.x, outside.y))
    expected = blended(PARKS.color_for(kelas), PARKS.fill_opacity)
    assert np.abs(pixels[row, col].astype(int) - expected).max() <= 2, (pixels[row, col], expected)
    assert tuple(pixels[orow, ocol]) == WHITE


def test_the_utm_tile_at_the_city_centre_covers_the_box_of_the_tile_matrix_set(server, engine, settings):
    root = capabilities(server)
    levels = matrices(root, "UTM47N")
    cx, cy = Transformer.from_crs(4326, 32647, always_xy=True).transform(settings.city.center_lon,
                                                                          settings.city.center_lat)
    for z in (0, 3):
        row, col, bounds = tile_of(levels[z], cx, cy)
        assert 0 <= row < levels[z]["height"] and 0 <= col < levels[z]["width"]
        tile = np.asarray(image_of(rest_tile(server, "kelurahan", "UTM47N", z, row, col)))
        wms = np.asarray(image_of(httpx.get(f"{server}/wms", timeout=60, params={
            "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "kelurahan", "STYLES": "",
            "CRS": "EPSG:32647", "BBOX": ",".join(map(repr, bounds)), "WIDTH": 256, "HEIGHT": 256,
            "FORMAT": "image/png"})))
        assert tile.shape[:2] == (256, 256) and np.array_equal(tile, wms)
    # a park at level 5 (5 m a pixel) shows where the matrix's box puts it
    pid, kelas, geom, point = inside_point(parks_utm(engine))
    row, col, bounds = tile_of(levels[5], point.x, point.y)
    assert levels[5]["cell"] == pytest.approx(PIXEL_M, rel=1e-6)
    image = image_of(rest_tile(server, "parks", "UTM47N", 5, row, col))
    expected = blended(PARKS.color_for(kelas), PARKS.fill_opacity)
    assert np.abs(np.array(pixel(image, bounds, point.x, point.y)) - expected).max() <= 2


def test_kvp_and_rest_give_the_same_tile_and_etags_answer_304(server, engine):
    _, _, _, point = inside_point(parks_utm(engine))
    levels = matrices(capabilities(server), "WebMercatorQuad")
    row, col, _ = tile_of(levels[15], *UTM_TO_MERC.transform(point.x, point.y))
    rest = rest_tile(server, "parks", "WebMercatorQuad", 15, row, col)
    by_kvp = kvp(server, SERVICE="WMTS", REQUEST="GetTile", VERSION="1.0.0", LAYER="parks", STYLE="default",
                 FORMAT="image/png", TILEMATRIXSET="WebMercatorQuad", TILEMATRIX="15", TILEROW=row, TILECOL=col)
    assert rest.status_code == by_kvp.status_code == 200 and rest.content == by_kvp.content
    assert rest.headers["etag"] == by_kvp.headers["etag"]
    again = rest_tile(server, "parks", "WebMercatorQuad", 15, row, col, headers={"If-None-Match": rest.headers["etag"]})
    assert again.status_code == 304 and not again.content


def test_a_raster_tile_is_the_raster_tile_rendering(server, engine, settings):
    cx, cy = settings.city.center_lon, settings.city.center_lat
    merc = Transformer.from_crs(4326, 3857, always_xy=True).transform(cx, cy)
    levels = matrices(capabilities(server), "WebMercatorQuad")
    row, col, _ = tile_of(levels[13], *merc)
    wmts = rest_tile(server, "landcover_2024", "WebMercatorQuad", 13, row, col)
    own = httpx.get(f"{server}/rasters/landcover_2024/tiles/WebMercatorQuad/13/{col}/{row}.png", timeout=60)
    assert wmts.status_code == own.status_code == 200 and wmts.content == own.content
    utm = matrices(capabilities(server), "UTM47N")
    urow, ucol, bounds = tile_of(utm[4], *Transformer.from_crs(4326, 32647, always_xy=True).transform(cx, cy))
    image = np.asarray(image_of(rest_tile(server, "landcover_2024", "UTM47N", 4, urow, ucol)).convert("RGBA"))
    assert image.shape == (256, 256, 4) and image[:, :, 3].max() == 255  # drawn at the city's centre


def test_a_raster_tile_of_a_city_is_clear_outside_it_in_both_tile_matrix_sets(server, engine, settings):
    with engine.connect() as conn:
        wkb = conn.execute(text("SELECT ST_AsBinary(ST_Union(geom)) FROM kota WHERE kode = :k"),
                           {"k": settings.city.kode}).scalar_one()
    to_utm = Transformer.from_crs(4326, 32647, always_xy=True)
    city = shapely.transform(shapely.from_wkb(bytes(wkb)), lambda xy: np.column_stack(
        to_utm.transform(xy[:, 0], xy[:, 1])))
    utm = matrices(capabilities(server), "UTM47N")
    cell = utm[4]["cell"]
    edge = city.exterior.interpolate(0.3, normalized=True) if city.geom_type == "Polygon" else \
        max(city.geoms, key=lambda g: g.area).exterior.interpolate(0.3, normalized=True)
    row, col, bounds = tile_of(utm[4], edge.x, edge.y)
    tile_box = box(*bounds).buffer(-3 * cell)
    inside = tile_box.intersection(city.buffer(-4 * cell)).representative_point()
    outside = tile_box.difference(city.buffer(4 * cell)).representative_point()
    whole = np.asarray(image_of(rest_tile(server, "landcover_2024", "UTM47N", 4, row, col)).convert("RGBA"))
    scoped = np.asarray(image_of(httpx.get(f"{server}/wmts/1.0.0/landcover_2024/default/UTM47N/4/{row}/{col}.png",
                                           params={"city": settings.city.kode}, timeout=60)).convert("RGBA"))

    def alpha(image, p):
        return image[int((bounds[3] - p.y) / cell), int((p.x - bounds[0]) / cell), 3]

    assert alpha(whole, inside) == alpha(whole, outside) == alpha(scoped, inside) == 255
    assert alpha(scoped, outside) == 0
    merc = matrices(capabilities(server), "WebMercatorQuad")
    mrow, mcol, _ = tile_of(merc[13], *UTM_TO_MERC.transform(edge.x, edge.y))
    wmts = rest_tile(server, "landcover_2024", "WebMercatorQuad", 13, mrow, mcol)
    scoped_wmts = httpx.get(f"{server}/wmts/1.0.0/landcover_2024/default/WebMercatorQuad/13/{mrow}/{mcol}.png",
                            params={"city": settings.city.kode}, timeout=60)
    own = httpx.get(f"{server}/rasters/landcover_2024/tiles/WebMercatorQuad/13/{mcol}/{mrow}.png",
                    params={"city": settings.city.kode}, timeout=60)
    assert scoped_wmts.content == own.content != wmts.content


def test_an_edit_changes_the_next_tile_there(server, engine, keys, http):
    parks = parks_utm(engine)
    taken = shapely.union_all([g for _, _, g in parks]).buffer(50)
    levels = matrices(capabilities(server), "UTM47N")
    x, y = Transformer.from_crs(4326, 32647, always_xy=True).transform(98.49, 3.60)
    site = next(b for dx in range(-3000, 3001, 500) for dy in range(-3000, 3001, 500)
                if not (b := box(x + dx, y + dy, x + dx + 200, y + dy + 200)).intersects(taken))
    centre = site.centroid
    row, col, bounds = tile_of(levels[6], centre.x, centre.y)
    first = rest_tile(server, "parks", "UTM47N", 6, row, col)
    assert pixel(image_of(first), bounds, centre.x, centre.y) == WHITE
    lonlat = shapely.transform(site, lambda xy: np.column_stack(UTM_TO_LONLAT.transform(xy[:, 0], xy[:, 1])))
    r = http.post("/collections/parks/items", headers={"X-API-Key": keys["planner"]}, json={
        "type": "Feature", "geometry": mapping(lonlat),
        "properties": {"nama": "Taman Uji WMTS", "kelas": "taman lansia", "publik": True}})
    assert r.status_code == 201, r.text
    try:
        during = rest_tile(server, "parks", "UTM47N", 6, row, col)
        assert during.headers["etag"] != first.headers["etag"]
        expected = blended(PARKS.color_for("taman lansia"), PARKS.fill_opacity)
        assert np.abs(np.array(pixel(image_of(during), bounds, centre.x, centre.y)) - expected).max() <= 2
    finally:
        gone = http.delete(f"/collections/parks/items/{r.json()['id']}",
                           headers={"X-API-Key": keys["planner"], "If-Match": r.headers["etag"]})
        assert gone.status_code == 204, gone.text
    assert pixel(image_of(rest_tile(server, "parks", "UTM47N", 6, row, col)), bounds, centre.x, centre.y) == WHITE


def test_a_private_layer_is_tiled_for_a_key_only(server, keys):
    private = PRIVATE_LAYERS[0]
    assert rest_tile(server, private, "WebMercatorQuad", 0, 0, 0).status_code == 404
    assert image_of(rest_tile(server, private, "WebMercatorQuad", 0, 0, 0, key=keys["analyst"])).size == (256, 256)


# --- exception reports ----------------------------------------------------------------------------------------------

GOOD = {"SERVICE": "WMTS", "REQUEST": "GetTile", "VERSION": "1.0.0", "LAYER": "parks", "STYLE": "default",
        "FORMAT": "image/png", "TILEMATRIXSET": "WebMercatorQuad", "TILEMATRIX": "2", "TILEROW": "1",
        "TILECOL": "3"}


def exception_of(response, code: str, status: int = 400) -> str:
    assert response.status_code == status, (response.status_code, response.text[:300])
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{OWS}}}ExceptionReport"
    exc = root.find(f"{{{OWS}}}Exception")
    assert exc.get("exceptionCode") == code, response.text[:400]
    message = exc.findtext(f"{{{OWS}}}ExceptionText")
    assert message and len(message) > 20 and "Traceback" not in message
    return message


@pytest.mark.parametrize(("change", "code"), [
    ({"TILEROW": "4"}, "TileOutOfRange"),
    ({"TILECOL": "-1"}, "TileOutOfRange"),
    ({"TILEMATRIX": "21"}, "InvalidParameterValue"),
    ({"TILEMATRIX": "x"}, "InvalidParameterValue"),
    ({"TILEMATRIXSET": "UTM48N"}, "InvalidParameterValue"),
    ({"LAYER": "no_such_layer"}, "InvalidParameterValue"),
    ({"LAYER": PRIVATE_LAYERS[0]}, "InvalidParameterValue"),
    ({"STYLE": "fancy"}, "InvalidParameterValue"),
    ({"FORMAT": "image/jpeg"}, "InvalidParameterValue"),
    ({"VERSION": "2.0.0"}, "InvalidParameterValue"),
    ({"TILECOL": None}, "MissingParameterValue"),
    ({"LAYER": None}, "MissingParameterValue"),
    ({"REQUEST": None}, "MissingParameterValue"),
    ({"SERVICE": None}, "MissingParameterValue"),
    ({"SERVICE": "WMS"}, "InvalidParameterValue"),
    ({"REQUEST": "GetFeatureInfo"}, "OperationNotSupported"),
    ({"city": "99.99"}, "InvalidParameterValue"),
])
def test_every_malformed_kvp_request_gets_an_exception_report(server, change, code):
    params = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    exception_of(kvp(server, **params), code)


def test_rest_paths_not_offered_are_404_reports_and_bad_tiles_400(server):
    exception_of(rest_tile(server, "no_such_layer", "WebMercatorQuad", 0, 0, 0), "InvalidParameterValue", 404)
    exception_of(rest_tile(server, "parks", "Nope", 0, 0, 0), "InvalidParameterValue", 404)
    exception_of(rest_tile(server, "parks", "UTM47N", 1, 2, 0), "TileOutOfRange")
    exception_of(httpx.get(f"{server}/wmts/1.0.0/parks/fancy/UTM47N/0/0/0.png"), "InvalidParameterValue")
    bad_key = httpx.get(f"{server}/wmts", params={"SERVICE": "WMTS", "REQUEST": "GetCapabilities"},
                        headers={"X-API-Key": "not-a-key"})
    exception_of(bad_key, "NoApplicableCode", 401)
