"""The zoning side of siting: the cells where the activity may not go (sub-zones where its ITBX verdict is X,
protected farmland LP2B) and, for each candidate site, the sub-zones it lies in and its verdict."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.analyses import itbx as rules
from gis.analyses.grid import Raster
from gis.core.errors import InvalidInput
from gis.core.language import format_number
from layers.rdtr import SITING_EXCLUDED_OVERLAYS, column

_TOUCH = 1e-4  # a share below 0.01 % is a shared edge, not an overlap


def zones_with_verdicts(zoning: gpd.GeoDataFrame, itbx: pd.DataFrame | None, kbli: str | None,
                        activity: str | None, crs) -> gpd.GeoDataFrame:
    """The zones in the grid's CRS with the activity's `verdict` in each (None when no activity is asked)."""
    if "kodszn" not in zoning.columns:
        raise InvalidInput("the zoning layer has no 'kodszn' column (the RDTR standard's KODSZN)")
    zones = zoning.to_crs(crs)
    if kbli is None and activity is None:
        return zones.assign(verdict=None)
    if itbx is None:
        raise InvalidInput("siting for an activity needs the city's ITBX table (none was given)")
    verdicts = rules.zone_verdicts(itbx, zones.kodszn.dropna().unique(), kbli=kbli, activity=activity)
    return zones.assign(verdict=zones.kodszn.map(verdicts).fillna(rules.UNREGULATED))


def of_kind(zones: gpd.GeoDataFrame, codes, kinds) -> pd.Series:
    """Zones whose sub-zone code is one of `codes` or whose zone (KODZON, when the plan gives it) is one of
    `kinds`."""
    hit = zones.kodszn.isin(codes)
    return hit | zones.kodzon.isin(kinds) if "kodzon" in zones.columns else hit


def exclusions(zones: gpd.GeoDataFrame, overlay_layers: gpd.GeoDataFrame | None, grid: Raster) -> dict:
    """reason -> mask: `zone_x` (every cell touching a sub-zone where the activity is X) and `lp2b` (zones
    flagged LP2B, and the plan's separate LP2B overlay layer). Cells touched at all are excluded: a candidate
    never reaches into such a zone."""
    out = {}
    forbidden = zones[zones.verdict == "X"]
    if not forbidden.empty:
        out["zone_x"] = grid.mask(list(forbidden.geometry), all_touched=True)
    flags = [column(code) for code in SITING_EXCLUDED_OVERLAYS if column(code) in zones.columns]
    protected = zones[np.logical_or.reduce([zones[f].map(rules.flagged).to_numpy(bool) for f in flags])] \
        if flags else zones.iloc[:0]
    geoms = list(protected.geometry)
    if overlay_layers is not None and not overlay_layers.empty:
        layer = overlay_layers[overlay_layers["kode"].astype(str).str.upper().isin(SITING_EXCLUDED_OVERLAYS)]
        geoms += list(layer.to_crs(grid.crs).geometry)
    if geoms:
        out["lp2b"] = grid.mask(geoms, all_touched=True)
    return out


def candidate_zoning(zones: gpd.GeoDataFrame, site_metric, asked: bool,
                     significant_share: float = rules.SIGNIFICANT_SHARE) -> tuple[list[dict], str | None]:
    """The sub-zones a candidate (in the grid's CRS) overlaps, largest first, {kodszn, namszn, share}, and its
    verdict: the most restrictive over those covering at least `significant_share` (None when no activity was
    `asked` about; "unregulated" where no zone decides)."""
    near = zones.iloc[zones.sindex.query(site_metric, predicate="intersects")]
    area = site_metric.area
    found = {}
    for code, name, verdict, geom in zip(near.kodszn, near.get("namszn", [None] * len(near)), near.verdict,
                                         near.geometry, strict=True):
        share = geom.intersection(site_metric).area / area
        if share > _TOUCH:
            entry = found.setdefault(code, {"kodszn": code, "namszn": name, "share": 0.0, "verdict": verdict})
            entry["share"] += share
    listed = sorted(found.values(), key=lambda z: -z["share"])
    for z in listed:
        z["share"] = round(z["share"], 4)
    if not asked:
        return [{k: z[k] for k in ("kodszn", "namszn", "share")} for z in listed], None
    deciding = [z["verdict"] for z in listed if z["share"] >= significant_share]
    verdict = rules.most_restrictive(deciding) if deciding else rules.UNREGULATED
    return [{k: z[k] for k in ("kodszn", "namszn", "share", "verdict")} for z in listed], verdict


def sentence(zones: list[dict], verdict: str | None, kbli: str | None, activity: str | None) -> dict:
    """What a candidate's explanation says of its zoning: the zones by name and share, and the verdict."""
    def listed(lang: str) -> str:
        return ", ".join(f"{z['namszn'] or z['kodszn']} ({z['kodszn']}, "
                         f"{format_number(100 * z['share'], lang, 0)} %)" for z in zones) or "-"
    text = {"id": f" Zona: {listed('id')}.", "en": f" Zones: {listed('en')}."}
    if verdict is not None:
        v_id, v_en = rules.VERDICT_TEXT[verdict]
        letter = f" ({verdict})" if verdict in rules.VERDICTS else ""
        text["id"] += f" Ketentuan ITBX untuk {'KBLI ' + kbli if kbli else repr(activity)}: {v_id}{letter}."
        text["en"] += f" ITBX verdict for {'KBLI ' + kbli if kbli else repr(activity)}: {v_en}{letter}."
    return text
