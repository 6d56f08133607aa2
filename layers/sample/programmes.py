"""The Binjai sample's programmes (illustrative): 25 sub-activities of 2026 across nine OPDs in Permendagri 90/2019
nomenclature, with budgets, indicators per quarter or semester (some per kecamatan) and locations at the sample's
own features, read from the database: the 138 ha industrial estate as one programme monitoring the estate project
(hectares from its parcels), parks, children's playgrounds and elderly parks in the five kecamatan, one active
entrepreneurship centre per kelurahan (Sakasanwira-style, counted from the business centres), roads and drains.
A few are internal (publik = tidak). Progress updates over 2026 make some late, some at risk, some done and one
cancelled. The programmes are written as a SIPD-style file and go through the same import a city uses
(gis/data/sample.load_sample_programmes); write_synthetic_sipd makes large synthetic files."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from layers.programmes import programme_kode
from layers.sample.generate import ESTATE_SLUG, ESTATE_TARGET_HA, METRIC
from layers.sample.programmes_synthetic import synthetic_tables, write_synthetic_sipd

__all__ = ["PROGRESS", "sample_tables", "synthetic_tables", "write_synthetic_sipd"]

YEAR = 2026
OPD = {  # kodeskpd -> name
    "1.01.0.00.0.00.01.0000": "Dinas Pendidikan",
    "1.02.0.00.0.00.01.0000": "Dinas Kesehatan",
    "1.03.0.00.0.00.01.0000": "Dinas Pekerjaan Umum dan Penataan Ruang",
    "1.04.2.11.0.00.01.0000": "Dinas Perumahan, Kawasan Permukiman dan Lingkungan Hidup",
    "1.06.0.00.0.00.01.0000": "Dinas Sosial",
    "2.15.0.00.0.00.01.0000": "Dinas Perhubungan",
    "2.17.0.00.0.00.01.0000": "Dinas Koperasi, Usaha Kecil dan Menengah",
    "2.18.0.00.0.00.01.0000": "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
    "5.01.0.00.0.00.01.0000": "Badan Perencanaan Pembangunan, Riset dan Inovasi Daerah",
}
PROGRAM = {
    "1.01.02": "Program Pengelolaan Pendidikan",
    "1.02.02": "Program Pemenuhan Upaya Kesehatan Perorangan dan Upaya Kesehatan Masyarakat",
    "1.03.03": "Program Pengelolaan Sumber Daya Air (SDA)",
    "1.03.05": "Program Pengelolaan dan Pengembangan Sistem Drainase",
    "1.03.10": "Program Penyelenggaraan Jalan",
    "1.03.12": "Program Penyelenggaraan Penataan Ruang",
    "1.04.05": "Program Peningkatan Prasarana, Sarana dan Utilitas Umum (PSU)",
    "1.06.04": "Program Rehabilitasi Sosial",
    "2.11.09": "Program Pengelolaan Keanekaragaman Hayati (KEHATI)",
    "2.11.11": "Program Pengelolaan Persampahan",
    "2.15.02": "Program Penyelenggaraan Lalu Lintas dan Angkutan Jalan (LLAJ)",
    "2.17.07": "Program Pemberdayaan Usaha Menengah, Usaha Kecil, dan Usaha Mikro (UMKM)",
    "2.17.08": "Program Pengembangan UMKM",
    "2.18.02": "Program Pengembangan Iklim Penanaman Modal",
    "2.18.05": "Program Pelayanan Penanaman Modal",
    "5.01.02": "Program Perencanaan, Pengendalian dan Evaluasi Pembangunan Daerah",
}
KEGIATAN = {
    "1.01.02.2.02": "Pengelolaan Pendidikan Sekolah Dasar",
    "1.01.02.2.03": "Pengelolaan Pendidikan Sekolah Menengah Pertama",
    "1.02.02.2.01": "Penyediaan Fasilitas Pelayanan Kesehatan untuk UKM dan UKP Kewenangan Daerah Kabupaten/Kota",
    "1.02.02.2.02": "Penyediaan Layanan Kesehatan untuk UKM dan UKP Rujukan Tingkat Daerah Kabupaten/Kota",
    "1.03.03.2.01": "Pengelolaan SDA dan Bangunan Pengaman Pantai pada Wilayah Sungai (WS) dalam 1 (satu) Daerah "
                    "Kabupaten/Kota",
    "1.03.05.2.01": "Pengelolaan dan Pengembangan Sistem Drainase yang Terhubung Langsung dengan Sungai dalam "
                    "Daerah Kabupaten/Kota",
    "1.03.10.2.01": "Penyelenggaraan Jalan Kabupaten/Kota",
    "1.03.12.2.01": "Penetapan Rencana Tata Ruang Wilayah (RTRW) dan Rencana Rinci Tata Ruang (RRTR) "
                    "Kabupaten/Kota",
    "1.04.05.2.01": "Urusan Penyelenggaraan PSU Perumahan",
    "1.06.04.2.02": "Rehabilitasi Sosial Dasar Penyandang Disabilitas Terlantar, Anak Terlantar, Lanjut Usia "
                    "Terlantar, serta Gelandangan Pengemis di Luar Panti Sosial",
    "2.11.09.2.01": "Pengelolaan Taman Keanekaragaman Hayati di Luar Kawasan Hutan",
    "2.11.11.2.01": "Pengelolaan Sampah",
    "2.15.02.2.01": "Penyediaan Perlengkapan Jalan di Jalan Kabupaten/Kota",
    "2.17.07.2.01": "Pemberdayaan Usaha Mikro yang Dilakukan Melalui Pendataan, Kemitraan, Kemudahan Perizinan, "
                    "Penguatan Kelembagaan dan Koordinasi dengan Para Pemangku Kepentingan",
    "2.17.08.2.01": "Pengembangan Usaha Mikro dengan Orientasi Peningkatan Skala Usaha Menjadi Usaha Kecil",
    "2.18.02.2.01": "Penetapan Pemberian Fasilitas/Insentif di Bidang Penanaman Modal yang Menjadi Kewenangan "
                    "Daerah Kabupaten/Kota",
    "2.18.05.2.01": "Pelayanan Perizinan dan Nonperizinan secara Terpadu Satu Pintu di Bidang Penanaman Modal",
    "5.01.02.2.01": "Penyusunan Perencanaan dan Pendanaan",
    "5.01.02.2.02": "Analisis Data dan Informasi Perencanaan Pembangunan Daerah",
}
# (kodesubkegiatan, name, kodeskpd, pagu (million Rp), spent (million Rp), start, end, public,
#  (indicator kode, name, unit, periods, sumber, per_kecamatan), locations key)
Q, S, A = ("T1", "T2", "T3", "T4"), ("S1", "S2"), ("",)
SUBS = (
    ("2.18.02.2.01.0003", "Pengadaan Tanah Kawasan Industri Binjai", "2.18", 25_000, 11_400, "01-05", "12-20",
     True, ("IK-01", "Luas lahan kawasan industri dibebaskan", "ha", S, "project_parcels", False), "estate"),
    ("2.18.05.2.01.0002", "Penyediaan Pelayanan Perizinan Berusaha Terintegrasi Secara Elektronik (OSS)", "2.18",
     850, 610, "01-02", "12-31", False, ("IK-01", "Perizinan berusaha diterbitkan", "dokumen", Q, "laporan",
                                         False), None),
    ("1.04.05.2.01.0011", "Revitalisasi Taman Kecamatan", "1.04", 4_200, 2_350, "02-01", "11-30", True,
     ("IK-01", "Taman kecamatan direvitalisasi", "taman", S, "laporan", True), "taman kecamatan"),
    ("1.04.05.2.01.0012", "Pembangunan Taman Bermain Anak", "1.04", 1_500, 1_020, "03-01", "10-31", True,
     ("IK-01", "Taman bermain anak terbangun", "taman", S, "laporan", True), "taman bermain anak"),
    ("1.04.05.2.01.0013", "Pembangunan Taman Lansia", "1.04", 1_750, 640, "03-01", "11-30", True,
     ("IK-01", "Taman lansia terbangun", "taman", S, "laporan", True), "taman lansia"),
    ("2.11.09.2.01.0004", "Pemeliharaan Taman Kota dan Hutan Kota", "1.04", 900, 530, "01-02", "12-31", True,
     ("IK-01", "Luas RTH publik dipelihara", "ha", Q, "laporan", False), "city parks"),
    ("2.11.11.2.01.0007", "Penanganan Sampah di Kecamatan", "1.04", 6_300, 4_700, "01-02", "12-31", True,
     ("IK-01", "Sampah terangkut ke TPA", "ton", Q, "laporan", True), None),
    ("2.17.07.2.01.0005", "Satu Kelurahan Satu Sentra Kewirausahaan (Sakasanwira)", "2.17", 3_700, 1_900,
     "01-15", "12-15", True, ("IK-01", "Kelurahan dengan sentra kewirausahaan aktif", "kelurahan", A,
                              "business_centers", True), "business centres"),
    ("2.17.07.2.01.0001", "Pendataan UMKM per Kecamatan", "2.17", 450, 300, "01-15", "09-30", True,
     ("IK-01", "UMKM terdata", "unit usaha", S, "laporan", True), None),
    ("2.17.08.2.01.0003", "Pelatihan Kewirausahaan Pemuda", "2.17", 600, 0, "04-01", "10-31", True,
     ("IK-01", "Peserta pelatihan", "orang", S, "laporan", False), None),
    ("1.03.10.2.01.0018", "Rehabilitasi Jalan", "1.03", 12_500, 7_800, "02-01", "11-30", True,
     ("IK-01", "Panjang jalan direhabilitasi", "km", Q, "laporan", False), "rehab roads"),
    ("1.03.10.2.01.0023", "Pemeliharaan Rutin Jalan", "1.03", 3_200, 2_400, "01-02", "12-31", True,
     ("IK-01", "Panjang jalan dipelihara", "km", Q, "laporan", False), "maintained roads"),
    ("1.03.10.2.01.0001", "Pembangunan Jalan Akses Kawasan Industri", "1.03", 8_000, 2_100, "01-15", "06-30",
     True, ("IK-01", "Panjang jalan akses terbangun", "km", S[:1], "laporan", False), "access road"),
    ("1.03.05.2.01.0004", "Pembangunan Sistem Drainase Perkotaan", "1.03", 5_400, 1_600, "03-01", "11-30", True,
     ("IK-01", "Panjang saluran drainase terbangun", "m", Q, "laporan", False), "drains"),
    ("1.03.03.2.01.0009", "Normalisasi Sungai Bingai", "1.03", 2_800, 2_650, "02-01", "08-31", True,
     ("IK-01", "Panjang sungai dinormalisasi", "km", S, "laporan", False), "river"),
    ("1.03.12.2.01.0002", "Penyusunan Revisi Rencana Detail Tata Ruang (RDTR)", "1.03", 1_200, 380, "02-01",
     "12-15", False, ("IK-01", "Dokumen RDTR tersusun", "dokumen", A, "laporan", False), None),
    ("1.02.02.2.01.0014", "Rehabilitasi dan Pemeliharaan Puskesmas", "1.02", 3_900, 2_900, "02-01", "10-31",
     True, ("IK-01", "Puskesmas direhabilitasi", "unit", S, "laporan", False), "puskesmas"),
    ("1.02.02.2.02.0020", "Pengelolaan Pelayanan Imunisasi", "1.02", 700, 520, "01-02", "12-31", True,
     ("IK-01", "Cakupan imunisasi dasar lengkap", "%", Q, "laporan", True), None),
    ("1.01.02.2.02.0009", "Rehabilitasi Sedang/Berat Ruang Kelas Sekolah Dasar", "1.01", 2_600, 2_450, "02-01",
     "09-30", True, ("IK-01", "Ruang kelas direhabilitasi", "ruang", S, "laporan", False), "SD"),
    ("1.01.02.2.03.0005", "Pembangunan Laboratorium SMP Negeri 1 Binjai", "1.01", 1_100, 1_080, "02-01",
     "08-31", True, ("IK-01", "Laboratorium terbangun", "unit", S, "laporan", False), "SMP"),
    ("2.15.02.2.01.0004", "Pengadaan dan Pemasangan Penerangan Jalan Umum", "2.15", 1_800, 900, "03-01",
     "11-30", True, ("IK-01", "Titik PJU terpasang", "titik", Q, "laporan", False), "street lights"),
    ("2.15.02.2.01.0007", "Pembangunan Halte Angkutan Umum", "2.15", 650, 120, "05-01", "11-30", True,
     ("IK-01", "Halte terbangun", "unit", S, "laporan", False), "bus stops"),
    ("1.06.04.2.02.0006", "Penyediaan Permakanan bagi Lanjut Usia Terlantar", "1.06", 950, 700, "01-02",
     "12-31", False, ("IK-01", "Lansia terlantar menerima permakanan", "orang", Q, "laporan", True), None),
    ("5.01.02.2.01.0005", "Penyusunan Dokumen RKPD 2027", "5.01", 400, 310, "01-02", "06-30", False,
     ("IK-01", "Dokumen RKPD ditetapkan", "dokumen", S[:1], "laporan", False), None),
    ("5.01.02.2.02.0003", "Pengembangan Command Center dan Satu Data Kota Binjai", "5.01", 1_300, 700, "02-01",
     "12-15", True, ("IK-01", "Aplikasi OPD terintegrasi", "aplikasi", S, "laporan", False), None),
)
# Progress updates: (sub, periode, kecamatan or None, date, cumulative realisation or None, spent (million Rp) or
# None, status, note, who)
PROGRESS = (
    ("2.18.02.2.01.0003", None, None, "04-15", None, 4_300, "berjalan", "Pembayaran ganti rugi tahap I",
     "PPTK DPMPTSP"),
    ("2.18.02.2.01.0003", None, None, "09-30", None, 11_400, "terkendala", "Sebagian pemilik menolak nilai "
     "ganti rugi; konsinyasi ke pengadilan", "Kepala Bidang Penanaman Modal"),
    ("1.04.05.2.01.0011", "S1", None, "06-28", 1, 1_100, "berjalan", "Taman Kecamatan Binjai Kota selesai",
     "PPTK Dinas Perkim LH"),
    ("1.04.05.2.01.0011", "S2", None, "10-20", 3, 2_350, "berjalan", "Tiga taman kecamatan selesai",
     "PPTK Dinas Perkim LH"),
    ("1.04.05.2.01.0012", "S2", None, "10-25", 5, 1_020, "selesai", "Lima taman bermain anak diserahterimakan",
     "Kepala Bidang Pertamanan"),
    ("1.04.05.2.01.0013", "S1", None, "06-30", 0, 150, "terkendala", "Lahan taman lansia Binjai Barat masih "
     "sengketa", "Kepala Bidang Pertamanan"),
    ("1.04.05.2.01.0013", "S2", None, "10-31", 1, 640, "terkendala", "Baru satu taman lansia selesai",
     "Kepala Bidang Pertamanan"),
    ("2.17.08.2.01.0003", None, None, "05-20", None, 0, "batal", "Anggaran dialihkan (refocusing) ke Sakasanwira",
     "Sekretaris Dinas Koperasi UKM"),
    ("2.17.07.2.01.0005", None, None, "08-15", None, 1_900, "berjalan", "Pendampingan sentra di 9 kelurahan",
     "Operator SIPD Dinas Koperasi UKM"),
    ("1.03.10.2.01.0018", "T1", None, "03-31", 1.2, 1_500, "berjalan", None, "PPTK Bidang Bina Marga"),
    ("1.03.10.2.01.0018", "T2", None, "06-30", 2.6, 4_000, "berjalan", None, "PPTK Bidang Bina Marga"),
    ("1.03.10.2.01.0018", "T3", None, "09-30", 4.1, 7_800, "berjalan", None, "PPTK Bidang Bina Marga"),
    ("1.03.10.2.01.0001", "S1", None, "06-30", 0.3, 2_100, "terkendala", "Pembebasan lahan jalan akses belum "
     "tuntas", "Kepala Bidang Bina Marga"),
    ("1.03.05.2.01.0004", "T2", None, "06-30", 300, 900, "berjalan", None, "PPTK Bidang SDA dan Drainase"),
    ("1.03.05.2.01.0004", "T3", None, "09-30", 650, 1_600, "terkendala", "Curah hujan tinggi; pekerjaan tertunda",
     "PPTK Bidang SDA dan Drainase"),
    ("1.03.03.2.01.0009", "S2", None, "08-28", 2.5, 2_650, "selesai", "Serah terima pekerjaan (PHO)",
     "Kepala Bidang SDA dan Drainase"),
    ("1.01.02.2.03.0005", "S2", None, "08-30", 1, 1_080, "selesai", "Laboratorium IPA selesai dan dipakai",
     "Kepala Bidang Sarana Prasarana Disdik"),
    ("1.01.02.2.02.0009", "S1", None, "06-30", 10, 1_300, "berjalan", None, "Kepala Bidang Sarana Prasarana Disdik"),
    ("1.01.02.2.02.0009", "S2", None, "09-30", 24, 2_450, "berjalan", None, "Kepala Bidang Sarana Prasarana Disdik"),
    ("1.02.02.2.01.0014", "S1", None, "06-30", 1, 1_400, "berjalan", None, "PPTK Dinas Kesehatan"),
    ("1.02.02.2.02.0020", "T1", "12.75.01", "04-05", 22, 120, "berjalan", None, "Camat Binjai Utara"),
    ("1.02.02.2.02.0020", "T2", "12.75.04", "07-06", 41, 260, "terkendala", "Stok vaksin terlambat",
     "Camat Binjai Timur"),
    ("2.15.02.2.01.0004", "T2", None, "06-30", 60, 500, "berjalan", None, "PPTK Dinas Perhubungan"),
    ("2.15.02.2.01.0007", "S1", None, "06-30", 0, 120, "terkendala", "Lelang gagal, tender ulang",
     "PPTK Dinas Perhubungan"),
    ("5.01.02.2.01.0005", "S1", None, "06-20", 1, 310, "selesai", "RKPD 2027 ditetapkan dengan Perwal",
     "Kepala Bidang Perencanaan Bappeda"),
    ("2.18.05.2.01.0002", "T3", None, "10-01", 880, 610, "berjalan", None, "Kepala Bidang Pelayanan Perizinan"),
    ("2.11.11.2.01.0007", "T3", "12.75.02", "10-02", 5_400, 4_700, "berjalan", None, "Camat Binjai Kota"),
)
# Targets per period as a share of the year's (cumulative)
SHARE = {"": 1.0, "S1": 0.4, "S2": 1.0, "T1": 0.2, "T2": 0.45, "T3": 0.75, "T4": 1.0}
TARGET = {"2.18.05.2.01.0002": 1_200, "2.11.11.2.01.0007": 9_000, "2.17.07.2.01.0001": 3_000,
          "2.17.08.2.01.0003": 200, "1.03.12.2.01.0002": 1, "1.02.02.2.02.0020": 95, "1.01.02.2.02.0009": 24,
          "2.15.02.2.01.0004": 120, "1.06.04.2.02.0006": 250, "5.01.02.2.01.0005": 1, "5.01.02.2.02.0003": 12}
WHOLE_UNITS = {"taman", "kelurahan", "unit", "ruang", "dokumen", "titik", "orang", "aplikasi", "unit usaha"}


def _frame(conn: Connection, sql: str, **params) -> gpd.GeoDataFrame:
    rows = conn.execute(text(sql), params).all()
    return gpd.GeoDataFrame([{k: v for k, v in r._mapping.items() if k != "wkb"} for r in rows],
                            geometry=[shapely.from_wkb(bytes(r.wkb)) for r in rows], crs=4326)


def _clipped(conn: Connection, table: str, names: list[str], city: str) -> gpd.GeoDataFrame:
    """Lines of `table` named `names`, cut to the city (a road or river runs on past its boundary)."""
    return _frame(conn, f"SELECT t.nama, ST_AsBinary(ST_Multi(ST_CollectionExtract(ST_Intersection(t.geom, "
                        f"k.geom), 2))) AS wkb FROM {table} t, kota k WHERE k.kode = :c AND t.nama = ANY(:n) "
                        "ORDER BY t.nama", c=city, n=names)


def _stretch(lines: gpd.GeoDataFrame, metres: float) -> shapely.Geometry:
    """The first `metres` of a (multi)line, in EPSG:4326."""
    line = shapely.line_merge(lines.to_crs(METRIC).geometry.iloc[0])
    part = max(shapely.get_parts(line), key=lambda g: g.length)
    return gpd.GeoSeries([shapely.ops.substring(part, 0, min(metres, part.length))], crs=METRIC).to_crs(4326).iloc[0]


def _places(conn: Connection, city: str) -> dict[str, list[tuple[str, shapely.Geometry]]]:
    """Where each located programme works: [(name, geometry EPSG:4326)]."""
    parks = _frame(conn, "SELECT nama, kelas, ST_AsBinary(geom) AS wkb FROM parks WHERE kabkota = :c ORDER BY nama",
                   c=city)
    centres = _frame(conn, "SELECT nama, ST_AsBinary(geom) AS wkb FROM business_centers WHERE kabkota = :c "
                           "ORDER BY kelurahan_kode", c=city)
    estate = _frame(conn, "SELECT nama, ST_AsBinary(geom) AS wkb FROM projects WHERE slug = :s", s=ESTATE_SLUG)
    gate = _frame(conn, "SELECT nama, ST_AsBinary(geom) AS wkb FROM toll_gates ORDER BY nama LIMIT 1")
    schools = _frame(conn, "SELECT nama, ST_AsBinary(geom) AS wkb FROM assets WHERE kabkota = :c AND kib = 'C' "
                           "AND nama LIKE 'Gedung S_ Negeri%' ORDER BY nama", c=city)
    kel = _frame(conn, "SELECT nama, kecamatan_kode, ST_AsBinary(geom) AS wkb FROM kelurahan WHERE kabkota = :c "
                       "ORDER BY kode", c=city)
    roads = {r[0]: r[1] for r in conn.execute(text(
        "SELECT road_class, array_agg(nama ORDER BY id) FROM roads WHERE kabkota = :c GROUP BY 1"), {"c": city})}
    places: dict[str, list] = {kind: [(r.nama, r.geometry) for r in parks[parks.kelas == kind].itertuples()]
                               for kind in ("taman kecamatan", "taman bermain anak", "taman lansia")}
    places["city parks"] = [(r.nama, r.geometry) for r in parks[parks.kelas.isin(["taman kota", "hutan kota"])]
                            .itertuples()]
    places["business centres"] = [(r.nama, r.geometry) for r in centres.itertuples()]
    places["estate"] = [(r.nama, r.geometry) for r in estate.itertuples()]
    site, to = estate.to_crs(METRIC).geometry.iloc[0], gate.to_crs(METRIC).geometry.iloc[0]
    start = shapely.ops.nearest_points(site.boundary, to)[0]
    ahead = shapely.LineString([start, to])
    road = shapely.ops.substring(ahead, 0, 800).intersection(kel.to_crs(METRIC).union_all())
    places["access road"] = [("Jalan akses Kawasan Industri - Gerbang Tol Binjai",
                              gpd.GeoSeries([road], crs=METRIC).to_crs(4326).iloc[0])]
    for kind, names in (("rehab roads", roads.get("collector", [])[:3]), ("maintained roads",
                                                                           roads.get("local", [])[:4]),
                        ("drains", roads.get("local", [])[4:7])):
        lines = _clipped(conn, "roads", names, city)
        prefix = "Saluran drainase " if kind == "drains" else ""
        places[kind] = [(prefix + r.nama, r.geometry) for r in lines.itertuples() if not r.geometry.is_empty]
    places["river"] = [("Sungai Bingai (ruas kota)", _stretch(_clipped(conn, "rivers", ["Sungai Bingai"], city),
                                                               2_500))]
    lights = _stretch(_clipped(conn, "roads", ["Jl. Soekarno-Hatta"], city), 3_000)
    places["street lights"] = [("PJU Jl. Soekarno-Hatta", lights)]
    avenue = _stretch(_clipped(conn, "roads", ["Jl. Gajah Mada"], city), 5_000)
    places["bus stops"] = [(f"Halte Jl. Gajah Mada {n + 1}", avenue.interpolate(f, normalized=True))
                           for n, f in enumerate((0.1, 0.3, 0.5, 0.7, 0.9))]
    places["SD"] = [(r.nama.removeprefix("Gedung "), r.geometry) for r in schools.itertuples() if "SD " in r.nama]
    places["SMP"] = [(r.nama.removeprefix("Gedung "), r.geometry) for r in schools.itertuples()
                     if r.nama.endswith("SMP Negeri 1 Binjai")]
    hosts = kel.groupby("kecamatan_kode").head(1).iloc[[2, 4]]
    places["puskesmas"] = [(f"Puskesmas {r.nama}", r.geometry.representative_point()) for r in hosts.itertuples()]
    return places


def _total(sub: str, unit: str, located: list) -> float:
    if sub in TARGET:
        return float(TARGET[sub])
    if sub.startswith("2.18.02"):
        return ESTATE_TARGET_HA
    metric = gpd.GeoSeries([g for _, g in located], crs=4326).to_crs(METRIC)
    if unit == "km":
        return round(metric.length.sum() / 1000, 2)
    if unit == "m":
        return round(metric.length.sum(), 0)
    if unit == "ha":
        return round(metric.area.sum() / 1e4, 2)
    return float(len(located))


def sample_tables(conn: Connection, city: str = "12.75") -> dict[str, pd.DataFrame]:
    """The sample's programme file as its three tables (program, indikator, lokasi), placed on the sample
    features held in the database."""
    places = _places(conn, city)
    kel = conn.execute(text("SELECT kecamatan_kode, count(*) FROM kelurahan WHERE kabkota = :c GROUP BY 1 "
                            "ORDER BY 1"), {"c": city}).all()
    kel_per_kec = {k: n for k, n in kel}
    program, indikator, lokasi = [], [], []
    for sub, name, skpd, pagu, spent, start, end, public, (ik, ik_name, unit, periods, sumber, per_kec), where \
            in SUBS:
        kodeskpd = next(k for k in OPD if k.startswith(skpd + "."))
        key = {"tahun": YEAR, "kodeskpd": kodeskpd, "kodesubkegiatan": sub}
        program.append({
            "kodepemda": city, **key, "namaskpd": OPD[kodeskpd], "kodeprogram": sub[:7],
            "namaprogram": PROGRAM[sub[:7]], "kodekegiatan": sub[:12], "namakegiatan": KEGIATAN[sub[:12]],
            "namasubkegiatan": name, "pagu": pagu * 1_000_000, "realisasi": spent * 1_000_000,
            "tanggalmulai": f"{YEAR}-{start}", "tanggalselesai": f"{YEAR}-{end}",
            "kodeproyek": ESTATE_SLUG if sub.startswith("2.18.02") else None, "publik": "ya" if public else "tidak"})
        located = places.get(where, []) if where else []
        total = _total(sub, unit, located)
        per_kecamatan = {}
        if per_kec:
            if sumber == "business_centers":
                per_kecamatan = {k: float(n) for k, n in kel_per_kec.items()}
                total = float(sum(kel_per_kec.values()))  # one active centre in every kelurahan
            elif located:
                codes = _kecamatan_of(conn, [g for _, g in located])
                per_kecamatan = {k: float(codes.count(k)) for k in kel_per_kec}
            else:
                per_kecamatan = {k: total if unit == "%" else round(total / len(kel_per_kec)) for k in kel_per_kec}
        wilayah = ([None] if unit != "%" else []) + list(per_kecamatan)
        for periode in periods:
            for w in wilayah:
                year_target = per_kecamatan[w] if w else total
                share = 1.0 if unit == "%" else SHARE[periode]
                target = year_target * share
                target = float(round(target)) if unit in WHOLE_UNITS else round(target, 2)
                indikator.append({**key, "kodeindikator": ik, "namaindikator": ik_name, "satuan": unit,
                                  "periode": f"{YEAR}-{periode}" if periode else str(YEAR), "target": target,
                                  "kodewilayah": w, "sumber": sumber})
        for nama, geom in located:
            lokasi.append({**key, "namalokasi": nama, "wkt": shapely.to_wkt(geom, rounding_precision=-1)})
    return {"program": pd.DataFrame(program), "indikator": pd.DataFrame(indikator), "lokasi": pd.DataFrame(lokasi)}


def _kecamatan_of(conn: Connection, geoms: list) -> list[str]:
    return [conn.execute(text("SELECT kecamatan_kode FROM kelurahan WHERE ST_Intersects(geom, ST_PointOnSurface("
                              "ST_GeomFromWKB(:g, 4326))) ORDER BY kode LIMIT 1"), {"g": shapely.to_wkb(g)}).scalar()
            for g in geoms]


def progress_rows(city: str) -> list[dict]:
    """The sample's progress updates: programme kode, the indicator row they report on (kode, periode, wilayah;
    None for the programme as a whole) and the update."""
    subs = {s[0]: s for s in SUBS}
    rows = []
    for sub, periode, kec, day, value, spent, status, note, who in PROGRESS:
        kodeskpd = next(k for k in OPD if k.startswith(subs[sub][2] + "."))
        indicator = None if periode is None else (subs[sub][8][0], f"{YEAR}-{periode}" if periode else str(YEAR), kec)
        rows.append({"programme_kode": programme_kode(city, YEAR, kodeskpd, sub), "indicator": indicator,
            "tanggal": date.fromisoformat(f"{YEAR}-{day}"), "realisasi": value,
            "realisasi_rp": None if spent is None else spent * 1_000_000, "status": status, "catatan": note,
            "oleh": who})
    return rows
