"""The status of programmes on a date, and the scorecards per OPD and per kecamatan (pure pandas: the frames come
from gis/data/programme_frames.py, or from a notebook).

The rules, for a date `as_of`:
- an indicator row (one period) with target t, realisation r and period end e is `met` when r >= t, `late` when
  not met and as_of > e (days_late = as_of - e), else `behind`. r is the latest progress update of that indicator
  dated on or before as_of that gives a value, else the row's own `realisasi`; computed sources count instead the
  hectares of the linked project's parcels compensated or certified by as_of (project_parcels), or the ACTIVE
  business centres in the row's kecamatan / kelurahan, or in the city when it names none (business_centers);
- a programme is `batal` when its latest update (on or before as_of) says so; `selesai` when every indicator row
  of its last period (the rows ending on its latest period end) is met, or its latest update says so;
  `belum_mulai` before its start with no update; `terlambat` when an indicator row is late, its planned end has
  passed, or a milestone of its linked project (the estate's) is overdue - planned before as_of and not reached by
  then (days_late: the largest); `berisiko` when the planned share of its schedule exceeds the realised share
  (mean of min(r/t, 1) over its last period) by more than RISK_MARGIN, or its latest update says `terkendala`;
  else `sesuai`;
- spending is the latest update's cumulative realisasi_rp (on or before as_of), else the programme's own.
A kecamatan scorecard counts every programme lying in it (a location there, or an indicator targeting it or one
of its kelurahan) with the indicator rows for the whole programme or within that kecamatan; programmes lying in
none count as city-wide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from layers.programmes import PROGRAMME_STATUSES

RISK_MARGIN = 0.25  # planned share ahead of the realised share by more than this: at risk
INDICATOR_STATES = ("met", "behind", "late")
STATUS_ORDER = tuple(PROGRAMME_STATUSES)
CITY_WIDE = {"id": "Seluruh kota", "en": "City-wide"}


@dataclass
class Statuses:
    """The result of `programme_status`: one row per programme and one per indicator row, as of `as_of`."""

    programmes: pd.DataFrame
    indicators: pd.DataFrame
    as_of: date


def status_label(status: str, lang: str) -> str:
    name_id, name_en, _ = PROGRAMME_STATUSES[status]
    return name_en if lang == "en" else name_id


def status_colour(status: str) -> str:
    return PROGRAMME_STATUSES[status][2]


def _latest(rows: pd.DataFrame, by: str, as_of: date, value: str | None = None) -> pd.DataFrame:
    """The latest row per `by` dated on or before as_of (among those giving `value`, if named)."""
    rows = rows[_on_or_before(rows["tanggal"], as_of)]
    if value is not None:
        rows = rows[rows[value].notna()]
    return rows.sort_values(["tanggal", "id"]).groupby(by, sort=False).tail(1).set_index(by)


def _on_or_before(dates: pd.Series, as_of: date) -> np.ndarray:
    """Which dates (datetime.date or None) fall on or before as_of, vectorised."""
    return (pd.to_datetime(dates) <= pd.Timestamp(as_of)).to_numpy()


def _kecamatan_of(code) -> str | None:
    """The kecamatan a wilayah code lies in: 12.75.01 itself, 12.75.01.1001 its first three parts."""
    if not isinstance(code, str) or code.count(".") < 2:
        return None
    return ".".join(code.split(".")[:3])


def _active_centres(centres: pd.DataFrame, kabkota: str, wilayah) -> int:
    active = centres[(centres["status"] == "active") & (centres["kabkota"] == kabkota)]
    if not isinstance(wilayah, str) or not wilayah:
        return len(active)
    codes = active["kelurahan_kode"].astype(str)
    return int(((codes == wilayah) | codes.str.startswith(wilayah + ".")).sum())


def indicator_status(indicators: pd.DataFrame, progress: pd.DataFrame, programmes: pd.DataFrame,
                     parcels: pd.DataFrame, centres: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Each indicator row with `realised` (r as of as_of), `state` (met, behind, late) and `days_late`."""
    out = indicators.copy()
    out["target"] = pd.to_numeric(out["target"], errors="coerce").astype(float)
    own = pd.to_numeric(out["realisasi"], errors="coerce").astype(float)
    reported = _latest(progress[progress["indicator_id"].notna()].assign(
        indicator_id=lambda f: f["indicator_id"].astype(int)), "indicator_id", as_of, "realisasi")["realisasi"]
    realised = out["id"].map(reported).astype(float).fillna(own)
    sumber = out["sumber"].fillna("laporan")
    by_kode = programmes.set_index("kode")
    if (sumber == "project_parcels").any():
        acquired = parcels[_on_or_before(parcels["status_date"], as_of)]
        hectares = acquired.groupby("project_slug")["area_ha"].sum()
        slug = out["programme_kode"].map(by_kode["project_slug"])
        computed = slug.map(hectares).astype(float).fillna(0.0)
        realised = realised.where(sumber != "project_parcels", computed)
    if (sumber == "business_centers").any():
        city = out["programme_kode"].map(by_kode["kabkota"])
        counted = {key: _active_centres(centres, *key) for key in
                   set(zip(city[sumber == "business_centers"], out["wilayah_kode"][sumber == "business_centers"],
                           strict=True))}
        computed = pd.Series([counted.get((c, w), np.nan) for c, w in zip(city, out["wilayah_kode"], strict=True)],
                             index=out.index, dtype=float)
        realised = realised.where(sumber != "business_centers", computed)
    out["realised"] = realised.fillna(0.0)
    met = out["realised"] >= out["target"]
    ends = pd.to_datetime(out["batas_periode"])
    overdue = (pd.Timestamp(as_of) - ends).dt.days
    late = ~met & (overdue > 0)
    out["state"] = np.where(met, "met", np.where(late, "late", "behind"))
    out["days_late"] = np.where(late, overdue, 0).astype(int)
    share = np.where(out["target"] > 0, out["realised"] / out["target"].where(out["target"] > 0, 1), 1.0)
    out["share"] = np.minimum(share, 1.0)
    return out


def milestone_state(milestones: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Each milestone with `state` (done, overdue, upcoming) and `days_late` as of as_of: overdue when planned
    before as_of and not reached by then (days late since its planned date)."""
    out = milestones.copy()
    planned, actual = pd.to_datetime(out["planned_date"]), pd.to_datetime(out["actual_date"])
    now = pd.Timestamp(as_of)
    done = (actual <= now).fillna(False).to_numpy()
    overdue = ~done & (planned < now).fillna(False).to_numpy()
    out["state"] = np.where(done, "done", np.where(overdue, "overdue", "upcoming"))
    out["days_late"] = np.where(overdue, (now - planned).dt.days.fillna(0), 0).astype(int)
    return out


def programme_status(programmes: pd.DataFrame, indicators: pd.DataFrame, progress: pd.DataFrame,
                     parcels: pd.DataFrame, centres: pd.DataFrame, as_of: date,
                     milestones: pd.DataFrame | None = None) -> Statuses:
    """Status, days_late, planned and realised shares, spending and its share for every programme, as of as_of;
    `milestones` (project_slug, nama, planned_date, actual_date) are the linked projects' schedules."""
    rows = indicator_status(indicators, progress, programmes, parcels, centres, as_of)
    out = programmes.copy().set_index("kode", drop=False)
    latest = _latest(progress, "programme_kode", as_of)
    said = out["kode"].map(latest["status"])
    has_update = said.notna()
    ends = pd.to_datetime(rows["batas_periode"])
    last = rows[(ends == ends.groupby(rows["programme_kode"]).transform("max")).to_numpy()]
    n_last = last.groupby("programme_kode").size()
    met_last = last.assign(m=last["state"] == "met").groupby("programme_kode")["m"].all()
    all_met = out["kode"].map(met_last).astype(object).eq(True) & (out["kode"].map(n_last).fillna(0) > 0)
    realised_share = out["kode"].map(last.groupby("programme_kode")["share"].mean()).astype(float)
    start, end = pd.to_datetime(out["tanggal_mulai"]), pd.to_datetime(out["tanggal_selesai"])
    now = pd.Timestamp(as_of)
    span = (end - start).dt.days
    planned = ((now - start).dt.days / span.where(span > 0)).clip(0, 1)
    planned = planned.where(span > 0, (now >= end).astype(float).where(end.notna()))
    late_rows = rows[rows["state"] == "late"].groupby("programme_kode")["days_late"].max()
    indicator_late = out["kode"].map(late_rows).fillna(0).astype(int)
    past_end = ((now - end).dt.days).where(end.notna()).fillna(0).clip(lower=0).astype(int)
    overdue = (milestone_state(milestones, as_of).query("state == 'overdue'").groupby("project_slug")["days_late"]
               if milestones is not None and len(milestones) else None)
    slug = out["project_slug"] if "project_slug" in out else pd.Series(None, index=out.index, dtype=object)
    milestones_late = slug.map(overdue.size()).fillna(0).astype(int) if overdue is not None else 0 * past_end
    milestone_days = slug.map(overdue.max()).fillna(0).astype(int) if overdue is not None else 0 * past_end
    days_late = np.maximum(np.maximum(indicator_late, past_end), milestone_days)
    behind_plan = (planned - realised_share) > RISK_MARGIN
    conditions = [said == "batal", all_met | (said == "selesai"),
                  (now < start).fillna(False) & ~has_update, days_late > 0,
                  behind_plan.fillna(False) | (said == "terkendala")]
    out["status"] = np.select(conditions, ["batal", "selesai", "belum_mulai", "terlambat", "berisiko"], "sesuai")
    out["days_late"] = np.where(out["status"] == "terlambat", days_late, 0).astype(int)
    out["planned_share"] = planned
    out["milestones_late"] = milestones_late
    out["realised_share"] = realised_share
    out["latest_update"] = said.where(has_update, None)
    spent = _latest(progress, "programme_kode", as_of, "realisasi_rp")["realisasi_rp"]
    out["spent_rp"] = out["kode"].map(spent).astype(float).fillna(pd.to_numeric(out["realisasi_rp"]).astype(float))
    pagu = pd.to_numeric(out["pagu_rp"]).astype(float)
    out["spending_share"] = out["spent_rp"] / pagu.where(pagu > 0)
    counts = rows.groupby(["programme_kode", "state"]).size().unstack(fill_value=0)
    for state in INDICATOR_STATES:
        column = counts[state] if state in counts else pd.Series(dtype=int)
        out[f"indicators_{state}"] = out["kode"].map(column).fillna(0).astype(int)
    return Statuses(out.reset_index(drop=True), rows, as_of)


COUNTED = ("pagu", "spent", *INDICATOR_STATES)


def _card(key: dict, programmes: int, by_status: dict, sums: dict) -> dict:
    pagu, spent = float(sums["pagu"]), float(sums["spent"])
    return {**key, "programmes": int(programmes), "by_status": {s: int(by_status.get(s, 0)) for s in STATUS_ORDER},
            "indicators": {s: int(sums[s]) for s in INDICATOR_STATES}, "pagu_rp": pagu, "realisasi_rp": spent,
            "spending_share": spent / pagu if pagu > 0 else None}


def _cards(frame: pd.DataFrame, key: str) -> dict:
    """key value -> (programmes, by status, sums of COUNTED): one row of `frame` per programme in that group."""
    if frame.empty:
        return {}
    sums = frame.groupby(key, sort=True)[list(COUNTED)].sum()
    sizes = frame.groupby(key, sort=True).size()
    statuses = frame.groupby([key, "status"]).size()
    return {k: (sizes[k], statuses[k].to_dict(), sums.loc[k]) for k in sizes.index}


def _programme_frame(progs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"kode": progs["kode"].to_numpy(), "kodeskpd": progs["kodeskpd"].to_numpy(),
                         "kabkota": progs["kabkota"].to_numpy(), "status": progs["status"].to_numpy(),
                         "pagu": pd.to_numeric(progs["pagu_rp"]).astype(float).fillna(0).to_numpy(),
                         "spent": progs["spent_rp"].astype(float).fillna(0).to_numpy(),
                         **{s: progs[f"indicators_{s}"].to_numpy() for s in INDICATOR_STATES}})


def membership(statuses: Statuses, locations: pd.DataFrame) -> pd.DataFrame:
    """(programme_kode, kecamatan_kode): each kecamatan a programme lies in, by its locations or its indicators."""
    located = locations[["programme_kode", "kecamatan_kode"]].dropna()
    targeted = pd.DataFrame({"programme_kode": statuses.indicators["programme_kode"],
                             "kecamatan_kode": statuses.indicators["wilayah_kode"].map(_kecamatan_of)}).dropna()
    both = pd.concat([located, targeted], ignore_index=True).drop_duplicates()
    return both[both["programme_kode"].isin(statuses.programmes["kode"])].reset_index(drop=True)


def _state_counts(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    counts = rows.groupby([*by, "state"]).size().unstack(fill_value=0)
    return counts.reindex(columns=list(INDICATOR_STATES), fill_value=0)


def scorecards(statuses: Statuses, locations: pd.DataFrame, kecamatan: pd.DataFrame, lang: str = "id") -> dict:
    """Per OPD (kodeskpd + nama_skpd), per kecamatan (and city-wide), and overall. Vectorised: a few group-bys
    whatever the number of programmes."""
    progs, rows = statuses.programmes, statuses.indicators
    frame = _programme_frame(progs)
    names_skpd = progs.drop_duplicates("kodeskpd").set_index("kodeskpd")["nama_skpd"]
    opd = [_card({"kodeskpd": k, "nama_skpd": str(names_skpd[k])}, *v) for k, v in _cards(frame, "kodeskpd").items()]
    # a kecamatan counts its programmes' rows for the whole programme and the rows within it
    members = membership(statuses, locations)
    located = rows.assign(kecamatan_kode=rows["wilayah_kode"].map(_kecamatan_of))
    wide = _state_counts(located[located["kecamatan_kode"].isna()], ["programme_kode"])
    within = _state_counts(located.dropna(subset=["kecamatan_kode"]), ["programme_kode", "kecamatan_kode"])
    pairs = members.merge(frame.drop(columns=list(INDICATOR_STATES)), left_on="programme_kode", right_on="kode")
    counted = (wide.reindex(pairs["programme_kode"]).fillna(0).to_numpy()
               + within.reindex(pd.MultiIndex.from_frame(pairs[["programme_kode", "kecamatan_kode"]]))
               .fillna(0).to_numpy()) if len(pairs) else np.zeros((0, len(INDICATOR_STATES)))
    for i, state in enumerate(INDICATOR_STATES):
        pairs[state] = counted[:, i] if len(pairs) else []
    names = dict(zip(kecamatan["kode"], kecamatan["nama"], strict=True))
    by_kecamatan = [_card({"kecamatan_kode": k, "nama": names.get(k, k), "city_wide": False,
                           "kabkota": ".".join(k.split(".")[:2])}, *v)
                    for k, v in _cards(pairs, "kecamatan_kode").items()]
    nowhere = frame[~frame["kode"].isin(members["programme_kode"])]
    city_wide = CITY_WIDE["en" if lang == "en" else "id"]
    by_kecamatan += [_card({"kecamatan_kode": None, "nama": city_wide, "city_wide": True, "kabkota": k}, *v)
                     for k, v in _cards(nowhere, "kabkota").items()]
    overall = _card({}, len(frame), frame["status"].value_counts().to_dict(),
                    frame[list(COUNTED)].sum() if len(frame) else dict.fromkeys(COUNTED, 0))
    return {"opd": opd, "kecamatan": by_kecamatan, "overall": overall, "as_of": statuses.as_of.isoformat()}


def _plain(value):
    """A JSON-ready value: dates as ISO text, NaN as None, numpy numbers as Python numbers."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


SUMMARY_COLUMNS = ("kode", "kabkota", "tahun", "kodeskpd", "nama_skpd", "nama_program", "nama_kegiatan",
                   "nama_subkegiatan", "tanggal_mulai", "tanggal_selesai", "pagu_rp", "spent_rp", "spending_share",
                   "status", "days_late", "milestones_late", "planned_share", "realised_share", "latest_update",
                   "publik", "indicators_met", "indicators_behind", "indicators_late")


def _records(frame: pd.DataFrame, columns) -> list[dict]:
    """Rows as JSON-ready dicts (dates as ISO text, NaN as None), converted column by column."""
    plain = {}
    for c in columns:
        values = frame[c]
        kind = getattr(values.dtype, "kind", "O")
        if kind == "f":
            plain[c] = values.astype(object).where(values.notna(), None).tolist()
        elif kind in "iub":
            plain[c] = values.tolist()  # numpy integers and booleans become Python ones
        else:  # objects and text (missing values as NaN in pandas' string dtype)
            plain[c] = [_plain(v) for v in values.tolist()]
    return [dict(zip(plain, row, strict=True)) for row in zip(*plain.values(), strict=True)] if len(frame) else []


def programme_rows(statuses: Statuses, lang: str = "id") -> list[dict]:
    """One summary per programme (status with its label and colour), in the frame's order."""
    labels = {s: status_label(s, lang) for s in STATUS_ORDER}
    out = _records(statuses.programmes, SUMMARY_COLUMNS)
    as_of = statuses.as_of.isoformat()
    for item in out:
        item.update(status_label=labels[item["status"]], colour=status_colour(item["status"]), as_of=as_of)
    return out


INDICATOR_DETAIL = ("id", "kode", "nama", "satuan", "periode", "batas_periode", "target", "realised", "wilayah_kode",
                    "sumber", "state", "days_late")
PROGRESS_DETAIL = ("id", "indicator_id", "tanggal", "realisasi", "realisasi_rp", "status", "catatan", "oleh")


def programme_detail(statuses: Statuses, progress: pd.DataFrame, kode: str, lang: str = "id",
                     private: bool = False, milestones: pd.DataFrame | None = None) -> dict:
    """One programme: its summary, every indicator row with its state, its linked project's milestones (days
    late as of as_of) and its progress history up to as_of (oldest first); the notes and who reported only when
    `private`."""
    found = statuses.programmes[statuses.programmes["kode"] == kode]
    if found.empty:
        raise KeyError(kode)
    summary = next(r for r in programme_rows(Statuses(found, statuses.indicators, statuses.as_of), lang))
    if private:  # the public never sees the field at all, not even empty
        summary["catatan"] = _plain(found["catatan"].iloc[0]) if "catatan" in found else None
    rows = statuses.indicators[statuses.indicators["programme_kode"] == kode]
    indicators = [{c: _plain(getattr(r, c)) for c in INDICATOR_DETAIL} for r in rows.itertuples(index=False)]
    history = progress[(progress["programme_kode"] == kode).to_numpy() & _on_or_before(progress["tanggal"],
                                                                                         statuses.as_of)]
    history = history.sort_values(["tanggal", "id"])  # as of the date: later updates are not known yet
    shown = PROGRESS_DETAIL if private else tuple(c for c in PROGRESS_DETAIL if c not in ("catatan", "oleh"))
    updates = [{c: _plain(getattr(r, c)) for c in shown} for r in history.itertuples(index=False)]
    for update in updates:
        update["indicator_id"] = None if update["indicator_id"] is None else int(update["indicator_id"])
    slug = found["project_slug"].iloc[0] if "project_slug" in found else None
    schedule = [] if milestones is None or not isinstance(slug, str) else [
        {c: _plain(getattr(m, c)) for c in ("nama", "planned_date", "actual_date", "state", "days_late")}
        for m in milestone_state(milestones[milestones["project_slug"] == slug], statuses.as_of).itertuples()]
    return {**summary, "indicators": indicators, "milestones": schedule, "progress": updates}
