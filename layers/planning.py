"""Spatial-plan layers: zoning (RDTR-style), industrial zones, parks (RTH) and kelurahan business centres.
The Binjai sample values are generated and illustrative; the codes and colours follow DOMAIN.md."""

from layers.boundaries import AREA
from layers.rdtr import NATIONAL_ZONES, NUMERIC_FIELDS, OVERLAYS, column
from layers.schema import ILLUSTRATIVE_ATTRIBUTION, Field, Layer, LegendEntry, Style

# The zoning layer is the city's RDTR in the national data standard (layers/rdtr.py): one row per sub-block,
# the standard's attributes in lower case, the special provisions as flag columns (separate overlay layers go
# to `zoning_overlays`). Titles of the attributes, in the standard's order.
_ATTRIBUTE_TITLES = {
    "NAMOBJ": ("Nama objek", "Object name"), "NAMZON": ("Nama zona", "Zone name"),
    "KODZON": ("Kode zona", "Zone code"), "NAMSZN": ("Nama sub-zona", "Sub-zone name"),
    "KODSZN": ("Kode sub-zona", "Sub-zone code"), "JNSRPR": ("Jenis rencana", "Plan type"),
    "KODEWP": ("Kode wilayah perencanaan", "Planning unit"), "KODSWP": ("Kode sub-WP", "Planning sub-unit"),
    "KODBLK": ("Kode blok", "Block code"), "KODSBL": ("Kode sub-blok", "Sub-block code"),
    "WADMPR": ("Provinsi", "Province"), "WADMKK": ("Kabupaten/kota", "Regency/city"),
    "WADMKC": ("Kecamatan", "District"), "WADMKD": ("Desa/kelurahan", "Village"),
    "LUASHA": ("Luas tercantum (ha)", "Declared area (ha)"),
}
ZONES = {code: (name_id, name_en, color) for code, (_zone, name_id, name_en, color) in NATIONAL_ZONES.items()}

ZONING = Layer(
    id="zoning",
    title_id="Rencana pola ruang (zonasi RDTR)",
    title_en="Zoning plan (RDTR)",
    description_id="RDTR kota dalam standar data nasional (Permen ATR/BPN 14/2021)",
    description_en="The city's detailed spatial plan in the national data standard (Permen ATR/BPN 14/2021)",
    geometry_type="MultiPolygon",
    fields=(
        *(Field(column(name), "number" if name in NUMERIC_FIELDS else "text", t_id, t_en,
                required=name == "KODSZN") for name, (t_id, t_en) in _ATTRIBUTE_TITLES.items()),
        *(Field(column(code), "text", n_id, n_en) for code, (n_id, n_en) in OVERLAYS.items()),
        Field("kelurahan_kode", "text", "Kode kelurahan", "Kelurahan code"),
        Field("rdtr_versi", "integer", "Versi RDTR", "RDTR version"),
        AREA,
    ),
    style=Style(
        color="#CCCCCC",
        fill_opacity=0.55,
        weight=0.5,
        by="kodszn",
        legend=tuple(LegendEntry(n_id, n_en, c, code) for code, (n_id, n_en, c) in ZONES.items()),
    ),
    source=ILLUSTRATIVE_ATTRIBUTION,
    illustrative=True,
)

ZONING_OVERLAYS = Layer(
    id="zoning_overlays",
    title_id="Ketentuan khusus RDTR",
    title_en="RDTR special provisions",
    description_id="Kawasan ketentuan khusus (LP2B, rawan bencana, KKOP, ...) yang diterbitkan sebagai lapisan",
    description_en="Special-provision areas (protected farmland, disaster-prone, airport safety...) published "
                   "as layers of their own",
    geometry_type="MultiPolygon",
    fields=(
        Field("kode", "text", "Kode ketentuan", "Provision code", required=True, choices=tuple(OVERLAYS)),
        Field("namobj", "text", "Nama objek", "Object name"),
        Field("rdtr_versi", "integer", "Versi RDTR", "RDTR version"),
        AREA,
    ),
    style=Style(
        color="#7F6000",
        fill_opacity=0.3,
        weight=1.0,
        by="kode",
        legend=tuple(LegendEntry(n_id, n_en, c, code) for (code, (n_id, n_en)), c in
                     zip(OVERLAYS.items(), ("#00B0F0", "#7F6000", "#C00000", "#7030A0", "#002060", "#996633",
                                            "#385723", "#808080", "#2E75B6"), strict=True)),
    ),
    source=ILLUSTRATIVE_ATTRIBUTION,
    illustrative=True,
)

INDUSTRIAL_ZONES = Layer(
    id="industrial_zones",
    title_id="Kawasan industri",
    title_en="Industrial zones",
    geometry_type="MultiPolygon",
    fields=(
        Field("nama", "text", "Nama", "Name", required=True),
        Field("status", "text", "Status", "Status", required=True, choices=("existing", "planned")),
        Field("kelurahan_kode", "text", "Kode kelurahan", "Kelurahan code"),
        AREA,
    ),
    style=Style(
        color="#690000",
        fill_opacity=0.45,
        by="status",
        legend=(
            LegendEntry("Eksisting", "Existing", "#690000", "existing"),
            LegendEntry("Rencana", "Planned", "#C0504D", "planned"),
        ),
    ),
    source=ILLUSTRATIVE_ATTRIBUTION,
    illustrative=True,
)

# Park classes (Permen PU 05/PRT/M/2008, Permen ATR 16/2018) with the RDTR colours.
PARK_CLASSES = {
    "taman kota": ("Taman kota", "City park", "#416900"),
    "taman kecamatan": ("Taman kecamatan", "District park", "#468700"),
    "taman kelurahan": ("Taman kelurahan", "Kelurahan park", "#4BA500"),
    "taman rw": ("Taman RW", "Neighbourhood (RW) park", "#50C300"),
    "taman rt": ("Taman RT", "Block (RT) park", "#66D11A"),
    "taman bermain anak": ("Taman bermain anak", "Children's playground", "#F4B400"),
    "taman lansia": ("Taman lansia", "Park for the elderly", "#9E7BFF"),
    "hutan kota": ("Hutan kota", "Urban forest", "#37550A"),
    "jalur hijau": ("Jalur hijau", "Green belt", "#0FF500"),
    "pemakaman": ("Pemakaman", "Cemetery", "#5AFF00"),
}

PARKS = Layer(
    id="parks",
    title_id="Ruang terbuka hijau (RTH)",
    title_en="Green open space (parks)",
    geometry_type="MultiPolygon",
    fields=(
        Field("nama", "text", "Nama", "Name", required=True),
        Field("kelas", "text", "Kelas RTH", "Park class", required=True, choices=tuple(PARK_CLASSES)),
        Field("publik", "boolean", "RTH publik", "Public green space", required=True),
        Field("kelurahan_kode", "text", "Kode kelurahan", "Kelurahan code"),
        AREA,
    ),
    style=Style(
        color="#4BA500",
        fill_opacity=0.7,
        by="kelas",
        legend=tuple(LegendEntry(n_id, n_en, c, k) for k, (n_id, n_en, c) in PARK_CLASSES.items()),
    ),
    source=ILLUSTRATIVE_ATTRIBUTION,
    illustrative=True,
    keep_small_features=True,
)

BUSINESS_CENTERS = Layer(
    id="business_centers",
    title_id="Sentra kewirausahaan kelurahan",
    title_en="Kelurahan business centres",
    description_id="Satu Kelurahan Satu Sentra Kewirausahaan (Sakasanwira)",
    description_en="One entrepreneurship (UMKM) centre per kelurahan (Sakasanwira)",
    geometry_type="Point",
    fields=(
        Field("nama", "text", "Nama sentra", "Centre name", required=True),
        Field("kelurahan_kode", "text", "Kode kelurahan", "Kelurahan code", required=True),
        Field("sektor", "text", "Sektor usaha", "Sectors"),
        Field("jumlah_umkm", "integer", "Jumlah UMKM", "UMKM count"),
        Field("status", "text", "Status", "Status", choices=("active", "planned", "inactive")),
        Field("kontak_nama", "text", "Nama kontak", "Contact person", public=False),
        Field("kontak_telepon", "text", "Telepon kontak", "Contact phone", public=False),
    ),
    style=Style(
        color="#E36C09",
        fill_opacity=0.9,
        by="status",
        legend=(
            LegendEntry("Aktif", "Active", "#E36C09", "active"),
            LegendEntry("Rencana", "Planned", "#F9C08A", "planned"),
            LegendEntry("Tidak aktif", "Inactive", "#7F7F7F", "inactive"),
        ),
    ),
    source=ILLUSTRATIVE_ATTRIBUTION,
    illustrative=True,
    keep_small_features=True,
)
