"""Siting on a window of the grid: the score of every cell of a window and the mean score of each cell's
neighbourhood. The whole grid is one window when siting runs in-process; on Dask every chunk is one, scored by
these same functions, so both give the same numbers. A window reads only its own cells plus a halo: distances
to lines and areas are measured within that halo, far enough that every score they feed is exact."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
from affine import Affine
from rasterio.features import rasterize
from scipy import ndimage

from gis.analyses import siting_zones
from gis.analyses.grid import Raster, in_crs
from gis.core.errors import InvalidInput

PAD = 200  # pixels past the grid where lines and areas still count (a toll road just outside the city)
SCALE = 2**24  # window sums in integer units of 2^-24: exact, so the same in any chunk and in any order


@dataclass(frozen=True)
class GridSpec:
    """A grid without its cells: its georeference and shape (what a region-sized run keeps in memory)."""

    transform: Affine
    shape: tuple[int, int]
    crs: int | str

    @property
    def res(self) -> float:
        return abs(self.transform.a)

    def window(self, r0: int, r1: int, c0: int, c1: int) -> Window:
        return Window(self, r0, r1, c0, c1)

    def whole(self) -> Window:
        return Window(self, 0, self.shape[0], 0, self.shape[1])


@dataclass(frozen=True)
class Window:
    """Rows r0..r1 and columns c0..c1 of a grid (may reach past its edges for a halo)."""

    grid: GridSpec
    r0: int
    r1: int
    c0: int
    c1: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.r1 - self.r0, self.c1 - self.c0

    @property
    def transform(self) -> Affine:
        return self.grid.transform * Affine.translation(self.c0, self.r0)

    def raster(self, array: np.ndarray) -> Raster:
        return Raster(array, self.transform, self.grid.crs)

    def grown(self, n: int, pad: int = 0) -> Window:
        """This window n cells wider on each side, kept within the grid plus `pad` cells."""
        h, w = self.grid.shape
        return Window(self.grid, max(self.r0 - n, -pad), min(self.r1 + n, h + pad),
                      max(self.c0 - n, -pad), min(self.c1 + n, w + pad))

    def covers(self, other: Window) -> bool:
        return (self.r0 <= other.r0 and self.c0 <= other.c0 and self.r1 >= other.r1 and self.c1 >= other.c1)


@dataclass
class SitingVectors:
    """The vector side of siting, in the grid's CRS, prepared once per run (and shipped once to each worker)."""

    crs: int | str
    gates: list
    arterials: list
    housing: list
    setbacks: list
    parks: list
    protected: list
    area: object  # the study area: the cities' union, cut to the study area if given
    zones: gpd.GeoDataFrame  # with the activity's verdict
    overlays: gpd.GeoDataFrame | None
    asked: bool


def siting_vectors(layers, c, crs) -> SitingVectors:
    """`layers`: anything with the vector fields of SitingData (roads, toll_gates, zoning, parks, rivers, city,
    itbx, zoning_overlays); `c`: the Criteria."""
    from gis.analyses.suitability import HOUSING_KINDS, HOUSING_ZONES, PROTECTED_KINDS, PROTECTED_ZONES

    zones = siting_zones.zones_with_verdicts(layers.zoning, layers.itbx, c.kbli, c.activity, crs)
    housing = zones[siting_zones.of_kind(zones, HOUSING_ZONES, HOUSING_KINDS)]
    protected = zones[siting_zones.of_kind(zones, PROTECTED_ZONES, PROTECTED_KINDS)]
    rivers = layers.rivers.to_crs(crs)
    setbacks = [g.buffer(c.river_setback_m.get(d, 15.0)) for g, d in zip(rivers.geometry, rivers.depth_class,
                                                                          strict=True)]
    area = layers.city.to_crs(crs).union_all()
    if c.study_area is not None:
        area = area.intersection(gpd.GeoSeries([c.study_area], crs=4326).to_crs(crs).iloc[0])
    arterials = layers.roads[layers.roads.road_class.isin(["toll", "arterial"])]
    return SitingVectors(crs, in_crs(layers.toll_gates, crs), in_crs(arterials, crs), in_crs(housing, crs),
                         setbacks, in_crs(layers.parks, crs), in_crs(protected, crs), area, zones,
                         layers.zoning_overlays, c.kbli is not None or c.activity is not None)


def distance_halos(c, res: float) -> dict[str, int]:
    """For a chunk: how many cells around it each kind of line or area must be seen for its scores to be exact
    (the farthest distance that score still changes with; beyond it the score is clipped)."""
    return {"arterial": int(math.ceil(c.arterial_reach_m / res)) + 2,
            "housing": int(math.ceil(c.housing_buffer_m / res)) + 2}


def gates_within(win: Window, gates: list, reach_m: float) -> list:
    """The toll gates that can score a cell of the window: those within `reach_m` of it (a farther gate's
    access score is 0 everywhere in it)."""
    t = win.grid.transform
    xs = sorted((t.c + t.a * win.c0, t.c + t.a * win.c1))
    ys = sorted((t.f + t.e * win.r0, t.f + t.e * win.r1))
    return [g for g in gates if math.hypot(max(xs[0] - g.x, 0, g.x - xs[1]), max(ys[0] - g.y, 0, g.y - ys[1]))
            <= reach_m + win.grid.res]  # a cell of slack against rounding


def point_distance(win: Window, points: list) -> np.ndarray:
    """Metres from each cell centre of the window to the nearest point (exact, from the grid's own
    coordinates, so a chunk gets the very numbers the whole grid gets)."""
    if not points:
        return np.full(win.shape, np.inf)
    t = win.grid.transform
    xs = t.c + t.a * (np.arange(win.c0, win.c1) + 0.5)
    ys = t.f + t.e * (np.arange(win.r0, win.r1) + 0.5)
    nearest = np.full(win.shape, np.inf)
    for g in points:  # squared distances, one root at the end: a row and a column added per point
        np.minimum(nearest, ((xs - g.x) ** 2)[None, :] + ((ys - g.y) ** 2)[:, None], out=nearest)
    return np.sqrt(nearest).astype("float32")


def edge_distance(win: Window, geometries: list, halo: int) -> np.ndarray:
    """Metres from each cell centre of the window to the nearest line or area, on the grid (the distance to the
    nearest burnt cell), seen up to `halo` cells around the window and PAD cells past the grid. Exact wherever
    the true distance is at most `halo` cells; larger (never smaller) elsewhere."""
    geoms = [g for g in geometries if g is not None and not g.is_empty]
    if not geoms:
        return np.full(win.shape, np.inf)
    if all(g.geom_type == "Point" for g in geoms):
        return point_distance(win, geoms)
    seen = win.grown(halo, PAD)
    burnt = rasterize([(g, 1) for g in geoms], out_shape=seen.shape, transform=seen.transform, fill=0,
                      dtype="uint8", all_touched=True).astype(bool)
    if not burnt.any():
        return np.full(win.shape, np.inf, dtype="float32")
    r, c = win.r0 - seen.r0, win.c0 - seen.c0
    h, w = win.shape
    distance = ndimage.distance_transform_edt(~burnt)[r:r + h, c:c + w].astype("float32")
    return distance * np.float32(win.grid.res)


LAND_COVER_LUT = np.zeros(256, dtype="float32")
FLOOD_LUT = np.zeros(256, dtype="float32")


def _luts():
    from gis.analyses.suitability import FLOOD_SCORE, LAND_COVER_SCORE

    for k, v in LAND_COVER_SCORE.items():
        LAND_COVER_LUT[k] = v
    for k, v in FLOOD_SCORE.items():
        FLOOD_LUT[k] = v


def score_window(win: Window, slope_raw: np.ndarray, flood_raw: np.ndarray, cover_raw: np.ndarray,
                 no_data: np.ndarray | None, v: SitingVectors, c, halos: dict | None = None):
    """The Surface of one window: each criterion's 0..1 score, the exclusions and the weighted score (NaN where
    excluded). Without `halos` (the whole grid) its distances are the grid's own; with them (a chunk, see
    distance_halos) lines and areas are seen only that far and gates only within reach: the scores are the
    same, the distances exact only where they count."""
    from gis.analyses.suitability import CRITERIA, Surface

    if not FLOOD_LUT.any():
        _luts()
    grid = win.raster(slope_raw)
    slope = slope_raw.astype("float32")
    gates = v.gates
    if halos is not None and gates and all(g.geom_type == "Point" for g in gates):
        gates = gates_within(win, gates, c.gate_reach_m)
        d_gate = point_distance(win, gates) if gates else np.full(win.shape, np.inf, dtype="float32")
    else:
        d_gate = edge_distance(win, gates, PAD if halos is None else max(halos.values()))
    d_arterial = edge_distance(win, v.arterials, PAD if halos is None else halos["arterial"])
    d_housing = edge_distance(win, v.housing, PAD if halos is None else halos["housing"])
    land_cover = cover_raw.astype("uint8")
    flood = flood_raw.astype("uint8")
    parts = {
        "slope": np.clip(1 - slope / c.max_slope_pct, 0, 1),
        "flood": FLOOD_LUT[flood],
        "access": 0.6 * np.clip(1 - d_gate / c.gate_reach_m, 0, 1)
        + 0.4 * np.clip(1 - d_arterial / c.arterial_reach_m, 0, 1),
        "housing_distance": np.clip(d_housing / c.housing_buffer_m, 0, 1),
        "land_cover": LAND_COVER_LUT[land_cover],
    }
    excluded = {
        "outside_area": ~grid.mask([v.area]),
        "steep_slope": slope > c.max_slope_pct,
        "flood_high": flood >= c.exclude_flood_class,
        "river_setback": grid.mask(v.setbacks, all_touched=True),
        "parks_rth": grid.mask(v.parks) | grid.mask(v.protected),
        "built_up": land_cover == 1,
        "water": land_cover == 5,
        "housing_zone": grid.mask(v.housing),
    }
    if no_data is not None:
        excluded["no_data"] = no_data
    if v.asked:  # siting an activity: not where it is X, nor on LP2B
        excluded.update(siting_zones.exclusions(v.zones, v.overlays, grid))
    total_w = sum(c.weights.get(k, 0) for k in CRITERIA)
    score = sum(c.weights.get(k, 0) * parts[k] for k in CRITERIA) / total_w
    any_excluded = np.logical_or.reduce(list(excluded.values()))
    score = np.where(any_excluded, np.nan, score).astype("float32")
    return Surface(score, parts, excluded, grid, {"gate": d_gate, "arterial": d_arterial, "housing": d_housing},
                   v.zones, v.asked)


def window_side(c, pixel_m2: float) -> tuple[int, int]:
    """Cells a site of the target area needs, and the side of the square window seeds are ranked by."""
    n_pixels = int(np.ceil(c.target_ha * 1e4 / pixel_m2))
    return n_pixels, max(int(np.sqrt(n_pixels)), 3)


def _box_sum(values: np.ndarray, side: int) -> np.ndarray:
    """Sum over the side x side window of each cell (zeros past the edges; the window reaches side // 2 cells
    back, the rest forward), in integers."""
    before = side // 2
    padded = np.zeros((values.shape[0] + side, values.shape[1] + side), dtype=np.int64)
    padded[1 + before:1 + before + values.shape[0], 1 + before:1 + before + values.shape[1]] = values
    s = padded.cumsum(0).cumsum(1)
    h, w = values.shape
    return s[side:side + h, side:side + w] - s[:h, side:side + w] - s[side:side + h, :w] + s[:h, :w]


def window_means(score: np.ndarray, side: int) -> np.ndarray:
    """Mean score of each cell's side x side window over its feasible cells, where at least 90 % are feasible;
    -1 elsewhere. Integer sums: a cell's mean depends only on its window, whatever chunk computes it."""
    feasible = ~np.isnan(score)
    q = np.where(feasible, np.rint(score.astype(np.float64) * SCALE), 0).astype(np.int64)
    total, count = _box_sum(q, side), _box_sum(feasible.astype(np.int64), side)
    enough = count * 10 > 9 * side * side
    mean = np.full(score.shape, -1.0)
    np.divide(total, count * float(SCALE), out=mean, where=enough)
    return mean


@dataclass
class Blocked:
    """Cells no later seed may use: each site dilated (kept as a small placed array) and seeds that could not
    grow. Kept sparse so a region-wide search never holds a grid-sized mask."""

    grid_shape: tuple[int, int]
    parts: list = field(default_factory=list)  # (r0, c0, bool array)
    points: set = field(default_factory=set)

    def at(self, r: int, c: int) -> bool:
        if (r, c) in self.points:
            return True
        for r0, c0, a in self.parts:
            if r0 <= r < r0 + a.shape[0] and c0 <= c < c0 + a.shape[1] and a[r - r0, c - c0]:
                return True
        return False

    def add_point(self, r: int, c: int) -> None:
        self.points.add((r, c))

    def add_site(self, r0: int, c0: int, mask: np.ndarray, iterations: int) -> None:
        """The site (a mask placed at r0, c0) dilated `iterations` times, as on the whole grid."""
        rows, cols = np.nonzero(mask)
        h, w = self.grid_shape
        a0, a1 = max(r0 + rows.min() - iterations, 0), min(r0 + rows.max() + iterations + 1, h)
        b0, b1 = max(c0 + cols.min() - iterations, 0), min(c0 + cols.max() + iterations + 1, w)
        box = np.zeros((a1 - a0, b1 - b0), dtype=bool)
        box[rows + r0 - a0, cols + c0 - b0] = True
        self.parts.append((a0, b0, ndimage.binary_dilation(box, iterations=iterations)))

    def in_window(self, win: Window) -> np.ndarray:
        out = np.zeros(win.shape, dtype=bool)
        for r0, c0, a in self.parts:
            i0, i1 = max(r0, win.r0), min(r0 + a.shape[0], win.r1)
            j0, j1 = max(c0, win.c0), min(c0 + a.shape[1], win.c1)
            if i1 > i0 and j1 > j0:
                out[i0 - win.r0:i1 - win.r0, j0 - win.c0:j1 - win.c0] |= a[i0 - r0:i1 - r0, j0 - c0:j1 - c0]
        for r, c in self.points:
            if win.r0 <= r < win.r1 and win.c0 <= c < win.c1:
                out[r - win.r0, c - win.c0] = True
        return out


def pick_sites(seeds, c, side: int, grid_shape: tuple[int, int], grow, describe) -> list[dict]:
    """The greedy search both engines share: seeds (feasible cells, best window mean first, ties by position)
    are grown into sites; later seeds are kept clear of earlier sites. `grow(r, col, blocked)` gives a site as
    (r0, c0, mask) or None; `describe(r0, c0, mask)` its numbers."""
    blocked = Blocked(grid_shape)
    sites, tried = [], 0
    for r, col in seeds:
        if len(sites) >= c.n_candidates or tried > 400:
            break
        if blocked.at(r, col):
            continue
        tried += 1
        placed = grow(r, col, blocked)
        if placed is None:
            blocked.add_point(r, col)
            continue
        sites.append(describe(*placed))
        blocked.add_site(*placed, iterations=max(side // 4, 1))
    if not sites:
        raise InvalidInput(
            f"no contiguous feasible area of {c.target_ha:g} ha found; relax the criteria or the study area"
        )
    return sites
