"""Project monitoring: land acquisition progress towards the target (e.g. 138 ha), a monthly timeline from the
edit history of parcel statuses, milestones on time or late, compensation; and change detection between two
land-cover rasters inside a project's footprint."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.analyses.grid import Raster
from gis.core.errors import InvalidInput
from layers.projects import PARCEL_STATUSES

STATUSES = ("identified", "negotiating", "agreed", "compensated", "certified")
ACQUIRED = ("compensated", "certified")  # land counts as acquired once compensation is paid


def _month_ends(start: date, end: date) -> list[date]:
    months = pd.period_range(pd.Timestamp(start).to_period("M"), pd.Timestamp(end).to_period("M"), freq="M")
    return [p.end_time.date() for p in months]


def timeline(events: pd.DataFrame, areas: dict, today: date) -> list[dict]:
    """events: feature_id, date, status (one row per recorded status). Each month: hectares in each status."""
    if events.empty:
        return []
    events = events.sort_values(["date", "seq"] if "seq" in events else ["date"])
    rows = []
    for month_end in _month_ends(events.date.min(), today):
        state = events[events.date <= month_end].groupby("feature_id").status.last()
        ha = {s: float(sum(areas.get(fid, 0.0) for fid, st in state.items() if st == s)) for s in STATUSES}
        rows.append({"month": month_end.strftime("%Y-%m"), **{f"{s}_ha": round(v, 4) for s, v in ha.items()},
                     "acquired_ha": round(sum(ha[s] for s in ACQUIRED), 4)})
    return rows


def _missing(value) -> bool:
    return value is None or pd.isna(value)


def statuses_as_of(parcels: pd.DataFrame, events: pd.DataFrame, as_of: date) -> pd.Series:
    """Each parcel's acquisition status on `as_of` (index: the parcels' index): its current status when that
    was reached by then (`status_date` on or before `as_of`, or undated), else the last status its history
    records by then; None for a parcel not yet in the acquisition on that day."""
    current = parcels.status.where([_missing(d) or d <= as_of for d in parcels.get("status_date",
                                                                                   [None] * len(parcels))])
    if current.notna().all() or events.empty:
        return current
    order = ["date", "seq"] if "seq" in events else ["date"]
    known = events[events.date <= as_of].sort_values(order).groupby("feature_id").status.last()
    earlier = parcels.id.map(known)
    return current.where(current.notna(), earlier).where(lambda s: s.notna(), None)


def _milestone_state(planned, actual, today: date) -> str:
    if not _missing(actual) and actual <= today:  # done by the report date (a later completion is not yet)
        return "done_on_time" if planned is None or pd.isna(planned) or actual <= planned else "done_late"
    if not _missing(planned) and planned < today:
        return "late"
    return "upcoming"


def _days_late(planned, actual, state: str, today: date) -> int:
    """Days past the planned date: until done for a milestone done late, until the report date for one still
    open; 0 otherwise."""
    if state == "done_late":
        return (actual - planned).days
    if state == "late":
        return (today - planned).days
    return 0


def project_progress(project: dict, parcels: gpd.GeoDataFrame, events: pd.DataFrame, milestones: pd.DataFrame,
                     today: date | None = None) -> dict:
    """project: slug, nama, target_ha, harga_satuan_rp_m2. parcels: id, parcel_id, status, status_date, area_ha,
    kompensasi_rp (private field: pass it only to analysts). events: feature_id, date, status (the history of
    statuses). Every figure is as on `today` (the report date): statuses reached later and milestones done later
    do not count yet."""
    today = today or date.today()
    target = float(project.get("target_ha") or 0)
    if target <= 0:
        raise InvalidInput(f"project {project.get('slug')!r} has no target area")
    parcels = parcels.assign(status=statuses_as_of(parcels, events, today))
    parcels = parcels[parcels.status.notna()]
    total_ha = float(parcels.area_ha.sum())
    by_status = []
    for status in STATUSES:
        part = parcels[parcels.status == status]
        label_id, label_en, _colour = PARCEL_STATUSES[status]
        by_status.append({"status": status, "label": {"id": label_id, "en": label_en}, "parcels": int(len(part)),
                          "area_ha": round(float(part.area_ha.sum()), 4),
                          "share_of_target": round(float(part.area_ha.sum()) / target, 4)})
    acquired = float(parcels[parcels.status.isin(ACQUIRED)].area_ha.sum())
    ms = []
    for m in milestones.sort_values("planned_date").itertuples():
        state = _milestone_state(m.planned_date, m.actual_date, today)
        done = not _missing(m.actual_date) and m.actual_date <= today
        ms.append({"nama": m.nama, "planned_date": None if _missing(m.planned_date) else str(m.planned_date),
                   "actual_date": str(m.actual_date) if done else None, "state": state,
                   "days_late": _days_late(m.planned_date, m.actual_date, state, today)})
    result = {
        "project": {k: project.get(k) for k in ("slug", "nama", "target_ha")},
        "as_of": today.isoformat(),
        "target_ha": target, "parcels_ha": round(total_ha, 4),
        "acquired_ha": round(acquired, 4), "acquired_share": round(acquired / target, 4),
        "remaining_ha": round(max(target - acquired, 0), 4),
        "by_status": by_status,
        "ha_by_status": {s["status"]: s["area_ha"] for s in by_status},
        "timeline": timeline(events, dict(zip(parcels.id, parcels.area_ha, strict=True)), today),
        "milestones": ms,
        "milestones_late": sum(1 for m in ms if m["state"] in ("late", "done_late")),
        "days_late_max": max((m["days_late"] for m in ms), default=0),
    }
    if "kompensasi_rp" in parcels.columns:
        unit = float(project.get("harga_satuan_rp_m2") or 0)
        paid = parcels[parcels.status.isin(ACQUIRED)].kompensasi_rp.fillna(0).sum()
        agreed = parcels[parcels.status.isin(("agreed", *ACQUIRED))].kompensasi_rp.fillna(0).sum()
        result["compensation"] = {"paid_rp": int(paid), "agreed_rp": int(agreed),
                                  "by_status_rp": {s: int(parcels[parcels.status == s].kompensasi_rp.fillna(0).sum())
                                                   for s in STATUSES},
                                  "estimated_rp": int(round(target * 1e4 * unit)), "unit_price_rp_m2": unit,
                                  "paid_share_of_estimate": round(float(paid) / (target * 1e4 * unit), 4)
                                  if unit else None}
    return result


def footprint_in(footprint, crs):
    """The footprint (shapely polygon, lon/lat) in a raster's CRS, refused when there is none."""
    if footprint is None or footprint.is_empty:
        raise InvalidInput("a footprint polygon is needed")
    return gpd.GeoSeries([footprint], crs=4326).to_crs(crs).iloc[0]


def transition_counts(before: np.ndarray, after: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, dict]:
    """The change codes (before * 100 + after where changed inside, else 0) and the counts: cells inside,
    cells changed, and cells per transition code. Counts over parts of a grid add up to the whole grid's."""
    changed = inside & (before != after)
    # the codes of the uint16 raster, computed in uint16 (no int64 copies of the grids)
    code = before.astype("uint16") * np.uint16(100) + after.astype("uint16")
    code[~changed] = 0
    pairs, counts = np.unique(code[changed], return_counts=True)
    return code, {"inside": int(inside.sum()), "changed": int(changed.sum()),
                  "pairs": {int(p): int(n) for p, n in zip(pairs, counts, strict=True)}}


def transition_table(counts: dict, pixel_m2: float, classes: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """Hectares by transition (largest first) and the summary, from transition_counts (or their sum)."""
    if not counts["inside"]:
        raise InvalidInput("the footprint lies outside the rasters")
    pixel_ha = pixel_m2 / 1e4
    labels = classes or {}
    table = pd.DataFrame([{
        "from_class": p // 100, "to_class": p % 100,
        "from_label": labels.get(p // 100, (str(p // 100),))[0],
        "to_label": labels.get(p % 100, (str(p % 100),))[0],
        "pixels": n, "area_ha": round(n * pixel_ha, 4)} for p, n in sorted(counts["pairs"].items())],
        columns=["from_class", "to_class", "from_label", "to_label", "pixels", "area_ha"])
    inside, changed = counts["inside"], counts["changed"]
    summary = {"footprint_ha": round(inside * pixel_ha, 4), "changed_ha": round(changed * pixel_ha, 4),
               "changed_share": round(float(changed / inside), 4)}
    return table.sort_values("area_ha", ascending=False).reset_index(drop=True), summary


def change_detection(before: Raster, after: Raster, footprint, classes: dict | None = None
                     ) -> tuple[pd.DataFrame, Raster, dict]:
    """Changed hectares inside the footprint (shapely polygon, lon/lat) by class transition, and a change
    raster (before * 100 + after where changed inside the footprint, else 0)."""
    if before.shape != after.shape or before.transform != after.transform:
        raise InvalidInput("the two rasters must share one grid (same extent, resolution and CRS)")
    inside = before.mask([footprint_in(footprint, before.crs)])
    code, counts = transition_counts(before.array, after.array, inside)
    table, summary = transition_table(counts, before.pixel_m2, classes)
    return table, before.like(code), summary
