"""The Mebidangro sample region's cities next to Binjai: Kabupaten Deli Serdang (12.07) and Kabupaten Karo (12.06).
Their boundaries are real (data/); their planning layers are generated here, sparse and illustrative (fixed seed per
regency): a few dozen parks near desa centres, business centres in some desa, a coarse zoning plan around the
regency seat, arterial roads between kecamatan centres, rivers, and in Deli Serdang a gate on the Medan-Binjai toll
road. Every name carries the desa or regency code, so natural keys stay unique across the cities held."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, Point, box

from layers.sample.generate import DATA, METRIC, TOLL_MEDAN_BINJAI, _to_gdf, _wiggle
from layers.sample.rdtr_plan import itbx_rows, standard_zones

# Mid-2023 official estimates (BPS, Kabupaten ... Dalam Angka 2024; see data/SOURCES.md).
POPULATION = {"12.07": 2_015_429, "12.06": 420_799}


@dataclass(frozen=True)
class Regency:
    name: str  # file stem in data/
    code: str
    title: str  # WADMKK of its plan
    seat: str  # the kecamatan of the regency seat, where the zoning plan is drawn
    seed: int
    rivers: tuple[str, ...]
    base_m: float  # ground height at the low (north) edge
    rise_m: float  # how much it rises to the south edge
    relief_m: float  # hills and valleys


REGENCIES = {
    "deli_serdang": Regency("deli_serdang", "12.07", "Kabupaten Deli Serdang", "Lubuk Pakam", 1207,
                            ("Sungai Deli", "Sungai Percut", "Sungai Ular"), 0.0, 450.0, 40.0),
    "karo": Regency("karo", "12.06", "Kabupaten Karo", "Kabanjahe", 1206, ("Lau Biang", "Lau Borus"), 900.0, 500.0,
                    180.0),
}
# Deli Serdang's gate on the Medan-Binjai toll road (Semayang, Sunggal), at the road's middle waypoint.
SEMAYANG_GATE = TOLL_MEDAN_BINJAI[1]


@dataclass
class RegionCity:
    regency: Regency
    kota: gpd.GeoDataFrame  # EPSG:4326
    desa: gpd.GeoDataFrame  # EPSG:4326
    layers: dict[str, gpd.GeoDataFrame]  # by collection id, EPSG:4326
    itbx: list[dict]  # its plan's ITBX (the sample's one table)


def _desa(regency: Regency) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    kota = gpd.read_file(DATA / f"kabkota_{regency.name}.geojson")[["kode", "nama", "geometry"]]
    desa = gpd.read_file(DATA / f"desa_kelurahan_{regency.name}.geojson")[
        ["kode", "nama", "jenis", "kecamatan_kode", "kecamatan", "geometry"]]
    return kota, desa.sort_values("kode").reset_index(drop=True)


def _square(centre: Point, area_m2: float) -> shapely.Geometry:
    half = np.sqrt(area_m2) / 2
    return box(centre.x - half, centre.y - half, centre.x + half, centre.y + half)


def _parks(desa: gpd.GeoDataFrame, seat: shapely.Geometry, rng: np.random.Generator) -> list[dict]:
    """A few dozen parks of the declared classes, each next to a desa centre and inside that desa."""
    picks = rng.choice(len(desa), size=min(36, len(desa)), replace=False)
    kinds = (("taman kelurahan", 9_500), ("taman bermain anak", 1_500), ("taman rw", 1_300),
             ("pemakaman", 20_000), ("taman lansia", 2_000))
    rows = []
    for n, i in enumerate(sorted(picks)):
        d = desa.iloc[i]
        kelas, size = kinds[n % len(kinds)]
        centre = d.geometry.representative_point()
        shape = _square(Point(centre.x + rng.normal(0, 60), centre.y + rng.normal(0, 60)), size)
        part = shape.intersection(d.geometry)
        if part.area < size * 0.5:
            continue
        rows.append({"nama": f"{kelas.title()} {d['nama']} ({d['kode']})", "kelas": kelas, "publik": True,
                     "kelurahan_kode": d["kode"], "geometry": _multi(part)})
    hub = seat.representative_point()  # the regency's own park in its seat
    rows.append({"nama": f"Taman Kabupaten {desa.iloc[0]['kode'][:5]}", "kelas": "taman kota", "publik": True,
                 "kelurahan_kode": _desa_at(desa, hub), "geometry": _multi(_square(hub, 40_000).intersection(seat))})
    return rows


def _multi(geom: shapely.Geometry) -> shapely.MultiPolygon:
    polys = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon"]
    return shapely.MultiPolygon(polys)


def _desa_at(desa: gpd.GeoDataFrame, p: Point) -> str:
    return desa.loc[desa.geometry.distance(p).idxmin(), "kode"]


def _business_centers(desa: gpd.GeoDataFrame, rng: np.random.Generator) -> list[dict]:
    """Sentra UMKM in about a fifth of the desa: the rest is the gap business-center-coverage shows."""
    sectors = ["kuliner", "kerajinan", "agribisnis", "jasa", "sayur dan buah", "kopi"]
    rows = []
    for _, d in desa.iterrows():
        if rng.random() > 0.2:
            continue
        rows.append({"nama": f"Sentra UMKM {d['nama']}", "kelurahan_kode": d["kode"],
                     "sektor": ", ".join(sorted(rng.choice(sectors, size=int(rng.integers(1, 3)), replace=False))),
                     "jumlah_umkm": int(rng.integers(8, 90)),
                     "status": str(rng.choice(["active", "active", "planned"])),
                     "kontak_nama": None, "kontak_telepon": None,
                     "geometry": d.geometry.representative_point()})
    return rows


def _zoning(regency: Regency, desa: gpd.GeoDataFrame, seat: shapely.Geometry, city: shapely.Geometry,
            rng) -> list[dict]:
    """A coarse plan of the seat's kecamatan and the desa around it (within 6 km): Voronoi blocks classed by
    distance to the seat, cut along desa borders."""
    centre = seat.representative_point()
    # the desa's outline, without the slivers published boundaries leave between them
    area = shapely.union_all([shapely.Polygon(p.exterior) for p in shapely.get_parts(
        desa[desa.geometry.distance(centre) < 6_000].union_all())]).intersection(city)
    minx, miny, maxx, maxy = area.bounds
    seeds = shapely.MultiPoint(list(shapely.points(rng.uniform(minx, maxx, 60), rng.uniform(miny, maxy, 60))))
    pieces = []
    for cell in shapely.voronoi_polygons(seeds, extend_to=area.envelope).geoms:
        d, r = cell.centroid.distance(centre), rng.random()
        if d < 1500:
            code = "K-2" if r < 0.5 else ("R-2" if r < 0.85 else "SPU-2")
        elif d < 3500:
            code = "R-3" if r < 0.7 else ("I" if r < 0.85 else "SPU-2")
        else:
            code = "P-1" if r < 0.6 else ("R-4" if r < 0.85 else "KPI")
        pieces.append((cell.intersection(area), code))
    near = desa[desa.intersects(area)]
    return standard_zones(pieces, near, area=area, wadmkk=regency.title, centre=centre)


def _network(regency: Regency, city: shapely.Geometry, desa: gpd.GeoDataFrame, seat: shapely.Geometry, rng):
    """Arterials from the seat to each kecamatan centre, clipped to the regency; rivers from the south edge to the
    north edge; the toll gate where the regency has one."""
    hub = seat.representative_point()
    roads = []
    for kec, members in desa.groupby("kecamatan", sort=True):
        target = members.union_all().representative_point()
        if target.distance(hub) < 1_000:
            continue
        line = _wiggle(LineString([hub, target]), rng, 150, 100).intersection(city)
        parts = [g for g in shapely.get_parts(line) if g.geom_type == "LineString" and g.length > 50]
        if parts:
            roads.append({"nama": f"Jalan arteri {regency.code} {regency.seat}-{kec}", "road_class": "arterial",
                          "geometry": MultiLineString(parts)})
    minx, miny, maxx, maxy = city.bounds
    rivers = []
    for n, nama in enumerate(regency.rivers):
        x = minx + (maxx - minx) * (n + 1) / (len(regency.rivers) + 1)
        line = _wiggle(LineString([(x, miny - 1000), (x + rng.normal(0, 3000), maxy + 1000)]), rng, 900, 150)
        parts = [g for g in shapely.get_parts(line.intersection(city)) if g.geom_type == "LineString"]
        rivers.append({"nama": f"{nama} ({regency.code})", "depth_class": "3-20m", "embanked": False,
                       "setback_m": 15.0, "geometry": MultiLineString(parts)})
    gates = []
    if regency.code == "12.07":
        gate = gpd.GeoSeries([Point(SEMAYANG_GATE)], crs=4326).to_crs(METRIC).iloc[0]
        gates.append({"nama": "Gerbang Tol Semayang", "ruas": "Medan-Binjai", "geometry": gate})
    return roads, rivers, gates


def build_region_city(name: str) -> RegionCity:
    """One regency's illustrative layers (deterministic for the same boundary files)."""
    regency = REGENCIES[name]
    rng = np.random.default_rng(regency.seed)
    kota, desa = _desa(regency)
    desa_m = desa.to_crs(METRIC)
    city = kota.to_crs(METRIC).union_all()
    seat = desa_m[desa_m.kecamatan == regency.seat].union_all()
    roads, rivers, gates = _network(regency, city, desa_m, seat, rng)
    layers = {
        "parks": _to_gdf(_parks(desa_m, seat, rng)),
        "business_centers": _to_gdf(_business_centers(desa_m, rng)),
        "zoning": _to_gdf(_zoning(regency, desa_m, seat, city, rng)),
        "roads": _to_gdf(roads), "rivers": _to_gdf(rivers),
    }
    if gates:
        layers["toll_gates"] = _to_gdf(gates)
    return RegionCity(regency=regency, kota=kota, desa=desa, layers=layers, itbx=itbx_rows())
