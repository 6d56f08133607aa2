"""KKPR zoning conformity (PP 21/2021, Permen ATR/BPN 13/2021) as OSS checks it: which sub-zones a planned
activity's site overlaps, the ITBX verdict of its KBLI (or activity) in each, the overall verdict, the special
provisions (ketentuan khusus) it touches and what a planner must know before applying."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from gis.analyses import itbx as rules
from gis.analyses.grid import metric_crs_of
from gis.core.errors import InvalidInput, OutsideCity
from gis.core.language import format_number
from layers.rdtr import OVERLAYS

SEVERITY = rules.SEVERITY
VERDICT_TEXT = rules.VERDICT_TEXT
CIRCLE_SEGMENTS = 64  # a point site becomes a 64-gon of exactly the area asked for
_TOUCH_HA = 1e-4  # 1 m2: less is a shared edge or rounding, not a touch


def _n(value, lang: str, decimals: int | None = None) -> str:
    return format_number(float(value), lang, decimals)


def _clean(value):
    """A cell ready for JSON: NaN -> None, numpy scalars -> Python."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def site_in_metres(site, site_area_ha: float | None, metric_crs) -> tuple[BaseGeometry, object]:
    """The site in the metric CRS (and that CRS): a polygon as drawn, a point as a circle of `site_area_ha`."""
    if not isinstance(site, BaseGeometry) or site.is_empty:
        raise InvalidInput("site must be a Polygon or MultiPolygon, or a Point with 'site_area_ha', in lon/lat")
    if site.geom_type == "Point":
        if site_area_ha is None or not site_area_ha > 0 or not math.isfinite(site_area_ha):
            raise InvalidInput("a point site needs its area: give 'site_area_ha' (> 0), e.g. 50 for a 50 ha "
                               "estate, or draw the site as a polygon")
    elif site.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInput(f"site must be a Polygon or MultiPolygon (or a Point with an area), not {site.geom_type}")
    elif not site.is_valid:
        raise InvalidInput(f"site geometry is invalid ({explain_validity(site)}): redraw it without "
                           "self-intersections")
    lonlat = gpd.GeoSeries([site], crs=4326)
    crs = metric_crs_of(lonlat, metric_crs)
    metric = lonlat.to_crs(crs).iloc[0]
    if site.geom_type == "Point":
        # the n-gon's area is n/2 r^2 sin(2 pi/n): the radius that gives exactly the area asked for
        n = CIRCLE_SEGMENTS
        radius = math.sqrt(site_area_ha * 1e4 / (n / 2 * math.sin(2 * math.pi / n)))
        metric = metric.buffer(radius, quad_segs=n // 4)
    return metric, crs


def _as_geometry(city):
    if city is None or isinstance(city, BaseGeometry):
        return city
    return city.to_crs(4326).union_all()  # the city's rows as one outline


def _zones_hit(zoning: gpd.GeoDataFrame, site_m, crs) -> gpd.GeoDataFrame:
    """The zones under the site, in the metric CRS, each with `part_ha`; the spatial index keeps a large plan
    (thousands of zones) from being reprojected whole."""
    if "kodszn" not in zoning.columns:
        raise InvalidInput("the zoning layer has no 'kodszn' column (the RDTR standard's KODSZN): import the "
                           "plan with its standard attribute names")
    site_lonlat = gpd.GeoSeries([site_m], crs=crs).to_crs(zoning.crs).iloc[0]
    near = zoning.iloc[zoning.sindex.query(site_lonlat, predicate="intersects")].to_crs(crs)
    near = near[near.geometry.intersects(site_m)]
    parts = near.geometry.intersection(site_m)
    out = near.assign(part_ha=parts.area / 1e4, part=parts)
    return out[out.part_ha > 0]


def _group_zones(hits: gpd.GeoDataFrame, site_ha: float, rule_of: dict) -> list[dict]:
    zones = []
    for code, group in hits.groupby("kodszn", sort=False):
        area_ha = float(group.part.union_all().area / 1e4)  # overlapping parts of one sub-zone count once
        first = {k: _clean(group[k].dropna().iloc[0]) if k in group and group[k].notna().any() else None
                 for k in ("namszn", "kodzon", "namzon")}
        rule = rule_of[code]
        zones.append({"kodszn": code, **first, "area_ha": round(area_ha, 4), "share": round(area_ha / site_ha, 4),
                      "ketentuan": rules.verdict_of(rule), "syarat": rule["syarat"] if rule else None,
                      "kbli": rule["kbli"] if rule else None, "matched": rule["matched"] if rule else None,
                      "_share": area_ha / site_ha})
    return sorted(zones, key=lambda z: -z["area_ha"])


def _flag_provisions(hits: gpd.GeoDataFrame, site_ha: float) -> list[dict]:
    """The special-provision flag columns set on the zones the site overlaps, by provision and value."""
    out = []
    for code, col in rules.flag_columns(hits).items():
        on = hits[hits[col].map(rules.flagged)]
        for value, group in on.groupby(on[col].astype(str).str.strip(), sort=True):
            area_ha = float(group.part.union_all().area / 1e4)
            if area_ha > _TOUCH_HA:
                out.append({"code": code, "name": dict(zip(("id", "en"), OVERLAYS[code], strict=True)),
                            "value": value, "source": "zoning", "area_ha": round(area_ha, 4),
                            "share": round(area_ha / site_ha, 4)})
    return out


def _layer_provisions(overlays: dict | None, site_m, crs, site_ha: float) -> list[dict]:
    """The caller's overlay layers the site touches (river setback, high flood hazard...), name -> polygons; a
    layer with a `kode` column (the plan's separate overlay layers) is reported per provision code."""
    out = []
    for name, gdf in (overlays or {}).items():
        if gdf is None or gdf.empty:
            continue
        metric = gdf.to_crs(crs)
        groups = metric.groupby("kode", sort=True) if "kode" in metric.columns else [(None, metric)]
        for code, group in groups:
            area_ha = group.union_all().intersection(site_m).area / 1e4
            if area_ha <= _TOUCH_HA:
                continue
            if code in OVERLAYS:
                label = dict(zip(("id", "en"), OVERLAYS[code], strict=True))
            else:
                halves = [s.strip() for s in str(name).split(" / ")]
                label = dict(zip(("id", "en"), halves if len(halves) == 2 else [name, name], strict=True))
            out.append({"code": code or name, "overlay": name, "name": label, "value": None, "source": "layer",
                        "area_ha": round(area_ha, 4), "share": round(area_ha / site_ha, 4)})
    return out


def _warning(code: str, text_id: str, text_en: str, **details) -> dict:
    return {"code": code, "message": {"id": text_id, "en": text_en}, **details}


def _warnings(site_m, crs, site_ha, unzoned_ha, city, min_area_ha, deciding, query: dict) -> list[dict]:
    out = []
    if city is not None:
        city_m = gpd.GeoSeries([city], crs=4326).to_crs(crs).iloc[0]
        outside = site_m.difference(city_m).area / 1e4
        if outside / site_ha > 1e-6:
            s = outside / site_ha
            out.append(_warning("outside_city", f"{_n(100 * s, 'id', 1)} % lokasi ({_n(outside, 'id', 2)} ha) di "
                                "luar batas kota: rencana tata ruang kota ini tidak mengaturnya.",
                                f"{_n(100 * s, 'en', 1)} % of the site ({_n(outside, 'en', 2)} ha) lies outside the "
                                "city boundary: this city's plan does not cover it.",
                                area_ha=round(outside, 4), share=round(s, 4)))
    if min_area_ha is not None and site_ha < min_area_ha:
        out.append(_warning("below_min_area", f"Luas lokasi {_n(site_ha, 'id', 2)} ha di bawah luas minimum "
                            f"{_n(min_area_ha, 'id')} ha untuk kegiatan ini.", f"The site's {_n(site_ha, 'en', 2)} "
                            f"ha is below the minimum of {_n(min_area_ha, 'en')} ha for this activity.",
                            site_ha=round(site_ha, 4), min_area_ha=min_area_ha))
    missing = [z["kodszn"] for z in deciding if z["ketentuan"] == rules.UNREGULATED]
    if missing:
        codes = ", ".join(missing)
        out.append(_warning("itbx_missing", f"Tabel ITBX tidak memuat {query['id']} untuk sub-zona {codes}: "
                            "tidak diatur, perlu kajian.", f"The ITBX table has no row for {query['en']} in "
                            f"sub-zone(s) {codes}: not regulated, needs assessment.", kodszn=missing))
    if unzoned_ha > _TOUCH_HA:
        out.append(_warning("unzoned", f"{_n(unzoned_ha, 'id', 2)} ha lokasi tidak berada di zona mana pun dari "
                            "rencana.", f"{_n(unzoned_ha, 'en', 2)} ha of the site lies in no zone of the plan.",
                            area_ha=round(unzoned_ha, 4)))
    return out


def zoning_conformity(site, *, zoning: gpd.GeoDataFrame, itbx: pd.DataFrame, kbli: str | None = None,
                      activity: str | None = None, overlays: dict[str, gpd.GeoDataFrame] | None = None, city=None,
                      significant_share: float = rules.SIGNIFICANT_SHARE, metric_crs=None,
                      min_area_ha: float | None = None, kbli_title: str | None = None,
                      site_area_ha: float | None = None, kbli_title_en: str | None = None,
                      activity_en: str | None = None) -> dict:
    """The KKPR answer for KBLI `kbli` (or ITBX `activity`) on `site` (a lon/lat polygon, or a point with
    `site_area_ha`). `zoning`: the plan's zones in EPSG:4326 with the standard's lower-case columns. `itbx`: the
    interfaces' ITBX DataFrame. `overlays`: name -> polygons the caller computed (river setback, high flood
    hazard, the plan's separate overlay layers). The verdict is the most restrictive over the sub-zones covering
    at least `significant_share` of the site. `kbli_title_en` and `activity_en` name the query in the English
    explanation (the Indonesian title and the table's name otherwise)."""
    kbli, wanted = rules.check_query(itbx, kbli, activity)
    if not 0 <= significant_share <= 1:
        raise InvalidInput(f"significant_share must be between 0 and 1 (got {significant_share}), e.g. 0.05 for 5 %")
    if min_area_ha is not None and not min_area_ha >= 0:
        raise InvalidInput(f"min_area_ha must be 0 or more hectares (got {min_area_ha})")
    city = _as_geometry(city)
    site_m, crs = site_in_metres(site, site_area_ha, metric_crs)
    if city is not None and not gpd.GeoSeries([site_m], crs=crs).to_crs(4326).iloc[0].intersects(city):
        raise OutsideCity("the site lies outside the city: no spatial plan of this city applies there")
    site_ha = site_m.area / 1e4
    hits = _zones_hit(zoning, site_m, crs)
    if hits.empty:
        raise InvalidInput("the site does not overlap any zone of the plan")
    rule_of = rules.rules_for(itbx, hits.kodszn.unique(), kbli=kbli, activity=wanted)
    zones = _group_zones(hits, site_ha, rule_of)
    unzoned_ha = max(site_ha - hits.part.union_all().area / 1e4, 0.0)
    deciding = [z for z in zones if z["_share"] >= significant_share] or zones[:1]
    verdict = rules.most_restrictive(z["ketentuan"] for z in deciding)
    query_id = f"KBLI {kbli}" if kbli else f"kegiatan '{activity}'"
    query_en = f"KBLI {kbli}" if kbli else (f"activity '{activity_en}' ({activity})" if activity_en
                                             else f"activity '{activity}'")
    provisions = _flag_provisions(hits, site_ha) + _layer_provisions(overlays, site_m, crs, site_ha)
    warnings = _warnings(site_m, crs, site_ha, unzoned_ha, city, min_area_ha, deciding,
                         {"id": query_id, "en": query_en})

    def said(verdict: str, lang: str) -> str:  # a letter as the regulation writes it; "unregulated" in words
        return verdict if verdict != rules.UNREGULATED else VERDICT_TEXT[verdict][lang == "en"]

    def zone_list(lang: str) -> str:
        return "; ".join(
            f"{z['namszn'] or z['namzon'] or z['kodszn']} ({z['kodszn']}, {_n(100 * z['_share'], lang, 0)} %: "
            f"{said(z['ketentuan'], lang)}, {rules.rule_text(kbli, activity, rule_of[z['kodszn']], lang)})"
            for z in deciding)

    title = f" ({kbli_title})" if kbli_title else ""
    title_en = f" ({kbli_title_en})" if kbli_title_en else title
    touched = {lang: ", ".join(p["name"][lang] for p in provisions) for lang in ("id", "en")}
    v_id, v_en = VERDICT_TEXT[verdict]
    letter = f" ({verdict})" if verdict in rules.VERDICTS else ""
    explanation = {
        "id": f"{query_id[0].upper() + query_id[1:]}{title} pada lokasi {_n(site_ha, 'id', 2)} ha: "
              f"{v_id}{letter}. Zona yang menentukan: {zone_list('id')} "
              "(ketentuan paling ketat dari ITBX)."
              + (f" Ketentuan khusus yang disentuh: {touched['id']}." if provisions else ""),
        "en": f"{query_en[0].upper() + query_en[1:]}{title_en} on a {_n(site_ha, 'en', 2)} ha site: "
              f"{v_en}{letter}. Deciding zones: {zone_list('en')} "
              "(the most restrictive ITBX rule)."
              + (f" Special provisions touched: {touched['en']}." if provisions else ""),
    }
    return {
        "kbli": kbli, "kbli_title": kbli_title, "kbli_title_en": kbli_title_en, "activity": activity,
        "activity_en": activity_en,
        "site_ha": round(site_ha, 4),
        "unzoned_ha": round(unzoned_ha, 4),
        "verdict": verdict,
        "zones": [{k: v for k, v in z.items() if not k.startswith("_")} for z in zones],
        "special_provisions": provisions,
        "overlays": [{"overlay": p["overlay"], "area_ha": p["area_ha"], "share": p["share"]}
                     for p in provisions if p["source"] == "layer"],
        "warnings": warnings,
        "explanation": explanation,
    }
