"""asset-check: the regional asset register's findings per city (no certificate, double registrations, uses
the zoning forbids). Acquisition values only for callers allowed private fields."""

from __future__ import annotations

from pydantic import Field

from gis.analyses import assets as asset_analysis
from gis.analyses.itbx import SIGNIFICANT_SHARE
from gis.data import itbx as itbx_table
from gis.processes.context import Context, city_entries
from gis.processes.inputs import ProcessInputs


class AssetCheckInputs(ProcessInputs):
    min_overlap_m2: float = Field(asset_analysis.MIN_OVERLAP_M2, ge=0, le=1_000_000,
                                  title="Smallest overlap reported (m²)",
                                  description="Two assets of the same card sharing more ground than this are "
                                              "reported as a possible double registration")
    forbidden_share: float = Field(SIGNIFICANT_SHARE, gt=0, le=1, title="Deciding share",
                                   description="An asset is flagged when zones forbidding its use (ITBX X) cover at "
                                               "least this share of it")


def run_asset_check(ctx: Context, inputs: AssetCheckInputs) -> dict:
    cities = ctx.cities(inputs.city)
    entries, totals = [], {flag: 0 for flag in asset_analysis.FLAGS}
    for city, entry in zip(cities, city_entries(cities), strict=True):
        assets = ctx.layer("assets", [city])
        zoning = ctx.layer("zoning", [city], intersecting=True)
        with ctx.engine.connect() as conn:
            itbx = itbx_table.read(conn, city.code)
        result = asset_analysis.asset_check(assets, zoning, itbx, ctx.metric_crs(city),
                                            min_overlap_m2=inputs.min_overlap_m2,
                                            forbidden_share=inputs.forbidden_share)
        for flag, n in result["counts"].items():
            totals[flag] += n
        entries.append({**entry, **result})
    return {"counts": totals, "cities": entries, "flags": {
        "no_certificate": {"id": "Tanpa sertifikat", "en": "No certificate"},
        "overlap": {"id": "Tumpang tindih", "en": "Overlapping"},
        "zone_forbids_use": {"id": "Penggunaan tidak diizinkan zonasi", "en": "Use not permitted by the zoning"}}}
