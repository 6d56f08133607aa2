"""zoning-conformity (KKPR as OSS checks it): the ITBX verdict of a KBLI 2020 code or an activity on a site."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from pydantic import Field, model_validator

from gis.analyses import conformity, rules
from gis.analyses.itbx import SIGNIFICANT_SHARE
from gis.core.errors import OutsideCity
from gis.data import itbx as itbx_table
from gis.processes.context import Context, city_entries
from gis.processes.inputs import GeoJSONSite, ProcessInputs
from layers import kbli as kbli_list
from layers.rdtr import activity_name_en

RIVER_REACH_M = 100  # a river this close may lay its setback on the site, across a city border
# Minimum site area per activity (KBLI): an industrial estate needs 50 ha (DOMAIN.md).
MIN_AREA_HA = {"68130": rules.ESTATE_MIN_HA.value}


class ZoningConformityInputs(ProcessInputs):
    geometry: GeoJSONSite = Field(title="Site", description="A polygon, or a point with `site_area_ha`")
    kbli: str | None = Field(None, pattern=r"^[0-9]{2,5}$", title="KBLI 2020",
                             description="The business classification as OSS takes it: a 5-digit KBLI 2020 code "
                                         "(or a 2-4 digit group). A code with no ITBX row falls back to its group; "
                                         "otherwise the answer is 'not regulated: needs assessment'",
                             examples=["10750", "68130", "47111"])
    activity: str | None = Field(None, min_length=1, max_length=100, title="Activity",
                                 description="Instead of a KBLI: an activity named in the city's ITBX table, e.g. "
                                             "'industri besar', 'perumahan', 'taman'",
                                 examples=["industri besar", "perumahan", "taman"])
    site_area_ha: float | None = Field(None, gt=0, le=100_000, title="Site area (ha)",
                                       description="The site's area when `geometry` is a point")
    significant_share: float = Field(SIGNIFICANT_SHARE, gt=0, le=1, title="Deciding share",
                                     description="Zones covering less of the site than this do not decide the "
                                                 "verdict (slivers along a drawn edge)")

    @model_validator(mode="after")
    def _one_question(self):
        if (self.kbli is None) == (self.activity is None):
            raise ValueError("give either 'kbli' (a KBLI 2020 code such as \"10750\") or 'activity', not both "
                             "and not neither")
        if self.geometry.geom_type == "Point" and self.site_area_ha is None:
            raise ValueError("a point site needs 'site_area_ha' (the site's area in hectares)")
        return self


def _activity_en(itbx: pd.DataFrame, activity: str | None) -> str | None:
    """The English name of an ITBX activity (by its name, else by the KBLI code its rows carry)."""
    if not activity or not len(itbx):
        return None
    rows = itbx[itbx.kegiatan.fillna("").str.casefold() == activity.strip().casefold()]
    codes = [c for c in rows.kbli if isinstance(c, str) and c]
    return activity_name_en(activity, codes[0] if codes else None)


def run_zoning_conformity(ctx: Context, inputs: ZoningConformityInputs) -> dict:
    site = inputs.geometry
    cities = ctx.cities(inputs.city)
    kota = ctx.layer("kota", cities)
    area = kota.union_all()
    if not (site.buffer(0.001) if site.geom_type == "Point" else site).intersects(area):
        raise OutsideCity(f"input 'geometry' lies outside the city ({', '.join(c.name for c in cities)})")
    site_lonlat = gpd.GeoSeries([site], crs=4326)
    # measured in the metric CRS of the city holding most of the site; every city it touches is reported
    first_crs = ctx.metric_crs(cities[0])
    site_first, kota_first = site_lonlat.to_crs(first_crs).iloc[0], kota.to_crs(first_crs)
    if site_first.geom_type == "Point":
        site_first = site_first.buffer((inputs.site_area_ha * 1e4 / 3.14159) ** 0.5)
    reach = gpd.GeoSeries([site_first.buffer(1)], crs=first_crs).to_crs(4326).iloc[0]  # the site's zones only
    share = {c.code: kota_first[kota_first.kode == c.code].intersection(site_first).area.sum() / 1e4
             for c in cities}
    home = max(cities, key=lambda c: share[c.code])
    metric_crs = ctx.metric_crs(home)
    with ctx.engine.connect() as conn:
        itbx = itbx_table.read(conn, home.code)
    river_reach = gpd.GeoSeries([site_first.buffer(RIVER_REACH_M)], crs=first_crs).to_crs(4326).iloc[0]
    rivers = ctx.layer("rivers", cities, near_m=RIVER_REACH_M, touching=river_reach).to_crs(metric_crs)
    setbacks = rivers.assign(geometry=[g.buffer(d) for g, d in zip(rivers.geometry, rivers.setback_m.fillna(15),
                                                                   strict=True)]).to_crs(4326)
    high = []
    for city in cities:
        flood = ctx.city_raster("flood_hazard", city) if share[city.code] > 0 else None
        if flood is not None:
            site_m = gpd.GeoSeries([site_first], crs=first_crs).to_crs(flood.crs).iloc[0]
            flood = flood.crop(site_m.bounds)  # the site's pixels only
            if flood.array.size == 0:
                continue
            part = flood.polygons(flood.mask([site_m]) & (flood.array == 3))
            if not part.is_empty:
                high.append(gpd.GeoSeries([part], crs=flood.crs).to_crs(4326).iloc[0])
    overlays = {"sempadan sungai / river setback": setbacks,
                "bahaya banjir tinggi / high flood hazard": gpd.GeoDataFrame(geometry=high, crs=4326),
                "ketentuan khusus RDTR / RDTR special provisions": ctx.layer("zoning_overlays", [home],
                                                                                 touching=reach)}
    result = conformity.zoning_conformity(
        site, zoning=ctx.layer("zoning", [home], touching=reach), itbx=itbx if len(itbx) else pd.DataFrame(
            columns=list(itbx_table.COLUMNS)), kbli=inputs.kbli, activity=inputs.activity, overlays=overlays,
        city=area, significant_share=inputs.significant_share, metric_crs=metric_crs,
        min_area_ha=MIN_AREA_HA.get(inputs.kbli or ""), kbli_title=kbli_list.title(inputs.kbli) if inputs.kbli
        else None, site_area_ha=inputs.site_area_ha, kbli_title_en=kbli_list.title_en(inputs.kbli) if inputs.kbli
        else None, activity_en=_activity_en(itbx, inputs.activity))
    by_city = {code: round(ha, 4) for code, ha in share.items() if ha > 0}
    return {**result, "cities": [{**e, "site_ha": by_city[e["code"]]} for e in city_entries(cities)
                                 if e["code"] in by_city]}
