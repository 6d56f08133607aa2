"""The Binjai sample city. Boundaries are real (data/); every other layer is generated here, deterministically
(fixed seed), plausibly placed (DOMAIN.md: the toll road passes east and north of the city, the Binjai gate
~2 km east of Sumber Mulyorejo, the estate in Tunggurono), and labelled illustrative everywhere it appears.
Geometry is built in the metric CRS and returned in EPSG:4326."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, Point, box
from shapely.ops import unary_union

from layers.sample.assets import sample_assets
from layers.sample.rdtr_plan import flood_prone, itbx_rows, standard_zones

DATA = Path(__file__).parent / "data"
SEED = 1275  # Kemendagri code of Binjai
METRIC = 32647
ESTATE_TARGET_HA = 138.0
ESTATE_SLUG = "kawasan-industri-binjai"
TUNGGURONO = "12.75.04.1005"
UNIT_PRICE_RP_M2 = 70_800  # press reports, 2021 (DOMAIN.md)

# lon/lat waypoints (DOMAIN.md, approximate to ~1 km)
TOLL_MEDAN_BINJAI = [(98.637, 3.638), (98.581, 3.637), (98.542, 3.646)]
TOLL_BINJAI_LANGSA = [(98.542, 3.646), (98.522, 3.672), (98.494, 3.713)]
BINJAI_GATE = (98.542, 3.646)


# Each layer's natural key in the sample: reloading matches features on it, so their ids (and links to them)
# stay the same. Unique in every build (tests/test_sample_city.py checks).
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "kota": ("kode",), "kecamatan": ("kode",), "kelurahan": ("kode",), "zoning": ("kodsbl",),
    "zoning_overlays": ("kode",), "industrial_zones": ("nama",), "parks": ("nama",),
    "business_centers": ("kelurahan_kode",),
    "projects": ("slug",), "project_parcels": ("parcel_id",), "project_milestones": ("project_slug", "nama"),
    "roads": ("nama",), "toll_gates": ("nama",), "rivers": ("nama",), "assets": ("kode_barang", "nup"),
}


@dataclass
class SampleCity:
    kota: gpd.GeoDataFrame
    kecamatan: gpd.GeoDataFrame
    kelurahan: gpd.GeoDataFrame
    layers: dict[str, gpd.GeoDataFrame]  # generated layers, by collection id, in EPSG:4326
    itbx: list[dict]

    def all_layers(self) -> dict[str, gpd.GeoDataFrame]:
        return {"kota": self.kota, "kecamatan": self.kecamatan, "kelurahan": self.kelurahan, **self.layers}


def read_boundaries() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    kota = gpd.read_file(DATA / "kota_binjai.geojson")[["kode", "nama", "geometry"]]
    kota["provinsi_kode"] = "12"
    # The kab/kota level's own facts: a kota, measured in UTM 47N, opening on the city centre.
    kota = kota.assign(jenis="kota", metric_crs=METRIC, center_lon=98.49, center_lat=3.60, zoom=12)
    kec = gpd.read_file(DATA / "kecamatan_binjai.geojson")[["kode", "nama", "kota_kode", "geometry"]]
    kel = gpd.read_file(DATA / "kelurahan_binjai.geojson")[
        ["kode", "nama", "jenis", "kecamatan_kode", "kota_kode", "geometry"]
    ]
    return kota, kec, kel


def _metric(lonlat: list[tuple[float, float]]) -> LineString:
    return gpd.GeoSeries([LineString(lonlat)], crs=4326).to_crs(METRIC).iloc[0]


def _wiggle(line: LineString, rng: np.random.Generator, amplitude: float, step: float = 100.0) -> LineString:
    """Densify a line and offset it sideways by smooth noise (meanders, bends)."""
    n = max(int(line.length / step), 2)
    d = np.linspace(0, line.length, n)
    pts = np.array([line.interpolate(x).coords[0] for x in d])
    tangent = np.gradient(pts, axis=0)
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    phase = rng.uniform(0, 2 * np.pi, 3)
    waves = sum(np.sin(d / wl + ph) for wl, ph in zip((900, 450, 230), phase, strict=False)) / 3
    taper = np.sin(np.linspace(0, np.pi, n)) ** 0.3  # keep the ends in place
    return LineString(pts + normal * (amplitude * waves * taper)[:, None])


def _to_gdf(rows: list[dict], crs: int = METRIC) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).to_crs(4326)
    gdf["geometry"] = gdf.geometry.apply(_valid)
    return gdf


def _valid(geom: shapely.Geometry) -> shapely.Geometry:
    """A polygon valid in EPSG:4326. Reprojecting a thin sliver can fold its ring onto itself (a self-
    intersection where the metric polygon was valid): repair it, keeping only the polygon parts and the type."""
    if geom.is_valid or geom.geom_type not in ("Polygon", "MultiPolygon"):
        return geom
    fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    polys = [g for g in shapely.get_parts(fixed) if g.geom_type == "Polygon" and not g.is_empty]
    if geom.geom_type == "Polygon" and len(polys) == 1:
        return polys[0]
    return shapely.MultiPolygon(polys)


def _network(city: shapely.Geometry, kel: gpd.GeoDataFrame, rng: np.random.Generator):
    centre = kel[kel.kecamatan_kode == "12.75.02"].union_all().centroid
    gate = gpd.GeoSeries([Point(BINJAI_GATE)], crs=4326).to_crs(METRIC).iloc[0]
    minx, miny, maxx, maxy = city.bounds
    roads = [
        {"nama": "Jalan Tol Medan-Binjai", "road_class": "toll", "geometry": _metric(TOLL_MEDAN_BINJAI)},
        {"nama": "Jalan Tol Binjai-Langsa", "road_class": "toll", "geometry": _metric(TOLL_BINJAI_LANGSA)},
        {"nama": "Jl. Soekarno-Hatta", "road_class": "arterial", "geometry": _wiggle(
            LineString([(maxx + 4000, centre.y + 900), (centre.x, centre.y), (minx - 1500, centre.y + 1800)]),
            rng, 60)},
        {"nama": "Jl. Gajah Mada", "road_class": "arterial", "geometry": _wiggle(
            LineString([(gate.x, gate.y), (gate.x - 1200, gate.y - 4200), (centre.x + 900, miny - 800)]),
            rng, 60)},
        {"nama": "Jl. Jamin Ginting", "road_class": "arterial", "geometry": _wiggle(
            LineString([(centre.x, centre.y), (centre.x - 1500, miny - 1000)]), rng, 80)},
    ]
    # Collector roads: a spanning tree over the kelurahan centres, so every kelurahan is reached.
    pts = np.array([(p.x, p.y) for p in kel.geometry.representative_point()])
    linked, edges = {0}, []
    while len(linked) < len(pts):
        best = min(((i, j) for i in linked for j in range(len(pts)) if j not in linked),
                   key=lambda e: np.hypot(*(pts[e[0]] - pts[e[1]])))
        linked.add(best[1])
        edges.append(best)
    for n, (i, j) in enumerate(edges):
        kind = "collector" if n % 3 else "local"
        roads.append({"nama": f"Jalan lingkungan {n + 1}" if kind == "local" else f"Jalan kolektor {n + 1}",
                      "road_class": kind, "geometry": _wiggle(LineString([pts[i], pts[j]]), rng, 25, 50)})
    for r in roads:
        r["geometry"] = MultiLineString([r["geometry"]])

    rivers = []
    for nama, x0, x1, depth, setback in (("Sungai Bingai", centre.x - 1200, centre.x - 300, "3-20m", 15.0),
                                         ("Sungai Mencirim", maxx + 300, maxx - 1400, "<=3m", 10.0)):
        line = _wiggle(LineString([(x0, miny - 1500), (x1, maxy + 1500)]), rng, 250, 60)
        rivers.append({"nama": nama, "depth_class": depth, "embanked": False, "setback_m": setback,
                       "geometry": MultiLineString([line])})
    gates = [{"nama": "Gerbang Tol Binjai", "ruas": "Medan-Binjai / Binjai-Langsa", "geometry": gate}]
    return roads, rivers, gates, centre, gate


def _estate(tunggurono: shapely.Geometry, gate: Point) -> shapely.Geometry:
    """A compact 138 ha site in Tunggurono, as close to the toll gate as the kelurahan allows."""
    inner = tunggurono.buffer(-620)
    if inner.is_empty:
        inner = tunggurono.buffer(-300)
    centre = shapely.ops.nearest_points(inner, gate)[0]
    lo, hi = 500.0, 2000.0
    for _ in range(60):  # bisection on the half-side of a square clipped to the kelurahan
        mid = (lo + hi) / 2
        area = box(centre.x - mid, centre.y - mid, centre.x + mid, centre.y + mid).intersection(tunggurono).area
        lo, hi = (mid, hi) if area < ESTATE_TARGET_HA * 1e4 else (lo, mid)
    half = (lo + hi) / 2
    return box(centre.x - half, centre.y - half, centre.x + half, centre.y + half).intersection(tunggurono)


def _parcels(estate: shapely.Geometry, rng: np.random.Generator) -> list[dict]:
    seeds = shapely.MultiPoint(
        [p for p in shapely.points(rng.uniform(*estate.bounds[::2], 400), rng.uniform(*estate.bounds[1::2], 400))
         if estate.contains(p)][:42]
    )
    cells = shapely.voronoi_polygons(seeds, extend_to=estate.envelope.buffer(100))
    statuses = ["certified", "compensated", "agreed", "negotiating", "identified"]
    first = ["Ahmad", "Siti", "Budi", "Rina", "Sutrisno", "Dewi", "Hendra", "Nurhayati", "Joko", "Lestari",
             "Ucok", "Butet", "Rahmat", "Yusuf", "Maria", "Togar"]
    last = ["Siregar", "Nasution", "Lubis", "Ginting", "Sembiring", "Tarigan", "Harahap", "Situmorang",
            "Hasibuan", "Purba", "Saragih", "Wijaya"]
    rows = []
    for n, cell in enumerate(sorted(cells.geoms, key=lambda c: (-c.centroid.y, c.centroid.x))):
        piece = cell.intersection(estate)
        if piece.is_empty:
            continue
        status = str(rng.choice(statuses, p=[0.2, 0.25, 0.2, 0.2, 0.15]))
        # The road from identification to this status, with dates: loaded as successive edits, so the edit
        # history holds a real acquisition timeline.
        day = date(2021, 6, 1) + timedelta(days=int(rng.integers(0, 200)))
        steps = []
        for step in reversed(statuses[statuses.index(status):]):
            steps.append((step, day))
            day += timedelta(days=int(rng.integers(60, 330)))
        area_m2 = piece.area
        agreed = status in ("agreed", "compensated", "certified")
        rows.append({
            "project_slug": ESTATE_SLUG,
            "parcel_id": f"KIB-{n + 1:03d}",
            "pemilik": f"{rng.choice(first)} {rng.choice(last)}",
            "nik": "127504" + "".join(str(d) for d in rng.integers(0, 10, 10)),
            "status": status,
            "kompensasi_rp": int(round(area_m2 * UNIT_PRICE_RP_M2 * rng.uniform(0.95, 1.15), -3)) if agreed else None,
            "status_date": steps[-1][1],
            "status_steps": steps,
            "geometry": shapely.MultiPolygon([piece]) if piece.geom_type == "Polygon" else piece,
        })
    return rows


def _square(center: Point, area_m2: float) -> shapely.Geometry:
    half = np.sqrt(area_m2) / 2
    return box(center.x - half, center.y - half, center.x + half, center.y + half)


def _parks(kel: gpd.GeoDataFrame, avoid: shapely.Geometry, rng: np.random.Generator) -> list[dict]:
    """Parks in every kecamatan, sized from the SNI minimums (DOMAIN.md), clear of the estate and rivers."""
    rows: list[dict] = []
    taken = avoid

    def place(region: shapely.Geometry, area_m2: float, **attrs) -> None:
        nonlocal taken
        inner = region.buffer(-np.sqrt(area_m2))
        if inner.is_empty:
            inner = region
        for _ in range(200):
            x, y = rng.uniform(inner.bounds[0], inner.bounds[2]), rng.uniform(inner.bounds[1], inner.bounds[3])
            p = Point(x, y)
            shape = _square(p, area_m2)
            if inner.contains(p) and not shape.intersects(taken):
                taken = taken.union(shape.buffer(30))
                rows.append({**attrs, "geometry": shapely.MultiPolygon([shape.intersection(region)])})
                return

    by_kec = kel.dissolve("kecamatan_kode")
    for kec_kode, kec in by_kec.iterrows():
        members = kel[kel.kecamatan_kode == kec_kode]
        big = members.loc[members.area.idxmax()]
        place(kec.geometry, 26_000, nama=f"Taman Kecamatan {big['nama']}", kelas="taman kecamatan", publik=True)
        for kelas, size in (("taman bermain anak", 1_500), ("taman lansia", 2_000)):
            host = members.iloc[int(rng.integers(len(members)))]
            place(host.geometry, size, nama=f"{kelas.title()} {host['nama']}", kelas=kelas, publik=True)
        place(big.geometry, 30_000, nama=f"Pemakaman Umum {big['nama']}", kelas="pemakaman", publik=True)
    for _, k in kel.iterrows():
        if rng.random() < 0.5:
            place(k.geometry, 9_500, nama=f"Taman Kelurahan {k['nama']}", kelas="taman kelurahan", publik=True)
        for i in range(1 + int(k.geometry.area // 1_500_000)):
            place(k.geometry, 1_300, nama=f"Taman RW {i + 1} {k['nama']}", kelas="taman rw", publik=True)
        for i in range(int(rng.integers(1, 4))):
            private = rng.random() < 0.3  # courtyard gardens of housing estates: private RTH
            place(k.geometry, 300, nama=f"Taman RT {i + 1} {k['nama']}", kelas="taman rt", publik=not private)
    centre_kel = kel[kel.kecamatan_kode == "12.75.02"].union_all()
    place(centre_kel.buffer(1500).intersection(kel.union_all()), 150_000, nama="Taman Kota Binjai",
          kelas="taman kota", publik=True)
    south = kel[kel.kecamatan_kode == "12.75.05"].union_all()
    place(south, 120_000, nama="Hutan Kota Binjai", kelas="hutan kota", publik=True)
    for r in rows:
        r["kelurahan_kode"] = kel.geometry.distance(r["geometry"].centroid).pipe(
            lambda d: kel.loc[d.idxmin(), "kode"])
    return rows


def _business_centers(kel: gpd.GeoDataFrame, rng: np.random.Generator) -> list[dict]:
    sectors = ["kuliner", "kerajinan", "fesyen", "agribisnis", "jasa", "otomotif", "rambutan olahan"]
    names = ["Sri", "Agus", "Wati", "Rudi", "Fitri", "Bambang", "Ratna", "Doni", "Yanti", "Irfan"]
    rows = []
    for _, k in kel.iterrows():
        if rng.random() > 0.6:  # about 60 % of kelurahan have a centre: the rest is the Sakasanwira gap
            continue
        p = k.geometry.representative_point()
        shift = rng.normal(0, 80, 2)
        q = Point(p.x + shift[0], p.y + shift[1])
        rows.append({
            "nama": f"Sentra UMKM {k['nama']}",
            "kelurahan_kode": k["kode"],
            "sektor": ", ".join(sorted(rng.choice(sectors, size=int(rng.integers(1, 4)), replace=False))),
            "jumlah_umkm": int(rng.integers(12, 140)),
            "status": str(rng.choice(["active", "active", "active", "planned", "inactive"])),
            "kontak_nama": f"{rng.choice(names)} {rng.choice(['Siregar', 'Lubis', 'Ginting', 'Sinaga'])}",
            "kontak_telepon": "08" + "".join(str(d) for d in rng.integers(0, 10, 10)),
            "geometry": q if k.geometry.contains(q) else p,
        })
    return rows


def _zoning(city, kel, estate, rivers, parks, centre, rng) -> list[dict]:
    """An RDTR-like plan: Voronoi blocks classified by distance to the centre, cut along kelurahan borders,
    with the estate (KPI), river setbacks (PS) and the large parks (RTH) as their own zones."""
    river_setback = unary_union([r["geometry"].buffer(r["setback_m"] * 2) for r in rivers]).intersection(city)
    park_zone_classes = {"taman kota": "RTH-2", "taman kecamatan": "RTH-2", "hutan kota": "RTH-1",
                         "pemakaman": "RTH-7"}
    big_parks = [(p["geometry"], park_zone_classes[p["kelas"]]) for p in parks if p["kelas"] in park_zone_classes]
    reserved = unary_union([estate, river_setback, *[g for g, _ in big_parks]])
    minx, miny, maxx, maxy = city.bounds
    seeds = shapely.MultiPoint(list(shapely.points(rng.uniform(minx, maxx, 260), rng.uniform(miny, maxy, 260))))
    pieces = []
    for cell in shapely.voronoi_polygons(seeds, extend_to=city.envelope).geoms:
        d = cell.centroid.distance(centre)
        r = rng.random()
        if d < 1200:
            code = "K-1" if r < 0.6 else ("KT" if r < 0.8 else "SPU-2")
        elif d < 3000:
            code = "R-2" if r < 0.6 else ("K-2" if r < 0.85 else "SPU-2")
        elif d < 5000:
            code = "R-3" if r < 0.75 else ("I" if r < 0.85 else "P-1")
        else:
            code = "R-4" if r < 0.5 else "P-1"
        pieces.append((cell.difference(reserved), code))
    # The estate, setbacks and parks claim their land first; the blocks take the rest.
    pieces = [(estate, "KPI"), (river_setback, "PS"), *big_parks, *pieces]
    return standard_zones(pieces, kel, area=city, wadmkk="Kota Binjai", centre=centre)


def build() -> SampleCity:
    rng = np.random.default_rng(SEED)
    kota, kec, kel = read_boundaries()
    kel_m = kel.to_crs(METRIC)
    city = kota.to_crs(METRIC).union_all()
    roads, rivers, gates, centre, gate = _network(city, kel_m, rng)
    tunggurono = kel_m[kel_m.kode == TUNGGURONO].geometry.iloc[0]
    estate = _estate(tunggurono, gate)
    parcels = _parcels(estate, rng)
    avoid = unary_union([estate, *[r["geometry"].buffer(r["setback_m"] * 2) for r in rivers]])
    parks = _parks(kel_m, avoid, rng)
    centres = _business_centers(kel_m, rng)
    names = dict(zip(kec.kode, kec.nama, strict=True))
    zoning = _zoning(city, kel_m.assign(kecamatan=kel_m.kecamatan_kode.map(names)), estate, rivers, parks, centre,
                     rng)
    estate_multi = shapely.MultiPolygon([estate]) if estate.geom_type == "Polygon" else estate
    industrial = [
        {"nama": "Kawasan Industri Binjai (rencana)", "status": "planned", "kelurahan_kode": TUNGGURONO,
         "geometry": estate_multi},
    ]
    for z in zoning:
        if z["kodszn"] == "I" and z["geometry"].area > 80_000 and len(industrial) < 4:
            industrial.append({"nama": f"Zona industri {z['kodsbl']}", "status": "existing",
                               "kelurahan_kode": z["kelurahan_kode"], "geometry": z["geometry"]})
    project = [{"slug": ESTATE_SLUG, "nama": "Kawasan Industri Binjai", "target_ha": ESTATE_TARGET_HA,
                "status": "land_acquisition", "kelurahan_kode": TUNGGURONO, "harga_satuan_rp_m2": UNIT_PRICE_RP_M2,
                "geometry": estate_multi}]
    site = estate.representative_point()
    milestones = [
        {"project_slug": ESTATE_SLUG, "nama": nama, "planned_date": planned, "actual_date": actual, "geometry": site}
        for nama, planned, actual in (
            ("Penetapan lokasi", date(2021, 3, 1), date(2021, 4, 15)),
            ("Identifikasi dan inventarisasi bidang", date(2021, 9, 1), date(2021, 11, 20)),
            ("Musyawarah ganti rugi", date(2022, 6, 1), date(2023, 1, 10)),
            ("Pembayaran ganti rugi seluruh bidang", date(2025, 12, 31), None),
            ("Jalan akses 800 m ke gerbang tol", date(2026, 6, 30), None),
            ("Sertifikat HPL kawasan", date(2027, 6, 30), None),
        )
    ]
    # Assets before the parcels: a parcel certified by a reload finds its asset already there (no second one).
    assets = sample_assets(zoning, parks, parcels, kel_m, centre, rng)
    layers = {
        "assets": _to_gdf(assets),
        "zoning": _to_gdf(zoning), "zoning_overlays": _to_gdf(flood_prone([r["geometry"] for r in rivers], city)),
        "industrial_zones": _to_gdf(industrial), "parks": _to_gdf(parks),
        "business_centers": _to_gdf(centres), "projects": _to_gdf(project), "project_parcels": _to_gdf(parcels),
        "project_milestones": _to_gdf(milestones), "roads": _to_gdf(roads), "toll_gates": _to_gdf(gates),
        "rivers": _to_gdf(rivers),
    }
    return SampleCity(kota=kota, kecamatan=kec, kelurahan=kel, layers=layers, itbx=itbx_rows())
