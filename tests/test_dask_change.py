"""Change detection on Dask gives the in-process result: the same hectares per transition and the same change
raster cell for cell, on the sample estate (cut into many chunks) and on a synthetic pair of rasters too large to
read whole under the memory bound set here; and the engine input of the change-detection process over HTTP."""

from __future__ import annotations

import tracemalloc

import dask
import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely import wkt
from shapely.geometry import Point
from sqlalchemy import text

from gis.analyses.change_dask import region_change_detection
from gis.analyses.grid import Raster
from gis.analyses.monitoring import change_detection
from gis.analyses.siting_blocks import GridSpec
from gis.core.errors import InvalidInput
from layers.rasters import LAND_COVER_CLASSES
from layers.sample.synthetic_region import write_land_cover_pair
from tests.test_processes import run as execute_over_http


def synchronous(delayed):
    return list(dask.compute(*delayed, scheduler="synchronous"))


def assert_same(dask_run, in_process_run, vrt):
    (table, summary), (expected_table, change, expected_summary) = dask_run, in_process_run
    assert summary == expected_summary
    pd_equal = table.equals(expected_table)
    assert pd_equal, (table, expected_table)
    with rasterio.open(vrt) as ds:
        assert ds.transform == change.transform and ds.crs.to_epsg() == change.crs and ds.dtypes[0] == "uint16"
        np.testing.assert_array_equal(ds.read(1), change.array)


@pytest.fixture(scope="module")
def estate(engine, settings):
    with engine.connect() as conn:
        footprint = wkt.loads(conn.execute(text("SELECT ST_AsText(geom) FROM projects LIMIT 1")).scalar())
    rasters = settings.data_dir / "rasters"
    return footprint, rasters / "landcover_2019.tif", rasters / "landcover_2024.tif"


def test_change_detection_on_dask_equals_in_process_on_the_sample_estate(estate, tmp_path):
    footprint, before, after = estate
    expected = change_detection(Raster.open(before), Raster.open(after), footprint, LAND_COVER_CLASSES)
    assert expected[2]["changed_ha"] > 0 and len(expected[0]) >= 1
    calls = []

    def counting(delayed):
        calls.append(len(delayed))
        return synchronous(delayed)

    vrt = tmp_path / "change.vrt"
    # 40-cell chunks: the estate's box is cut into many, some without a cell of the footprint
    on_dask = region_change_detection(before, after, footprint, LAND_COVER_CLASSES, compute=counting, chunk=40,
                                      change_path=vrt)
    assert calls and calls[0] > 4
    assert_same(on_dask, expected, vrt)


def test_a_footprint_outside_the_rasters_or_rasters_on_two_grids_are_refused(estate, tmp_path):
    _, before, after = estate
    far = Point(100.0, 0.0).buffer(0.01)
    with pytest.raises(InvalidInput, match="the footprint lies outside the rasters"):
        region_change_detection(before, after, far, compute=synchronous)
    with rasterio.open(before) as ds:
        profile, data = ds.profile, ds.read(1)
    profile.update(transform=ds.transform * Affine.translation(1, 0))
    with rasterio.open(tmp_path / "moved.tif", "w", **profile) as out:
        out.write(data, 1)
    with pytest.raises(InvalidInput, match="must share one grid"):
        region_change_detection(before, tmp_path / "moved.tif", far, compute=synchronous)


SIZE, RES, X0, Y1 = 4000, 10.0, 430_000.0, 400_000.0  # 40 km x 40 km at 10 m: 16 million cells


def test_a_region_size_pair_is_counted_under_a_bound_whole_rasters_would_break(tmp_path):
    grid = GridSpec(Affine(RES, 0.0, X0, 0.0, -RES, Y1), (SIZE, SIZE), 32647)
    before, after = write_land_cover_pair(tmp_path / "in", grid)
    centre = Point(X0 + SIZE * RES / 2, Y1 - SIZE * RES / 2)
    footprint = gpd.GeoSeries([centre.buffer(SIZE * RES * 0.48)], crs=32647).to_crs(4326).iloc[0]
    vrt = tmp_path / "change.vrt"
    bound = SIZE * SIZE  # one of the two uint8 rasters held whole would not fit (in-process holds both, as int64)
    tracemalloc.start()
    try:
        on_dask = region_change_detection(before, after, footprint, LAND_COVER_CLASSES, compute=synchronous,
                                          chunk=512, change_path=vrt)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"peak traced {peak / 1e6:.1f} MB, bound {bound / 1e6:.1f} MB")
    assert peak < bound
    assert on_dask[1]["changed_share"] > 0.05 and len(on_dask[0]) > 4
    expected = change_detection(Raster.open(before), Raster.open(after), footprint, LAND_COVER_CLASSES)
    assert_same(on_dask, expected, vrt)


def cells(settings, result) -> np.ndarray:
    with rasterio.open(settings.data_dir / "rasters" / "results" / f"{result['change_raster']['id']}.tif") as ds:
        assert ds.dtypes[0] == "uint16"
        return ds.read(1)


def test_over_http_the_engine_is_a_described_input_and_dask_answers_as_in_process(http, settings):
    described = http.get("/processes/change-detection").json()["inputs"]["engine"]
    assert "dask" in str(described) and "in-process" in str(described)
    expected = execute_over_http(http, "change-detection", {})
    on_dask = execute_over_http(http, "change-detection", {"engine": "dask"}, timeout=240)
    rasters = on_dask.pop("change_raster"), expected.pop("change_raster")
    assert on_dask == expected and expected["changed_ha"] > 0  # the same figures
    # each run's raster named by the inputs (the engine left out) and its job; the same cells
    assert rasters[0]["id"].rsplit("_", 1)[0] == rasters[1]["id"].rsplit("_", 1)[0]
    on_dask["change_raster"], expected["change_raster"] = rasters
    np.testing.assert_array_equal(cells(settings, on_dask), cells(settings, expected))
    assert cells(settings, expected).any()
    assert not list((settings.data_dir / "rasters" / "scratch").glob("change_*"))  # the tiles cleared away
