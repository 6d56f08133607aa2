"""site-suitability: candidate sites for an industrial estate, or the score of a drawn site."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from affine import Affine
from pydantic import Field, model_validator

from gis.analyses import rules, suitability
from gis.analyses.dask_cluster import dask_client, gather
from gis.analyses.grid import Raster, aligned_extent, mosaic
from gis.analyses.siting_blocks import GridSpec
from gis.analyses.siting_dask import RasterSources, region_site_suitability
from gis.core.errors import InvalidInput
from gis.data import itbx as itbx_table
from gis.data.cities import City
from gis.processes.context import Context, _features, _inside_city, city_entries
from gis.processes.inputs import GeoJSONPolygon, ProcessInputs

ESTATE_KBLI = "68130"  # KBLI 2020: kawasan industri


class SiteSuitabilityInputs(ProcessInputs):
    mode: Literal["search", "evaluate"] = Field(
        "search", title="Mode",
        description="search: the best candidate sites of at least target_ha; evaluate: how a drawn site fares")
    target_ha: suitability.TargetHa = Field(
        rules.ESTATE_TARGET_HA.value, title="Target area (ha)",
        description=f"The area the estate needs, in hectares. Default: {rules.ESTATE_TARGET_HA.source}")
    max_slope_pct: suitability.SlopeLimitPct = Field(
        rules.MAX_SLOPE_PCT.value, title="Maximum slope (%)",
        description=f"Steeper land is excluded. Default: {rules.MAX_SLOPE_PCT.source}")
    weights: suitability.Weights = Field(
        suitability.DEFAULT_WEIGHTS, title="Criterion weights",
        description="Weight of each criterion (>= 0, not all 0); criteria left out keep their default")
    n_candidates: suitability.CandidateCount = Field(5, title="Candidates",
                                                     description="How many candidate sites to return")
    study_area: GeoJSONPolygon | None = Field(None, title="Study area",
                                              description="Search only here (default: the whole city)")
    site: GeoJSONPolygon | None = Field(None, title="Site to evaluate (mode=evaluate)")
    land_cover: str = Field("landcover_2024", min_length=1, max_length=100, title="Land-cover raster id",
                            description="A land-cover raster of the registry (see /rasters)")
    kbli: str | None = Field(ESTATE_KBLI, pattern=r"^[0-9]{2,5}$", title="KBLI 2020",
                             description="The activity sited, as a KBLI 2020 code: no candidate lies in a zone where "
                                         "the city's ITBX says X for it, nor on protected farmland (LP2B). Default: "
                                         f"{ESTATE_KBLI} (industrial estate); null: land by its suitability alone "
                                         "(no ITBX nor LP2B exclusions)")
    activity: str | None = Field(None, min_length=1, max_length=100, title="Activity",
                                 description="Instead of a KBLI: an activity named in the city's ITBX table")
    engine: Literal["in-process", "dask"] = Field(
        "in-process", title="Engine",
        description="in-process: the grid held whole in one worker (a city); dask: scored chunk by chunk on a Dask "
                    "cluster (a region: memory follows the chunk size, not the area). Same candidates and scores")

    @model_validator(mode="after")
    def _site_goes_with_evaluate(self):
        if self.activity is not None and "kbli" in self.model_fields_set and self.kbli is not None:
            raise ValueError("give either 'kbli' or 'activity', not both")
        if self.mode == "evaluate" and self.site is None:
            raise ValueError("input 'site' is required when mode is 'evaluate': a GeoJSON Polygon in lon/lat")
        if self.mode == "evaluate" and self.engine == "dask":
            raise ValueError("engine 'dask' searches a region; evaluate a drawn site with engine 'in-process'")
        if self.mode == "search" and self.site is not None:
            raise ValueError("input 'site' is only read when mode is 'evaluate' (or leave 'site' out to search)")
        return self


SITING_MARGIN_M = 500.0  # the grid reaches this far past the study area (river setbacks, edges)


def siting_grid(ctx: Context, cities: list[City], c: suitability.Criteria, extra=None
                ) -> tuple[gpd.GeoDataFrame, GridSpec, dict]:
    """The cities' boundaries, the grid siting runs on (the study area - the cities' union, cut to the study
    area if given - in one metric CRS at the first city's raster resolution, 500 m around) and each city's
    slope raster file."""
    kota = ctx.layer("kota", cities)
    slopes = {city.code: ctx.city_raster_path("slope", city) for city in cities}
    first = next((p for p in slopes.values() if p is not None), None)
    if first is None:
        raise InvalidInput(f"no slope raster for {', '.join(c.name for c in cities)}: siting needs one (see /rasters)")
    with rasterio.open(first) as ds:
        base_transform, base_crs = ds.transform, ds.crs.to_epsg() or ds.crs.to_string()
    crs = ctx.region_crs(cities)
    if crs != base_crs:  # the region's CRS at the first raster's pixel size (each raster is resampled onto it)
        res = base_transform.a
        base_transform, base_crs = Affine(res, 0.0, 0.0, 0.0, -res, 0.0), crs
    area = kota.to_crs(base_crs).union_all()
    if c.study_area is not None:
        area = area.intersection(gpd.GeoSeries([c.study_area], crs=4326).to_crs(base_crs).iloc[0])
    bounds = area.bounds if not area.is_empty else kota.to_crs(base_crs).total_bounds
    if extra is not None:  # a site to evaluate is on the grid even where it leaves the area
        ex = gpd.GeoSeries([extra], crs=4326).to_crs(base_crs).total_bounds
        bounds = (min(bounds[0], ex[0]), min(bounds[1], ex[1]), max(bounds[2], ex[2]), max(bounds[3], ex[3]))
    transform, shape = aligned_extent(bounds, base_transform, margin=SITING_MARGIN_M)
    return kota, GridSpec(transform, shape, base_crs), slopes


def siting_layers(ctx: Context, cities: list[City], c: suitability.Criteria, kota: gpd.GeoDataFrame) -> dict:
    """The vector layers around the cities, across every border (a toll gate just past the city line still
    gives access)."""
    reach = max(c.gate_reach_m, c.arterial_reach_m, c.housing_buffer_m)

    def near(layer_id: str) -> gpd.GeoDataFrame:
        return ctx.layer(layer_id, cities, near_m=reach)

    return dict(roads=near("roads"), toll_gates=near("toll_gates"), zoning=near("zoning"), parks=near("parks"),
                rivers=near("rivers"), city=kota, itbx=_itbx(ctx, cities), zoning_overlays=near("zoning_overlays"))


def siting_data(ctx: Context, cities: list[City], c: suitability.Criteria, land_cover: str,
                extra=None) -> suitability.SitingData:
    """The siting inputs of one or several cities on one grid (siting_grid), each city's slope, flood hazard
    and land cover placed on it (where a city has none: excluded as no data), and the vector layers."""
    kota, spec, slope_paths = siting_grid(ctx, cities, c, extra)
    grid = Raster(np.zeros(spec.shape, dtype="uint8"), spec.transform, spec.crs)

    def layer_of(dataset: str, dtype):
        found = [ctx.city_raster(dataset, city) for city in cities]
        return mosaic([r for r in found if r is not None], grid, dtype)

    slope, has_slope = mosaic([Raster.open(p) for p in slope_paths.values() if p is not None], grid, "float32")
    flood, has_flood = layer_of("flood_hazard", "uint8")
    cover, has_cover = layer_of(land_cover, "uint8")
    if not has_cover.any():
        raise InvalidInput(f"no land-cover raster {land_cover!r} for {', '.join(c.name for c in cities)} "
                           f"(see /rasters)")
    no_data = ~(has_slope & has_flood & has_cover)
    del has_slope, has_flood, has_cover
    return suitability.SitingData(
        slope=grid.like(slope), flood=grid.like(flood), land_cover=grid.like(cover),
        no_data=no_data if no_data.any() else None, **siting_layers(ctx, cities, c, kota))


def siting_sources(ctx: Context, cities: list[City], c: suitability.Criteria, land_cover: str
                   ) -> tuple[RasterSources, suitability.SitingLayers]:
    """The same inputs for a region-scale run: the raster files (read chunk by chunk by the workers) and the
    vector layers."""
    kota, spec, slope_paths = siting_grid(ctx, cities, c)

    def paths(dataset: str) -> tuple[str, ...]:
        return tuple(str(p) for p in (ctx.city_raster_path(dataset, city) for city in cities) if p is not None)

    covers = paths(land_cover)
    if not covers:
        raise InvalidInput(f"no land-cover raster {land_cover!r} for {', '.join(c.name for c in cities)} "
                           f"(see /rasters)")
    sources = RasterSources(spec, tuple(str(p) for p in slope_paths.values() if p is not None),
                            paths("flood_hazard"), covers)
    return sources, suitability.SitingLayers(**siting_layers(ctx, cities, c, kota))


def _itbx(ctx: Context, cities: list[City]) -> pd.DataFrame:
    """The ITBX rules of every city sited over (where two cities rule a sub-zone differently, the lookup takes
    the most restrictive)."""
    with ctx.engine.connect() as conn:
        return pd.concat([itbx_table.read(conn, city.code) for city in cities], ignore_index=True)


def run_site_suitability(ctx: Context, inputs: SiteSuitabilityInputs) -> dict:
    cities = ctx.cities(inputs.city)
    c = suitability.Criteria(target_ha=inputs.target_ha, max_slope_pct=inputs.max_slope_pct,
                             n_candidates=inputs.n_candidates, weights=inputs.weights, study_area=inputs.study_area,
                             kbli=None if inputs.activity is not None else inputs.kbli, activity=inputs.activity)
    if inputs.mode == "evaluate":
        _inside_city(ctx, inputs.site, "site", cities)
        data = siting_data(ctx, cities, c, inputs.land_cover, extra=inputs.site)
        return {"mode": "evaluate", **suitability.evaluate_site(data, inputs.site, c)}
    if c.study_area is not None:
        _inside_city(ctx, c.study_area, "study_area", cities)
    key = hashlib.blake2b(inputs.model_dump_json(exclude={"engine"}).encode(), digest_size=6).hexdigest()
    if inputs.engine == "dask":
        score, sites = _on_dask(ctx, cities, c, inputs.land_cover, key)
    else:
        score, sites = suitability.site_suitability(siting_data(ctx, cities, c, inputs.land_cover), c)
    try:
        raster = ctx.register_raster(f"suitability_{key}", score, "Kesesuaian lahan kawasan industri",
                                     "Industrial estate suitability", "score 0-1", "continuous")
    finally:
        if isinstance(score, Path):
            _remove_surface(score)
    entries = [{**e, "candidates": [int(r) for r, touched in zip(sites["rank"], sites["cities"], strict=True)
                                    if e["code"] in touched]} for e in city_entries(cities)]
    return {"mode": "search", "target_ha": c.target_ha, "weights": c.weights, "candidates": _features(sites),
            "cities": entries, "suitability_raster": raster,
            "rules": {"max_slope_pct": vars(rules.MAX_SLOPE_PCT), "river_setback_m": rules.RIVER_SETBACK_SOURCE}}


def _on_dask(ctx: Context, cities: list[City], c: suitability.Criteria, land_cover: str, key: str):
    """The search on the Dask cluster of the settings (a scheduler address, else a local cluster): the surface
    written as tiles under the data directory (the workers must share it), and the candidates."""
    settings = ctx.settings
    sources, layers = siting_sources(ctx, cities, c, land_cover)
    scratch = settings.data_dir / "rasters" / "scratch" / f"suitability_{key}_{uuid.uuid4().hex[:8]}.vrt"
    try:
        with dask_client(settings.dask_scheduler, settings.dask_workers, settings.dask_worker_memory_gb) as client:
            sites = region_site_suitability(sources, layers, c, compute=gather(client),
                                            chunk=settings.dask_chunk, score_path=scratch)
    except BaseException:
        _remove_surface(scratch)
        raise
    return scratch, sites


def _remove_surface(vrt: Path) -> None:
    vrt.unlink(missing_ok=True)
    shutil.rmtree(vrt.parent / f"{vrt.stem}_tiles", ignore_errors=True)
