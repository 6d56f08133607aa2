"""The sample city's regional asset register (illustrative): offices, schools, markets and park land of the city,
and the estate's certified parcels under its HPL. It holds what an asset check must find: land and buildings
with no certificate, one pair of land records over the same ground, and a warehouse in a housing zone whose
ITBX forbids it. Geometry in the metric CRS."""

from __future__ import annotations

from datetime import date

import numpy as np
import shapely
from shapely.geometry import box

LAND, BUILDING = "1.3.1.01", "1.3.3.01"  # kode barang (Permendagri 108/2016: 1.3.1 tanah, 1.3.3 gedung)
ESTATE_HPL = "HPL 01/Tunggurono"
# (name, OPD, use as the ITBX names it, its KBLI or None, sub-zones it sits in, land m2, with a building)
SITES = (
    ("Kantor Wali Kota Binjai", "Sekretariat Daerah", "perkantoran", None, ("KT", "K-1"), 9_000, True),
    ("Kantor Dinas Pendidikan", "Dinas Pendidikan", "perkantoran", None, ("KT", "K-1"), 3_000, True),
    ("Kantor Dinas Kesehatan", "Dinas Kesehatan", "perkantoran", None, ("KT", "K-1"), 3_000, True),
    ("Kantor Bappeda", "Bappeda", "perkantoran", None, ("KT", "K-1"), 2_500, True),
    ("Kantor Dinas PUTR", "Dinas Pekerjaan Umum dan Tata Ruang", "perkantoran", None, ("KT", "K-1"), 4_000, True),
    ("Kantor BPKPAD", "Badan Pengelolaan Keuangan, Pendapatan dan Aset Daerah", "perkantoran", None,
     ("KT", "K-1"), 2_500, False),
    ("SD Negeri 020251", "Dinas Pendidikan", "pendidikan", "85", ("SPU-2", "R-2"), 4_000, True),
    ("SD Negeri 020256", "Dinas Pendidikan", "pendidikan", "85", ("SPU-2", "R-2"), 3_500, True),
    ("SD Negeri 024768", "Dinas Pendidikan", "pendidikan", "85", ("R-2", "R-3"), 3_500, False),
    ("SMP Negeri 1 Binjai", "Dinas Pendidikan", "pendidikan", "85", ("SPU-2", "R-2"), 8_000, True),
    ("SMP Negeri 5 Binjai", "Dinas Pendidikan", "pendidikan", "85", ("R-3",), 7_000, False),
    ("SMP Negeri 9 Binjai", "Dinas Pendidikan", "pendidikan", "85", ("R-3",), 6_000, False),
    ("Pasar Tavip", "Dinas Perdagangan", "perdagangan eceran", "47", ("K-1",), 12_000, True),
    ("Pasar Kebun Lada", "Dinas Perdagangan", "perdagangan eceran", "47", ("K-2",), 6_000, False),
    ("Pasar Brahrang", "Dinas Perdagangan", "perdagangan eceran", "47", ("K-2",), 5_000, False),
    ("Gudang Dinas Perhubungan", "Dinas Perhubungan", "gudang", "52101", ("R-2",), 3_000, True),
)
PARK_CLASSES = ("taman kota", "hutan kota", "taman kecamatan", "pemakaman")
NO_CERTIFICATE = {"SD Negeri 024768", "SMP Negeri 9 Binjai", "Pasar Brahrang", "Kantor BPKPAD"}
STATUS = {"Kantor Dinas PUTR": "idle", "Pasar Brahrang": "sengketa", "SMP Negeri 9 Binjai": "dalam_pengadaan"}
LAND_PRICE_RP_M2 = {"perkantoran": 2_500_000, "pendidikan": 1_200_000, "perdagangan eceran": 3_000_000,
                    "gudang": 900_000, "taman": 600_000, "pemakaman": 400_000, "kawasan industri": 70_800}


def _site(zones: list[dict], codes: tuple[str, ...], area_m2: float, taken: shapely.Geometry, centre):
    """A square of `area_m2` well inside a zone of one of `codes` (nearest the centre first), clear of the
    sites already placed."""
    half = np.sqrt(area_m2) / 2
    candidates = sorted((z for z in zones if z["kodszn"] in codes and z["geometry"].area > 6 * area_m2),
                        key=lambda z: z["geometry"].centroid.distance(centre))
    for zone in candidates:
        inner = zone["geometry"].buffer(-half * 1.5)
        if inner.is_empty:
            continue
        p = inner.representative_point()
        square = box(p.x - half, p.y - half, p.x + half, p.y + half)
        if not square.intersects(taken):
            return square
    raise ValueError(f"no room for a {area_m2:.0f} m2 site in zones {codes}")


def sample_assets(zones: list[dict], parks: list[dict], parcels: list[dict], kel, centre,
                  rng: np.random.Generator) -> list[dict]:
    """Asset rows in the metric CRS (`kel`: kelurahan in the metric CRS, for each asset's kelurahan code)."""
    rows: list[dict] = []
    nup = {LAND: 0, BUILDING: 0}
    taken = shapely.Polygon()

    def add(kib: str, geom, nama: str, **attrs) -> None:
        code = LAND if kib == "A" else BUILDING
        nup[code] += 1
        year = attrs.pop("tahun_perolehan", None) or int(rng.integers(1978, 2020))
        penggunaan = attrs.get("penggunaan")
        price = LAND_PRICE_RP_M2.get(penggunaan, 1_000_000) * (1 if kib == "A" else 2.5)
        rows.append({
            "kib": kib, "kode_barang": code, "nup": f"{nup[code]:05d}",
            "kode_simbada": f"1275.{code}.{nup[code]:05d}", "nama": nama,
            "kelurahan_kode": kel.loc[kel.geometry.distance(geom.centroid).idxmin(), "kode"],
            "tahun_perolehan": year, "nilai_perolehan_rp": float(round(geom.area * price * rng.uniform(0.8, 1.2), -3)),
            "status": "digunakan", "geometry": shapely.MultiPolygon([geom]), **attrs,
        })

    def certificate(nama: str, year: int) -> dict:
        if nama in NO_CERTIFICATE:
            return {"sertifikat_jenis": None, "sertifikat_nomor": None, "sertifikat_tanggal": None}
        issued = date(max(year, 1990) + int(rng.integers(1, 5)), int(rng.integers(1, 13)), int(rng.integers(1, 28)))
        return {"sertifikat_jenis": "SHP", "sertifikat_nomor": f"SHP {int(rng.integers(1, 900)):03d}/{issued.year}",
                "sertifikat_tanggal": issued}

    for nama, opd, use, kbli, codes, area_m2, with_building in SITES:
        land = _site(zones, codes, area_m2, taken, centre)
        taken = taken.union(land.buffer(20))
        year = int(rng.integers(1975, 2015))
        use_attrs = {"opd": opd, "penggunaan": use, "kbli": kbli, "status": STATUS.get(nama, "digunakan")}
        held = certificate(nama, year)  # the building stands on the land's certificate
        add("A", land, f"Tanah {nama}", tahun_perolehan=year, **use_attrs, **held)
        if with_building:
            add("C", land.buffer(-np.sqrt(area_m2) * 0.2), f"Gedung {nama}", tahun_perolehan=year + 2,
                **use_attrs, **held)
        if nama == "Pasar Tavip":
            # a second land record over a corner of the market's land: a double registration to be found
            minx, miny, maxx, maxy = land.bounds
            side = (maxx - minx) * 0.45
            add("A", box(maxx - side, miny - side * 0.4, maxx + side * 0.6, miny + side * 0.6),
                "Tanah parkir Pasar Tavip", opd="Dinas Perhubungan", penggunaan="perdagangan eceran", kbli="47",
                sertifikat_jenis=None, sertifikat_nomor=None, sertifikat_tanggal=None)
    for park in parks:
        if park["kelas"] in PARK_CLASSES:
            year = int(rng.integers(1980, 2015))
            use = "pemakaman" if park["kelas"] == "pemakaman" else "taman"
            add("A", shapely.union_all(shapely.get_parts(park["geometry"])), f"Tanah {park['nama']}",
                opd="Dinas Perumahan, Kawasan Permukiman dan Lingkungan Hidup", penggunaan=use, kbli=None,
                tahun_perolehan=year, **certificate(park["nama"], year))
    for parcel in parcels:
        if parcel["status"] == "certified":
            # the estate's certified parcels under its HPL, as the certification rule registers them
            geom = shapely.union_all(shapely.get_parts(parcel["geometry"]))
            if geom.geom_type != "Polygon":
                continue
            add("A", geom, f"Kawasan Industri Binjai - bidang {parcel['parcel_id']}",
                opd="Dinas Penanaman Modal dan PTSP", penggunaan="kawasan industri", kbli="68130",
                tahun_perolehan=parcel["status_date"].year, sertifikat_jenis="HPL", sertifikat_nomor=ESTATE_HPL,
                sertifikat_tanggal=parcel["status_date"], parcel_id=parcel["parcel_id"])
    return rows
