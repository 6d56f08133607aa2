"""Park coverage on Dask gives the in-process result: the same kelurahan/desa rows with the same people, people
served and shares, on Binjai (its population grid cut into many chunks) and over Binjai and Deli Serdang
together; and the engine input of the park-coverage process over HTTP.

The sums are float64 additions of float32 cells, done chunk by chunk rather than over the whole grid: the order
of the additions differs, so they are compared to a relative 1e-12 (float64 rounding over a few million cells is
far below that; any missing or doubled cell is far above it)."""

from __future__ import annotations

import dask
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine

from gis.analyses.coverage import park_coverage
from gis.analyses.coverage_dask import region_park_coverage
from gis.analyses.grid import Raster
from gis.analyses.siting_blocks import GridSpec
from gis.processes import Context
from gis.processes.coverage import DEFAULT_PARK_RADII
from layers.sample.synthetic_region import write_population
from tests.test_processes import run as execute_over_http

REL = 1e-12


def synchronous(delayed):
    return list(dask.compute(*delayed, scheduler="synchronous"))


def assert_same(result: gpd.GeoDataFrame, expected: gpd.GeoDataFrame):
    assert list(result.columns) == list(expected.columns)
    assert len(result) == len(expected) > 0
    for column in expected.columns:
        if column == "geometry":
            assert all(result.geometry.geom_equals_exact(expected.geometry, tolerance=0))
        elif pd.api.types.is_float_dtype(expected[column]):
            np.testing.assert_allclose(result[column], expected[column], rtol=REL, atol=0, err_msg=column)
        else:
            assert list(result[column]) == list(expected[column]), column
    assert result.attrs["city"] == pytest.approx(expected.attrs["city"], rel=REL)
    assert {k: v for k, v in result.attrs.items() if k != "city"} == \
        {k: v for k, v in expected.attrs.items() if k != "city"}


def layers_of(engine, settings, codes, reach):
    ctx = Context(engine, settings, include_private=False, owner="anonymous")
    cities = ctx.cities(codes)
    return ctx, cities, ctx.layer("kelurahan", cities), ctx.layer("parks", cities, near_m=reach)


def test_park_coverage_on_dask_equals_in_process_on_binjai(engine, settings):
    ctx, cities, kelurahan, parks = layers_of(engine, settings, None, max(DEFAULT_PARK_RADII.values()))
    path = ctx.city_raster_path("population", cities[0])
    options = dict(radii_m=DEFAULT_PARK_RADII, metric_crs=ctx.metric_crs(cities[0]))
    expected = park_coverage(kelurahan, parks, Raster.open(path), **options)
    calls = []

    def counting(delayed):
        calls.append(len(delayed))
        return synchronous(delayed)

    result = region_park_coverage(kelurahan, parks, path, compute=counting, chunk=256, **options)
    assert calls[0] > 4  # many chunks: parks near a chunk's edge serve the cells across it
    assert_same(result, expected)
    assert 0 < expected.attrs["city"]["share_served"] < 1 and (expected["share_served"] < 1).any()


def test_park_coverage_on_dask_equals_in_process_over_binjai_and_deli_serdang(region, tmp_path):
    """Every desa of Deli Serdang and kelurahan of Binjai over one population grid (50 m, generated), every park
    class with its radius (up to the city park's), parks across the border counted for both sides."""
    engine, _, settings = region
    ctx, cities, kelurahan, parks = layers_of(engine, settings, ("12.75", "12.07"), 5_000)
    assert set(kelurahan["kabkota"]) == {"12.75", "12.07"} and len(kelurahan) > 400
    minx, miny, maxx, maxy = kelurahan.to_crs(32647).total_bounds
    x0, y1 = np.floor(minx / 50) * 50 - 500, np.ceil(maxy / 50) * 50 + 500
    shape = int(np.ceil((y1 - miny + 500) / 50)), int(np.ceil((maxx + 500 - x0) / 50))
    path = write_population(tmp_path, GridSpec(Affine(50.0, 0, x0, 0, -50.0, y1), shape, 32647))
    expected = park_coverage(kelurahan, parks, Raster.open(path), metric_crs=32647)
    result = region_park_coverage(kelurahan, parks, path, compute=synchronous, chunk=300, metric_crs=32647)
    assert_same(result, expected)
    served = expected.set_index("kode")["served"]
    assert (served[kelurahan.loc[kelurahan.kabkota == "12.75", "kode"]] > 0).any()


def test_over_http_the_engine_is_a_described_input_and_dask_answers_as_in_process(http):
    described = http.get("/processes/park-coverage").json()["inputs"]["engine"]
    assert "dask" in str(described) and "in-process" in str(described)
    asked = {"underserved_below": 0.999}  # a high bar: some kelurahan listed, some not
    expected = execute_over_http(http, "park-coverage", asked)
    on_dask = execute_over_http(http, "park-coverage", {**asked, "engine": "dask"}, timeout=240)
    assert 0 < len(expected["underserved"]) < 37
    assert on_dask["underserved"] == expected["underserved"]
    assert on_dask["overall"] == pytest.approx(expected["overall"], rel=REL)
    rows, expected_rows = ([f["properties"] for f in out["kelurahan"]["features"]] for out in (on_dask, expected))
    assert len(rows) == len(expected_rows) == 37
    for row, want in zip(rows, expected_rows, strict=True):
        assert row.keys() == want.keys()
        for key, value in want.items():
            assert row[key] == (pytest.approx(value, rel=REL) if isinstance(value, float) else value), key
    assert [f["geometry"] for f in on_dask["kelurahan"]["features"]] == \
        [f["geometry"] for f in expected["kelurahan"]["features"]]
