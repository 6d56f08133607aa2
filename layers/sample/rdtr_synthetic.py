"""Synthetic RDTR plans in the national data standard (Permen ATR/BPN 14/2021), illustrative only: a clean plan
of any size (Voronoi cells of random seeds clipped to a city boundary) with every standard attribute filled
plausibly, its ITBX table, and a GeoPackage writer with the standard's upper-case field names. Used to exercise
import, validation and conformity on the same path as a real plan, and to measure them at scale."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.rdtr import NATIONAL_ZONES, OVERLAYS, STANDARD_FIELDS, ZONE_NAMES, column, zone_of
from layers.sample.rdtr_plan import ROMAN, letters

DATA = Path(__file__).parent / "data"
METRIC = 32647  # UTM 47N: Binjai and the North Sumatra cities

# Sub-zone mix of a mid-sized city: mostly housing, then farmland, trade, green space and facilities.
ZONE_WEIGHTS = {
    "R-2": 10, "R-3": 18, "R-4": 12, "R-5": 3, "K-1": 4, "K-2": 4, "K-3": 5, "KT": 2,
    "SPU-1": 1, "SPU-2": 2, "SPU-3": 2, "RTH-1": 1, "RTH-2": 1, "RTH-3": 1, "RTH-4": 2, "RTH-7": 2, "RTH-8": 1,
    "PS": 3, "P-1": 12, "P-2": 3, "P-3": 3, "KPI": 3, "I-3": 2, "TR": 1, "BA": 1,
}
KRB_CLASSES = ("Rawan banjir", "Rawan longsor")
ZONES_PER_BLOCK = 8


def city_boundary() -> shapely.Geometry:
    """Kota Binjai's real boundary (EPSG:4326)."""
    return gpd.read_file(DATA / "kota_binjai.geojson").geometry.union_all()


def synthetic_plan(n_zones: int, seed: int = 14, boundary=None) -> gpd.GeoDataFrame:
    """A clean plan of `n_zones` zones covering `boundary` (shapely, EPSG:4326; default Kota Binjai) without
    overlaps or gaps, in EPSG:4326, with the standard's attributes as lower-case columns and `fid` 1..n."""
    if n_zones < 1:
        raise ValueError(f"n_zones must be at least 1, not {n_zones}")
    rng = np.random.default_rng(seed)
    boundary = city_boundary() if boundary is None else boundary
    area_m = gpd.GeoSeries([boundary], crs=4326).to_crs(METRIC).iloc[0]
    cells = _voronoi_cells(area_m, n_zones, rng)
    zones = gpd.GeoDataFrame(geometry=cells, crs=METRIC)
    zones = _add_places(zones)
    zones = _add_blocks(zones)
    codes = list(ZONE_WEIGHTS)
    weights = np.array(list(ZONE_WEIGHTS.values()), dtype=float)
    zones["kodszn"] = rng.choice(codes, size=len(zones), p=weights / weights.sum())
    zones["kodzon"] = [NATIONAL_ZONES[c][0] for c in zones["kodszn"]]
    zones["namszn"] = [NATIONAL_ZONES[c][1] for c in zones["kodszn"]]
    zones["namzon"] = [ZONE_NAMES[z][0] for z in zones["kodzon"]]
    zones["namobj"] = zones["namszn"]
    zones["jnsrpr"] = "Rencana Detail Tata Ruang"
    zones["luasha"] = (zones.geometry.area / 1e4).round(4)
    farmland = (zones["kodszn"] == "P-1").to_numpy()
    lp2b = farmland & (rng.random(len(zones)) < 0.6)
    krb = rng.random(len(zones)) < 0.08
    krb_class = rng.choice(KRB_CLASSES, size=len(zones))
    zones["lp2b_2"] = pd.Series(["LP2B" if f else None for f in lp2b], index=zones.index, dtype=object)
    zones["krb_03"] = pd.Series([c if f else None for f, c in zip(krb, krb_class, strict=True)],
                                index=zones.index, dtype=object)
    zones = zones.to_crs(4326)
    zones.insert(0, "fid", np.arange(1, len(zones) + 1))
    ordered = ["fid", *(column(f) for f in STANDARD_FIELDS), "lp2b_2", "krb_03", "geometry"]
    return zones[ordered].reset_index(drop=True)


def _voronoi_cells(area_m, n_zones: int, rng: np.random.Generator) -> np.ndarray:
    """`n_zones` Voronoi cells of random seeds inside `area_m`, clipped to it: a partition of the area."""
    xmin, ymin, xmax, ymax = area_m.bounds
    shapely.prepare(area_m)
    seeds = np.empty((0, 2))
    while len(seeds) < n_zones:  # rejection sampling: keep the seeds that fall inside the boundary
        xy = rng.uniform((xmin, ymin), (xmax, ymax), size=(max(n_zones, 64) * 2, 2))
        seeds = np.vstack([seeds, xy[shapely.contains_xy(area_m, xy[:, 0], xy[:, 1])]])
    seeds = seeds[:n_zones]
    if n_zones == 1:
        return np.array([area_m])
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=area_m))
    clipped = shapely.intersection(cells, area_m)
    # Clipping to a concave boundary can leave lines or points beside a cell: keep the polygonal part only.
    clipped = np.array([_polygonal(g) for g in clipped], dtype=object)
    return clipped[~shapely.is_empty(clipped)]


def _polygonal(geom):
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _add_places(zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """WADM* names: the Binjai kelurahan nearest to each zone's inner point."""
    kel = gpd.read_file(DATA / "kelurahan_binjai.geojson")[["nama", "kecamatan", "geometry"]].to_crs(METRIC)
    points = gpd.GeoDataFrame(geometry=zones.geometry.representative_point(), crs=METRIC)
    joined = gpd.sjoin_nearest(points, kel, how="left")
    joined = joined[~joined.index.duplicated(keep="first")]
    zones["wadmpr"] = "Sumatera Utara"
    zones["wadmkk"] = "Kota Binjai"
    zones["wadmkc"] = joined["kecamatan"].to_numpy()
    zones["wadmkd"] = joined["nama"].to_numpy()
    zones["_x"] = points.geometry.x.to_numpy()
    zones["_y"] = points.geometry.y.to_numpy()
    return zones


def _add_blocks(zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Planning units: a sub-unit (KODEWP, roman) per kecamatan, a block group (KODSWP, letter) per kelurahan,
    blocks of about eight neighbouring zones ("I.A.3") and sub-blocks numbered within each block."""
    kecamatan = sorted(zones["wadmkc"].unique())
    zones["kodewp"] = [ROMAN[kecamatan.index(k) % len(ROMAN)] for k in zones["wadmkc"]]
    swp = {(kc, kd): letters(k) for kc, names in zones.groupby("wadmkc")["wadmkd"]
           for k, kd in enumerate(sorted(names.unique()))}
    zones["kodswp"] = [swp[key] for key in zip(zones["wadmkc"], zones["wadmkd"], strict=True)]
    # Zones of a kelurahan numbered north to south, west to east, so that a block gathers neighbours.
    ordered = zones.sort_values(["wadmkc", "wadmkd", "_y", "_x"], ascending=[True, True, False, True])
    rank = ordered.groupby(["wadmkc", "wadmkd"]).cumcount().reindex(zones.index).to_numpy()
    zones["kodblk"] = zones["kodewp"] + "." + zones["kodswp"] + "." + (rank // ZONES_PER_BLOCK + 1).astype(str)
    zones["kodsbl"] = [f"{r % ZONES_PER_BLOCK + 1:02d}" for r in rank]
    return zones.drop(columns=["_x", "_y"])


def write_package(zones: gpd.GeoDataFrame, path, overlays: dict[str, gpd.GeoDataFrame] | None = None,
                  layer: str = "zonasi") -> Path:
    """A GeoPackage as a city publishes its RDTR: the zones under the standard's UPPER-CASE field names in
    `layer`, each overlay (columns kode, namobj, geometry) as its own layer named by its code. The zones' `fid`
    becomes the GeoPackage feature id, not a column."""
    path = Path(path)
    upper = {c: c.upper() for c in zones.columns
             if c != "geometry" and (c.upper() in STANDARD_FIELDS or c.upper() in OVERLAYS)}
    # GDAL takes an integer column named "fid" as the GeoPackage feature id instead of writing it as a field.
    kept = [c for c in ("fid", *upper, "geometry") if c in zones.columns]
    zones[kept].rename(columns=upper).to_file(path, layer=layer, driver="GPKG", engine="pyogrio",
                                                promote_to_multi=True)
    for code, gdf in (overlays or {}).items():
        names = {c: c.upper() for c in gdf.columns if c not in ("geometry", "fid")}
        gdf.rename(columns=names).to_file(path, layer=code, driver="GPKG", engine="pyogrio", promote_to_multi=True)
    return path



# Illustrative ITBX rows: (KBLI 2020 code or None, activity, {zone (KODZON): ketentuan}); unlisted zones are X.
# Industry is permitted in industrial zones and kept out of housing, green space and farmland.
_ITBX_ACTIVITIES = (
    ("10710", "Industri produk roti dan kue", {"KPI": "I", "I": "I", "K": "T", "R": "B"}),
    ("24101", "Industri besi dan baja dasar", {"KPI": "I", "I": "I"}),
    ("31001", "Industri furnitur dari kayu", {"KPI": "I", "I": "I", "K": "B"}),
    ("68130", "Kawasan industri", {"KPI": "I", "I": "I"}),
    ("68111", "Real estat yang dimiliki sendiri atau disewa (perumahan)",
     {"R": "I", "K": "T", "KT": "T", "P": "B"}),
    ("47111", "Perdagangan eceran di supermarket/minimarket", {"K": "I", "R": "T", "KT": "T", "SPU": "B",
                                                                "KPI": "T", "I": "T"}),
    ("55110", "Hotel bintang", {"K": "I", "KT": "T", "R": "B"}),
    ("56101", "Restoran", {"K": "I", "KT": "I", "R": "T", "SPU": "T", "KPI": "T", "I": "T"}),
    ("86101", "Aktivitas rumah sakit pemerintah", {"SPU": "I", "K": "T", "R": "B"}),
    ("01121", "Pertanian padi hibrida", {"P": "I", "RTH": "T", "PS": "B", "R": "T"}),
    (None, "Taman bermain", {"RTH": "I", "R": "I", "SPU": "I", "K": "I", "KT": "I", "PS": "T"}),
)
_SYARAT = {"T": "T1: luas lantai dan intensitas dibatasi sesuai ketentuan zona",
           "B": "B1: wajib izin pemanfaatan ruang bersyarat dan kajian dampak"}


def synthetic_itbx(codes) -> pd.DataFrame:
    """An illustrative ITBX table in the long form (columns kodszn, kbli, kegiatan, ketentuan, syarat): the same
    activities for every sub-zone code in `codes`, each with I/T/B/X by its zone."""
    rows = []
    for code in sorted(set(codes)):
        zone = zone_of(code) or str(code).split("-")[0]
        for kbli, kegiatan, by_zone in _ITBX_ACTIVITIES:
            ketentuan = by_zone.get(zone, "X")
            rows.append({"kodszn": code, "kbli": kbli, "kegiatan": kegiatan, "ketentuan": ketentuan,
                         "syarat": _SYARAT.get(ketentuan)})
    columns = ("kodszn", "kbli", "kegiatan", "ketentuan", "syarat")
    # object columns, so that an absent KBLI or syarat is None (a str column would hold NaN)
    return pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object) for c in columns})
