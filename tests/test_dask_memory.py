"""A region-scale siting run holds chunks, not the region: over a synthetic grid whose score alone, held whole,
would pass the bound set here, the run's peak traced memory stays under it and still finds sound sites."""

from __future__ import annotations

import tracemalloc

import dask
import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from gis.analyses.siting_blocks import GridSpec
from gis.analyses.siting_dask import RasterSources, region_site_suitability
from gis.analyses.suitability import Criteria
from layers.sample.synthetic_region import region_layers, write_criteria

SIZE, RES, X0, Y1 = 2400, 40.0, 400_000.0, 420_000.0  # 96 km x 96 km: 5.8 million cells
CHUNK = 256


def synchronous(delayed):
    return list(dask.compute(*delayed, scheduler="synchronous"))


def test_a_windowed_run_stays_under_a_bound_that_one_whole_grid_would_break(tmp_path):
    grid = GridSpec(Affine(RES, 0.0, X0, 0.0, -RES, Y1), (SIZE, SIZE), 32647)
    city_m = box(X0 + 1000, Y1 - SIZE * RES + 1000, X0 + SIZE * RES - 1000, Y1 - 1000)
    cities = gpd.GeoDataFrame({"kode": ["99.01"]}, geometry=[city_m], crs=32647)
    paths = write_criteria(tmp_path, grid)
    sources = RasterSources(grid, (str(paths["slope"]),), (str(paths["flood_hazard"]),),
                            (str(paths["land_cover"]),))
    layers = region_layers(cities, grid)
    c = Criteria(target_ha=50, n_candidates=3)
    bound = SIZE * SIZE * 4  # one grid-sized float32 array (the surface alone, held whole) would not fit
    tracemalloc.start()
    try:
        sites = region_site_suitability(sources, layers, c, compute=synchronous, chunk=CHUNK)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"peak traced {peak / 1e6:.1f} MB, bound {bound / 1e6:.1f} MB")
    assert peak < bound
    assert len(sites) == 3
    metric = sites.to_crs(32647)
    housing = layers.zoning[layers.zoning.kodszn == "R-2"].to_crs(32647).union_all()
    for geom, area_ha in zip(metric.geometry, metric.area_ha, strict=True):
        assert geom.area / 1e4 == pytest.approx(area_ha, abs=0.01) and area_ha >= 50
        assert city_m.contains(geom) and geom.intersection(housing).area < 1
        assert geom.geom_type == "Polygon"
    # each site's score is the mean of the surface under it, read back from the slope file's cells
    with rasterio.open(paths["slope"]) as ds:
        r, col = ds.index(*metric.geometry.iloc[0].representative_point().coords[0])
        assert np.isfinite(ds.read(1, window=((r, r + 1), (col, col + 1)))).all()
