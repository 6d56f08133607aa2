"""Programmes for the record, API and key tests, inserted with plain SQL (independent of the importer and the
sample) under OPD codes no other test uses, and removed afterwards.

- OPD A: a public programme in kecamatan 12.75.01 (a point there, an indicator targeting a kelurahan of it) and
  a non-public one targeting 12.75.02;
- OPD B: a public programme with an area in kecamatan 12.75.02.
Notes (`catatan`) and reporters (`oleh`) are private values the tests look for."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

OPD_A = "9.91.0.00.0.00.01.0000"
OPD_B = "9.92.0.00.0.00.01.0000"
YEAR = 2026
OPDS = (OPD_A, OPD_B)


@dataclass
class Rows:
    public_a: str  # programme kode
    hidden_a: str
    public_b: str
    ids: dict  # kode -> programme id
    indicators: dict  # kode -> [indicator ids]
    progress: dict  # kode -> [progress ids]
    points: list  # programme_points ids
    areas: list  # programme_areas ids


def _programme(conn, opd: str, sub: str, publik: bool, catatan: str, nama: str) -> tuple[str, int]:
    kode = f"{YEAR}-{opd}-{sub}"
    pid = conn.execute(text(
        "INSERT INTO programmes (kode, kabkota, kodepemda, tahun, kodeskpd, nama_skpd, kodeprogram, nama_program, "
        "kodekegiatan, nama_kegiatan, kodesubkegiatan, nama_subkegiatan, pagu_rp, realisasi_rp, tanggal_mulai, "
        "tanggal_selesai, publik, catatan) VALUES (:kode, '12.75', '12.75', :tahun, :opd, :skpd, '1.03.03', "
        "'Program Penataan Bangunan', '1.03.03.2.01', 'Penataan Ruang Terbuka', :sub, :nama, 500000000, 0, "
        ":mulai, :selesai, :publik, :catatan) RETURNING id"),
        {"kode": kode, "tahun": YEAR, "opd": opd, "skpd": f"Dinas Uji {opd[:4]}", "sub": sub, "nama": nama,
         "mulai": f"{YEAR}-02-01", "selesai": f"{YEAR}-12-15", "publik": publik, "catatan": catatan}).scalar_one()
    return kode, pid


def _indicator(conn, kode: str, ind: str, periode: str, end: str, target: float, wilayah: str | None) -> int:
    return conn.execute(text(
        "INSERT INTO programme_indicators (programme_kode, kode, nama, satuan, periode, batas_periode, target, "
        "realisasi, wilayah_kode) VALUES (:p, :k, :n, 'unit', :per, :end, :t, 0, :w) RETURNING id"),
        {"p": kode, "k": ind, "n": f"Indikator {ind} {kode[-6:]}", "per": periode, "end": end, "t": target,
         "w": wilayah}).scalar_one()


def _progress(conn, kode: str, indicator: int, tanggal: str, value: float, catatan: str, oleh: str) -> int:
    return conn.execute(text(
        "INSERT INTO programme_progress (programme_kode, indicator_id, tanggal, realisasi, realisasi_rp, status, "
        "catatan, oleh) VALUES (:p, :i, :d, :v, 1000000, 'berjalan', :c, :o) RETURNING id"),
        {"p": kode, "i": indicator, "d": tanggal, "v": value, "c": catatan, "o": oleh}).scalar_one()


def _location(conn, table: str, kode: str, opd: str, kecamatan: str, nama: str) -> int:
    """A location in the middle of `kecamatan` (a point, or a 60 m disc), described by its name."""
    geom = ("ST_PointOnSurface(k.geom)" if table == "programme_points"
            else "ST_Multi(ST_Buffer(ST_PointOnSurface(k.geom)::geography, 60)::geometry)")
    return conn.execute(text(
        f"INSERT INTO {table} (programme_kode, nama, kodeskpd, kecamatan_kode, keterangan, geom) "
        f"SELECT :p, :n, :opd, k.kode, 'Keterangan ' || :n, {geom} FROM kecamatan k WHERE k.kode = :kec RETURNING id"),
        {"p": kode, "n": nama, "opd": opd, "kec": kecamatan}).scalar_one()


def insert(engine: Engine) -> Rows:
    remove(engine)
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('petakota.actor', 'uji programmes', true)"))
        a, a_id = _programme(conn, OPD_A, "1.03.03.2.01.0001", True, "Catatan internal Alfa 7781",
                             "Pembangunan taman bermain anak Uji")
        h, h_id = _programme(conn, OPD_A, "1.03.03.2.01.0002", False, "Catatan rahasia Hotel 5523",
                             "Subkegiatan tersembunyi Zulu 4411")
        b, b_id = _programme(conn, OPD_B, "1.03.03.2.01.0003", True, "Catatan internal Bravo 6634",
                             "Pembangunan taman lansia Uji")
        ind = {a: [_indicator(conn, a, "IK1", f"{YEAR}", f"{YEAR}-12-31", 10, "12.75.01.1001"),
                   _indicator(conn, a, "IK2", f"{YEAR}-S1", f"{YEAR}-06-30", 4, None)],
               h: [_indicator(conn, h, "IK1", f"{YEAR}", f"{YEAR}-12-31", 3, "12.75.02")],
               b: [_indicator(conn, b, "IK1", f"{YEAR}", f"{YEAR}-12-31", 2, None)]}
        prog = {a: [_progress(conn, a, ind[a][0], f"{YEAR}-03-01", 2, "Kendala lahan Alfa 8812", "Petugas Alfa Uji"),
                    _progress(conn, a, ind[a][0], f"{YEAR}-04-01", 3, "Lanjut Alfa 8813", "Petugas Alfa Uji")],
                h: [_progress(conn, h, ind[h][0], f"{YEAR}-03-05", 1, "Rahasia Hotel 9921", "Petugas Hotel Uji")],
                b: [_progress(conn, b, ind[b][0], f"{YEAR}-03-07", 1, "Kendala Bravo 7745", "Petugas Bravo Uji")]}
        points = [_location(conn, "programme_points", a, OPD_A, "12.75.01", "Lokasi taman Alfa Uji"),
                  _location(conn, "programme_points", h, OPD_A, "12.75.02", "Lokasi rahasia Hotel Uji")]
        areas = [_location(conn, "programme_areas", b, OPD_B, "12.75.02", "Lokasi taman Bravo Uji")]
    return Rows(a, h, b, {a: a_id, h: h_id, b: b_id}, ind, prog, points, areas)


def remove(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in ("programme_points", "programme_lines", "programme_areas"):
            conn.execute(text(f"DELETE FROM {table} WHERE kodeskpd = ANY(:o) "
                              f"OR programme_kode LIKE ANY(:k)"),
                         {"o": list(OPDS), "k": [f"%-{o}-%" for o in OPDS]})
        conn.execute(text("DELETE FROM programmes WHERE kodeskpd = ANY(:o)"), {"o": list(OPDS)})


def counts(engine: Engine, table: str, public_only: bool) -> int:
    """Rows of `table` (of every programme, or of public ones), counted independently of the API."""
    cond = "p.publik" if public_only else "true"
    join = "" if table == "programmes" else " JOIN programmes p ON p.kode = t.programme_kode"
    alias = "p" if table == "programmes" else "t"
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table} {alias}{join} WHERE {cond}")).scalar_one()
