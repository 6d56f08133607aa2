"""zoning-conformity (KKPR): the ITBX verdict of an activity on a site."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from pydantic import Field
from sqlalchemy import text

from gis.analyses import conformity
from gis.processes.context import Context, _inside_city
from gis.processes.inputs import GeoJSONPolygon, ProcessInputs


class ZoningConformityInputs(ProcessInputs):
    geometry: GeoJSONPolygon = Field(title="Site")
    # The activities are the rows of the city's ITBX table (data, not code): an unknown one is refused by the
    # analysis, naming the known ones.
    activity: str = Field(min_length=1, max_length=100, title="Activity",
                          description="An activity of the ITBX table, e.g. 'industri besar', 'perumahan', 'taman'",
                          examples=["industri besar", "perumahan", "taman"])


def run_zoning_conformity(ctx: Context, inputs: ZoningConformityInputs) -> dict:
    site = inputs.geometry
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
    return conformity.zoning_conformity(site, inputs.activity, ctx.layer("zoning"), itbx, overlays, city,
                                        metric_crs=ctx.settings.city.metric_crs)
