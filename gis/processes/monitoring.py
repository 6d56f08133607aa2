"""project-progress and change-detection for a project such as the industrial estate."""

from __future__ import annotations

import hashlib
from datetime import date

import geopandas as gpd
import pandas as pd
from pydantic import Field
from shapely import wkt
from sqlalchemy import text

from gis.analyses import monitoring
from gis.core.errors import InvalidInput
from gis.data.cities import City
from gis.processes.context import Context, _inside_city, city_entries
from gis.processes.inputs import CityProject, GeoJSONPolygon, IsoDate, ProcessInputs
from layers.rasters import LAND_COVER_CLASSES

PROJECT_DEFAULT = "Project slug (see /collections/projects). Default: the city's monitored project"


def _project(ctx: Context, slug: str, cities: list[City], given: bool) -> dict:
    """The project, which must lie in the chosen cities. The default project (the settings') gives way to the
    chosen cities' only project when it lies elsewhere."""
    codes = [c.code for c in cities]
    with ctx.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, slug, nama, target_ha, harga_satuan_rp_m2, kabkota, "
                                 "ST_AsText(geom) AS wkt FROM projects WHERE kabkota = ANY(CAST(:c AS text[])) "
                                 "ORDER BY slug"), {"c": codes}).mappings().all()
    found = [dict(r) for r in rows if r["slug"] == slug]
    if found:
        return found[0]
    if not given and len(rows) == 1:
        return dict(rows[0])
    where = ", ".join(c.name for c in cities)
    choices = ", ".join(r["slug"] for r in rows) or "none"
    if given:
        raise InvalidInput(f"input 'project': no project {slug!r} in {where}; projects there: {choices}")
    raise InvalidInput(f"input 'project' is required for {where} (projects there: {choices})")


def _city_of(project: dict, cities: list[City]) -> City:
    return next(c for c in cities if c.code == project["kabkota"])


class ProjectProgressInputs(ProcessInputs):
    project: CityProject = Field(None, title="Project slug", description=PROJECT_DEFAULT)
    as_of: IsoDate | None = Field(None, title="Report date",
                               description="Progress as on this date (YYYY-MM-DD). Default: today")


def run_project_progress(ctx: Context, inputs: ProjectProgressInputs) -> dict:
    cities = ctx.cities(inputs.city)
    project = _project(ctx, inputs.project, cities, "project" in inputs.model_fields_set)
    parcels = ctx.layer("project_parcels")
    parcels = parcels[parcels.project_slug == project["slug"]]
    with ctx.engine.connect() as conn:
        events = pd.read_sql(text(
            "SELECT feature_id, id AS seq, (after->>'status_date')::date AS date, after->>'status' AS status "
            "FROM feature_history WHERE layer = 'project_parcels' AND after->>'project_slug' = :s "
            "AND action <> 'delete' ORDER BY id"), conn, params={"s": project["slug"]})
        milestones = pd.read_sql(text("SELECT nama, planned_date, actual_date FROM project_milestones "
                                      "WHERE project_slug = :s"), conn, params={"s": project["slug"]})
    events = events[events.feature_id.isin(parcels.id)].dropna(subset=["date"])
    milestones = milestones.astype(object).where(milestones.notna(), None)
    result = monitoring.project_progress(project, parcels, events, milestones, inputs.as_of or date.today())
    return {**result, "cities": city_entries([_city_of(project, cities)])}


class ChangeDetectionInputs(ProcessInputs):
    before: str = Field("landcover_2019", min_length=1, max_length=100, title="Raster before",
                        description="A land-cover raster of the registry (see /rasters)")
    after: str = Field("landcover_2024", min_length=1, max_length=100, title="Raster after",
                       description="A land-cover raster of the registry on the same grid")
    project: CityProject = Field(None, title="Project slug (footprint)", description=PROJECT_DEFAULT)
    geometry: GeoJSONPolygon | None = Field(None, title="Footprint (instead of a project)")


def run_change_detection(ctx: Context, inputs: ChangeDetectionInputs) -> dict:
    cities = ctx.cities(inputs.city)
    footprint = inputs.geometry
    if footprint is None:
        project = _project(ctx, inputs.project, cities, "project" in inputs.model_fields_set)
        footprint, city = wkt.loads(project["wkt"]), _city_of(project, cities)
    else:
        # the rasters of the chosen city holding most of the footprint
        area = _inside_city(ctx, footprint, "geometry", cities)
        kota = ctx.layer("kota", cities).to_crs(ctx.metric_crs(cities[0]))
        drawn = gpd.GeoSeries([footprint.intersection(area)], crs=4326).to_crs(kota.crs).iloc[0]
        city = max(cities, key=lambda c: kota[kota.kode == c.code].intersection(drawn).area.sum())
    table, change, summary = monitoring.change_detection(ctx.raster_of(inputs.before, city),
                                                         ctx.raster_of(inputs.after, city),
                                                         footprint, LAND_COVER_CLASSES)
    key = hashlib.blake2b(f"{city.code}|{inputs.before}|{inputs.after}|{footprint.wkb_hex}".encode(),
                          digest_size=6).hexdigest()
    raster = ctx.register_raster(f"change_{key}", change, f"Perubahan {inputs.before} -> {inputs.after}",
                                 f"Change {inputs.before} -> {inputs.after}", "class code from*100+to", "categorical")
    return {**summary, "transitions": table.to_dict("records"), "change_raster": raster,
            "cities": city_entries([city])}
