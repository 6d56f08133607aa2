"""project-progress and change-detection for a project such as the industrial estate."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from datetime import date
from pathlib import Path
from typing import Literal

import geopandas as gpd
import pandas as pd
from pydantic import Field
from shapely import wkt
from sqlalchemy import text

from gis.analyses import monitoring
from gis.analyses.change_dask import region_change_detection
from gis.analyses.dask_cluster import dask_client, gather
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
    engine: Literal["in-process", "dask"] = Field(
        "in-process", title="Engine",
        description="in-process: both rasters held whole in one worker (a city); dask: read chunk by chunk over "
                    "the footprint on a Dask cluster, the change raster written tile by tile (a region: memory "
                    "follows the chunk size, not the area). The same figures and raster")


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
    key = hashlib.blake2b(f"{city.code}|{inputs.before}|{inputs.after}|{footprint.wkb_hex}".encode(),
                          digest_size=6).hexdigest()
    title = (f"Perubahan {inputs.before} -> {inputs.after}", f"Change {inputs.before} -> {inputs.after}",
             "class code from*100+to", "categorical")
    if inputs.engine == "dask":
        scratch = ctx.settings.data_dir / "rasters" / "scratch" / f"change_{key}_{uuid.uuid4().hex[:8]}.vrt"
        try:
            table, summary = _on_dask(ctx, inputs, city, footprint, scratch)
            raster = ctx.register_raster(f"change_{key}", scratch, *title)
        finally:
            _remove_tiles(scratch)
    else:
        table, change, summary = monitoring.change_detection(ctx.raster_of(inputs.before, city),
                                                             ctx.raster_of(inputs.after, city),
                                                             footprint, LAND_COVER_CLASSES)
        raster = ctx.register_raster(f"change_{key}", change, *title)
    return {**summary, "transitions": table.to_dict("records"), "change_raster": raster,
            "cities": city_entries([city])}


def _on_dask(ctx: Context, inputs: ChangeDetectionInputs, city: City, footprint, scratch: Path):
    """The counts on the Dask cluster of the settings (a scheduler address, else a local cluster), the change
    raster written as tiles under the data directory (the workers must share it)."""
    before, after = ctx.raster_path_of(inputs.before, city), ctx.raster_path_of(inputs.after, city)
    s = ctx.settings
    with dask_client(s.dask_scheduler, s.dask_workers, s.dask_worker_memory_gb) as client:
        return region_change_detection(before, after, footprint, LAND_COVER_CLASSES, compute=gather(client),
                                       chunk=s.dask_chunk, change_path=scratch)


def _remove_tiles(vrt: Path) -> None:
    vrt.unlink(missing_ok=True)
    shutil.rmtree(vrt.parent / f"{vrt.stem}_tiles", ignore_errors=True)
