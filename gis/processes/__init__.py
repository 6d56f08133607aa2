"""The planning analyses as OGC API - Processes processes: each loads its inputs from the database and the
raster registry, checks them (a bad input names itself), and calls the pure function in gis/analyses."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import geopandas as gpd
import pandas as pd
from shapely.geometry import shape
from sqlalchemy import Engine, text

from gis.analyses import conformity, coverage, monitoring, rules, suitability
from gis.analyses.grid import Raster
from gis.core.errors import InvalidInput, NotFound
from gis.core.settings import Settings
from gis.data import store
from layers.rasters import LAND_COVER_CLASSES


@dataclass
class Context:
    engine: Engine
    settings: Settings
    include_private: bool

    def layer(self, layer_id: str) -> gpd.GeoDataFrame:
        with self.engine.connect() as conn:
            return store.read_layer(conn, layer_id, self.include_private).rename_geometry("geometry")

    def raster(self, raster_id: str) -> Raster:
        with self.engine.connect() as conn:
            path = conn.execute(text("SELECT path FROM rasters WHERE id = :id"), {"id": raster_id}).scalar()
        if path is None:
            raise InvalidInput(f"raster {raster_id!r} is not in the registry (see /rasters)")
        return Raster.open(self.settings.data_dir / path)

    def register_raster(self, raster_id: str, raster: Raster, title_id: str, title_en: str, units: str,
                        kind: str) -> dict:
        """Write a result raster as a COG and list it in the registry, so /rasters serves its tiles."""
        rel = f"rasters/results/{raster_id}.tif"
        # Excluded cells of a score surface are NaN: declare it as nodata so readers mask them.
        raster.write_cog(self.settings.data_dir / rel, nodata=float("nan") if raster.array.dtype.kind == "f" else None)
        with self.engine.begin() as conn:
            store.write_rows(conn, "rasters", [{"id": raster_id, "title_id": title_id, "title_en": title_en,
                                                "path": rel, "units": units, "kind": kind, "illustrative": True,
                                                "source": "PetaKota analysis on illustrative inputs",
                                                "acquired": None}], key=("id",))
        return {"id": raster_id, "tiles": f"/rasters/{raster_id}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png"}


def _geometry(inputs: dict, name: str, required: bool = True):
    value = inputs.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"input '{name}' is required: a GeoJSON Polygon in lon/lat")
        return None
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    try:
        geom = shape(value)
    except Exception:
        raise InvalidInput(f"input '{name}' is not a GeoJSON geometry") from None
    if geom.is_empty or not geom.is_valid or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInput(f"input '{name}' must be a valid Polygon or MultiPolygon")
    return geom


def _number(inputs: dict, name: str, default: float, low: float, high: float) -> float:
    value = inputs.get(name, default)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= high:
        raise InvalidInput(f"input '{name}' must be a number greater than {low:g} and at most {high:g}")
    return float(value)


def _inside_city(ctx: Context, geom, name: str):
    city = ctx.layer("kota").union_all()
    if not geom.intersects(city):
        raise InvalidInput(f"input '{name}' lies outside the city ({ctx.settings.city.name})")
    return city


def _features(gdf: gpd.GeoDataFrame) -> dict:
    return json.loads(gdf.to_json(drop_id=True, na="null"))


def run_site_suitability(ctx: Context, inputs: dict) -> dict:
    if "target_ha" in inputs and inputs["target_ha"] is None:
        raise InvalidInput("input 'target_ha' is required: the area the estate needs, in hectares")
    weights = inputs.get("weights") or {}
    if not isinstance(weights, dict):
        raise InvalidInput("input 'weights' must be an object of criterion -> weight")
    c = suitability.Criteria(
        target_ha=_number(inputs, "target_ha", rules.ESTATE_TARGET_HA.value, 0, 5_000),
        max_slope_pct=_number(inputs, "max_slope_pct", rules.MAX_SLOPE_PCT.value, 0, 100),
        n_candidates=int(_number(inputs, "n_candidates", 5, 0, 20)),
        weights={**suitability.Criteria().weights, **weights},
        study_area=_geometry(inputs, "study_area", required=False),
    )
    land_cover = inputs.get("land_cover", "landcover_2024")
    data = suitability.SitingData(
        slope=ctx.raster("slope"), flood=ctx.raster("flood_hazard"), land_cover=ctx.raster(land_cover),
        roads=ctx.layer("roads"), toll_gates=ctx.layer("toll_gates"), zoning=ctx.layer("zoning"),
        parks=ctx.layer("parks"), rivers=ctx.layer("rivers"), city=ctx.layer("kota"))
    if inputs.get("mode") == "evaluate":
        site = _geometry(inputs, "site")
        _inside_city(ctx, site, "site")
        return {"mode": "evaluate", **suitability.evaluate_site(data, site, c)}
    if c.study_area is not None:
        _inside_city(ctx, c.study_area, "study_area")
    score, sites = suitability.site_suitability(data, c)
    key = hashlib.blake2b(json.dumps(inputs, sort_keys=True, default=str).encode(), digest_size=6).hexdigest()
    raster = ctx.register_raster(f"suitability_{key}", score, "Kesesuaian lahan kawasan industri",
                                 "Industrial estate suitability", "score 0-1", "continuous")
    return {"mode": "search", "target_ha": c.target_ha, "weights": c.weights, "candidates": _features(sites),
            "suitability_raster": raster, "rules": {"max_slope_pct": vars(rules.MAX_SLOPE_PCT),
                                                    "river_setback_m": rules.RIVER_SETBACK_SOURCE}}


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


def _project(ctx: Context, slug: str) -> dict:
    with ctx.engine.connect() as conn:
        row = conn.execute(text("SELECT id, slug, nama, target_ha, harga_satuan_rp_m2, ST_AsText(geom) AS wkt "
                                "FROM projects WHERE slug = :s"), {"s": slug}).mappings().first()
    if row is None:
        raise InvalidInput(f"input 'project': no project {slug!r}")
    return dict(row)


def run_project_progress(ctx: Context, inputs: dict) -> dict:
    project = _project(ctx, inputs.get("project") or "kawasan-industri-binjai")
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

        footprint = wkt.loads(_project(ctx, inputs.get("project") or "kawasan-industri-binjai")["wkt"])
    table, change, summary = monitoring.change_detection(ctx.raster(before_id), ctx.raster(after_id), footprint,
                                                         LAND_COVER_CLASSES)
    key = hashlib.blake2b(f"{before_id}|{after_id}|{footprint.wkb_hex}".encode(), digest_size=6).hexdigest()
    raster = ctx.register_raster(f"change_{key}", change, f"Perubahan {before_id} -> {after_id}",
                                 f"Change {before_id} -> {after_id}", "class code from*100+to", "categorical")
    return {**summary, "transitions": table.to_dict("records"), "change_raster": raster}


@dataclass(frozen=True)
class Process:
    id: str
    title_id: str
    title_en: str
    description: str
    inputs: dict
    outputs: dict
    run: Callable[[Context, dict], dict]


def _in(schema: dict, title: str, required: bool = False) -> dict:
    return {"title": title, "schema": schema, "minOccurs": 1 if required else 0, "maxOccurs": 1}


GEOMETRY = {"type": "object", "contentMediaType": "application/geo+json",
            "description": "GeoJSON Polygon/MultiPolygon in lon/lat (CRS84)"}
JSON_OUT = {"schema": {"type": "object", "contentMediaType": "application/json"}}

PROCESSES = {p.id: p for p in (
    Process("site-suitability", "Kesesuaian lokasi kawasan industri", "Industrial estate site suitability",
            "Weighted criteria (slope <= 15 %, flood hazard, toll/arterial access, distance from housing, land "
            "cover) with exclusions (parks/RTH, river setbacks, protected zones, built-up land); returns the top "
            "candidate sites of at least target_ha and a suitability raster, or evaluates a drawn site.",
            {"mode": _in({"type": "string", "enum": ["search", "evaluate"], "default": "search"}, "Mode"),
             "target_ha": _in({"type": "number", "default": 138, "exclusiveMinimum": 0}, "Target area (ha)"),
             "max_slope_pct": _in({"type": "number", "default": 15}, "Maximum slope (%)"),
             "weights": _in({"type": "object", "properties": {k: {"type": "number"} for k in suitability.CRITERIA}},
                            "Criterion weights"),
             "n_candidates": _in({"type": "integer", "default": 5, "minimum": 1, "maximum": 20}, "Candidates"),
             "study_area": _in(GEOMETRY, "Study area"), "site": _in(GEOMETRY, "Site to evaluate (mode=evaluate)"),
             "land_cover": _in({"type": "string", "default": "landcover_2024"}, "Land-cover raster id")},
            {"result": JSON_OUT}, run_site_suitability),
    Process("zoning-conformity", "Kesesuaian kegiatan pemanfaatan ruang (KKPR)", "Zoning conformity (KKPR)",
            "Zones overlapped with ha and share, the ITBX verdict of the activity in each, the overall verdict "
            "(most restrictive over significant overlap), overlays touched, explanation in Bahasa Indonesia and "
            "English.",
            {"geometry": _in(GEOMETRY, "Site", True), "activity": _in({"type": "string"}, "Activity", True)},
            {"result": JSON_OUT}, run_zoning_conformity),
    Process("park-coverage", "Jangkauan layanan taman", "Park service coverage",
            "Share of population within the service radius of a park of each class (SNI table), per kelurahan.",
            {"radii_m": _in({"type": "object"}, "Service radius per park class (m)"),
             "underserved_below": _in({"type": "number", "default": 0.5}, "Underserved below this share")},
            {"result": JSON_OUT}, run_park_coverage),
    Process("rth-ratio", "Rasio RTH", "Green open space ratio",
            "RTH area and share per kecamatan and city against 30 % total / 20 % public (UU 26/2007).", {},
            {"result": JSON_OUT}, run_rth_ratio),
    Process("business-center-coverage", "Cakupan sentra kewirausahaan (Sakasanwira)", "Business centre coverage",
            "Which kelurahan have a business centre and which don't (the gap list); UMKM per centre and kelurahan.",
            {"active_only": _in({"type": "boolean", "default": False}, "Count active centres only")},
            {"result": JSON_OUT}, run_business_center_coverage),
    Process("project-progress", "Kemajuan proyek", "Project progress",
            "Land acquisition vs target, ha per status, monthly timeline from the edit history, milestones on time "
            "or late, compensation (analysts only).",
            {"project": _in({"type": "string", "default": "kawasan-industri-binjai"}, "Project slug"),
             "as_of": _in({"type": "string", "format": "date"}, "Report date")},
            {"result": JSON_OUT}, run_project_progress),
    Process("change-detection", "Deteksi perubahan tutupan lahan", "Land-cover change detection",
            "Changed area in ha inside a project's footprint by class transition, with a change raster.",
            {"before": _in({"type": "string", "default": "landcover_2019"}, "Raster before"),
             "after": _in({"type": "string", "default": "landcover_2024"}, "Raster after"),
             "project": _in({"type": "string", "default": "kawasan-industri-binjai"}, "Project slug (footprint)"),
             "geometry": _in(GEOMETRY, "Footprint (instead of a project)")},
            {"result": JSON_OUT}, run_change_detection),
)}


def execute(process_id: str, ctx: Context, inputs: dict) -> dict:
    process = PROCESSES.get(process_id)
    if process is None:
        raise NotFound(f"no process {process_id[:60]!r}; see /processes")
    if not isinstance(inputs, dict):
        raise InvalidInput("'inputs' must be an object")
    known = set(process.inputs)
    unknown = sorted(set(inputs) - known)
    if unknown:
        raise InvalidInput(f"unknown inputs {', '.join(unknown)}; {process_id} takes: {', '.join(sorted(known))}")
    return process.run(ctx, inputs)
