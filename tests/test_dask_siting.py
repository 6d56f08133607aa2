"""Region-scale siting on Dask gives the in-process result on Binjai: the same candidates (cell for cell) and
the same scores, whether the chunks run in this process, on a LocalCluster, or on a scheduler and worker
started as separate processes."""

from __future__ import annotations

import time
from contextlib import contextmanager

import dask
import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from sqlalchemy import text

from gis.analyses import suitability
from gis.analyses.siting_dask import region_site_suitability, region_surface
from gis.core.cog import write_cog
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


@contextmanager
def coarse_rasters(db, settings, around):
    """Deli Serdang rasters at 30 m on a grid offset from Binjai's 10 m one (placed by resampling), varying
    cell to cell, registered for 12.07 for the duration of a test."""
    x0, y1 = np.floor((around.x - 4000) / 30) * 30 + 7, np.ceil((around.y + 4000) / 30) * 30 + 7
    transform, shape = Affine(30.0, 0, x0, 0, -30.0, y1), (270, 270)
    cols = np.indices(shape)[1]
    arrays = {"slope": (2 + cols % 7).astype("float32"), "flood_hazard": np.ones(shape, "uint8"),
              "landcover_2024": np.where((cols // 5) % 2 == 0, 2, 3).astype("uint8")}
    ids = []
    with db.begin() as conn:
        for dataset, array in arrays.items():
            rel = f"rasters/coarse_{dataset}_12_07.tif"
            write_cog(settings.data_dir / rel, array, transform, 32647)
            ids.append(f"coarse_{dataset}_12_07")
            conn.execute(text(
                "INSERT INTO rasters (id, title_id, title_en, path, units, kind, illustrative, city, dataset) "
                "VALUES (:id, :id, :id, :p, '', 'continuous', true, '12.07', :d)"),
                {"id": ids[-1], "p": rel, "d": dataset})
    try:
        yield
    finally:
        with db.begin() as conn:
            conn.execute(text("DELETE FROM rasters WHERE id = ANY(:ids)"), {"ids": ids})
        for i in ids:
            (settings.data_dir / "rasters" / f"{i}.tif").unlink()


def test_dask_siting_across_a_border_with_resampled_rasters_equals_in_process(region):
    """Binjai (10 m) and Deli Serdang (30 m rasters, resampled onto Binjai's grid) in one search around their
    border: the same sites on Dask."""
    from tests.test_region_analyses import border_point

    db, _, settings = region
    ctx = Context(db, settings, include_private=False, owner="anonymous")
    cities = ctx.cities(("12.75", "12.07"))
    border = border_point(300)
    study = gpd.GeoSeries([border.buffer(3000)], crs=32647).to_crs(4326).iloc[0]
    c = suitability.Criteria(target_ha=50, n_candidates=4, study_area=study)
    with coarse_rasters(db, settings, border):
        _, sites = suitability.site_suitability(siting_data(ctx, cities, c, "landcover_2024"), c)
        sources, layers = siting_sources(ctx, cities, c, "landcover_2024")
        resolutions = set()
        for path in sources.slope:
            with rasterio.open(path) as ds:
                resolutions.add(ds.res[0])
        assert len(sources.slope) == 2 and resolutions == {sources.grid.res, 30.0}  # one placed by resampling
        dask_sites = region_site_suitability(sources, layers, c, compute=synchronous, chunk=256)
    assert_same_sites(dask_sites, sites)
    assert any("12.07" in touched for touched in sites.cities)
