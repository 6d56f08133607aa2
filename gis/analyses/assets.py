"""The asset check: what in a regional asset register needs attention. Land and buildings with no certificate,
land (or buildings) registered twice over the same ground, and assets standing in zones whose ITBX does not
permit what they are used for. Pure: frames in, findings out; areas in the city's metric CRS."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd

from gis.analyses.itbx import SIGNIFICANT_SHARE, rules_for
from gis.core.errors import InvalidInput

FLAGS = ("no_certificate", "overlap", "zone_forbids_use")
CERTIFIED_KIB = ("A", "C")  # land and buildings carry a certificate (a building, its land's)
MIN_OVERLAP_M2 = 1.0  # shared edges digitised apart by a few centimetres are not a double registration
PRIVATE_VALUE = "nilai_perolehan_rp"


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip()


def _text(value) -> str | None:
    return None if _blank(value) else str(value).strip()


def no_certificate(assets: pd.DataFrame) -> pd.Series:
    """Which assets are land or buildings without a certificate number."""
    return assets["kib"].isin(CERTIFIED_KIB) & assets["sertifikat_nomor"].map(_blank)


def overlaps(assets: gpd.GeoDataFrame, metric_crs: int, min_m2: float = MIN_OVERLAP_M2) -> list[dict]:
    """Pairs of assets of the same card (land with land, buildings with buildings: a building stands on its land
    by design) sharing more than `min_m2` square metres: [{"a", "b" (ids, a < b), "area_m2"}]."""
    metric = assets.to_crs(metric_crs).reset_index(drop=True)
    left, right = metric.sindex.query(metric.geometry, predicate="intersects")
    pairs = []
    for i, j in zip(left, right, strict=True):
        if i >= j or metric.at[i, "kib"] != metric.at[j, "kib"]:
            continue
        area = metric.geometry.iloc[i].intersection(metric.geometry.iloc[j]).area
        if area > min_m2:
            a, b = sorted((int(metric.at[i, "id"]), int(metric.at[j, "id"])))
            pairs.append({"a": a, "b": b, "area_m2": area})
    return sorted(pairs, key=lambda p: (p["a"], p["b"]))


def _question(asset) -> tuple[str | None, str | None]:
    """What to ask the ITBX about an asset: its KBLI when it has one, else its use as an activity name."""
    kbli = _text(asset.get("kbli"))
    return (kbli, None) if kbli else (None, _text(asset.get("penggunaan")))


def forbidding_zones(assets: gpd.GeoDataFrame, zoning: gpd.GeoDataFrame, itbx: pd.DataFrame, metric_crs: int,
                     share: float = SIGNIFICANT_SHARE) -> tuple[dict, dict]:
    """Per asset id, the zones whose ITBX says X (not permitted) for its use, when together they cover at least
    `share` of it: {id: [{"kodszn", "kodsbl", "share", "rule"}]}. Also, per asset id, why its use could not be
    checked (a use the ITBX does not name): {id: message}."""
    metric = assets.to_crs(metric_crs)
    zones = zoning.to_crs(metric_crs)
    asked = []  # (asset, its question, the zones it touches)
    codes_by_question: dict[tuple, set] = {}
    for asset in metric.itertuples(index=False):
        question = _question(asset._asdict())
        touched = zones.iloc[zones.sindex.query(asset.geometry, predicate="intersects")]
        if question != (None, None) and not touched.empty:
            asked.append((asset, question, touched))
            codes_by_question.setdefault(question, set()).update(touched["kodszn"].dropna())
    # one ITBX lookup per use asked about (the table is scanned once for each)
    rules, found, unchecked = {}, {}, {}
    for question, codes in codes_by_question.items():
        try:
            rules[question] = rules_for(itbx, sorted(codes), kbli=question[0], activity=question[1])
        except InvalidInput as exc:
            rules[question] = str(exc)
    for asset, question, touched in asked:
        if isinstance(rules[question], str):
            unchecked[int(asset.id)] = rules[question]
            continue
        hits = []
        for zone in touched.itertuples(index=False):
            rule = rules[question].get(zone.kodszn)
            if rule and rule["ketentuan"] == "X":
                part = asset.geometry.intersection(zone.geometry).area / asset.geometry.area
                if part > 0:
                    hits.append({"kodszn": zone.kodszn, "kodsbl": getattr(zone, "kodsbl", None), "share": part,
                                 "rule": {"kbli": rule["kbli"], "kegiatan": rule["kegiatan"]}})
        if hits and sum(h["share"] for h in hits) >= share:
            found[int(asset.id)] = hits
    return found, unchecked


def _use_name(asset: dict) -> str:
    kbli, activity = _question(asset)
    return f"KBLI {kbli}" if kbli else repr(activity)


def asset_check(assets: gpd.GeoDataFrame, zoning: gpd.GeoDataFrame, itbx: pd.DataFrame, metric_crs: int, *,
                min_overlap_m2: float = MIN_OVERLAP_M2, forbidden_share: float = SIGNIFICANT_SHARE) -> dict:
    """The flags of every asset (EPSG:4326 frames; `assets` with id, kib, kode_barang, nup, nama,
    sertifikat_nomor, kbli, penggunaan and, for callers allowed to see it, nilai_perolehan_rp). Returns
    {"assets": n, "counts": {flag: assets flagged}, "flagged": [asset with its flags and explanations id/en],
    "overlaps": pairs, "unchecked": [assets whose use the ITBX does not name]}."""
    by_id = {int(r["id"]): r for r in assets.drop(columns="geometry").to_dict("records")}
    flags: dict[int, list[dict]] = {i: [] for i in by_id}
    for i in assets.loc[no_certificate(assets), "id"]:
        a = by_id[int(i)]
        flags[int(i)].append({"flag": "no_certificate", "explanation": {
            "id": f"KIB {a['kib']} tanpa nomor sertifikat: daftarkan sertifikatnya (HPL/SHP) atau ajukan "
                  "pensertifikatan",
            "en": f"KIB {a['kib']} with no certificate number: record its certificate (HPL/SHP) or apply for one"}})
    pairs = overlaps(assets, metric_crs, min_overlap_m2)
    for p in pairs:
        for me, other in ((p["a"], p["b"]), (p["b"], p["a"])):
            o = by_id[other]
            name = f"{o['kode_barang']}/{o['nup']} ({o['nama']})"
            flags[me].append({"flag": "overlap", "with": other, "area_m2": p["area_m2"], "explanation": {
                "id": f"tumpang tindih {p['area_m2']:,.0f} m² dengan {name}: periksa pencatatan ganda",
                "en": f"overlaps {name} by {p['area_m2']:,.0f} m²: check for a double registration"}})
    zones, unchecked = forbidding_zones(assets, zoning, itbx, metric_crs, forbidden_share)
    for i, hits in zones.items():
        use = _use_name(by_id[i])
        where = ", ".join(f"{h['kodszn']} {h['share']:.0%}" for h in hits)
        flags[i].append({"flag": "zone_forbids_use", "zones": hits, "explanation": {
            "id": f"penggunaan {use} tidak diizinkan (X) di zona {where}",
            "en": f"use {use} is not permitted (X) in zone {where}"}})
    keep = ["id", "kib", "kode_barang", "nup", "nama", "opd", "status"]
    if PRIVATE_VALUE in assets.columns:
        keep.append(PRIVATE_VALUE)
    flagged = [{**{k: _plain(by_id[i].get(k)) for k in keep}, "flags": f} for i, f in flags.items() if f]
    counts = {flag: sum(any(f["flag"] == flag for f in a["flags"]) for a in flagged) for flag in FLAGS}
    return {"assets": len(by_id), "counts": counts, "flagged": flagged, "overlaps": pairs,
            "unchecked": [{"id": i, "nama": by_id[i]["nama"], "message": m} for i, m in unchecked.items()]}


def _plain(value):
    """JSON-ready: numpy numbers as Python numbers, missing values as None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value
