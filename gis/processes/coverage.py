"""park-coverage, rth-ratio and business-center-coverage."""

from __future__ import annotations

from gis.analyses import coverage, rules
from gis.core.errors import InvalidInput
from gis.processes.context import Context, _features, _number


def run_park_coverage(ctx: Context, inputs: dict) -> dict:
    # By default only the radii a primary text gives (RT 300 m, RW 1,000 m) plus the small neighbourhood parks:
    # the unconfirmed city-park radii reach most of the city and would hide every gap.
    radii = inputs.get("radii_m", DEFAULT_PARK_RADII)
    if not isinstance(radii, dict) or not all(isinstance(v, int | float) and v > 0 for v in radii.values()):
        raise InvalidInput("input 'radii_m' must be an object of park class -> metres (> 0)")
    result = coverage.park_coverage(ctx.layer("kelurahan"), ctx.layer("parks"),
                                    ctx.raster("population"),
                                    radii_m=radii, metric_crs=ctx.settings.city.metric_crs,
                                    underserved_below=_number(inputs, "underserved_below",
                                                              rules.UNDERSERVED_BELOW.value, 0, 1))
    return {"kelurahan": _features(result), "city": result.attrs.get("city"),
            "underserved": sorted(result[result.underserved].nama), "source": rules.PARK_STANDARDS_SOURCE}


DEFAULT_PARK_RADII = {k: v.radius_m for k, v in rules.PARK_STANDARDS.items()
                      if v.radius_confirmed or k in ("taman bermain anak", "taman lansia")}


def run_rth_ratio(ctx: Context, inputs: dict) -> dict:
    result = coverage.rth_ratio(ctx.layer("kecamatan"), ctx.layer("parks"), city=ctx.layer("kota"),
                                metric_crs=ctx.settings.city.metric_crs)
    return {"kecamatan": _features(result), "targets": {"total": vars(rules.RTH_TOTAL_SHARE),
                                                        "public": vars(rules.RTH_PUBLIC_SHARE)}}


def run_business_center_coverage(ctx: Context, inputs: dict) -> dict:
    result = coverage.business_center_coverage(ctx.layer("kelurahan"), ctx.layer("business_centers"),
                                                active_only=bool(inputs.get("active_only", False)),
                                                metric_crs=ctx.settings.city.metric_crs)
    return {"kelurahan": _features(result), "gap_list": result.attrs.get("gap_list"),
            "kecamatan": result.attrs.get("kecamatan")}
