"""The planning analyses as OGC API - Processes processes. Each process module declares its input model (the one
source of the description's input schemas, of validation and of defaults), loads its data from the database and
the raster registry, and calls the pure function in gis/analyses. This module lists them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from gis.analyses import rules
from gis.core.errors import NotFound
from gis.processes.assets import AssetCheckInputs, run_asset_check
from gis.processes.context import Context
from gis.processes.coverage import (
    BusinessCenterCoverageInputs,
    ParkCoverageInputs,
    RthRatioInputs,
    run_business_center_coverage,
    run_park_coverage,
    run_rth_ratio,
)
from gis.processes.inputs import ProcessInputs, ogc_inputs, parse_inputs
from gis.processes.monitoring import (
    ChangeDetectionInputs,
    ProjectProgressInputs,
    run_change_detection,
    run_project_progress,
)
from gis.processes.programmes import ProgrammeStatusInputs, run_programme_status
from gis.processes.siting import SiteSuitabilityInputs, run_site_suitability
from gis.processes.zoning import ZoningConformityInputs, run_zoning_conformity

__all__ = ["PROCESSES", "Context", "Process", "execute"]


@dataclass(frozen=True)
class Process:
    id: str
    title_id: str
    title_en: str
    description: str
    model: type[ProcessInputs]
    outputs: dict
    run: Callable[[Context, ProcessInputs], dict]

    @property
    def inputs(self) -> dict:
        """The OGC description of each input, generated from the input model."""
        return copy.deepcopy(ogc_inputs(self.model))  # a copy: the generated one is cached

    def parse(self, raw, settings) -> ProcessInputs:
        """The validated inputs (defaults filled in, the city's from `settings`), or InvalidInput."""
        return parse_inputs(self.model, self.id, raw, settings)


JSON_OUT = {"schema": {"type": "object", "contentMediaType": "application/json"}}

PROCESSES = {p.id: p for p in (
    Process("site-suitability", "Kesesuaian lokasi kawasan industri", "Industrial estate site suitability",
            f"Weighted criteria (slope <= {rules.MAX_SLOPE_PCT.value:g} %, flood hazard, toll/arterial access, "
            "distance from housing, land cover) with exclusions (parks/RTH, river setbacks, protected zones, "
            "built-up land); returns the top candidate sites of at least target_ha and a suitability raster, or "
            "evaluates a drawn site.",
            SiteSuitabilityInputs, {"result": JSON_OUT}, run_site_suitability),
    Process("zoning-conformity", "Kesesuaian kegiatan pemanfaatan ruang (KKPR)", "Zoning conformity (KKPR)",
            "Zones overlapped with ha and share, the ITBX verdict of the activity in each, the overall verdict "
            "(most restrictive over significant overlap), overlays touched, explanation in Bahasa Indonesia and "
            "English.",
            ZoningConformityInputs, {"result": JSON_OUT}, run_zoning_conformity),
    Process("park-coverage", "Jangkauan layanan taman", "Park service coverage",
            "Share of population within the service radius of a park of each class (SNI table), per kelurahan and "
            "city; parks across a city border count; a city without a population grid is reported as missing.",
            ParkCoverageInputs, {"result": JSON_OUT}, run_park_coverage),
    Process("rth-ratio", "Rasio RTH", "Green open space ratio",
            "RTH area and share per kecamatan and city (and overall for a region) against 30 % total / 20 % public "
            "(UU 26/2007).",
            RthRatioInputs, {"result": JSON_OUT}, run_rth_ratio),
    Process("business-center-coverage", "Cakupan sentra kewirausahaan (Sakasanwira)", "Business centre coverage",
            "Which kelurahan have a business centre and which don't (the gap list); UMKM per centre and kelurahan.",
            BusinessCenterCoverageInputs, {"result": JSON_OUT}, run_business_center_coverage),
    Process("project-progress", "Kemajuan proyek", "Project progress",
            "Land acquisition vs target, ha per status, monthly timeline from the edit history, milestones on time "
            "or late, compensation (analysts only).",
            ProjectProgressInputs, {"result": JSON_OUT}, run_project_progress),
    Process("change-detection", "Deteksi perubahan tutupan lahan", "Land-cover change detection",
            "Changed area in ha inside a project's footprint by class transition, with a change raster.",
            ChangeDetectionInputs, {"result": JSON_OUT}, run_change_detection),
    Process("asset-check", "Pemeriksaan aset daerah", "Regional asset check",
            "Land and buildings with no certificate, assets of the same card overlapping (area in m²), and assets "
            "in zones whose ITBX does not permit their use (KBLI, or the use as an ITBX activity); acquisition "
            "values for authorised users only.",
            AssetCheckInputs, {"result": JSON_OUT}, run_asset_check),
    Process("programme-status", "Status program dan kartu skor", "Programme status and scorecards",
            "Target against realisation per indicator (met, behind, late with days late), each programme's status "
            "(not started, on track, at risk, late, done, cancelled) and spending against budget, as of a date, "
            "per OPD, per kecamatan (city-wide for programmes lying in none) or per programme; one programme's "
            "indicators and progress history. The public sees public programmes only.",
            ProgrammeStatusInputs, {"result": JSON_OUT}, run_programme_status),
)}


def execute(process_id: str, ctx: Context, inputs: dict) -> dict:
    process = PROCESSES.get(process_id)
    if process is None:
        raise NotFound(f"no process {process_id[:60]!r}; see /processes")
    return process.run(ctx, process.parse(inputs, ctx.settings))
