"""site-suitability: candidate sites for an industrial estate, or the score of a drawn site."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import Field, model_validator

from gis.analyses import rules, suitability
from gis.processes.context import Context, _features, _inside_city
from gis.processes.inputs import GeoJSONPolygon, ProcessInputs


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

    @model_validator(mode="after")
    def _site_goes_with_evaluate(self):
        if self.mode == "evaluate" and self.site is None:
            raise ValueError("input 'site' is required when mode is 'evaluate': a GeoJSON Polygon in lon/lat")
        if self.mode == "search" and self.site is not None:
            raise ValueError("input 'site' is only read when mode is 'evaluate' (or leave 'site' out to search)")
        return self


def run_site_suitability(ctx: Context, inputs: SiteSuitabilityInputs) -> dict:
    c = suitability.Criteria(target_ha=inputs.target_ha, max_slope_pct=inputs.max_slope_pct,
                             n_candidates=inputs.n_candidates, weights=inputs.weights, study_area=inputs.study_area)
    data = suitability.SitingData(
        slope=ctx.raster("slope"), flood=ctx.raster("flood_hazard"), land_cover=ctx.raster(inputs.land_cover),
        roads=ctx.layer("roads"), toll_gates=ctx.layer("toll_gates"), zoning=ctx.layer("zoning"),
        parks=ctx.layer("parks"), rivers=ctx.layer("rivers"), city=ctx.layer("kota"))
    if inputs.mode == "evaluate":
        _inside_city(ctx, inputs.site, "site")
        return {"mode": "evaluate", **suitability.evaluate_site(data, inputs.site, c)}
    if c.study_area is not None:
        _inside_city(ctx, c.study_area, "study_area")
    score, sites = suitability.site_suitability(data, c)
    key = hashlib.blake2b(inputs.model_dump_json().encode(), digest_size=6).hexdigest()
    raster = ctx.register_raster(f"suitability_{key}", score, "Kesesuaian lahan kawasan industri",
                                 "Industrial estate suitability", "score 0-1", "continuous")
    return {"mode": "search", "target_ha": c.target_ha, "weights": c.weights, "candidates": _features(sites),
            "suitability_raster": raster, "rules": {"max_slope_pct": vars(rules.MAX_SLOPE_PCT),
                                                    "river_setback_m": rules.RIVER_SETBACK_SOURCE}}
