"""Coverage analyses (gis/analyses/coverage.py), checked against independent computations: hand-built cities in
UTM 47N near Binjai (exact shapely distances on pixel centres, hand arithmetic for hectares), then the real
sample city in PostGIS (pixel centres tested with shapely, RTH intersections computed by PostGIS itself)."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import Affine
from shapely.geometry import Point, box
from sqlalchemy import text

from gis.analyses.coverage import (
    Raster,
    business_center_coverage,
    park_coverage,
    rth_ratio,
    suggest_next_centres,
)
from gis.analyses.rules import PARK_STANDARDS, PARK_STANDARDS_SOURCE, RTH_PUBLIC_SHARE, RTH_TOTAL_SHARE
from gis.data.store import read_layer

UTM = 32647
X0, Y0 = 445_000.0, 398_000.0


def in_4326(rows: list[dict], geoms: list) -> gpd.GeoDataFrame:
    """Build in UTM metres, hand over in EPSG:4326 like the database does."""
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=UTM).to_crs(4326)


def utm_area(geom_4326) -> float:
    return gpd.GeoSeries([geom_4326], crs=4326).to_crs(UTM).area.iloc[0]


# --- park coverage ---------------------------------------------------------------------------------------------

KEL_A = box(X0, Y0, X0 + 1000, Y0 + 1000)
KEL_B = box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)
KEL_C = box(X0 + 5000, Y0, X0 + 5500, Y0 + 500)  # beyond the raster: nobody lives there
CODES = {"A": "99.01.01.1001", "B": "99.01.01.1002", "C": "99.01.02.1001"}

RW_1 = box(X0, Y0, X0 + 50, Y0 + 50)  # a taman RW in A's south-west corner
RW_2 = box(X0 + 300, Y0 + 100, X0 + 350, Y0 + 150)  # a second one, its reach overlapping the first's
RT_PUBLIC = box(X0 + 1700, Y0 + 700, X0 + 1720, Y0 + 720)
RT_PRIVATE = box(X0 + 1200, Y0 + 200, X0 + 1220, Y0 + 220)
CEMETERY = box(X0 + 1400, Y0 + 100, X0 + 1600, Y0 + 300)  # RTH, but no service radius

TRANSFORM = Affine(10.0, 0.0, X0 - 200, 0.0, -10.0, Y0 + 1200)
SHAPE = (140, 240)  # 10 m cells over X0-200..X0+2200, Y0-200..Y0+1200: cells outside the kelurahan too


def kelurahan_abc() -> gpd.GeoDataFrame:
    # deliberately not in code order
    return in_4326([{"kode": CODES["B"], "nama": "Beta", "kecamatan_kode": "99.01.01"},
                    {"kode": CODES["C"], "nama": "Gamma", "kecamatan_kode": "99.01.02"},
                    {"kode": CODES["A"], "nama": "Alpha", "kecamatan_kode": "99.01.01"}], [KEL_B, KEL_C, KEL_A])


def parks_small() -> gpd.GeoDataFrame:
    rows = [{"nama": "RW 1", "kelas": "taman rw", "publik": True},
            {"nama": "RW 2", "kelas": "taman rw", "publik": True},
            {"nama": "RT umum", "kelas": "taman rt", "publik": True},
            {"nama": "RT privat", "kelas": "taman rt", "publik": False},
            {"nama": "Makam", "kelas": "pemakaman", "publik": True}]
    return in_4326(rows, [RW_1, RW_2, RT_PUBLIC, RT_PRIVATE, CEMETERY])


def population_grid() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 6, SHAPE).astype("float64")


def cell_centres() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, cols = np.indices(SHAPE)
    x = X0 - 200 + 10 * (cols + 0.5)
    y = Y0 + 1200 - 10 * (rows + 0.5)
    return x, y, shapely.points(x, y)


def within(pts, geoms, radius) -> np.ndarray:
    return np.min([shapely.distance(pts, g) for g in geoms], axis=0) <= radius


def test_park_coverage_counts_people_by_exact_distance_to_the_park_edge():
    pop = population_grid()
    result = park_coverage(kelurahan_abc(), parks_small(), Raster(pop, TRANSFORM, UTM))

    x, y, pts = cell_centres()
    served_rw = within(pts, [RW_1, RW_2], 1000)
    served_rt = within(pts, [RT_PUBLIC], 300)  # the private one does not count by default
    served = served_rw | served_rt
    assert served_rw.any() and not served_rw.all() and served_rt.any()

    assert list(result["kode"]) == sorted(CODES.values())
    assert result.crs.to_epsg() == 4326
    by = result.set_index("kode")
    for key, poly in (("A", KEL_A), ("B", KEL_B)):
        inside = shapely.contains_xy(poly, x, y)
        people = pop[inside].sum()
        row = by.loc[CODES[key]]
        assert row["population"] == pytest.approx(people)
        assert row["served"] == pytest.approx(pop[inside & served].sum())
        assert row["share_served"] == pytest.approx(pop[inside & served].sum() / people)
        assert row["share_taman_rw"] == pytest.approx(pop[inside & served_rw].sum() / people)
        assert row["share_taman_rt"] == pytest.approx(pop[inside & served_rt].sum() / people)
        assert row["share_taman_kelurahan"] == 0
        assert row["underserved"] == (pop[inside & served].sum() / people < 0.5)
        assert utm_area(row["geometry"]) == pytest.approx(poly.area)
    # B is reached by A's RW park across the border (distance to the edge, not to the centroid)
    assert by.loc[CODES["B"], "share_taman_rw"] > 0
    # C has no people: shares are 0, not NaN, and only people inside a kelurahan make the city total
    assert by.loc[CODES["C"], "population"] == 0 and by.loc[CODES["C"], "share_served"] == 0
    city_pop = pop[shapely.contains_xy(KEL_A, x, y) | shapely.contains_xy(KEL_B, x, y)].sum()
    assert city_pop < pop.sum()
    assert result.attrs["city"]["population"] == pytest.approx(city_pop)
    assert result.attrs["city"]["served"] == pytest.approx(result["served"].sum())
    assert result.attrs["source"] == PARK_STANDARDS_SOURCE
    assert result.attrs["radii_m"]["taman rw"] == 1000


def test_park_coverage_columns_follow_the_standards():
    result = park_coverage(kelurahan_abc(), parks_small(), Raster(population_grid(), TRANSFORM, UTM))
    shares = [f"share_{k.replace(' ', '_')}" for k, v in PARK_STANDARDS.items() if v.radius_m]
    assert list(result.columns) == ["kode", "nama", "kecamatan_kode", "population", "served", "share_served",
                                    *shares, "underserved", "geometry"]
    assert "share_pemakaman" not in result.columns
    assert result["underserved"].dtype == bool


def test_served_people_are_the_cells_within_the_radius_of_a_corner_park():
    ones = np.ones(SHAPE)
    parks = in_4326([{"nama": "RW", "kelas": "taman rw", "publik": True}], [RW_1])
    result = park_coverage(kelurahan_abc(), parks, Raster(ones, TRANSFORM, UTM)).set_index("kode")
    x, y, pts = cell_centres()
    in_a = shapely.contains_xy(KEL_A, x, y)
    near = shapely.distance(pts, RW_1) <= 1000
    assert result.loc[CODES["A"], "population"] == in_a.sum() == 10_000
    assert result.loc[CODES["A"], "served"] == (in_a & near).sum()
    assert (in_a & near).sum() < 10_000  # the far corner of A is more than 1 km away


def test_private_parks_and_custom_radii():
    pop = population_grid()
    x, y, pts = cell_centres()
    in_b = shapely.contains_xy(KEL_B, x, y)
    with_private = park_coverage(kelurahan_abc(), parks_small(), Raster(pop, TRANSFORM, UTM),
                                 public_only=False).set_index("kode")
    served = within(pts, [RW_1, RW_2], 1000) | within(pts, [RT_PUBLIC, RT_PRIVATE], 300)
    assert with_private.loc[CODES["B"], "served"] == pytest.approx(pop[in_b & served].sum())

    custom = park_coverage(kelurahan_abc(), parks_small(), Raster(pop, TRANSFORM, UTM), radii_m={"taman rw": 500},
                           underserved_below=0.05).set_index("kode")
    assert [c for c in custom.columns if c.startswith("share_") and c != "share_served"] == ["share_taman_rw"]
    near = within(pts, [RW_1, RW_2], 500)
    share_b = pop[in_b & near].sum() / pop[in_b].sum()
    assert custom.loc[CODES["B"], "share_served"] == pytest.approx(share_b)
    assert custom.loc[CODES["B"], "underserved"] == (share_b < 0.05)


def test_raster_open_reads_band_1_with_nodata_as_zero(tmp_path):
    array = population_grid().astype("float32")
    array[0, :5] = -9999
    path = tmp_path / "pop.tif"
    with rasterio.open(path, "w", driver="GTiff", height=SHAPE[0], width=SHAPE[1], count=1, dtype="float32",
                       crs=f"EPSG:{UTM}", transform=TRANSFORM, nodata=-9999) as ds:
        ds.write(array, 1)
    raster = Raster.open(path)
    assert raster.crs == UTM and raster.transform == TRANSFORM
    assert (raster.array[0, :5] == 0).all()
    assert raster.array.sum() == pytest.approx(array[array != -9999].sum())


# --- RTH ratio -------------------------------------------------------------------------------------------------

KEC_1 = box(X0, Y0, X0 + 1000, Y0 + 1000)  # 100 ha
KEC_2 = box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)  # 100 ha
KEC_3 = box(X0, Y0 + 1000, X0 + 500, Y0 + 1500)  # 25 ha


def kecamatan_123() -> gpd.GeoDataFrame:
    return in_4326([{"kode": "99.01.02", "nama": "Dua"}, {"kode": "99.01.03", "nama": "Tiga"},
                    {"kode": "99.01.01", "nama": "Satu"}], [KEC_2, KEC_3, KEC_1])


def rth_parks() -> gpd.GeoDataFrame:
    spec = [
        ("taman kota", True, box(X0 + 860, Y0, X0 + 1060, Y0 + 500)),  # 10 ha across the border: 7 | 3
        ("taman rw", True, box(X0 + 900, Y0 + 400, X0 + 960, Y0 + 600)),  # 1.2 ha, 0.6 ha over the taman kota
        ("taman rt", False, box(X0 + 1500, Y0 + 500, X0 + 1700, Y0 + 700)),  # 4 ha private
        ("hutan kota", True, box(X0 + 1600, Y0 + 600, X0 + 1800, Y0 + 800)),  # 4 ha, 1 ha over the private one
        ("pemakaman", True, box(X0 + 1200, Y0 + 800, X0 + 1300, Y0 + 900)),  # 1 ha
        ("jalur hijau", True, box(X0, Y0 + 1000, X0 + 250, Y0 + 1320)),  # 8 ha = 32 % of kecamatan 3
        ("taman kota", True, box(X0 + 3000, Y0, X0 + 3100, Y0 + 100)),  # outside every kecamatan
    ]
    return in_4326([{"kelas": k, "publik": p} for k, p, _ in spec], [g for _, _, g in spec])


# Hand arithmetic from the boxes above: (area, rth, public, private) in ha
EXPECTED_RTH = {
    "99.01.01": (100, 7 + 0.6, 7 + 0.6, 0),
    "99.01.02": (100, 3 + 1 + 4 + 3, 3 + 1 + 4, 4 - 1),
    "99.01.03": (25, 8, 8, 0),
}


def test_rth_ratio_splits_border_parks_and_counts_overlaps_once():
    result = rth_ratio(kecamatan_123(), rth_parks())
    assert list(result["kode"]) == ["99.01.01", "99.01.02", "99.01.03", "kota"]
    assert result.crs.to_epsg() == 4326
    by = result.set_index("kode")
    for kode, (area, rth, public, private) in EXPECTED_RTH.items():
        row = by.loc[kode]
        assert row["area_ha"] == pytest.approx(area, rel=1e-7)
        assert row["rth_ha"] == pytest.approx(rth, rel=1e-6)
        assert row["rth_public_ha"] == pytest.approx(public, rel=1e-6)
        assert row["rth_private_ha"] == pytest.approx(private, abs=1e-6)
        assert row["share_total"] == pytest.approx(rth / area, rel=1e-6)
        assert row["share_public"] == pytest.approx(public / area, rel=1e-6)
        assert row["meets_total"] == (rth / area >= 0.30)
        assert row["meets_public"] == (public / area >= 0.20)
        assert row["deficit_total_ha"] == pytest.approx(max(0.0, 0.30 * area - rth), abs=1e-6)
        assert row["deficit_public_ha"] == pytest.approx(max(0.0, 0.20 * area - public), abs=1e-6)
    assert by.loc["99.01.03", "meets_total"] and not by.loc["99.01.01", "meets_total"]

    city = by.loc["kota"]
    area, rth, public, private = (sum(v[i] for v in EXPECTED_RTH.values()) for i in range(4))
    assert (city["area_ha"], city["rth_public_ha"]) == (pytest.approx(area), pytest.approx(public, rel=1e-6))
    assert city["rth_ha"] == pytest.approx(rth, rel=1e-6) and city["rth_private_ha"] == pytest.approx(private)
    assert city["deficit_total_ha"] == pytest.approx(0.30 * area - rth, rel=1e-6)
    assert city["deficit_public_ha"] == pytest.approx(0.20 * area - public, rel=1e-6)
    assert utm_area(city["geometry"]) / 1e4 == pytest.approx(area)
    assert result.attrs["targets"] == {"total": 0.30, "public": 0.20}
    assert result.attrs["sources"] == {"total": RTH_TOTAL_SHARE.source, "public": RTH_PUBLIC_SHARE.source}


def test_rth_ratio_targets_and_the_named_city():
    city = in_4326([{"kode": "99.01", "nama": "Kota Uji"}], [shapely.union_all([KEC_1, KEC_2, KEC_3])])
    result = rth_ratio(kecamatan_123(), rth_parks(), city=city, total_target=0.10, public_target=0.05)
    by = result.set_index("kode")
    assert list(result["kode"])[-1] == "99.01" and by.loc["99.01", "nama"] == "Kota Uji"
    assert by.loc["99.01", "area_ha"] == pytest.approx(225)
    # 11 % of Dua is RTH: it meets a 10 % target; Satu's 7.6 % does not, 2.4 ha short
    assert by.loc["99.01.02", "meets_total"] and not by.loc["99.01.01", "meets_total"]
    assert by.loc["99.01.01", "deficit_total_ha"] == pytest.approx(10 - 7.6, rel=1e-6)
    assert by.loc["99.01.02", "deficit_total_ha"] == 0
    assert by.loc["99.01.02", "meets_public"] and by.loc["99.01.02", "deficit_public_ha"] == 0


# --- business centres ------------------------------------------------------------------------------------------

KEL_1, KEL_2, KEL_3 = (box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(3))
K1, K2, K3 = "99.01.01.1001", "99.01.01.1002", "99.01.02.1001"


def kelurahan_123() -> gpd.GeoDataFrame:
    return in_4326([{"kode": K3, "nama": "Gamma", "kecamatan_kode": "99.01.02"},
                    {"kode": K1, "nama": "Alpha", "kecamatan_kode": "99.01.01"},
                    {"kode": K2, "nama": "Beta", "kecamatan_kode": "99.01.01"}], [KEL_3, KEL_1, KEL_2])


CENTRES = [  # (declared kelurahan, UMKM, status, location)
    (K1, 30, "active", Point(X0 + 200, Y0 + 200)),
    (None, 50, "planned", Point(X0 + 700, Y0 + 700)),  # no code: Alpha by location
    ("99.99.99.9999", 20, "planned", Point(X0 + 2500, Y0 + 300)),  # unknown code: Gamma by location
    (K3, 10, "inactive", Point(X0 + 1900, Y0 + 900)),  # stands in Beta but is declared Gamma's
]


def centres() -> gpd.GeoDataFrame:
    rows = [{"nama": f"Sentra {i}", "kelurahan_kode": k, "jumlah_umkm": u, "status": s}
            for i, (k, u, s, _) in enumerate(CENTRES)]
    return in_4326(rows, [p for *_, p in CENTRES])


def nearest_m(poly, points) -> float:
    rep = poly.representative_point()
    return min(rep.distance(p) for p in points)


def test_business_centres_per_kelurahan_and_the_gap_list():
    result = business_center_coverage(kelurahan_123(), centres())
    assert list(result["kode"]) == [K1, K2, K3]
    assert list(result.columns) == ["kode", "nama", "kecamatan_kode", "n_centres", "n_active", "n_planned",
                                    "n_inactive", "umkm", "umkm_per_centre", "has_centre", "gap", "nearest_centre_m",
                                    "geometry"]
    by = result.set_index("kode")
    assert list(by["n_centres"]) == [2, 0, 2]
    assert list(by["umkm"]) == [30 + 50, 0, 20 + 10]
    assert by.loc[K1, "umkm_per_centre"] == 40 and by.loc[K3, "umkm_per_centre"] == 15
    assert math.isnan(by.loc[K2, "umkm_per_centre"])
    assert list(by["gap"]) == [False, True, False] and list(by["has_centre"]) == [True, False, True]
    points = [p for *_, p in CENTRES]
    for kode, poly in ((K1, KEL_1), (K2, KEL_2), (K3, KEL_3)):
        assert by.loc[kode, "nearest_centre_m"] == pytest.approx(nearest_m(poly, points), abs=0.01)
    assert result.attrs["gap_list"] == ["Beta"]
    assert result.attrs["kecamatan"] == [
        {"kecamatan_kode": "99.01.01", "kelurahan": 2, "with_centre": 1, "umkm": 80},
        {"kecamatan_kode": "99.01.02", "kelurahan": 1, "with_centre": 1, "umkm": 30},
    ]


def test_business_centres_active_only():
    result = business_center_coverage(kelurahan_123(), centres(), active_only=True)
    by = result.set_index("kode")
    assert list(by["n_centres"]) == [1, 0, 0] and list(by["umkm"]) == [30, 0, 0]
    assert result.attrs["gap_list"] == ["Beta", "Gamma"]
    # the others are shown per status where they are (declared code, else location), not counted as coverage
    assert list(by["n_active"]) == [1, 0, 0] and list(by["n_planned"]) == [1, 0, 1]
    assert list(by["n_inactive"]) == [0, 0, 1]
    active = [p for _, _, s, p in CENTRES if s == "active"]
    assert by.loc[K3, "nearest_centre_m"] == pytest.approx(nearest_m(KEL_3, active), abs=0.01)


def test_suggest_next_centres_ranks_by_population_then_distance():
    kel = [box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(5)]
    codes = [f"99.01.01.100{i}" for i in range(5)]
    names = ["Satu", "Dua", "Tiga", "Empat", "Lima"]
    rows = [{"kode": c, "nama": n, "kecamatan_kode": "99.01.01"} for c, n in zip(codes, names, strict=True)]
    kelurahan = in_4326(rows, kel)
    one = in_4326([{"nama": "Sentra", "kelurahan_kode": codes[0], "jumlah_umkm": 5, "status": "active"}],
                  [Point(X0 + 500, Y0 + 500)])
    coverage = business_center_coverage(kelurahan, one)

    # codes[i] lies i km from the centre; Empat and Dua tie on people, Empat is farther; Lima's count is unknown
    ranked = suggest_next_centres(coverage, {codes[1]: 12_345, codes[2]: 500, codes[3]: 12_345}, n=3)
    assert list(ranked["nama"]) == ["Empat", "Dua", "Tiga"]
    assert list(ranked["rank"]) == [1, 2, 3]
    assert ranked["reason"].iloc[0] == "Belum ada sentra; penduduk 12.345; sentra terdekat 3,0 km"
    assert ranked["reason"].iloc[2] == "Belum ada sentra; penduduk 500; sentra terdekat 2,0 km"
    assert ranked.crs.to_epsg() == 4326

    by_distance = suggest_next_centres(coverage)
    assert list(by_distance["nama"]) == ["Lima", "Empat", "Tiga", "Dua"]  # only the 4 gaps, farthest first
    assert by_distance["reason"].iloc[-1] == "Belum ada sentra; sentra terdekat 1,0 km"


# --- the sample city -------------------------------------------------------------------------------------------

def test_coverage_of_the_sample_city(engine, settings):
    with engine.connect() as conn:
        kelurahan, kecamatan, parks, centers = (read_layer(conn, layer) for layer in
                                                ("kelurahan", "kecamatan", "parks", "business_centers"))
        kota = read_layer(conn, "kota")
        no_centre = sorted(conn.execute(text(
            "SELECT nama FROM kelurahan k WHERE NOT EXISTS "
            "(SELECT 1 FROM business_centers b WHERE b.kelurahan_kode = k.kode)")).scalars())
        umkm = dict(conn.execute(text(
            "SELECT kelurahan_kode, sum(jumlah_umkm) FROM business_centers GROUP BY 1")).all())
        rth_sql = {r.kode: r for r in conn.execute(text(
            "SELECT k.kode, ST_Area(ST_Transform(ST_Intersection(k.geom, a.g), 32647)) / 1e4 AS rth, "
            "ST_Area(ST_Transform(ST_Intersection(k.geom, p.g), 32647)) / 1e4 AS pub FROM kecamatan k, "
            "(SELECT ST_Union(geom) g FROM parks) a, (SELECT ST_Union(geom) g FROM parks WHERE publik) p"))}
    raster = Raster.open(settings.data_dir / "rasters/population.tif")
    assert raster.array.shape == (1700, 1199)  # 1199 columns x 1700 rows

    pc = park_coverage(kelurahan, parks, raster)
    assert len(pc) == 37 and list(pc["kode"]) == sorted(kelurahan["kode"])
    assert pc["population"].sum() == pytest.approx(raster.array.sum(), rel=0.005)
    assert ((pc["share_served"] >= 0) & (pc["share_served"] <= 1)).all()

    # One kelurahan checked pixel by pixel with shapely: people by centre, and who is within 1 km of a taman RW.
    # The real boundaries overlap by slivers; a centre in such a sliver goes to one kelurahan only, so the
    # result lies between Tunggurono's own centres and all centres it shares with a neighbour.
    by_kode = kelurahan.set_index("kode").geometry.to_crs(UTM)
    tunggurono, others = by_kode.loc["12.75.04.1005"], by_kode.drop("12.75.04.1005").union_all()
    rows, cols = np.indices(raster.array.shape)
    x, y = raster.transform * (cols + 0.5, rows + 0.5)
    inside = shapely.contains_xy(tunggurono, x, y)
    x, y, people = x[inside], y[inside], raster.array[inside]
    shared = shapely.contains_xy(others, x, y)
    assert shared.sum() < 0.001 * shared.size  # slivers, not a misplaced boundary
    rw = parks[(parks["kelas"] == "taman rw") & parks["publik"]].to_crs(UTM).union_all()
    near = shapely.distance(shapely.points(x, y), rw) <= 1000
    assert 0 < near.sum() < near.size
    row = pc.set_index("kode").loc["12.75.04.1005"]
    eps = 1e-6
    assert people[~shared].sum() - eps <= row["population"] <= people.sum() + eps
    served_rw = row["share_taman_rw"] * row["population"]
    assert people[near & ~shared].sum() - eps <= served_rw <= people[near].sum() + eps

    rth = rth_ratio(kecamatan, parks)
    assert len(rth) == 6 and rth["kode"].iloc[-1] == "kota"
    assert rth["area_ha"].iloc[-1] == pytest.approx(kota["area_ha"].iloc[0], rel=0.005)
    for r in rth.iloc[:-1].itertuples():
        assert r.rth_ha == pytest.approx(rth_sql[r.kode].rth, rel=1e-6)
        assert r.rth_public_ha == pytest.approx(rth_sql[r.kode].pub, rel=1e-6)
    named = rth_ratio(kecamatan, parks, city=kota)
    assert (named["kode"].iloc[-1], named["nama"].iloc[-1]) == ("12.75", "Kota Binjai")
    assert named["area_ha"].iloc[-1] == pytest.approx(kota["area_ha"].iloc[0], rel=1e-3)

    bc = business_center_coverage(kelurahan, centers)
    assert len(bc) == 37 and bc.attrs["gap_list"] == no_centre and no_centre
    assert dict(zip(bc["kode"], bc["umkm"], strict=True)) == {k: umkm.get(k, 0) for k in bc["kode"]}
    assert sum(k["kelurahan"] for k in bc.attrs["kecamatan"]) == 37
    suggestions = suggest_next_centres(bc, dict(zip(pc["kode"], pc["population"], strict=True)), n=5)
    assert set(suggestions["nama"]) <= set(no_centre) and len(suggestions) == min(5, len(no_centre))
    assert suggestions["population"].is_monotonic_decreasing
