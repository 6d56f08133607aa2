"""Site suitability for an industrial estate: weighted criteria on a grid, hard exclusions, and the top N
compact candidate sites of at least the target area. Deterministic: no randomness, ties broken by position."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import AfterValidator, ConfigDict, Field, NonNegativeFloat
from pydantic.dataclasses import dataclass as checked_dataclass

from gis.analyses import rules, siting_zones
from gis.analyses.grid import Raster
from gis.analyses.siting_blocks import (
    GridSpec,
    pick_sites,
    score_window,
    siting_vectors,
    window_means,
    window_side,
)
from gis.core.errors import InvalidInput
from gis.core.language import format_number

HOUSING_ZONES = ("R-1", "R-2", "R-3", "R-4", "R-5")
PROTECTED_ZONES = ("RTH-1", "RTH-2", "RTH-3", "RTH-4", "RTH-5", "RTH-6", "RTH-7", "PS", "LP2B")
# The same by zone (KODZON), for plans that number their sub-zones locally (R-3a, RTH-9...).
HOUSING_KINDS, PROTECTED_KINDS = ("R",), ("RTH", "PS")
# Land cover classes (layers/rasters.py): built-up and water are excluded; trees score low.
LAND_COVER_SCORE = {1: 0.0, 2: 1.0, 3: 0.9, 4: 0.3, 5: 0.0, 6: 1.0}
FLOOD_SCORE = {1: 1.0, 2: 0.5, 3: 0.0}
Criterion = Literal["slope", "flood", "access", "housing_distance", "land_cover"]
CRITERIA = get_args(Criterion)
DEFAULT_WEIGHTS = {k: getattr(rules.SuitabilityWeights(), k) for k in CRITERIA}
EXCLUSION_NAMES = {
    "outside_area": ("di luar wilayah kajian", "outside the study area"),
    "steep_slope": ("lereng > batas", "slope above the limit"),
    "flood_high": ("bahaya banjir tinggi", "high flood hazard"),
    "river_setback": ("sempadan sungai", "river setback"),
    "parks_rth": ("RTH / kawasan lindung", "green space / protected zone"),
    "built_up": ("lahan terbangun", "built-up land"),
    "water": ("badan air", "water"),
    "housing_zone": ("zona perumahan", "housing zone"),
    "no_data": ("tanpa data raster", "no raster data"),
    "zone_x": ("zona yang tidak mengizinkan kegiatan ini (X)", "zone where the activity is not permitted (X)"),
    "lp2b": ("lahan pertanian pangan berkelanjutan (LP2B)", "protected food-crop farmland (LP2B)"),
}


@dataclass
class SitingLayers:
    """The vector side of the siting inputs, in EPSG:4326 (a region-scale run reads its rasters from files)."""

    roads: gpd.GeoDataFrame
    toll_gates: gpd.GeoDataFrame
    zoning: gpd.GeoDataFrame
    parks: gpd.GeoDataFrame
    rivers: gpd.GeoDataFrame
    city: gpd.GeoDataFrame
    itbx: pd.DataFrame | None = None
    zoning_overlays: gpd.GeoDataFrame | None = None


@dataclass
class SitingData:
    """Inputs on one grid (the rasters share transform and shape) plus vector layers in EPSG:4326."""

    slope: Raster
    flood: Raster
    land_cover: Raster
    roads: gpd.GeoDataFrame
    toll_gates: gpd.GeoDataFrame
    zoning: gpd.GeoDataFrame
    parks: gpd.GeoDataFrame
    rivers: gpd.GeoDataFrame
    city: gpd.GeoDataFrame  # the study's cities (a region: several rows, each with its `kode`)
    no_data: np.ndarray | None = None  # True where a raster has no value (a city without that raster)
    itbx: pd.DataFrame | None = None  # the plan's ITBX table: needed when siting for a KBLI or an activity
    zoning_overlays: gpd.GeoDataFrame | None = None  # the plan's separate overlay layers (kode, geometry)


def _with_default_weights(given: dict) -> dict:
    """Criteria left out keep their default weight; at least one criterion must count."""
    weights = {**DEFAULT_WEIGHTS, **given}
    if not sum(weights.values()) > 0:
        raise ValueError("must give at least one criterion a weight above 0")
    return weights


# What the analysis accepts, shared with the site-suitability process's inputs. Beyond 5,000 ha (half of a
# mid-sized city) a siting search is no longer a siting question, and its run time grows with the area.
TargetHa = Annotated[float, Field(gt=0, le=5_000)]
SlopeLimitPct = Annotated[float, Field(gt=0, le=100)]
CandidateCount = Annotated[int, Field(ge=1, le=20)]
Weights = Annotated[dict[Criterion, NonNegativeFloat], AfterValidator(_with_default_weights)]


@checked_dataclass(config=ConfigDict(arbitrary_types_allowed=True, allow_inf_nan=False))
class Criteria:
    """The siting criteria, checked when built (a bad value raises a ValidationError naming it)."""

    target_ha: TargetHa = rules.ESTATE_TARGET_HA.value
    max_slope_pct: SlopeLimitPct = rules.MAX_SLOPE_PCT.value
    weights: Weights = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    gate_reach_m: float = 8_000.0  # access score falls to 0 this far from a toll gate
    arterial_reach_m: float = 2_000.0
    housing_buffer_m: float = 500.0  # full score this far from housing zones
    river_setback_m: dict = field(default_factory=lambda: dict(rules.RIVER_SETBACK_M))
    exclude_flood_class: int = 3  # high hazard (Permenperin 30/2020: not in a high-risk disaster zone)
    study_area: Any = None  # shapely geometry in EPSG:4326, optional
    n_candidates: CandidateCount = 5
    kbli: str | None = None  # site for this KBLI 2020 code (or `activity`): its X zones are excluded
    activity: str | None = None  # an activity name of the ITBX table


@dataclass
class Surface:
    score: np.ndarray  # 0..1, NaN where excluded
    parts: dict[str, np.ndarray]  # each criterion's 0..1 score
    excluded: dict[str, np.ndarray]  # reason -> mask
    grid: Raster
    distances: dict[str, np.ndarray]
    zones: gpd.GeoDataFrame | None = None  # the zones in the grid's CRS with the activity's verdict
    asked: bool = False  # whether the run is for an activity (candidates then report its verdict)


def build_surface(data: SitingData, c: Criteria) -> Surface:
    """The whole grid scored as one window (see siting_blocks: Dask scores each chunk with the same code)."""
    grid = data.slope
    whole = GridSpec(grid.transform, grid.shape, grid.crs).whole()
    vectors = siting_vectors(data, c, grid.crs)
    return score_window(whole, data.slope.array, data.flood.array, data.land_cover.array, data.no_data, vectors, c)


def _grow(feasible: np.ndarray, seed: tuple[int, int], n_pixels: int) -> np.ndarray | None:
    """The n_pixels feasible pixels nearest the seed by path through feasible land: a compact, connected site."""
    taken = grow_cells(feasible, seed, n_pixels)
    if len(taken) < n_pixels:
        return None
    mask = np.zeros(feasible.shape, dtype=bool)
    rows, cols = zip(*taken, strict=True)
    mask[list(rows), list(cols)] = True
    return mask


def grow_cells(feasible: np.ndarray, seed: tuple[int, int], n_pixels: int) -> list[tuple[int, int]]:
    """The cells taken growing from the seed: n_pixels of them, or fewer when the seed's feasible land ends
    (ties by position, so a window that holds every cell taken grows the same site as the whole grid)."""
    h, w = feasible.shape
    dist = {seed: 0.0}
    heap = [(0.0, seed)]
    taken = []
    steps = [
        (-1, 0, 1.0),
        (1, 0, 1.0),
        (0, -1, 1.0),
        (0, 1, 1.0),
        (-1, -1, 1.4142),
        (-1, 1, 1.4142),
        (1, -1, 1.4142),
        (1, 1, 1.4142),
    ]
    done = set()
    while heap and len(taken) < n_pixels:
        d, (r, col) = heapq.heappop(heap)
        if (r, col) in done:
            continue
        done.add((r, col))
        taken.append((r, col))
        for dr, dc, cost in steps:
            rr, cc = r + dr, col + dc
            if 0 <= rr < h and 0 <= cc < w and feasible[rr, cc] and (rr, cc) not in done:
                nd = d + cost
                if nd < dist.get((rr, cc), np.inf):
                    dist[(rr, cc)] = nd
                    heapq.heappush(heap, (nd, (rr, cc)))
    return taken


def _describe(surface: Surface, mask: np.ndarray) -> dict:
    grid = surface.grid
    geom = grid.polygons(mask)
    area_m2 = mask.sum() * grid.pixel_m2
    perimeter = geom.length or 1.0
    out = {
        "area_ha": area_m2 / 1e4,
        "score": float(np.nanmean(surface.score[mask])),
        "compactness": float(4 * np.pi * geom.area / perimeter**2),
        "criteria": {k: float(surface.parts[k][mask].mean()) for k in CRITERIA},
        "mean_slope_pct": float(grid.array[mask].mean()),  # the grid is the slope raster
        "gate_distance_m": nearest_m(surface.distances["gate"][mask]),
        "arterial_distance_m": nearest_m(surface.distances["arterial"][mask]),
        "housing_distance_m": nearest_m(surface.distances["housing"][mask]),
        "geometry_metric": geom,
    }
    out["zones"], out["verdict"] = siting_zones.candidate_zoning(surface.zones, geom, surface.asked)
    return out



def nearest_m(distances: np.ndarray) -> float | None:
    """The nearest distance in metres, or None where there is nothing to be near (a kabupaten without a toll
    gate, a city without housing zones: the distance is infinite, and JSON has no infinity)."""
    d = float(distances.min())
    return d if math.isfinite(d) else None


def _rounded(metres: float | None) -> int | None:
    return None if metres is None else round(metres)


def _distance_words(metres: float | None, what: tuple[str, str], lang: str, km: bool) -> str:
    if metres is None:
        return {"id": f"tidak ada {what[0]}", "en": f"no {what[1]}"}[lang]
    value = _n(metres / 1000, lang, 1) + " km" if km else _n(metres, lang, 0) + " m"
    return value + {"id": f" dari {what[0]}", "en": f" from the {what[1]}"}[lang]


def _n(value, lang: str, decimals: int | None = None) -> str:
    """A number in an explanation, written as the sentence's language writes it (`0,67` / `0.67`)."""
    return format_number(float(value), lang, decimals)

GATE, HOUSING = ("gerbang tol", "toll gate"), ("zona perumahan", "housing zones")


def _explain(rank: int, site: dict, slope_mean: float, n: int) -> dict:
    c = site["criteria"]
    strongest = max(c, key=c.get)
    weakest = min(c, key=c.get)
    names = {
        "slope": ("lereng", "slope"),
        "flood": ("bahaya banjir", "flood hazard"),
        "access": ("akses tol/arteri", "toll/arterial access"),
        "housing_distance": ("jarak dari perumahan", "distance from housing"),
        "land_cover": ("tutupan lahan", "land cover"),
    }
    id_text = (
        f"Peringkat {rank} dari {n}: skor {_n(site['score'], 'id', 2)}, "
        f"luas {_n(site['area_ha'], 'id', 1)} ha. "
        f"Lereng rata-rata {_n(slope_mean, 'id', 1)} %, {_distance_words(site['gate_distance_m'], GATE, 'id', True)}, "
        f"{_distance_words(site['housing_distance_m'], HOUSING, 'id', False)}. "
        f"Terkuat: {names[strongest][0]}; "
        f"terlemah: {names[weakest][0]}."
    )
    en_text = (
        f"Rank {rank} of {n}: score {_n(site['score'], 'en', 2)}, {_n(site['area_ha'], 'en', 1)} ha. Mean slope "
        f"{_n(slope_mean, 'en', 1)} %, {_distance_words(site['gate_distance_m'], GATE, 'en', True)}, "
        f"{_distance_words(site['housing_distance_m'], HOUSING, 'en', False)}. Strongest: {names[strongest][1]}; "
        f"weakest: {names[weakest][1]}."
    )
    return {"id": id_text, "en": en_text}


def find_sites(surface: Surface, c: Criteria) -> gpd.GeoDataFrame:
    """Top candidate sites: seeds at the best window means, each grown to the target area through feasible
    land, later seeds kept clear of earlier sites."""
    grid = surface.grid
    feasible = ~np.isnan(surface.score)
    n_pixels, side = window_side(c, grid.pixel_m2)
    mean_score = window_means(surface.score, side)
    order = np.argsort(-mean_score, axis=None, kind="stable")
    whole = GridSpec(grid.transform, grid.shape, grid.crs).whole()

    def seeds():
        for flat in order:
            r, col = divmod(int(flat), feasible.shape[1])
            if mean_score[r, col] < 0:
                return
            if feasible[r, col]:
                yield r, col

    def grow(r, col, blocked):
        mask = _grow(feasible & ~blocked.in_window(whole), (r, col), n_pixels)
        return None if mask is None else (0, 0, mask)

    sites = pick_sites(seeds(), c, side, grid.shape, grow, lambda r0, c0, mask: _describe(surface, mask))
    return sites_frame(sites, c, surface.asked, grid.crs)


def sites_frame(sites: list[dict], c: Criteria, asked: bool, crs) -> gpd.GeoDataFrame:
    """The candidates, best first, with their numbers and explanations (EPSG:4326)."""
    sites = sorted(sites, key=lambda s: -s["score"])
    rows = []
    for rank, site in enumerate(sites, start=1):
        explanation = _explain(rank, site, site["mean_slope_pct"], len(sites))
        zoning = siting_zones.sentence(site["zones"], site["verdict"], c.kbli, c.activity)
        rows.append(
            {
                "rank": rank,
                "area_ha": round(site["area_ha"], 2),
                "score": round(site["score"], 4),
                "compactness": round(site["compactness"], 3),
                **{f"score_{k}": round(v, 4) for k, v in site["criteria"].items()},
                "mean_slope_pct": round(site["mean_slope_pct"], 2),
                "gate_distance_m": _rounded(site["gate_distance_m"]),
                "housing_distance_m": _rounded(site["housing_distance_m"]),
                "zones": site["zones"],
                **({"verdict": site["verdict"]} if asked else {}),
                "explanation_id": explanation["id"] + zoning["id"],
                "explanation_en": explanation["en"] + zoning["en"],
                "geometry": site["geometry_metric"],
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).to_crs(4326)


def site_suitability(data: SitingData, criteria: Criteria | None = None) -> tuple[Raster, gpd.GeoDataFrame]:
    """The suitability surface (0..1, NaN where excluded) and the ranked candidate sites."""
    c = criteria or Criteria()
    surface = build_surface(data, c)
    sites = find_sites(surface, c)
    if "kode" in data.city.columns:
        sites = _with_cities(sites, data.city, surface.grid.crs)
    return surface.grid.like(surface.score), sites


def cities_touched(site_metric, cities_metric: gpd.GeoDataFrame) -> dict[str, float]:
    """Hectares of a site (in the grid's CRS) in each city it touches, by city code."""
    out = {}
    for code, geom in zip(cities_metric["kode"], cities_metric.geometry, strict=True):
        ha = site_metric.intersection(geom).area / 1e4
        if ha > 0.01:  # a shared edge, or a border cell's corner (under one 10 m cell), is not a touch
            out[str(code)] = out.get(str(code), 0.0) + round(ha, 4)
    return out


def _with_cities(sites: gpd.GeoDataFrame, city: gpd.GeoDataFrame, crs) -> gpd.GeoDataFrame:
    """Each candidate with the cities it touches (a region-wide site may straddle a border) and its hectares in
    each."""
    cities_metric = city.to_crs(crs)
    by_site = [cities_touched(g, cities_metric) for g in sites.to_crs(crs).geometry]
    out = sites.copy()
    out.insert(1, "cities", [sorted(d) for d in by_site])
    out.insert(2, "area_ha_by_city", by_site)
    return out


def evaluate_site(data: SitingData, site, criteria: Criteria | None = None) -> dict:
    """How a site a planner drew (shapely polygon, EPSG:4326) fares on every criterion and exclusion."""
    c = criteria or Criteria()
    if site is None or site.is_empty or site.geom_type not in ("Polygon", "MultiPolygon") or not site.is_valid:
        raise InvalidInput("site must be a valid Polygon or MultiPolygon (lon/lat)")
    surface = build_surface(data, c)
    metric = gpd.GeoSeries([site], crs=4326).to_crs(surface.grid.crs).iloc[0]
    mask = surface.grid.mask([metric])
    if not mask.any():
        raise InvalidInput("site lies outside the analysis grid (the city)")
    feasible = mask & ~np.isnan(surface.score)
    excluded = {
        k: round(float((v & mask).sum() / mask.sum()), 4) for k, v in surface.excluded.items() if (v & mask).any()
    }
    all_scores = surface.score[~np.isnan(surface.score)]
    score = float(np.nanmean(np.where(mask, surface.score, np.nan))) if feasible.any() else 0.0
    area_ha = metric.area / 1e4
    percentile = float((all_scores < score).mean() * 100) if all_scores.size else 0.0
    result = {
        "area_ha": round(area_ha, 2),
        "target_ha": c.target_ha,
        "meets_target": area_ha >= c.target_ha - 0.5,
        "meets_minimum": area_ha >= rules.ESTATE_MIN_HA.value,
        "score": round(score, 4),
        "feasible_share": round(float(feasible.sum() / mask.sum()), 4),
        "excluded_share": excluded,
        "criteria": {k: round(float(surface.parts[k][mask].mean()), 4) for k in CRITERIA},
        "mean_slope_pct": round(float(data.slope.array[mask].mean()), 2),
        "gate_distance_m": _rounded(nearest_m(surface.distances["gate"][mask])),
        "percentile": round(percentile, 1),
    }
    if "kode" in data.city.columns:
        by_city = cities_touched(metric, data.city.to_crs(surface.grid.crs))
        result.update(cities=sorted(by_city), area_ha_by_city=by_city)
    if surface.asked:
        result["zones"], result["verdict"] = siting_zones.candidate_zoning(surface.zones, metric, True)
    # Edge pixels of a drawn polygon may touch a neighbouring zone: up to 2 % excluded still counts as clear.
    verdict_id = "layak" if result["feasible_share"] >= 0.98 and result["meets_minimum"] else "perlu kajian"
    result["explanation"] = {
        "id": (
            f"Skor {_n(score, 'id', 2)} (lebih baik dari {_n(percentile, 'id', 0)} % lahan yang memenuhi syarat), "
            f"luas {_n(area_ha, 'id', 1)} ha, lereng rata-rata {_n(result['mean_slope_pct'], 'id')} %. "
            + (
                f"Sebagian terkena batasan: {', '.join(EXCLUSION_NAMES[k][0] for k in excluded)}. "
                if excluded
                else "Tidak ada batasan mutlak. "
            )
            + f"Kesimpulan: {verdict_id}."
        ),
        "en": (
            f"Score {_n(score, 'en', 2)} (better than {_n(percentile, 'en', 0)} % of eligible land), "
            f"{_n(area_ha, 'en', 1)} ha, mean slope {_n(result['mean_slope_pct'], 'en')} %. "
            + (
                f"Partly excluded: {', '.join(EXCLUSION_NAMES[k][1] for k in excluded)}. "
                if excluded
                else "No hard exclusion. "
            )
            + ("Conclusion: suitable." if verdict_id == "layak" else "Conclusion: needs review.")
        ),
    }
    return result
