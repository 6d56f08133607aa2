"""WMS 1.3.0 / 1.1.1 read by real clients - OWSLib and GDAL's WMS driver - against the running service: the
public layers for anonymous callers, map images whose pixels show the database's parks in the style
specification's colours, the axis order of EPSG:4326, feature information without private fields unless a key
reads them, an edit redrawing the next map, and an exception report for every malformed request."""

import io
import subprocess

import httpx
import numpy as np
import pytest
import rasterio
import shapely
from lxml import etree
from owslib.wms import WebMapService
from PIL import Image
from pyproj import Transformer
from shapely.geometry import box, mapping
from sqlalchemy import text

from gis.render.style_spec import style_spec
from layers import CATALOG
from tests.conftest import live_public

OGC = "http://www.opengis.net/ogc"
WMS_NS = "http://www.opengis.net/wms"
PUBLIC = sorted(layer.id for layer in CATALOG.values() if layer.public)

PRIVATE_LAYERS = sorted(layer.id for layer in CATALOG.values() if not layer.public)
TO_UTM = Transformer.from_crs(4326, 32647, always_xy=True)
PIXEL_M = 5.0  # metres per pixel of the park images
PARKS = style_spec(CATALOG["parks"])
WHITE = (255, 255, 255)


def wms_get(server, key=None, **params) -> httpx.Response:
    return httpx.get(f"{server}/wms", params=params, headers={"X-API-Key": key} if key else {}, timeout=60)


def image_of(response) -> Image.Image:
    assert response.status_code == 200, response.text[:500]
    return Image.open(io.BytesIO(response.content))


def to_utm(geometry):
    return shapely.transform(geometry, lambda xy: np.column_stack(TO_UTM.transform(xy[:, 0], xy[:, 1])))


def parks_utm(engine) -> list[tuple[int, str, shapely.Geometry]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, kelas, ST_AsBinary(geom) FROM parks ORDER BY id")).all()
    return [(pid, kelas, to_utm(shapely.from_wkb(bytes(wkb)))) for pid, kelas, wkb in rows]


def blended(color: str, opacity: float, under=WHITE) -> tuple[int, ...]:
    rgb = [int(color.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)]
    return tuple(round(opacity * c + (1 - opacity) * u) for c, u in zip(rgb, under, strict=True))


def inside_point(parks, min_area_m2=20_000):
    """The largest park and a point of it at least 4 pixels from its edge and from every other park."""
    pid, kelas, geom = max(parks, key=lambda p: p[2].area)
    assert geom.area >= min_area_m2
    others = shapely.union_all([g for i, _, g in parks if i != pid])
    core = geom.buffer(-4 * PIXEL_M).difference(others.buffer(4 * PIXEL_M))
    assert not core.is_empty
    return pid, kelas, geom, core.representative_point()


def gdal_service(server, layers: str, bounds, size, version="1.3.0", crs="EPSG:32647") -> str:
    x0, y0, x1, y1 = bounds
    return (f"<GDAL_WMS><Service name='WMS'><Version>{version}</Version><ServerUrl>{server}/wms?</ServerUrl>"
            f"<Layers>{layers}</Layers><CRS>{crs}</CRS><ImageFormat>image/png</ImageFormat>"
            f"<Transparent>FALSE</Transparent></Service><DataWindow><UpperLeftX>{x0}</UpperLeftX>"
            f"<UpperLeftY>{y1}</UpperLeftY><LowerRightX>{x1}</LowerRightX><LowerRightY>{y0}</LowerRightY>"
            f"<SizeX>{size[0]}</SizeX><SizeY>{size[1]}</SizeY></DataWindow><BlockSizeX>256</BlockSizeX>"
            f"<BlockSizeY>256</BlockSizeY><BandsCount>3</BandsCount></GDAL_WMS>")


def exception_of(response, code: str, version="1.3.0", status: int = 200) -> str:
    """The text of the report of a refused request: WMS clients (QGIS among them) read it only from a 200."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["cache-control"] == "no-store"
    root = etree.fromstring(response.content)
    tag = f"{{{OGC}}}ServiceException" if version == "1.3.0" else "ServiceException"
    assert root.tag.endswith("ServiceExceptionReport") and root.get("version") == version
    exc = root.find(tag)
    assert exc is not None and exc.get("code") == code, response.text[:400]
    assert exc.text and len(exc.text) > 20
    return exc.text


# --- capabilities ----------------------------------------------------------------------------------------------

def test_owslib_lists_the_public_layers_with_boxes_styles_and_legends(server, engine, keys):
    wms = WebMapService(f"{server}/wms", version="1.3.0")
    assert sorted(wms.contents) == live_public(engine)
    parks = wms["parks"]
    assert parks.title == CATALOG["parks"].title_id and parks.queryable == 1
    assert "ilustratif" in parks.abstract
    assert {"EPSG:4326", "EPSG:3857", "EPSG:32647", "CRS:84"} <= set(parks.crsOptions)
    with engine.connect() as conn:
        extent = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                   "(SELECT ST_Extent(geom) e FROM parks) s")).one()
    assert parks.boundingBoxWGS84 == pytest.approx(tuple(extent), abs=1e-6)
    legend_url = parks.styles["default"]["legend"]
    legend = image_of(httpx.get(legend_url, timeout=30))
    assert legend.format == "PNG" and legend.height >= 22 * len(PARKS.legend)
    assert {op.name for op in wms.operations} >= {"GetCapabilities", "GetMap", "GetFeatureInfo"}
    assert sorted(WebMapService(f"{server}/wms", version="1.1.1").contents) == live_public(engine)

    with_key = etree.fromstring(wms_get(server, keys["analyst"], SERVICE="WMS", REQUEST="GetCapabilities").content)
    names = sorted(el.text for el in with_key.iter(f"{{{WMS_NS}}}Name"))
    assert set(PRIVATE_LAYERS) <= set(names) and not set(PRIVATE_LAYERS) & set(wms.contents)


def test_capabilities_box_every_crs_with_the_1_3_0_axis_order_and_speak_english(server, engine, settings):
    root = etree.fromstring(wms_get(server, SERVICE="WMS", REQUEST="GetCapabilities", lang="en").content)
    layer = next(el for el in root.iter(f"{{{WMS_NS}}}Layer") if el.findtext(f"{{{WMS_NS}}}Name") == "parks")
    assert layer.findtext(f"{{{WMS_NS}}}Title") == CATALOG["parks"].title_en
    boxes = {b.get("CRS"): [float(b.get(k)) for k in ("minx", "miny", "maxx", "maxy")]
             for b in layer.iter(f"{{{WMS_NS}}}BoundingBox")}
    with engine.connect() as conn:
        w, s, e, n = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                       "(SELECT ST_Extent(geom) e FROM parks) s")).one()
    assert boxes["EPSG:4326"] == pytest.approx([s, w, n, e], abs=1e-6)  # latitude first in 1.3.0
    utm = Transformer.from_crs(4326, 32647, always_xy=True).transform_bounds(w, s, e, n)
    assert boxes["EPSG:32647"] == pytest.approx(list(utm), abs=0.01)
    assert root.findtext(f".//{{{WMS_NS}}}MaxWidth") == str(settings.wms_max_width)
    assert root.findtext(f".//{{{WMS_NS}}}MaxHeight") == str(settings.wms_max_height)
    # every operation's URL and legend keeps the language and the city asked for
    scoped = etree.fromstring(wms_get(server, SERVICE="WMS", REQUEST="GetCapabilities", lang="en",
                                      city="12.75").content)
    hrefs = [el.get("{http://www.w3.org/1999/xlink}href") for el in scoped.iter(f"{{{WMS_NS}}}OnlineResource")]
    legends = [h for h in hrefs if "GetLegendGraphic" in h]
    assert legends and all("city=12.75" in h and "lang=en" in h for h in legends)
    gets = [el.get("{http://www.w3.org/1999/xlink}href") for el in scoped.iter(f"{{{WMS_NS}}}Get")
            for el in el.iter(f"{{{WMS_NS}}}OnlineResource")]
    assert gets and all("city=12.75" in h for h in gets)
    old = etree.fromstring(wms_get(server, SERVICE="WMS", REQUEST="GetCapabilities", VERSION="1.1.1").content)
    assert old.tag == "WMT_MS_Capabilities"
    parks_111 = next(el for el in old.iter("Layer") if el.findtext("Name") == "parks")
    latlon = parks_111.find("LatLonBoundingBox")
    assert [float(latlon.get(k)) for k in ("minx", "miny", "maxx", "maxy")] == pytest.approx([w, s, e, n], abs=1e-6)


# --- GetMap ------------------------------------------------------------------------------------------------------

def test_owslib_getmap_returns_images_of_the_asked_size_and_format(server):
    wms = WebMapService(f"{server}/wms", version="1.3.0")
    x, y = TO_UTM.transform(98.49, 3.60)
    bbox = (x - 2000, y - 2000, x + 2000, y + 2000)
    png = Image.open(io.BytesIO(wms.getmap(layers=["kelurahan", "parks"], styles=["", ""], srs="EPSG:32647",
                                           bbox=bbox, size=(256, 200), format="image/png").read()))
    assert png.format == "PNG" and png.size == (256, 200)
    common = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "kelurahan,parks", "STYLES": "",
              "CRS": "EPSG:32647", "BBOX": ",".join(map(str, bbox)), "WIDTH": 300, "HEIGHT": 150}
    png8 = image_of(wms_get(server, **common, FORMAT="image/png; mode=8bit"))
    assert png8.mode == "P" and png8.size == (300, 150)
    jpeg = image_of(wms_get(server, **common, FORMAT="image/jpeg"))
    assert jpeg.format == "JPEG" and jpeg.size == (300, 150)
    clear = image_of(wms_get(server, **common, FORMAT="image/png", TRANSPARENT="TRUE")).convert("RGBA")
    alphas = np.asarray(clear)[:, :, 3]
    assert alphas.min() == 0 and alphas.max() == 255  # clear where nothing is drawn, opaque where kelurahan are
    red = np.asarray(image_of(wms_get(server, **{**common, "LAYERS": "parks", "STYLES": ""}, FORMAT="image/png",
                                      BGCOLOR="0xFF0000")).convert("RGB"))
    assert (red.reshape(-1, 3) == (255, 0, 0)).all(axis=1).any()


def test_gdal_geotiff_shows_a_park_in_its_style_colour_and_the_background_around(server, engine, tmp_path):
    parks = parks_utm(engine)
    pid, kelas, geom, point = inside_point(parks)
    x0, y0, x1, y1 = geom.buffer(60 * PIXEL_M).bounds
    size = (round((x1 - x0) / PIXEL_M), round((y1 - y0) / PIXEL_M))
    x1, y1 = x0 + size[0] * PIXEL_M, y0 + size[1] * PIXEL_M
    service = tmp_path / "parks.xml"
    service.write_text(gdal_service(server, "parks", (x0, y0, x1, y1), size))
    out = tmp_path / "parks.tif"
    result = subprocess.run(["gdal_translate", "-q", "-of", "GTiff", str(service), str(out)],
                            capture_output=True, text=True, timeout=120,
                            env={"GDAL_HTTP_TIMEOUT": "60", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    with rasterio.open(out) as tif:
        assert tif.crs.to_epsg() == 32647 and (tif.width, tif.height) == size
        pixels = np.dstack(tif.read())
        row, col = tif.index(point.x, point.y)
    expected = blended(PARKS.color_for(kelas), PARKS.fill_opacity)
    assert np.abs(pixels[row, col].astype(int) - expected).max() <= 2, (pixels[row, col], expected)
    # a pixel at least 4 pixels away from every park is the white background
    everything = shapely.union_all([g for _, _, g in parks]).buffer(4 * PIXEL_M)
    free = box(x0, y0, x1, y1).buffer(-2 * PIXEL_M).difference(everything)
    assert not free.is_empty
    outside = free.representative_point()
    row, col = rasterio.transform.rowcol(rasterio.transform.from_origin(x0, y1, PIXEL_M, PIXEL_M),
                                         outside.x, outside.y)
    assert tuple(pixels[row, col]) == WHITE


def test_epsg_4326_is_lat_lon_in_1_3_0_and_lon_lat_in_1_1_1(server, engine):
    with engine.connect() as conn:
        w, s, e, n = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                       "(SELECT ST_Extent(geom) e FROM parks) s")).one()
    common = {"SERVICE": "WMS", "REQUEST": "GetMap", "LAYERS": "parks", "STYLES": "", "WIDTH": 200, "HEIGHT": 240,
              "FORMAT": "image/png"}
    v13 = np.asarray(image_of(wms_get(server, **common, VERSION="1.3.0", CRS="EPSG:4326", BBOX=f"{s},{w},{n},{e}")))
    v111 = np.asarray(image_of(wms_get(server, **common, VERSION="1.1.1", SRS="EPSG:4326", BBOX=f"{w},{s},{e},{n}")))
    crs84 = np.asarray(image_of(wms_get(server, **common, VERSION="1.3.0", CRS="CRS:84", BBOX=f"{w},{s},{e},{n}")))
    assert (v13 != 255).any()  # parks drawn
    assert np.array_equal(v13, v111) and np.array_equal(v13, crs84)
    swapped = wms_get(server, **common, VERSION="1.3.0", CRS="EPSG:4326", BBOX=f"{w},{s},{e},{n}")
    exception_of(swapped, "InvalidParameterValue")  # lon,lat read as lat,lon: latitude 98 is off the globe


def test_an_edit_redraws_the_next_map_of_its_area(server, engine, keys, http):
    parks = parks_utm(engine)
    taken = shapely.union_all([g for _, _, g in parks]).buffer(50)
    x, y = TO_UTM.transform(98.49, 3.60)
    site = next(b for dx in range(-3000, 3001, 500) for dy in range(-3000, 3001, 500)
                if not (b := box(x + dx, y + dy, x + dx + 200, y + dy + 200)).intersects(taken))
    x0, y0, x1, y1 = site.buffer(100).bounds
    params = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "parks", "STYLES": "",
              "CRS": "EPSG:32647", "BBOX": f"{x0},{y0},{x1},{y1}", "WIDTH": 80, "HEIGHT": 80, "FORMAT": "image/png"}
    first = wms_get(server, **params)
    assert wms_get(server, **params).headers["etag"] == first.headers["etag"]  # the cached image
    again = httpx.get(f"{server}/wms", params=params, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and not again.content
    assert tuple(np.asarray(image_of(first).convert("RGB"))[40, 40]) == WHITE
    lonlat = shapely.transform(site, lambda xy: np.column_stack(
        Transformer.from_crs(32647, 4326, always_xy=True).transform(xy[:, 0], xy[:, 1])))
    r = http.post("/collections/parks/items", headers={"X-API-Key": keys["planner"]}, json={
        "type": "Feature", "geometry": mapping(lonlat),
        "properties": {"nama": "Taman Uji WMS", "kelas": "taman lansia", "publik": True}})
    assert r.status_code == 201, r.text
    try:
        during = wms_get(server, **params)
        assert during.headers["etag"] != first.headers["etag"]  # an image with the new park, not the cached one
        after = np.asarray(image_of(during).convert("RGB"))
        expected = blended(PARKS.color_for("taman lansia"), PARKS.fill_opacity)
        assert np.abs(after[40, 40].astype(int) - expected).max() <= 2
    finally:
        gone = http.delete(f"/collections/parks/items/{r.json()['id']}",
                           headers={"X-API-Key": keys["planner"], "If-Match": r.headers["etag"]})
        assert gone.status_code == 204, gone.text
    assert tuple(np.asarray(image_of(wms_get(server, **params)).convert("RGB"))[40, 40]) == WHITE


# --- exception reports ----------------------------------------------------------------------------------------------

GOOD = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "parks", "STYLES": "",
        "CRS": "EPSG:32647", "BBOX": "440000,390000,450000,400000", "WIDTH": "64", "HEIGHT": "64",
        "FORMAT": "image/png"}


@pytest.mark.parametrize(("change", "code"), [
    ({"CRS": "EPSG:2154"}, "InvalidCRS"),
    ({"CRS": None}, "MissingParameterValue"),
    ({"LAYERS": "parks,no_such_layer"}, "LayerNotDefined"),
    ({"LAYERS": "programme_points"}, "LayerNotDefined"),  # private: not offered to the public
    ({"FORMAT": "image/gif"}, "InvalidFormat"),
    ({"STYLES": "fancy"}, "StyleNotDefined"),
    ({"STYLES": ",,"}, "InvalidParameterValue"),
    ({"BBOX": "1,2,3"}, "InvalidParameterValue"),
    ({"BBOX": "450000,390000,440000,400000"}, "InvalidParameterValue"),
    ({"BBOX": "a,b,c,d"}, "InvalidParameterValue"),
    ({"WIDTH": "5000"}, "InvalidParameterValue"),
    ({"HEIGHT": "-3"}, "InvalidParameterValue"),
    ({"WIDTH": "wide"}, "InvalidParameterValue"),
    ({"VERSION": "1.0.7"}, "InvalidParameterValue"),
    ({"VERSION": None}, "MissingParameterValue"),
    ({"TRANSPARENT": "maybe"}, "InvalidParameterValue"),
    ({"BGCOLOR": "red"}, "InvalidParameterValue"),
    ({"REQUEST": "GetStyles"}, "OperationNotSupported"),
    ({"REQUEST": None}, "MissingParameterValue"),
    ({"SERVICE": "WFS"}, "InvalidParameterValue"),
    ({"REQUEST": "GetFeatureInfo", "QUERY_LAYERS": "parks", "I": "70", "J": "3", "INFO_FORMAT": "text/plain"},
     "InvalidPoint"),
    ({"REQUEST": "GetFeatureInfo", "QUERY_LAYERS": "kelurahan", "I": "1", "J": "3"}, "LayerNotQueryable"),
    ({"REQUEST": "GetFeatureInfo", "QUERY_LAYERS": "parks", "I": "1", "J": "3", "INFO_FORMAT": "text/csv"},
     "InvalidFormat"),
    ({"REQUEST": "GetFeatureInfo", "QUERY_LAYERS": "parks", "I": "1", "J": "3", "FEATURE_COUNT": "0"},
     "InvalidParameterValue"),
    ({"REQUEST": "GetLegendGraphic", "LAYER": "nope"}, "LayerNotDefined"),
    ({"city": "99.99"}, "InvalidParameterValue"),
    ({"REQUEST": "GetLegendGraphic", "LAYER": "parks", "FORMAT": "image/svg"}, "InvalidFormat"),
])
def test_every_malformed_request_gets_a_service_exception_report(server, change, code):
    params = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    text_ = exception_of(wms_get(server, **params), code)
    assert "Traceback" not in text_


def test_1_1_1_requests_get_1_1_1_reports_and_an_unknown_srs_is_invalid_srs(server):
    params = {**GOOD, "VERSION": "1.1.1", "SRS": "EPSG:2154"}
    params.pop("CRS")
    r = wms_get(server, **params)
    assert r.headers["content-type"].startswith("application/vnd.ogc.se_xml")
    exception_of(r, "InvalidSRS", version="1.1.1")
    assert image_of(wms_get(server, **{**GOOD, "CRS": None, "VERSION": "1.1.1", "SRS": "EPSG:32647"})).size == (64, 64)


def test_a_bad_key_is_refused_with_a_report(server):
    exception_of(wms_get(server, "not-a-key", SERVICE="WMS", REQUEST="GetCapabilities"), "NoApplicableCode",
                 status=401)


def test_the_legend_shows_every_category_colour_of_the_style(server):
    legend = np.asarray(image_of(wms_get(server, SERVICE="WMS", REQUEST="GetLegendGraphic", LAYER="parks",
                                         FORMAT="image/png")).convert("RGBA"))
    colours = {tuple(px[:3]) for px in legend.reshape(-1, 4) if px[3] == 255}
    for item in PARKS.legend:
        rgb = tuple(int(item.color.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
        assert rgb in colours, item


def test_web_mercator_and_far_away_boxes(server, engine):
    _, kelas, geom, point = inside_point(parks_utm(engine))
    to_merc = Transformer.from_crs(32647, 3857, always_xy=True)
    x0, y0, x1, y1 = geom.bounds
    (mx0, mx1), (my0, my1) = to_merc.transform([x0, x1], [y0, y1])
    px, py = to_merc.transform(point.x, point.y)
    params = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "parks", "STYLES": "",
              "CRS": "EPSG:3857", "BBOX": f"{mx0},{my0},{mx1},{my1}", "WIDTH": 200, "HEIGHT": 200,
              "FORMAT": "image/png"}
    pixels = np.asarray(image_of(wms_get(server, **params)).convert("RGB"))
    col, row = int((px - mx0) / (mx1 - mx0) * 200), int((my1 - py) / (my1 - my0) * 200)
    expected = blended(PARKS.color_for(kelas), PARKS.fill_opacity)
    assert np.abs(pixels[row, col].astype(int) - expected).max() <= 2
    # a box no projection can reach is a request error, not a server error
    exception_of(wms_get(server, **{**GOOD, "BBOX": "1e7,1e7,2e7,2e7"}), "InvalidParameterValue")


def test_every_park_shows_on_a_small_map_of_the_whole_city(server, engine):
    parks = parks_utm(engine)
    x0, y0, x1, y1 = shapely.union_all([g for _, _, g in parks]).buffer(200).bounds
    size = 120
    scale = max(x1 - x0, y1 - y0) / size  # metres per pixel: most parks are far smaller than a pixel here
    x1, y1 = x0 + size * scale, y0 + size * scale
    params = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "parks", "STYLES": "",
              "CRS": "EPSG:32647", "BBOX": f"{x0},{y0},{x1},{y1}", "WIDTH": size, "HEIGHT": size,
              "FORMAT": "image/png", "TRANSPARENT": "TRUE"}
    alpha = np.asarray(image_of(wms_get(server, **params)).convert("RGBA"))[:, :, 3]
    small = [g for _, _, g in parks if max(g.bounds[2] - g.bounds[0], g.bounds[3] - g.bounds[1]) < scale]
    assert len(small) >= len(parks) // 2
    for geom in small:
        p = geom.point_on_surface()
        row, col = int((y1 - p.y) / scale), int((p.x - x0) / scale)
        assert alpha[max(row - 1, 0):row + 2, max(col - 1, 0):col + 2].max() >= 128, p


def test_the_map_renderer_leaves_the_projection_data_of_rasters_alone(server):
    import os

    from gis.render import wms_mapnik  # noqa: F401  (loading Mapnik once set PROJ_LIB for the whole process)

    assert "mapnik" not in os.environ.get("PROJ_LIB", "") + os.environ.get("GDAL_DATA", "")
    assert rasterio.crs.CRS.from_epsg(32647).to_epsg() == 32647

