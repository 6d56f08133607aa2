"""site-suitability: candidate sites for an industrial estate, or the score of a drawn site."""

from __future__ import annotations

import hashlib
import json

from gis.analyses import rules, suitability
from gis.core.errors import InvalidInput
from gis.processes.context import Context, _features, _geometry, _inside_city, _number


def run_site_suitability(ctx: Context, inputs: dict) -> dict:
    if "target_ha" in inputs and inputs["target_ha"] is None:
        raise InvalidInput("input 'target_ha' is required: the area the estate needs, in hectares")
    weights = inputs.get("weights") or {}
    if not isinstance(weights, dict):
        raise InvalidInput("input 'weights' must be an object of criterion -> weight")
    c = suitability.Criteria(
        target_ha=_number(inputs, "target_ha", rules.ESTATE_TARGET_HA.value, 0, 5_000),
        max_slope_pct=_number(inputs, "max_slope_pct", rules.MAX_SLOPE_PCT.value, 0, 100),
        n_candidates=int(_number(inputs, "n_candidates", 5, 0, 20)),
        weights={**suitability.Criteria().weights, **weights},
        study_area=_geometry(inputs, "study_area", required=False),
    )
    land_cover = inputs.get("land_cover", "landcover_2024")
    data = suitability.SitingData(
        slope=ctx.raster("slope"), flood=ctx.raster("flood_hazard"), land_cover=ctx.raster(land_cover),
        roads=ctx.layer("roads"), toll_gates=ctx.layer("toll_gates"), zoning=ctx.layer("zoning"),
        parks=ctx.layer("parks"), rivers=ctx.layer("rivers"), city=ctx.layer("kota"))
    if inputs.get("mode") == "evaluate":
        site = _geometry(inputs, "site")
        _inside_city(ctx, site, "site")
        return {"mode": "evaluate", **suitability.evaluate_site(data, site, c)}
    if c.study_area is not None:
        _inside_city(ctx, c.study_area, "study_area")
    score, sites = suitability.site_suitability(data, c)
    key = hashlib.blake2b(json.dumps(inputs, sort_keys=True, default=str).encode(), digest_size=6).hexdigest()
    raster = ctx.register_raster(f"suitability_{key}", score, "Kesesuaian lahan kawasan industri",
                                 "Industrial estate suitability", "score 0-1", "continuous")
    return {"mode": "search", "target_ha": c.target_ha, "weights": c.weights, "candidates": _features(sites),
            "suitability_raster": raster, "rules": {"max_slope_pct": vars(rules.MAX_SLOPE_PCT),
                                                    "river_setback_m": rules.RIVER_SETBACK_SOURCE}}
