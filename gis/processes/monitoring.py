"""project-progress and change-detection for a project such as the industrial estate."""

from __future__ import annotations

import hashlib
from datetime import date

import pandas as pd
from sqlalchemy import text

from gis.analyses import monitoring
from gis.core.errors import InvalidInput
from gis.processes.context import Context, _geometry
from layers.rasters import LAND_COVER_CLASSES


def _project(ctx: Context, slug: str) -> dict:
    with ctx.engine.connect() as conn:
        row = conn.execute(text("SELECT id, slug, nama, target_ha, harga_satuan_rp_m2, ST_AsText(geom) AS wkt "
                                "FROM projects WHERE slug = :s"), {"s": slug}).mappings().first()
    if row is None:
        raise InvalidInput(f"input 'project': no project {slug!r}")
    return dict(row)


def run_project_progress(ctx: Context, inputs: dict) -> dict:
    project = _project(ctx, inputs.get("project") or ctx.settings.city.project)
    try:
        as_of = date.fromisoformat(inputs["as_of"]) if inputs.get("as_of") else date.today()
    except (TypeError, ValueError):
        raise InvalidInput("input 'as_of' must be a date YYYY-MM-DD") from None
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
    return monitoring.project_progress(project, parcels, events, milestones, as_of)


def run_change_detection(ctx: Context, inputs: dict) -> dict:
    before_id, after_id = inputs.get("before", "landcover_2019"), inputs.get("after", "landcover_2024")
    footprint = _geometry(inputs, "geometry", required=False)
    if footprint is None:
        from shapely import wkt

        footprint = wkt.loads(_project(ctx, inputs.get("project") or ctx.settings.city.project)["wkt"])
    table, change, summary = monitoring.change_detection(ctx.raster(before_id), ctx.raster(after_id), footprint,
                                                         LAND_COVER_CLASSES)
    key = hashlib.blake2b(f"{before_id}|{after_id}|{footprint.wkb_hex}".encode(), digest_size=6).hexdigest()
    raster = ctx.register_raster(f"change_{key}", change, f"Perubahan {before_id} -> {after_id}",
                                 f"Change {before_id} -> {after_id}", "class code from*100+to", "categorical")
    return {**summary, "transitions": table.to_dict("records"), "change_raster": raster}
