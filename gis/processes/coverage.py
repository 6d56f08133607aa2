"""park-coverage, rth-ratio and business-center-coverage."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from gis.analyses import coverage, rules
from gis.processes.context import Context, _features
from gis.processes.inputs import ProcessInputs
from layers.planning import PARK_CLASSES

ParkClass = Literal[tuple(PARK_CLASSES)]  # the classes of the parks layer
# By default only the radii a primary text gives (RT 300 m, RW 1,000 m) plus the small neighbourhood parks:
# the unconfirmed city-park radii reach most of the city and would hide every gap.
DEFAULT_PARK_RADII = {k: v.radius_m for k, v in rules.PARK_STANDARDS.items()
                      if v.radius_confirmed or k in ("taman bermain anak", "taman lansia")}


class ParkCoverageInputs(ProcessInputs):
    radii_m: dict[ParkClass, Annotated[float, Field(gt=0, le=50_000)]] = Field(
        DEFAULT_PARK_RADII, title="Service radius per park class (m)",
        description=f"Park classes left out serve no one. Sources: {rules.PARK_STANDARDS_SOURCE}")
    underserved_below: float = Field(
        rules.UNDERSERVED_BELOW.value, gt=0, le=1, title="Underserved below this share",
        description="A kelurahan with a smaller share of its people within reach of a park is listed as "
                    "underserved")


def run_park_coverage(ctx: Context, inputs: ParkCoverageInputs) -> dict:
    result = coverage.park_coverage(ctx.layer("kelurahan"), ctx.layer("parks"), ctx.raster("population"),
                                    radii_m=inputs.radii_m, metric_crs=ctx.settings.city.metric_crs,
                                    underserved_below=inputs.underserved_below)
    return {"kelurahan": _features(result), "city": result.attrs.get("city"),
            "underserved": sorted(result[result.underserved].nama), "source": rules.PARK_STANDARDS_SOURCE}


class RthRatioInputs(ProcessInputs):
    """No inputs: the targets are the law's (UU 26/2007)."""


def run_rth_ratio(ctx: Context, inputs: RthRatioInputs) -> dict:
    result = coverage.rth_ratio(ctx.layer("kecamatan"), ctx.layer("parks"), city=ctx.layer("kota"),
                                metric_crs=ctx.settings.city.metric_crs)
    return {"kecamatan": _features(result), "targets": {"total": vars(rules.RTH_TOTAL_SHARE),
                                                        "public": vars(rules.RTH_PUBLIC_SHARE)}}


class BusinessCenterCoverageInputs(ProcessInputs):
    active_only: bool = Field(False, title="Count active centres only")


def run_business_center_coverage(ctx: Context, inputs: BusinessCenterCoverageInputs) -> dict:
    result = coverage.business_center_coverage(ctx.layer("kelurahan"), ctx.layer("business_centers"),
                                                active_only=inputs.active_only,
                                                metric_crs=ctx.settings.city.metric_crs)
    return {"kelurahan": _features(result), "gap_list": result.attrs.get("gap_list"),
            "kecamatan": result.attrs.get("kecamatan")}
