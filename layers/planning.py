"""Spatial-plan layers: zoning (RDTR-style), industrial zones, parks (RTH) and kelurahan business centres.
The Binjai sample values are generated and illustrative; the codes and colours follow DOMAIN.md."""

from layers.boundaries import AREA
from layers.schema import ILLUSTRATIVE_ATTRIBUTION, Field, Layer, LegendEntry, Style

# National zone code -> (name in Bahasa Indonesia, English, colour). Colours: the RDTR convention where
# one is published (DOMAIN.md), otherwise a common planning palette.
ZONES = {
    "KI": ("Kawasan industri", "Industrial estate", "#690000"),
    "I": ("Peruntukan industri", "Industry", "#8B1A1A"),
    "K-1": ("Perdagangan dan jasa skala kota", "City-scale trade and services", "#FF0000"),
    "K-2": ("Perdagangan dan jasa skala WP", "District-scale trade and services", "#FF4D4D"),
    "KT": ("Perkantoran", "Offices", "#C71585"),
    "R-2": ("Perumahan kepadatan tinggi", "High-density housing", "#FFC000"),
    "R-3": ("Perumahan kepadatan sedang", "Medium-density housing", "#FFD966"),
    "R-4": ("Perumahan kepadatan rendah", "Low-density housing", "#FFF2CC"),
    "SPU": ("Sarana pelayanan umum", "Public facilities", "#7030A0"),
    "P-1": ("Pertanian", "Agriculture", "#A9D18E"),
    "RTH-1": ("Hutan kota", "Urban forest", "#37550A"),
    "RTH-2": ("Taman kota", "City park", "#416900"),
    "RTH-7": ("Pemakaman", "Cemetery", "#5AFF00"),
    "PS": ("Sempadan sungai", "River setback", "#00A0E6"),
}

ZONING = Layer(
    id="zoning",
    title_id="Rencana pola ruang (zonasi RDTR)",
    title_en="Zoning plan (RDTR)",
    geometry_type="MultiPolygon",
    fields=(
        Field("kode_lokal", "text", "Kode zona lokal", "Local zone code", required=True),
        Field("kode_zona", "text", "Kode zona nasional", "National zone code", required=True,
              choices=tuple(ZONES)),
        Field("nama_zona", "text", "Nama zona", "Zone name"),
        Field("sub_zona", "text", "Sub-zona", "Sub-zone"),
        Field("kelurahan_kode", "text", "Kode kelurahan", "Kelurahan code"),
        AREA,
    ),
    style=Style(
        color="#CCCCCC",
        fill_opacity=0.55,
        weight=0.5,
        by="kode_zona",
        legend=tuple(LegendEntry(n_id, n_en, c, code) for code, (n_id, n_en, c) in ZONES.items()),
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
