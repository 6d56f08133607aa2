"""The dashboard at a city's scale: 500 programmes with 2,000 indicator rows, 2,000 progress updates and 2,000
locations (year 2032, OPDs UJI.Sxx, written with set-based SQL and removed afterwards): the dashboard's data
counts every programme once, and the answer kept between requests is the computed one. Its speed is measured
in `make bench` (bench/programmes.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

YEAR, N, OPDS = 2032, 500, 20
LIKE = f"{YEAR}-UJI.S%"


def insert_many(engine) -> None:
    remove_many(engine)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO programmes (kode, kabkota, tahun, kodeskpd, nama_skpd, kodeprogram, nama_program, "
            "kodekegiatan, nama_kegiatan, kodesubkegiatan, nama_subkegiatan, pagu_rp, realisasi_rp, tanggal_mulai, "
            "tanggal_selesai, publik) "
            "SELECT :y || '-UJI.S' || lpad((i % :o)::text, 2, '0') || '-9.' || i, '12.75', :y, "
            "'UJI.S' || lpad((i % :o)::text, 2, '0'), 'Dinas Uji Skala ' || (i % :o), '9.99', 'Program skala', "
            "'9.99.1', 'Kegiatan skala', '9.' || i, 'Subkegiatan skala ' || i, 1000000 + i * 1000, i * 500, "
            "make_date(:y, 1 + i % 6, 1), make_date(:y, 12, 31) - (i % 200), i % 5 <> 0 "
            "FROM generate_series(1, :n) i"), {"y": YEAR, "n": N, "o": OPDS})
        conn.execute(text(
            "INSERT INTO programme_indicators (programme_kode, kode, nama, satuan, periode, batas_periode, target, "
            "realisasi, wilayah_kode, sumber) "
            "SELECT p.kode, 'I1', 'Indikator', 'unit', :y || '-T' || q, make_date(:y, 3 * q, 28), 10 * q, "
            "(p.id + q) % 40, CASE WHEN q = 4 THEN k.kode END, 'laporan' FROM programmes p "
            "CROSS JOIN generate_series(1, 4) q JOIN kecamatan k ON k.kode = '12.75.0' || (1 + p.id % 5) "
            "WHERE p.kode LIKE :l"), {"y": YEAR, "l": LIKE})
        conn.execute(text(
            "INSERT INTO programme_progress (programme_kode, indicator_id, tanggal, realisasi, realisasi_rp, status, "
            "catatan, oleh) SELECT i.programme_kode, i.id, i.batas_periode - 10, i.target * 0.8, 1000 * i.id, "
            "CASE WHEN i.id % 17 = 0 THEN 'terkendala' ELSE 'berjalan' END, 'catatan', 'petugas' "
            "FROM programme_indicators i WHERE i.programme_kode LIKE :l"), {"l": LIKE})
        for layer, geometry in (
                ("programme_points", "ST_GeometryN(ST_GeneratePoints(k.geom, 1, p.id * 4 + s), 1)"),
                ("programme_lines", "ST_Multi(ST_MakeLine(ST_GeometryN(ST_GeneratePoints(k.geom, 2, p.id * 4 + s), "
                                    "1), ST_GeometryN(ST_GeneratePoints(k.geom, 2, p.id * 4 + s), 2)))"),
                ("programme_areas", "ST_Multi(ST_Buffer(ST_GeometryN(ST_GeneratePoints(k.geom, 1, p.id * 4 + s), "
                                    "1)::geography, 60)::geometry)")):
            steps = {"programme_points": "1, 2", "programme_lines": "3", "programme_areas": "4"}[layer]
            conn.execute(text(
                f"INSERT INTO {layer} (programme_kode, nama, kodeskpd, kecamatan_kode, geom) "
                f"SELECT p.kode, 'Lokasi ' || p.id || '.' || s, p.kodeskpd, k.kode, {geometry} FROM programmes p "
                f"CROSS JOIN unnest(ARRAY[{steps}]) s JOIN kecamatan k ON k.kode = '12.75.0' || (1 + (p.id + s) % 5) "
                "WHERE p.kode LIKE :l"), {"l": LIKE})


def remove_many(engine) -> None:
    with engine.begin() as conn:
        for layer in ("programme_points", "programme_lines", "programme_areas"):
            conn.execute(text(f"DELETE FROM {layer} WHERE programme_kode LIKE :l"), {"l": LIKE})
        conn.execute(text("DELETE FROM programmes WHERE kode LIKE :l"), {"l": LIKE})
        conn.execute(text(
            "DELETE FROM feature_history WHERE layer IN ('programmes', 'programme_indicators', 'programme_progress', "
            "'programme_points', 'programme_lines', 'programme_areas') AND coalesce(after, before) ->> "
            "(CASE WHEN layer = 'programmes' THEN 'kode' ELSE 'programme_kode' END) LIKE :l"), {"l": LIKE})


@pytest.fixture(scope="module")
def many(engine):
    insert_many(engine)
    yield
    remove_many(engine)


def test_dashboard_data_for_500_programmes_counts_every_programme_once(http, keys, many):
    """Speed is measured in `make bench` (bench/programmes.py); here the answer at that scale, and that the kept
    answer is the computed one."""
    params = {"city": "12.75", "year": YEAR, "as_of": f"{YEAR}-07-01"}
    headers = {"X-API-Key": keys["analyst"]}
    first = http.get("/dashboard/data", params=params, headers=headers)  # computed; then kept
    body = first.json()
    assert len(body["programmes"]) == N and len(body["locations"]["features"]) == 4 * N
    assert sum(c["programmes"] for c in body["scorecards"]["opd"]) == N
    assert sum(c["indicators"]["met"] + c["indicators"]["behind"] + c["indicators"]["late"]
               for c in body["scorecards"]["opd"]) == 4 * N
    assert set(body["scorecards"]["overall"]["by_status"].values()) != {0}
    again = http.get("/dashboard/data", params=params, headers=headers)
    assert again.status_code == 200 and again.content == first.content
