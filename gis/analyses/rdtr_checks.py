"""Validation of an RDTR plan against the national data standard (Permen ATR/BPN 14/2021) before it is imported:
fields, sub-zone codes, geometry validity, overlaps, gaps, zones outside the city, declared areas, duplicate
sub-block identities and ITBX coverage. Every problem is a plain dict with a stable code, the features it
concerns and a point on it (lon/lat), ready for the import report. Pure: no database."""

from __future__ import annotations

import re
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from gis.core.errors import InvalidInput
from gis.core.language import format_number, lang_of
from layers.rdtr import ESSENTIAL_FIELDS, NATIONAL_ZONES, REQUIRED_FIELDS, column

MAX_FEATURES = 50  # features listed in one problem about many zones; "count" gives them all
_REASON_POINT = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)")
_EMPTY = ("", "nan", "none", "null")
# Where each check starts, as a fraction of the whole run (overlaps and the outline are the costly parts).
_STEPS = {"fields": 0.0, "codes": 0.02, "geometry": 0.05, "overlaps": 0.15, "gaps": 0.55, "city": 0.75,
          "areas": 0.88, "identities": 0.92, "itbx": 0.96}


def check_plan(zones: gpd.GeoDataFrame, *, metric_crs: int, city=None, itbx_codes: set[str] | None = None,
               national_codes=NATIONAL_ZONES, overlap_m2: float = 1.0, gap_m2: float = 100.0,
               outside_share: float = 0.01, area_tolerance: float = 0.01,
               progress: Callable[[str, float], None] | None = None) -> list[dict]:
    """Every problem of the plan `zones` (lower-case standard columns and `fid`, any CRS), measured in
    `metric_crs`. `city`: the city boundary (shapely, EPSG:4326) or None to skip `outside_city`. `itbx_codes`:
    the KODSZN values of the plan's ITBX table, None when it has none (every sub-zone code is then reported)."""
    if zones.crs is None:
        raise InvalidInput("the zones have no coordinate reference system: declare the CRS of the file")
    report = progress or (lambda step, fraction: None)
    plan = _Plan(zones, metric_crs)
    problems: list[dict] = []
    report("fields", _STEPS["fields"])
    problems += _missing_fields(plan)
    report("codes", _STEPS["codes"])
    problems += _unknown_codes(plan, set(national_codes) | set(itbx_codes or ()))
    report("geometry", _STEPS["geometry"])
    problems += _invalid_geometries(plan)
    report("overlaps", _STEPS["overlaps"])
    problems += _overlaps(plan, overlap_m2, lambda f: report("overlaps", _STEPS["overlaps"] + f * 0.4))
    report("gaps", _STEPS["gaps"])
    problems += _gaps(plan, gap_m2, city)
    report("city", _STEPS["city"])
    if city is not None:
        problems += _outside_city(plan, city, outside_share)
    report("areas", _STEPS["areas"])
    problems += _area_mismatches(plan, area_tolerance)
    report("identities", _STEPS["identities"])
    problems += _duplicate_ids(plan)
    report("itbx", _STEPS["itbx"])
    problems += _itbx_missing(plan, itbx_codes)
    report("done", 1.0)
    return problems


class _Plan:
    """The zones as arrays: ids and codes for naming features, geometry in the metric CRS (invalid ones
    repaired with make_valid so that one bad zone does not hide the others' problems)."""

    def __init__(self, zones: gpd.GeoDataFrame, metric_crs: int):
        self.columns = {str(c).lower(): c for c in zones.columns if c != zones.geometry.name}
        self.zones = zones
        self.n = len(zones)
        fid = zones[self.columns["fid"]] if "fid" in self.columns else pd.Series(np.arange(1, self.n + 1))
        self.fid = [int(f) for f in fid]
        self.kodszn = self.texts("KODSZN")
        self.kodblk = self.texts("KODBLK")
        self.source = zones.geometry.to_numpy()
        self.missing = shapely.is_missing(self.source) | shapely.is_empty(self.source)
        self.valid = shapely.is_valid(self.source) & ~self.missing
        self.metric = zones.geometry.to_crs(metric_crs).to_numpy()
        self.fixed = self.metric.copy()
        for i in np.flatnonzero(~self.valid & ~self.missing):
            self.fixed[i] = _polygonal(shapely.make_valid(self.metric[i]))
        self.usable = ~self.missing & ~shapely.is_empty(self.fixed)
        self.metric_crs = metric_crs
        self.to_lonlat = Transformer.from_crs(metric_crs, 4326, always_xy=True)
        self.source_to_lonlat = Transformer.from_crs(zones.crs, 4326, always_xy=True)
        self._points = None

    def has(self, field: str) -> bool:
        return column(field) in self.columns

    def texts(self, field: str) -> list[str | None]:
        if not self.has(field):
            return [None] * self.n
        return [_text(v) for v in self.zones[self.columns[column(field)]]]

    def feature(self, i: int) -> dict:
        return {"fid": self.fid[i], "kodszn": self.kodszn[i], "kodblk": self.kodblk[i]}

    def label(self, i: int) -> str:
        codes = ", ".join(c for c in (self.kodszn[i], self.kodblk[i]) if c)
        return f"fid {self.fid[i]}" + (f" ({codes})" if codes else "")

    def point(self, i: int) -> list[float] | None:
        """A point inside zone i, lon/lat (computed for every zone at once, the first time one is asked)."""
        if self._points is None:
            inner = shapely.point_on_surface(np.where(self.usable, self.fixed, None))
            lon, lat = self.to_lonlat.transform(shapely.get_x(inner), shapely.get_y(inner))
            self._points = np.column_stack([lon, lat])
        lon, lat = self._points[i]
        return None if not np.isfinite(lon) else [round(float(lon), 6), round(float(lat), 6)]

    def lonlat(self, geom_m) -> list[float] | None:
        """A point on a metric geometry (its largest polygonal part when it has one), lon/lat."""
        parts = [p for p in shapely.get_parts(geom_m) if not p.is_empty]
        polygons = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
        if not parts:
            return None
        inner = max(polygons, key=lambda p: p.area) if polygons else parts[0]
        return self._round(self.to_lonlat.transform(*inner.representative_point().coords[0]))

    @staticmethod
    def _round(xy) -> list[float]:
        return [round(float(xy[0]), 6), round(float(xy[1]), 6)]

    def groups(self, keys: list) -> dict:
        """Feature indexes by key, keys in order of first appearance."""
        out: dict = {}
        for i, key in enumerate(keys):
            out.setdefault(key, []).append(i)
        return out

    def features(self, indexes: list[int]) -> dict:
        return {"features": [self.feature(i) for i in indexes[:MAX_FEATURES]], "count": len(indexes)}


def _problem(code: str, severity: str, msg_id: str, msg_en: str, features: list[dict], location, **details):
    return {"code": code, "severity": severity, "message": {"id": msg_id, "en": msg_en}, "features": features,
            "location": location, **details}


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    text = str(value).strip()
    return None if text.lower() in _EMPTY else text


def _polygonal(geom):
    """The polygonal part of a geometry (make_valid can add lines and points beside the polygons)."""
    if geom is None or geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _num(value: float, lang: str, decimals: int = 2) -> str:
    return format_number(float(value), lang, max_decimals=decimals)


# What a missing field costs, (id, en): the checks it feeds are skipped.
_WITHOUT = {
    "KODSZN": ("ketentuan ITBX tidak dapat ditentukan", "no ITBX verdict can be given"),
    "KODZON": ("zona tidak dapat dikelompokkan", "zones cannot be grouped"),
    "NAMSZN": ("nama subzona tidak dapat ditampilkan", "sub-zone names cannot be shown"),
    "KODBLK": ("identitas sub-blok tidak diperiksa", "sub-block identities are not checked"),
    "KODSBL": ("identitas sub-blok tidak diperiksa", "sub-block identities are not checked"),
    "LUASHA": ("luas yang dinyatakan tidak diperiksa", "declared areas are not checked"),
}
_INCOMPLETE = ("rencana tidak lengkap menurut standar data", "the plan is incomplete for the data standard")


def _missing_fields(plan: _Plan) -> list[dict]:
    out = []
    for field in REQUIRED_FIELDS:
        if plan.has(field):
            continue
        without_id, without_en = _WITHOUT.get(field, _INCOMPLETE)
        out.append(_problem("missing_field", "error" if field in ESSENTIAL_FIELDS else "warning",
                            f"Kolom {field} tidak ada: {without_id}.", f"Field {field} is missing: {without_en}.",
                            [], None, field=field))
    return out


def _unknown_codes(plan: _Plan, known: set) -> list[dict]:
    if not plan.has("KODSZN"):
        return []
    out = []
    for code, indexes in plan.groups(plan.kodszn).items():
        if code in known:
            continue
        what_id, what_en = (f"Kode subzona {code}", f"Sub-zone code {code}") if code else \
            ("Kode subzona kosong", "Empty sub-zone code")
        n = len(indexes)
        out.append(_problem(
            "unknown_zone_code", "error",
            f"{what_id} tidak ada dalam daftar nasional maupun tabel ITBX ({_num(n, 'id')} zona).",
            f"{what_en} is neither a national code nor in the ITBX table ({_num(n, 'en')} zones).",
            location=plan.point(indexes[0]), kodszn=code, **plan.features(indexes)))
    return out


def _invalid_geometries(plan: _Plan) -> list[dict]:
    out = []
    for i in np.flatnonzero(~plan.valid):
        if plan.missing[i]:
            reason, location = "Empty geometry", None
        else:
            reason = shapely.is_valid_reason(plan.source[i])
            m = _REASON_POINT.search(reason)
            location = (plan._round(plan.source_to_lonlat.transform(float(m.group(1)), float(m.group(2))))
                        if m else plan.point(i))
        out.append(_problem("invalid_geometry", "error", f"Geometri zona {plan.label(i)} tidak sah: {reason}.",
                            f"The geometry of zone {plan.label(i)} is invalid: {reason}.", [plan.feature(i)],
                            location, reason=reason))
    return out


def _overlaps(plan: _Plan, overlap_m2: float, advance: Callable[[float], None]) -> list[dict]:
    index = np.flatnonzero(plan.usable)
    geoms = plan.fixed[index]
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    areas = np.zeros(len(left))
    chunk = 5000  # pairs per batch, so that the progress bar moves on large plans
    for start in range(0, len(left), chunk):
        part = slice(start, start + chunk)
        areas[part] = shapely.area(shapely.intersection(geoms[left[part]], geoms[right[part]]))
        advance(min(1.0, (start + chunk) / max(len(left), 1)))
    out = []
    for k in np.flatnonzero(areas > overlap_m2):
        i, j = int(index[left[k]]), int(index[right[k]])
        area = float(areas[k])
        inter = shapely.intersection(plan.fixed[i], plan.fixed[j])
        out.append(_problem(
            "overlap", "error",
            f"Zona {plan.label(i)} dan {plan.label(j)} bertampalan seluas {_num(area, 'id')} m².",
            f"Zones {plan.label(i)} and {plan.label(j)} overlap by {_num(area, 'en')} m².",
            [plan.feature(i), plan.feature(j)], plan.lonlat(inter), area_m2=round(area, 2)))
    return out


def _gaps(plan: _Plan, gap_m2: float, city=None) -> list[dict]:
    """Holes in the union of the zones: uncovered land inside the plan's outline (and inside the city: a hole in
    the city's own boundary is not the plan's to cover)."""
    index = np.flatnonzero(plan.usable)
    if not len(index):
        return []
    geoms = plan.fixed[index]
    union = shapely.union_all(geoms)
    parts = shapely.get_parts(union)
    parts = parts[shapely.get_type_id(parts) == 3]  # polygons
    rings, owner = shapely.get_rings(parts, return_index=True)
    exterior = np.r_[True, owner[1:] != owner[:-1]]  # each polygon's rings come exterior first
    holes = shapely.polygons(rings[~exterior])
    holes = holes[shapely.area(holes) > gap_m2]  # a hole no larger than the threshold cannot hold a gap over it
    if not len(holes):
        return []
    # Zones standing as islands inside a hole are land, not gap.
    gaps = shapely.difference(holes, union)
    if city is not None:
        gaps = shapely.intersection(gaps, gpd.GeoSeries([city], crs=4326).to_crs(plan.metric_crs).iloc[0])
    gaps = shapely.get_parts(gaps)
    gaps = gaps[shapely.area(gaps) > gap_m2]
    tree = shapely.STRtree(geoms)
    out = []
    for gap in gaps:
        area = float(gap.area)
        near = sorted(int(index[k]) for k in tree.query(gap, predicate="dwithin", distance=0.5))
        out.append(_problem(
            "gap", "warning", f"Celah tanpa zona seluas {_num(area, 'id')} m² di dalam batas rencana.",
            f"An uncovered gap of {_num(area, 'en')} m² inside the plan's outline.", location=plan.lonlat(gap),
            area_m2=round(area, 2), **plan.features(near)))
    return out


def _outside_city(plan: _Plan, city, outside_share: float) -> list[dict]:
    city_m = gpd.GeoSeries([city], crs=4326).to_crs(plan.metric_crs).iloc[0]
    city_m = _polygonal(shapely.make_valid(city_m))
    shapely.prepare(city_m)
    index = np.flatnonzero(plan.usable)
    geoms = plan.fixed[index]
    crossing = ~shapely.contains_properly(city_m, geoms)  # prepared test: most zones lie well inside
    outside = shapely.difference(geoms[crossing], city_m)
    shares = shapely.area(outside) / np.maximum(shapely.area(geoms[crossing]), 1e-9)
    out = []
    for k in np.flatnonzero(shares > outside_share):
        i = int(index[crossing][k])
        share, area = float(shares[k]), float(shapely.area(outside[k]))
        out.append(_problem(
            "outside_city", "warning",
            f"{_num(share * 100, 'id', 1)} % luas zona {plan.label(i)} ({_num(area, 'id', 0)} m²) berada di "
            "luar batas kota.",
            f"{_num(share * 100, 'en', 1)} % of zone {plan.label(i)} ({_num(area, 'en', 0)} m²) lies outside "
            "the city boundary.",
            [plan.feature(i)], plan.lonlat(outside[k]), share=round(share, 4), area_m2=round(area, 2)))
    return out


def _area_mismatches(plan: _Plan, tolerance: float) -> list[dict]:
    if not plan.has("LUASHA"):
        return []
    declared = pd.to_numeric(plan.zones[plan.columns["luasha"]], errors="coerce").to_numpy(dtype=float)
    computed = np.where(plan.usable, shapely.area(np.where(plan.usable, plan.fixed, None)), np.nan) / 1e4
    with np.errstate(invalid="ignore", divide="ignore"):
        off = np.abs(declared - computed) / computed
    wrong = plan.usable & (computed > 0) & (~np.isfinite(declared) | (off > tolerance))
    out = []
    for i in np.flatnonzero(wrong):
        got = float(computed[i])
        if not np.isfinite(declared[i]):
            msg_id = f"LUASHA zona {plan.label(i)} kosong atau bukan angka (terukur {_num(got, 'id', 4)} ha)."
            msg_en = f"LUASHA of zone {plan.label(i)} is empty or not a number (measured {_num(got, 'en', 4)} ha)."
            said = None
        else:
            said = float(declared[i])
            msg_id = (f"LUASHA zona {plan.label(i)} {_num(said, 'id', 4)} ha, terukur {_num(got, 'id', 4)} ha "
                      f"(selisih {_num(off[i] * 100, 'id', 1)} %).")
            msg_en = (f"LUASHA of zone {plan.label(i)} is {_num(said, 'en', 4)} ha, measured {_num(got, 'en', 4)} "
                      f"ha ({_num(off[i] * 100, 'en', 1)} % off).")
        out.append(_problem("area_mismatch", "warning", msg_id, msg_en, [plan.feature(i)], plan.point(i),
                            declared_ha=said, computed_ha=round(got, 4)))
    return out


def _duplicate_ids(plan: _Plan) -> list[dict]:
    if not (plan.has("KODBLK") and plan.has("KODSBL")):
        return []
    keys = [(b, s) if b and s else None for b, s in zip(plan.kodblk, plan.texts("KODSBL"), strict=True)]
    out = []
    for key, indexes in plan.groups(keys).items():
        if key is None or len(indexes) < 2:
            continue
        n = len(indexes)
        out.append(_problem(
            "duplicate_id", "error",
            f"Sub-blok {key[0]} / {key[1]} dipakai oleh {_num(n, 'id')} zona: {plan.label(indexes[0])}, "
            f"{plan.label(indexes[1])}.",
            f"Sub-block {key[0]} / {key[1]} is used by {_num(n, 'en')} zones: {plan.label(indexes[0])}, "
            f"{plan.label(indexes[1])}.",
            location=plan.point(indexes[0]), kodblk=key[0], kodsbl=key[1], **plan.features(indexes)))
    return out


def _itbx_missing(plan: _Plan, itbx_codes: set[str] | None) -> list[dict]:
    if not plan.has("KODSZN"):
        return []
    out = []
    for code, indexes in plan.groups(plan.kodszn).items():
        if code is None or (itbx_codes is not None and code in itbx_codes):
            continue
        n = len(indexes)
        out.append(_problem(
            "itbx_missing_zone", "warning",
            f"Subzona {code} ({_num(n, 'id')} zona) tidak punya baris ITBX: kegiatan di sana tidak dapat dinilai.",
            f"Sub-zone {code} ({_num(n, 'en')} zones) has no ITBX row: activities there cannot be assessed.",
            location=plan.point(indexes[0]), kodszn=code, **plan.features(indexes)))
    return out


def summary(problems: list[dict]) -> dict:
    """Counts per code and per severity; `ok` when nothing blocks the import."""
    counts: dict[str, int] = {}
    by_severity: dict[str, dict[str, int]] = {"error": {}, "warning": {}}
    for p in problems:
        counts[p["code"]] = counts.get(p["code"], 0) + 1
        per = by_severity.setdefault(p["severity"], {})
        per[p["code"]] = per.get(p["code"], 0) + 1
    errors = sum(by_severity["error"].values())
    warnings = sum(by_severity["warning"].values())
    return {"counts": counts, "by_severity": by_severity, "errors": errors, "warnings": warnings,
            "ok": errors == 0}


_WORDS = {"id": {"error": "galat", "warning": "peringatan", "problems": "masalah", "clean": "Rencana bersih: "
                 "tidak ada masalah.", "first": "Masalah pertama:", "more": "lainnya"},
          "en": {"error": "errors", "warning": "warnings", "problems": "problems", "clean": "Clean plan: no "
                 "problems.", "first": "First problems:", "more": "more"}}


def report_lines(problems: list[dict], lang: str = "id", limit: int = 20) -> list[str]:
    """A terminal summary: the totals, a count per code, then the first `limit` problems (errors first) with
    their features and where they are."""
    lang = lang_of(lang)
    words = _WORDS[lang]
    if not problems:
        return [words["clean"]]
    s = summary(problems)
    lines = [f"{_num(len(problems), lang)} {words['problems']}: {_num(s['errors'], lang)} {words['error']}, "
             f"{_num(s['warnings'], lang)} {words['warning']}"]
    width = max(len(code) for code in s["counts"])
    for code, n in s["counts"].items():
        kinds = "/".join(words[k] for k in ("error", "warning") if s["by_severity"].get(k, {}).get(code))
        lines.append(f"  {code:<{width}}  {_num(n, lang):>7}  {kinds}")
    lines.append(words["first"])
    ordered = sorted(problems, key=lambda p: p["severity"] != "error")
    for p in ordered[:limit]:
        feats = [" ".join(str(v) for v in (f"fid {f['fid']}", f.get("kodszn"), f.get("kodblk")) if v)
                 for f in p["features"][:3]]
        extra = p.get("count", len(p["features"])) - len(feats)
        who = "; ".join(feats) + (f" (+{_num(extra, lang)})" if extra > 0 else "")
        where = f"@ {p['location'][0]:.6f}, {p['location'][1]:.6f}" if p.get("location") else ""
        mark = "E" if p["severity"] == "error" else "W"
        lines.append("  " + "  ".join(t for t in (f"[{mark}] {p['code']}", who, where, p["message"][lang]) if t))
    if len(problems) > limit:
        lines.append(f"  ... {_num(len(problems) - limit, lang)} {words['more']}")
    return lines
