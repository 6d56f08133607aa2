"""Raster endpoints: PNG tiles opened with rasterio, point values and statistics checked against numpy over the
same pixels of the COG."""

import json

import morecantile
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Transformer
from rasterio.features import geometry_mask
from rasterio.io import MemoryFile
from shapely.geometry import box, mapping, shape

from layers.rasters import LAND_COVER_CLASSES
from tests.conftest import SOURCE_DATA, problem_of

TMS = morecantile.tms.get("WebMercatorQuad")


def _open(settings, raster_id):
    return rasterio.open(settings.data_dir / "rasters" / f"{raster_id}.tif")


def _numpy_stats(settings, raster_id, geom_lonlat):
    """Independent: the pixels whose centres fall inside the polygon, by geometry_mask on the full array."""
    with _open(settings, raster_id) as ds:
        to_utm = Transformer.from_crs(4326, ds.crs, always_xy=True)
        projected = shapely.transform(geom_lonlat, lambda xy: np.column_stack(to_utm.transform(xy[:, 0], xy[:, 1])))
        inside = ~geometry_mask([mapping(projected)], out_shape=ds.shape,
                                transform=ds.transform, all_touched=False)
        values = ds.read(1).astype("float64")[inside]
    return values


def test_registry_and_metadata(http):
    ids = {r["id"] for r in http.get("/rasters").json()["rasters"]}
    assert {"elevation", "slope", "flood_hazard", "landcover_2019", "landcover_2024", "population"} <= ids
    meta = http.get("/rasters/slope").json()
    assert meta["units"] == "%" and meta["illustrative"] is True
    west, south, east, north = meta["bounds"]
    assert 98.4 < west < 98.45 and 98.53 < east < 98.56 and 3.5 < south < north < 3.7
    lo, hi = meta["legend"]["rescale"]
    assert 0 <= lo < hi < 20
    classes = http.get("/rasters/landcover_2024").json()["legend"]["classes"]
    assert {c["value"] for c in classes} == set(LAND_COVER_CLASSES)
    assert problem_of(http.get("/rasters/nope"))["status"] == 404


def test_png_tile_has_the_right_size_and_dtype_and_only_class_colours(http):
    t = TMS.tile(98.49, 3.60, 13)
    r = http.get(f"/rasters/landcover_2024/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    with MemoryFile(r.content) as mem, mem.open() as img:
        assert (img.width, img.height, img.count) == (256, 256, 4)
        assert img.dtypes[0] == "uint8"
        rgba = img.read()
    opaque = rgba[3] > 0
    colours = {tuple(int(c) for c in rgba[:3, i, j]) for i, j in zip(*np.nonzero(opaque), strict=True)}
    expected = {tuple(int(h[k:k + 2], 16) for k in (1, 3, 5)) for _, _, h in LAND_COVER_CLASSES.values()}
    assert opaque.mean() > 0.9 and colours <= expected and len(colours) >= 3
    again = http.get(f"/rasters/landcover_2024/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png",
                     headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    far = TMS.tile(100.0, 0.0, 13)
    assert http.get(f"/rasters/population/tiles/WebMercatorQuad/{far.z}/{far.x}/{far.y}.png").status_code == 204


def test_point_value_is_the_pixel_value(http, settings):
    lon, lat = 98.4935, 3.6011
    value = http.get(f"/rasters/elevation/point/{lon},{lat}").json()["value"]
    with _open(settings, "elevation") as ds:
        x, y = Transformer.from_crs(4326, ds.crs, always_xy=True).transform(lon, lat)
        row, col = ds.index(x, y)
        assert value == pytest.approx(float(ds.read(1)[row, col]), rel=1e-6)
    assert problem_of(http.get("/rasters/elevation/point/120.0,10.0"))["status"] == 400


def test_statistics_equal_numpy_over_the_same_pixels(http, settings):
    site = box(98.515, 3.590, 98.535, 3.605)
    stats = http.post("/rasters/slope/statistics", json=mapping(site)).json()
    values = _numpy_stats(settings, "slope", site)
    assert stats["count"] == values.size
    assert stats["mean"] == pytest.approx(values.mean(), rel=1e-6)
    assert stats["min"] == pytest.approx(values.min(), rel=1e-6)
    assert stats["max"] == pytest.approx(values.max(), rel=1e-6)
    assert stats["sum"] == pytest.approx(values.sum(), rel=1e-6)
    assert sum(b["count"] for b in stats["histogram"]) == values.size
    assert stats["area_ha"] == pytest.approx(values.size * 0.01)


def test_population_of_the_whole_city_is_the_raster_total(http, settings):
    city = shape(json.loads((SOURCE_DATA / "kota_binjai.geojson").read_text())["features"][0]["geometry"])
    stats = http.post("/rasters/population/statistics", json={"type": "Feature", "geometry": mapping(city)}).json()
    with _open(settings, "population") as ds:
        total = ds.read(1).astype("float64").sum()
    assert stats["sum"] == pytest.approx(total, rel=1e-6)
    assert stats["sum"] == pytest.approx(315_609, rel=0.01)


def test_categorical_statistics_count_each_class(http, settings):
    site = box(98.50, 3.58, 98.54, 3.61)
    stats = http.post("/rasters/landcover_2024/statistics", json=mapping(site)).json()
    values = _numpy_stats(settings, "landcover_2024", site).astype(int)
    expected = dict(zip(*np.unique(values, return_counts=True), strict=True))
    assert {h["value"]: h["count"] for h in stats["histogram"]} == {int(k): int(v) for k, v in expected.items()}


@pytest.mark.parametrize("body, message", [
    ({"type": "Point", "coordinates": [98.5, 3.6]}, "Polygon"),
    (mapping(box(120, 10, 121, 11)), "outside"),
    ({"type": "Polygon", "coordinates": "x"}, "GeoJSON"),
])
def test_bad_statistics_requests_are_400(http, body, message):
    r = http.post("/rasters/population/statistics", json=body)
    assert message in problem_of(r)["detail"]
