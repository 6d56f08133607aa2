"""zoning-conformity (KKPR): the ITBX verdict of an activity on a site."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from sqlalchemy import text

from gis.analyses import conformity
from gis.core.errors import InvalidInput
from gis.processes.context import Context, _geometry, _inside_city


def run_zoning_conformity(ctx: Context, inputs: dict) -> dict:
    site = _geometry(inputs, "geometry")
    activity = inputs.get("activity")
    if not isinstance(activity, str) or not activity:
        raise InvalidInput("input 'activity' is required, e.g. 'industri besar', 'perumahan', 'taman'")
    city = _inside_city(ctx, site, "geometry")
    with ctx.engine.connect() as conn:
        itbx = pd.read_sql(text("SELECT kode_zona, kegiatan, ketentuan, syarat FROM itbx"), conn)
    rivers = ctx.layer("rivers").to_crs(ctx.settings.city.metric_crs)
    setbacks = rivers.assign(geometry=[g.buffer(d) for g, d in zip(rivers.geometry, rivers.setback_m.fillna(15),
                                                                   strict=True)]).to_crs(4326)
    flood = ctx.raster("flood_hazard")
    site_m = gpd.GeoSeries([site], crs=4326).to_crs(flood.crs).iloc[0]
    high = flood.polygons(flood.mask([site_m]) & (flood.array == 3))
    overlays = {"sempadan sungai / river setback": setbacks,
                "bahaya banjir tinggi / high flood hazard": gpd.GeoDataFrame(
                    geometry=[high] if not high.is_empty else [], crs=flood.crs).to_crs(4326)}
    return conformity.zoning_conformity(site, activity, ctx.layer("zoning"), itbx, overlays, city,
                                        metric_crs=ctx.settings.city.metric_crs)
