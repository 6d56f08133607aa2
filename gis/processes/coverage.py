"""park-coverage, rth-ratio and business-center-coverage, per city: each city's units measured in its own metric
CRS, with the parks and centres across its borders counted for the people near them; a region-wide run reports
each city and the overall figures."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated, Literal

import geopandas as gpd
import pandas as pd
from pydantic import Field

from gis.analyses import coverage, rules
from gis.analyses.coverage_dask import region_park_coverage
from gis.analyses.dask_cluster import dask_client, gather
from gis.data.cities import City
from gis.processes.context import Context, _features, city_entries
from gis.processes.inputs import ProcessInputs
from layers.planning import PARK_CLASSES

ParkClass = Literal[tuple(PARK_CLASSES)]  # the classes of the parks layer
# By default only the radii a primary text gives (RT 300 m, RW 1,000 m) plus the small neighbourhood parks:
# the unconfirmed city-park radii reach most of the city and would hide every gap.
DEFAULT_PARK_RADII = {k: v.radius_m for k, v in rules.PARK_STANDARDS.items()
                      if v.radius_confirmed or k in ("taman bermain anak", "taman lansia")}
CENTRE_REACH_M = 5_000  # centres this close to a city count as its kelurahan's nearest, across the border


class ParkCoverageInputs(ProcessInputs):
    radii_m: dict[ParkClass, Annotated[float, Field(gt=0, le=50_000)]] = Field(
        DEFAULT_PARK_RADII, title="Service radius per park class (m)",
        description=f"Park classes left out serve no one. Sources: {rules.PARK_STANDARDS_SOURCE}")
    underserved_below: float = Field(
        rules.UNDERSERVED_BELOW.value, gt=0, le=1, title="Underserved below this share",
        description="A kelurahan with a smaller share of its people within reach of a park is listed as "
                    "underserved")
    engine: Literal["in-process", "dask"] = Field(
        "in-process", title="Engine",
        description="in-process: each city's population grid held whole in one worker (a city); dask: read and "
                    "summed chunk by chunk on a Dask cluster (a region: memory follows the chunk size, not the "
                    "area). The same figures")


def _in_city(gdf: gpd.GeoDataFrame, city: City) -> gpd.GeoDataFrame:
    return gdf[(gdf["kabkota"] == city.code).to_numpy()]


def _with_city(result: gpd.GeoDataFrame, city: City) -> gpd.GeoDataFrame:
    out = result.copy()
    out.insert(0, "kabkota", city.code)
    return out


def _joined(frames: list[gpd.GeoDataFrame]) -> dict:
    if not frames:
        return {"type": "FeatureCollection", "features": []}
    return _features(gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs))


def missing_population(city: City) -> str:
    return (f"{city.name} ({city.code}) has no population grid: no share of its people can be computed and none "
            f"of its kelurahan/desa is listed as underserved. Build one with `petakota population build --city "
            f"{city.code} --total N`")


def _city_figures(entry: dict, result: gpd.GeoDataFrame) -> dict:
    figures = result.attrs["city"]
    return {**entry, "population": "present", "people": figures["population"], "served": figures["served"],
            "share_served": figures["share_served"], "underserved": sorted(result[result.underserved].nama)}


def run_park_coverage(ctx: Context, inputs: ParkCoverageInputs) -> dict:
    cities = ctx.cities(inputs.city)
    reach = max(inputs.radii_m.values(), default=0.0)
    parks = ctx.layer("parks", cities, near_m=reach)  # parks across a border serve the people near it
    kelurahan = ctx.layer("kelurahan", cities)
    frames, entries = [], []
    paths = {city.code: ctx.city_raster_path("population", city) for city in cities}
    s = ctx.settings
    on_dask = inputs.engine == "dask" and any(p is not None for p in paths.values())
    cluster = dask_client(s.dask_scheduler, s.dask_workers, s.dask_worker_memory_gb) if on_dask else nullcontext()
    with cluster as client:
        for city, entry in zip(cities, city_entries(cities), strict=True):
            if paths[city.code] is None:
                entries.append({**entry, "population": "missing", "message": missing_population(city)})
                continue
            options = dict(radii_m=inputs.radii_m, metric_crs=ctx.metric_crs(city),
                           underserved_below=inputs.underserved_below)
            if client is not None:
                result = region_park_coverage(_in_city(kelurahan, city), parks, paths[city.code],
                                              compute=gather(client), chunk=s.dask_chunk, **options)
            else:
                result = coverage.park_coverage(_in_city(kelurahan, city), parks,
                                                coverage.Raster.open(paths[city.code]), **options)
            entries.append(_city_figures(entry, result))
            frames.append(_with_city(result, city))
    present = [e for e in entries if e["population"] == "present"]
    people, served = sum(e["people"] for e in present), sum(e["served"] for e in present)
    overall = {"population": people, "served": served, "share_served": served / people if people else 0.0}
    out = {"kelurahan": _joined(frames), "city": overall, "overall": overall, "cities": entries,
           "underserved": sorted(n for e in present for n in e["underserved"]),
           "population": "present" if len(present) == len(entries) else "missing" if not present else "partial",
           "source": rules.PARK_STANDARDS_SOURCE}
    if len(present) < len(entries):
        out["message"] = "; ".join(e["message"] for e in entries if e["population"] == "missing")
    return out


class RthRatioInputs(ProcessInputs):
    """No inputs but the city: the targets are the law's (UU 26/2007)."""


RTH_SUMS = ("area_ha", "rth_ha", "rth_public_ha", "rth_private_ha")


def _rth_overall(rows: list[dict]) -> dict:
    sums = {k: sum(r[k] for r in rows) for k in RTH_SUMS}
    total, public = rules.RTH_TOTAL_SHARE.value, rules.RTH_PUBLIC_SHARE.value
    share_total = sums["rth_ha"] / sums["area_ha"] if sums["area_ha"] else 0.0
    share_public = sums["rth_public_ha"] / sums["area_ha"] if sums["area_ha"] else 0.0
    return {**sums, "share_total": share_total, "share_public": share_public,
            "meets_total": share_total >= total, "meets_public": share_public >= public,
            "deficit_total_ha": max(total * sums["area_ha"] - sums["rth_ha"], 0.0),
            "deficit_public_ha": max(public * sums["area_ha"] - sums["rth_public_ha"], 0.0)}


def run_rth_ratio(ctx: Context, inputs: RthRatioInputs) -> dict:
    cities = ctx.cities(inputs.city)
    parks = ctx.layer("parks", cities, intersecting=True)  # a park across a border is RTH on both sides
    kecamatan, kota = ctx.layer("kecamatan", cities), ctx.layer("kota", cities)
    frames, entries = [], []
    for city, entry in zip(cities, city_entries(cities), strict=True):
        result = _with_city(coverage.rth_ratio(_in_city(kecamatan, city), parks, city=_in_city(kota, city),
                                               metric_crs=ctx.metric_crs(city)), city)
        frames.append(result)  # the city's kecamatan by code, then the city itself
        figures = result.iloc[-1].drop(["geometry", "kabkota", "kode", "nama"]).to_dict()
        entries.append({**entry, **figures})
    return {"kecamatan": _joined(frames), "cities": entries, "overall": _rth_overall(entries),
            "targets": {"total": vars(rules.RTH_TOTAL_SHARE), "public": vars(rules.RTH_PUBLIC_SHARE)}}


class BusinessCenterCoverageInputs(ProcessInputs):
    active_only: bool = Field(True, title="Count active centres only",
                              description="Sakasanwira's target is one ACTIVE centre per kelurahan/desa: planned and "
                                          "inactive centres do not cover one (they are counted apart, per status). "
                                          "false: every centre counts")


def run_business_center_coverage(ctx: Context, inputs: BusinessCenterCoverageInputs) -> dict:
    cities = ctx.cities(inputs.city)
    kelurahan = ctx.layer("kelurahan", cities)
    centres = ctx.layer("business_centers", cities, near_m=CENTRE_REACH_M)
    frames, entries, kecamatan = [], [], []
    for city, entry in zip(cities, city_entries(cities), strict=True):
        result = coverage.business_center_coverage(_in_city(kelurahan, city), centres,
                                                   active_only=inputs.active_only, metric_crs=ctx.metric_crs(city))
        frames.append(_with_city(result, city))
        # kecamatan codes carry their city's prefix, and each summary names its city too
        kecamatan += [{"kabkota": city.code, **k} for k in result.attrs["kecamatan"]]
        entries.append({**entry, "kelurahan": len(result), "with_centre": int(result["has_centre"].sum()),
                        "umkm": int(result["umkm"].sum()), "gap_list": result.attrs["gap_list"],
                        "centres_by_status": {s: int(result[f"n_{s}"].sum()) for s in ("active", "planned",
                                                                                          "inactive")}})
    overall = {k: sum(e[k] for e in entries) for k in ("kelurahan", "with_centre", "umkm")}
    return {"kelurahan": _joined(frames), "gap_list": sorted(n for e in entries for n in e["gap_list"]),
            "kecamatan": kecamatan, "cities": entries, "overall": overall}
