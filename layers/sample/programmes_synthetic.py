"""Synthetic SIPD-style programme files of any size for tests and the benchmark: deterministic (seeded), over a
city's real kelurahan/desa (layers/sample/data), every location a random point, line or polygon inside one of
them. Written in the layout `petakota programmes import` reads (docs/programmes-import.md): a long-form CSV or an
XLSX with the sheets program, indikator and lokasi."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, box

from layers.sample.generate import DATA

# (urusan code, kodeskpd, OPD) of the synthetic city's agencies
AGENCIES = (
    ("1.01", "1.01.0.00.0.00.01.0000", "Dinas Pendidikan"),
    ("1.02", "1.02.0.00.0.00.01.0000", "Dinas Kesehatan"),
    ("1.03", "1.03.0.00.0.00.01.0000", "Dinas Pekerjaan Umum dan Penataan Ruang"),
    ("1.04", "1.04.2.10.0.00.01.0000", "Dinas Perumahan dan Kawasan Permukiman"),
    ("1.06", "1.06.0.00.0.00.01.0000", "Dinas Sosial"),
    ("2.11", "2.11.0.00.0.00.01.0000", "Dinas Lingkungan Hidup"),
    ("2.15", "2.15.0.00.0.00.01.0000", "Dinas Perhubungan"),
    ("2.17", "2.17.0.00.0.00.01.0000", "Dinas Koperasi dan Usaha Kecil Menengah"),
    ("3.31", "3.31.3.30.0.00.01.0000", "Dinas Perindustrian dan Perdagangan"),
    ("5.01", "5.01.0.00.0.00.01.0000", "Badan Perencanaan Pembangunan Daerah"),
)
WORKS = ("Pembangunan", "Rehabilitasi", "Pemeliharaan", "Penyediaan", "Peningkatan")
OBJECTS = ("Jalan Lingkungan", "Saluran Drainase", "Taman", "Gedung Sekolah", "Puskesmas Pembantu",
           "Sarana Persampahan", "Halte", "Sentra UMKM", "Balai Warga", "Penerangan Jalan")
QUARTERS = ("T1", "T2", "T3", "T4")


def city_kelurahan(city: str) -> gpd.GeoDataFrame:
    """The kelurahan/desa of a sample city (Binjai 12.75, Deli Serdang 12.07, Karo 12.06), EPSG:4326."""
    for f in sorted(DATA.glob("*kelurahan_*.geojson")):
        kel = gpd.read_file(f)
        kel = kel[kel.kode.str.startswith(city + ".")]
        if len(kel):
            return kel[["kode", "nama", "kecamatan_kode", "geometry"]].sort_values("kode").reset_index(drop=True)
    raise ValueError(f"no sample kelurahan of city {city}")


def _inside(poly, rng: np.random.Generator) -> Point:
    x0, y0, x1, y1 = poly.bounds
    while True:
        p = Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if poly.contains(p):
            return p


def _shape(poly, kind: int, rng: np.random.Generator):
    """A point, a line or a square inside `poly` (metric CRS)."""
    inner = poly.buffer(-40)
    inner = inner if not inner.is_empty else poly
    while True:
        p = _inside(inner, rng)
        if kind == 0:
            return p
        if kind == 1:
            angle, length = rng.uniform(0, np.pi), rng.uniform(80, 600)
            geom = LineString([(p.x, p.y), (p.x + length * np.cos(angle), p.y + length * np.sin(angle))])
        else:
            half = rng.uniform(15, 60)
            geom = box(p.x - half, p.y - half, p.x + half, p.y + half)
        if poly.contains(geom):
            return geom


def synthetic_tables(n_programmes: int = 500, n_locations: int = 2000, seed: int = 0, city: str = "12.75",
                     year: int = 2026) -> dict[str, pd.DataFrame]:
    """The three tables (program, indikator, lokasi) of a synthetic file."""
    rng = np.random.default_rng(seed)
    kel = city_kelurahan(city)
    metric = kel.estimate_utm_crs()
    kel_m = kel.to_crs(metric)
    kecamatan = sorted(kel.kecamatan_kode.unique())
    programs, indicators, places = [], [], []
    for i in range(n_programmes):
        urusan, skpd, opd = AGENCIES[i % len(AGENCIES)]
        prog = f"{urusan}.{2 + i % 7:02d}"
        keg = f"{prog}.2.{1 + i % 3:02d}"
        work, obj = WORKS[int(rng.integers(len(WORKS)))], OBJECTS[int(rng.integers(len(OBJECTS)))]
        pagu = int(rng.integers(50, 5_000)) * 1_000_000
        start = pd.Timestamp(year, int(rng.integers(1, 5)), 1).date()
        key = {"tahun": year, "kodeskpd": skpd, "kodesubkegiatan": f"{keg}.{i + 1:04d}"}
        programs.append({
            "kodepemda": city, **key, "namaskpd": opd, "kodeprogram": prog, "namaprogram": f"Program {obj}",
            "kodekegiatan": keg, "namakegiatan": f"Pengelolaan {obj}", "namasubkegiatan": f"{work} {obj} {i + 1}",
            "pagu": pagu, "realisasi": int(pagu * rng.uniform(0, 0.9)) // 1000 * 1000,
            "tanggalmulai": start.isoformat(), "tanggalselesai": f"{year}-12-{15 + int(rng.integers(0, 16))}",
            "publik": "ya" if rng.random() < 0.8 else "tidak"})
        periods = [f"{year}-S1", f"{year}-S2"] if i % 2 else [f"{year}-{q}" for q in QUARTERS]
        wilayah = [None] if i % 5 else [kecamatan[int(rng.integers(len(kecamatan)))], None]
        target = float(rng.integers(1, 40))
        for w in wilayah:
            for n, periode in enumerate(periods, start=1):
                indicators.append({**key, "kodeindikator": "IK01", "namaindikator": f"{obj} selesai dikerjakan",
                                   "satuan": "unit", "periode": periode,
                                   "target": round(target * n / len(periods), 2),
                                   "realisasiindikator": round(target * n / len(periods) * rng.uniform(0, 1), 2)
                                   if n == 1 else None, "kodewilayah": w, "sumber": "laporan"})
    owners = np.sort(rng.integers(0, n_programmes, n_locations))
    picks = rng.integers(0, len(kel_m), n_locations)
    kinds = rng.choice(3, n_locations, p=[0.5, 0.25, 0.25])
    geoms = [_shape(kel_m.geometry.iloc[k], int(kind), rng) for k, kind in zip(picks, kinds, strict=True)]
    lonlat = gpd.GeoSeries(geoms, crs=metric).to_crs(4326)
    for j, (owner, geom) in enumerate(zip(owners, lonlat, strict=True)):
        p = programs[owner]
        places.append({"tahun": p["tahun"], "kodeskpd": p["kodeskpd"], "kodesubkegiatan": p["kodesubkegiatan"],
                       "namalokasi": f"Lokasi {j + 1}", "keteranganlokasi": None,
                       "wkt": shapely.to_wkt(geom, rounding_precision=7)})
    return {"program": pd.DataFrame(programs), "indikator": pd.DataFrame(indicators),
            "lokasi": pd.DataFrame(places)}


def write_synthetic_sipd(path, n_programmes: int = 500, n_locations: int = 2000, seed: int = 0,
                         city: str = "12.75", year: int = 2026) -> Path:
    """Write a synthetic programme file of budget year `year`: .csv (long form) or .xlsx (three sheets). Returns
    the path."""
    from gis.data.programmes import long_table

    path = Path(path)
    tables = synthetic_tables(n_programmes, n_locations, seed, city, year)
    if path.suffix.lower() == ".csv":
        long_table(tables).to_csv(path, index=False)
    elif path.suffix.lower() == ".xlsx":
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for name, frame in tables.items():
                frame.to_excel(writer, sheet_name=name, index=False)
    else:
        raise ValueError(f"{path.name}: write .csv or .xlsx")
    return path
