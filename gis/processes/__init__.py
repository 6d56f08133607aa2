"""The planning analyses as OGC API - Processes processes: each loads its inputs from the database and the
raster registry, checks them (a bad input names itself), and calls the pure function in gis/analyses. One
module per process family; this module lists them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gis.analyses import suitability
from gis.core.errors import InvalidInput, NotFound
from gis.processes.context import Context
from gis.processes.coverage import run_business_center_coverage, run_park_coverage, run_rth_ratio
from gis.processes.monitoring import run_change_detection, run_project_progress
from gis.processes.siting import run_site_suitability
from gis.processes.zoning import run_zoning_conformity

__all__ = ["PROCESSES", "Context", "Process", "execute"]


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
