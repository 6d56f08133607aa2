"""Region-scale siting on Dask gives the in-process result on Binjai: the same candidates (cell for cell) and
the same scores, whether the chunks run in this process, on a LocalCluster, or on a scheduler and worker
started as separate processes."""

from __future__ import annotations

import time

import dask
import numpy as np
import pytest
import rasterio

from gis.analyses import suitability
from gis.analyses.siting_dask import region_site_suitability, region_surface
from gis.processes import Context
from gis.processes.siting import siting_data, siting_sources

CHUNK = 512  # small chunks: Binjai's grid is cut into many, so the merge across chunk edges is exercised


def synchronous(delayed):
    return list(dask.compute(*delayed, scheduler="synchronous"))


@pytest.fixture(scope="module")
def binjai(engine, settings):
    ctx = Context(engine, settings, include_private=False, owner="anonymous")
    cities = ctx.cities(None)
    c = suitability.Criteria(n_candidates=4)
    started = time.perf_counter()
    score, sites = suitability.site_suitability(siting_data(ctx, cities, c, "landcover_2024"), c)
    seconds = time.perf_counter() - started
    sources, layers = siting_sources(ctx, cities, c, "landcover_2024")
    return c, score, sites, sources, layers, seconds


def assert_same_sites(dask_sites, sites):
    assert list(dask_sites.columns) == list(sites.columns)
    assert len(dask_sites) == len(sites) >= 2
    for column in sites.columns:
        if column != "geometry":
            assert list(dask_sites[column]) == list(sites[column]), column
    assert all(dask_sites.geometry.geom_equals_exact(sites.geometry, tolerance=0))


def test_dask_siting_equals_in_process_siting_on_binjai(binjai, tmp_path):
    c, score, sites, sources, layers, _ = binjai
    assert max(sources.grid.shape) > 2 * CHUNK  # more than one chunk each way
    path = tmp_path / "score.vrt"
    dask_sites = region_site_suitability(sources, layers, c, compute=synchronous, chunk=CHUNK, score_path=path)
    assert_same_sites(dask_sites, sites)
    with rasterio.open(path) as ds:
        written = ds.read(1)
        assert ds.transform == score.transform and ds.crs.to_epsg() == score.crs
    np.testing.assert_array_equal(written, score.array)  # NaN where excluded, on both


def test_seeds_fetched_in_several_rounds_give_the_same_sites(binjai):
    """A small per-chunk seed list runs out before the search ends: later rounds go deeper, in the same order."""
    c, _, sites, sources, layers, _ = binjai
    calls = []

    def counting(delayed):
        calls.append(len(delayed))
        return synchronous(delayed)

    dask_sites = region_site_suitability(sources, layers, c, compute=counting, chunk=CHUNK, k=50)
    assert_same_sites(dask_sites, sites)
    assert len(calls) >= 2  # at least two rounds of seeds


def test_the_region_surface_as_a_dask_array_is_the_in_process_surface(binjai):
    c, score, _, sources, layers, _ = binjai
    surface = region_surface(sources, layers, c, chunk=CHUNK)
    assert surface.chunks[0][0] == CHUNK and surface.numblocks[0] > 1 and surface.numblocks[1] > 1
    np.testing.assert_array_equal(surface.compute(scheduler="synchronous"), score.array)
