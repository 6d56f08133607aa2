"""zoning-conformity (KKPR): the ITBX verdict of an activity on a site."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from pydantic import Field
from sqlalchemy import text

from gis.analyses import conformity
from gis.processes.context import Context, _inside_city, city_entries
from gis.processes.inputs import GeoJSONPolygon, ProcessInputs

RIVER_REACH_M = 100  # a river this close may lay its setback on the site, across a city border


class ZoningConformityInputs(ProcessInputs):
    geometry: GeoJSONPolygon = Field(title="Site")
    # The activities are the rows of the city's ITBX table (data, not code): an unknown one is refused by the
    # analysis, naming the known ones.
    activity: str = Field(min_length=1, max_length=100, title="Activity",
                          description="An activity of the ITBX table, e.g. 'industri besar', 'perumahan', 'taman'",
                          examples=["industri besar", "perumahan", "taman"])


def run_zoning_conformity(ctx: Context, inputs: ZoningConformityInputs) -> dict:
    site = inputs.geometry
    cities = ctx.cities(inputs.city)
    area = _inside_city(ctx, site, "geometry", cities)
    kota = ctx.layer("kota", cities)
    site_lonlat = gpd.GeoSeries([site], crs=4326)
    # measured in the metric CRS of the city holding most of the site; every city it touches is reported
    first_crs = ctx.metric_crs(cities[0])
    site_first, kota_first = site_lonlat.to_crs(first_crs).iloc[0], kota.to_crs(first_crs)
    share = {c.code: kota_first[kota_first.kode == c.code].intersection(site_first).area.sum() / 1e4
             for c in cities}
    home = max(cities, key=lambda c: share[c.code])
    metric_crs = ctx.metric_crs(home)
    with ctx.engine.connect() as conn:
        itbx = pd.read_sql(text("SELECT kode_zona, kegiatan, ketentuan, syarat FROM itbx"), conn)
    rivers = ctx.layer("rivers", cities, near_m=RIVER_REACH_M).to_crs(metric_crs)
    setbacks = rivers.assign(geometry=[g.buffer(d) for g, d in zip(rivers.geometry, rivers.setback_m.fillna(15),
                                                                   strict=True)]).to_crs(4326)
    high = []
    for city in cities:
        flood = ctx.city_raster("flood_hazard", city) if share[city.code] > 0 else None
        if flood is not None:
            site_m = site_lonlat.to_crs(flood.crs).iloc[0]
            part = flood.polygons(flood.mask([site_m]) & (flood.array == 3))
            if not part.is_empty:
                high.append(gpd.GeoSeries([part], crs=flood.crs).to_crs(4326).iloc[0])
    overlays = {"sempadan sungai / river setback": setbacks,
                "bahaya banjir tinggi / high flood hazard": gpd.GeoDataFrame(geometry=high, crs=4326)}
    result = conformity.zoning_conformity(site, inputs.activity, ctx.layer("zoning", cities), itbx, overlays, area,
                                          metric_crs=metric_crs)
    by_city = {code: round(ha, 4) for code, ha in share.items() if ha > 0}
    return {**result, "cities": [{**e, "site_ha": by_city[e["code"]]} for e in city_entries(cities)
                                 if e["code"] in by_city]}
