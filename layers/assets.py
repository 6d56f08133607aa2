"""Regional assets (barang milik daerah, Permendagri 19/2016): the register of the city's land (KIB A) and
buildings (KIB C), each keyed by its kode barang and register number (NUP), with its certificate, its user OPD
and what it is used for (checked against the zoning by the asset-check process)."""

from layers.boundaries import AREA
from layers.schema import ILLUSTRATIVE_ATTRIBUTION, Field, Layer, LegendEntry, Style

# Inventory cards (kartu inventaris barang) held in this register: letter -> (Bahasa Indonesia, English).
KIB = {"A": ("Tanah", "Land"), "C": ("Gedung dan bangunan", "Buildings")}
# Permendagri 108/2016 codification: land is 1.3.1, buildings 1.3.3 (the register's kode barang starts so).
KODE_BARANG_PREFIX = {"A": "1.3.1", "C": "1.3.3"}
CERTIFICATES = {
    "HPL": ("Hak pengelolaan", "Right of management"),
    "SHP": ("Sertifikat hak pakai", "Right of use"),
    "SHM": ("Sertifikat hak milik", "Freehold"),
    "HGB": ("Hak guna bangunan", "Right to build"),
}
ASSET_STATUSES = {
    "digunakan": ("Digunakan", "In use", "#2E75B6"),
    "idle": ("Tidak digunakan (idle)", "Idle", "#BFBFBF"),
    "sengketa": ("Sengketa", "Disputed", "#C00000"),
    "dalam_pengadaan": ("Dalam pengadaan", "Being acquired", "#FFC000"),
}

ASSETS = Layer(
    id="assets",
    title_id="Aset daerah (tanah dan bangunan)",
    title_en="Regional assets (land and buildings)",
    description_id="Kartu inventaris barang A (tanah) dan C (gedung dan bangunan); nilai perolehan hanya untuk "
                   "pengguna yang berwenang",
    description_en="Inventory cards A (land) and C (buildings); acquisition values for authorised users only",
    geometry_type="MultiPolygon",
    fields=(
        Field("kib", "text", "KIB", "Inventory card", required=True, choices=tuple(KIB),
              labels=tuple((k, n_id, n_en) for k, (n_id, n_en) in KIB.items())),
        Field("kode_barang", "text", "Kode barang", "Item code", required=True),
        Field("nup", "text", "NUP (nomor register)", "Register number (NUP)", required=True),
        Field("kode_simbada", "text", "Kode SIMBADA", "SIMBADA identifier"),
        Field("nama", "text", "Nama barang", "Name", required=True),
        Field("opd", "text", "OPD pengguna", "User agency (OPD)"),
        Field("kelurahan_kode", "text", "Kode kelurahan", "Kelurahan code"),
        Field("tahun_perolehan", "integer", "Tahun perolehan", "Year acquired"),
        Field("nilai_perolehan_rp", "number", "Nilai perolehan (Rp)", "Acquisition value (Rp)", public=False),
        Field("sertifikat_jenis", "text", "Jenis sertifikat", "Certificate type", choices=tuple(CERTIFICATES),
              labels=tuple((k, n_id, n_en) for k, (n_id, n_en) in CERTIFICATES.items())),
        Field("sertifikat_nomor", "text", "Nomor sertifikat", "Certificate number"),
        Field("sertifikat_tanggal", "date", "Tanggal sertifikat", "Certificate date"),
        Field("status", "text", "Status", "Status", required=True, choices=tuple(ASSET_STATUSES)),
        Field("penggunaan", "text", "Penggunaan", "Used for"),
        Field("kbli", "text", "KBLI penggunaan", "KBLI of the use"),
        Field("parcel_id", "text", "Nomor bidang proyek", "Project parcel number"),
        AREA,
    ),
    time_field="sertifikat_tanggal",
    style=Style(
        color="#2E75B6",
        fill_opacity=0.45,
        by="status",
        legend=tuple(LegendEntry(n_id, n_en, c, k) for k, (n_id, n_en, c) in ASSET_STATUSES.items()),
    ),
    source=ILLUSTRATIVE_ATTRIBUTION,
    illustrative=True,
    keep_small_features=True,
)
