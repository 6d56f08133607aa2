"""project-progress and change-detection for a project such as the industrial estate."""

from __future__ import annotations

import hashlib
from datetime import date

import pandas as pd
from pydantic import Field
from shapely import wkt
from sqlalchemy import text

from gis.analyses import monitoring
from gis.core.errors import InvalidInput
from gis.processes.context import Context
from gis.processes.inputs import CityProject, GeoJSONPolygon, IsoDate, ProcessInputs
from layers.rasters import LAND_COVER_CLASSES

PROJECT_DEFAULT = "Project slug (see /collections/projects). Default: the city's monitored project"


def _project(ctx: Context, slug: str) -> dict:
    with ctx.engine.connect() as conn:
        row = conn.execute(text("SELECT id, slug, nama, target_ha, harga_satuan_rp_m2, ST_AsText(geom) AS wkt "
                                "FROM projects WHERE slug = :s"), {"s": slug}).mappings().first()
    if row is None:
        raise InvalidInput(f"input 'project': no project {slug!r}")
    return dict(row)


class ProjectProgressInputs(ProcessInputs):
    project: CityProject = Field(None, title="Project slug", description=PROJECT_DEFAULT)
    as_of: IsoDate | None = Field(None, title="Report date",
                               description="Progress as on this date (YYYY-MM-DD). Default: today")


def run_project_progress(ctx: Context, inputs: ProjectProgressInputs) -> dict:
    project = _project(ctx, inputs.project)
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
    return monitoring.project_progress(project, parcels, events, milestones, inputs.as_of or date.today())


class ChangeDetectionInputs(ProcessInputs):
    before: str = Field("landcover_2019", min_length=1, max_length=100, title="Raster before",
                        description="A land-cover raster of the registry (see /rasters)")
    after: str = Field("landcover_2024", min_length=1, max_length=100, title="Raster after",
                       description="A land-cover raster of the registry on the same grid")
    project: CityProject = Field(None, title="Project slug (footprint)", description=PROJECT_DEFAULT)
    geometry: GeoJSONPolygon | None = Field(None, title="Footprint (instead of a project)")


def run_change_detection(ctx: Context, inputs: ChangeDetectionInputs) -> dict:
    footprint = inputs.geometry
    if footprint is None:
        footprint = wkt.loads(_project(ctx, inputs.project)["wkt"])
    table, change, summary = monitoring.change_detection(ctx.raster(inputs.before), ctx.raster(inputs.after),
                                                         footprint, LAND_COVER_CLASSES)
    key = hashlib.blake2b(f"{inputs.before}|{inputs.after}|{footprint.wkb_hex}".encode(), digest_size=6).hexdigest()
    raster = ctx.register_raster(f"change_{key}", change, f"Perubahan {inputs.before} -> {inputs.after}",
                                 f"Change {inputs.before} -> {inputs.after}", "class code from*100+to", "categorical")
    return {**summary, "transitions": table.to_dict("records"), "change_raster": raster}
