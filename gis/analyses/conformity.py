"""KKPR zoning conformity (PP 21/2021, Permen ATR/BPN 13/2021): which zones a planned activity's site
overlaps, the ITBX verdict of the activity in each, the overall verdict and the overlays touched."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from gis.analyses.grid import metric_crs_of
from gis.core.errors import InvalidInput
from gis.core.language import format_number

# Most restrictive first: X (not permitted) > B (conditional) > T (limited) > I (permitted).
SEVERITY = {"X": 3, "B": 2, "T": 1, "I": 0}
VERDICT_TEXT = {
    "I": ("diizinkan", "permitted"),
    "T": ("diizinkan terbatas", "permitted with limits"),
    "B": ("bersyarat (perlu izin pemanfaatan bersyarat)", "conditional (needs a conditional-use permit)"),
    "X": ("tidak diizinkan", "not permitted"),
}


def zoning_conformity(site, activity: str, zoning: gpd.GeoDataFrame, itbx: pd.DataFrame,
                      overlays: dict[str, gpd.GeoDataFrame] | None = None, city=None, *,
                      significant_share: float = 0.05, metric_crs: int | None = None) -> dict:
    """`site`: shapely polygon (lon/lat). `itbx`: columns kode_zona, kegiatan, ketentuan, syarat.
    `overlays`: name -> polygons (lon/lat), e.g. river setbacks, high flood hazard. Zones covering less than
    `significant_share` of the site do not decide the verdict (slivers from a drawn polygon's edge)."""
    activities = sorted(itbx["kegiatan"].unique())
    if activity not in activities:
        raise InvalidInput(f"unknown activity {activity!r}; known activities: {', '.join(activities)}")
    if site is None or site.is_empty or site.geom_type not in ("Polygon", "MultiPolygon") or not site.is_valid:
        raise InvalidInput("geometry must be a valid Polygon or MultiPolygon in lon/lat (CRS84)")
    if city is not None and not site.intersects(city):
        raise InvalidInput("geometry lies outside the city: no spatial plan applies there")
    site_lonlat = gpd.GeoSeries([site], crs=4326)
    metric_crs = metric_crs_of(site_lonlat, metric_crs)
    site_m = site_lonlat.to_crs(metric_crs).iloc[0]
    site_ha = site_m.area / 1e4
    zones_m = zoning.to_crs(metric_crs)
    hits = zones_m[zones_m.intersects(site_m)]
    rules = itbx[itbx.kegiatan == activity].set_index("kode_zona")
    rows = []
    for _, zone in hits.iterrows():
        part_ha = zone.geometry.intersection(site_m).area / 1e4
        if part_ha <= 0:
            continue
        rule = rules.loc[zone.kode_zona] if zone.kode_zona in rules.index else None
        rows.append({"kode_zona": zone.kode_zona, "kode_lokal": zone.kode_lokal, "nama_zona": zone.nama_zona,
                     "area_ha": part_ha, "ketentuan": rule["ketentuan"] if rule is not None else "X",
                     "syarat": ((rule["syarat"] if isinstance(rule["syarat"], str) else None) if rule is not None
                                else "Kegiatan tidak diatur di zona ini / activity not regulated in this zone")})
    if not rows:
        raise InvalidInput("geometry does not overlap any zone of the plan")
    zones = (pd.DataFrame(rows).groupby(["kode_zona", "ketentuan"], as_index=False)
             .agg(area_ha=("area_ha", "sum"), kode_lokal=("kode_lokal", lambda s: ", ".join(sorted(set(s)))),
                  nama_zona=("nama_zona", "first"), syarat=("syarat", "first")))
    zoned_ha = zones.area_ha.sum()
    zones["share"] = zones.area_ha / site_ha
    zones = zones.sort_values("area_ha", ascending=False)
    deciding = zones[zones.share >= significant_share]
    if deciding.empty:
        deciding = zones.head(1)
    verdict = max(deciding.ketentuan, key=SEVERITY.get)
    touched = []
    for name, gdf in (overlays or {}).items():
        if gdf is None or gdf.empty:
            continue
        part = gdf.to_crs(metric_crs).union_all().intersection(site_m).area / 1e4
        if part > 0:
            touched.append({"overlay": name, "area_ha": round(part, 4), "share": round(part / site_ha, 4)})
    def deciding_codes(lang: str) -> str:
        return ", ".join(f"{z.kode_zona} ({format_number(100 * z.share, lang, 0)} %)" for z in deciding.itertuples())
    v_id, v_en = VERDICT_TEXT[verdict]
    overlay_id = f" Menyentuh: {', '.join(t['overlay'] for t in touched)}." if touched else ""
    overlay_en = f" Touches: {', '.join(t['overlay'] for t in touched)}." if touched else ""
    return {
        "activity": activity,
        "site_ha": round(site_ha, 4),
        "unzoned_ha": round(max(site_ha - zoned_ha, 0.0), 4),
        "verdict": verdict,
        "zones": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in z.items()}
                  for z in zones.to_dict("records")],
        "overlays": touched,
        "explanation": {
            "id": f"Kegiatan '{activity}' pada lokasi {format_number(site_ha, 'id', 2)} ha: {v_id}. Zona yang "
                  f"menentukan: {deciding_codes('id')} (ketentuan paling ketat dari ITBX).{overlay_id}",
            "en": f"Activity '{activity}' on a {format_number(site_ha, 'en', 2)} ha site: {v_en}. Deciding zones: "
                  f"{deciding_codes('en')} "
                  f"(the most restrictive ITBX rule).{overlay_en}",
        },
    }
