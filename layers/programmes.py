"""Programme monitoring (Renja / RKPD as SIPD keys it): programmes (one row per sub-activity and year), their
indicators (unit, target and realisation per period, for the whole programme or per kecamatan / kelurahan), the
progress updates reported over time, and where they happen.

Programmes, indicators and progress have no geometry of their own: they are record collections (OGC API
Features items with `geometry: null`). Where a programme happens is held in three layers, one per geometry type,
because QGIS, GeoPackage and Shapefile want one geometry type per layer: points (a playground), lines (a road
rehabilitated) and areas (a park, the industrial estate). A programme without a location is placed by its
indicators' kecamatan / kelurahan targets, or is city-wide."""

from __future__ import annotations

from dataclasses import dataclass

from layers.boundaries import AREA
from layers.schema import ILLUSTRATIVE_ATTRIBUTION, Field, Layer, LegendEntry, Style

# Status of a programme as computed from its schedule and its latest progress (gis/analyses/programmes.py);
# value -> (Bahasa Indonesia, English, colour).
PROGRAMME_STATUSES = {
    "belum_mulai": ("Belum dimulai", "Not started", "#BFBFBF"),
    "sesuai": ("Sesuai jadwal", "On track", "#70AD47"),
    "berisiko": ("Berisiko terlambat", "At risk", "#FFC000"),
    "terlambat": ("Terlambat", "Late", "#C00000"),
    "selesai": ("Selesai", "Done", "#2E75B6"),
    "batal": ("Dibatalkan", "Cancelled", "#7F7F7F"),
}
# What a reporter says in a progress update.
PROGRESS_STATUSES = ("berjalan", "terkendala", "selesai", "batal")


@dataclass(frozen=True)
class Records:
    """A collection without geometry: its table, fields and key. `public_rows` is the SQL condition (on the
    table itself, or through its programme) that anonymous callers see rows by; private fields stay behind a
    key like a layer's."""

    id: str
    title_id: str
    title_en: str
    fields: tuple[Field, ...]
    key: str | None
    public_rows: str
    description_id: str = ""
    description_en: str = ""
    time_field: str | None = None

    @property
    def public_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.public)


PROGRAMMES = Records(
    id="programmes",
    title_id="Program, kegiatan dan subkegiatan (Renja)",
    title_en="Programmes, activities and sub-activities (work plans)",
    description_id="Satu baris per subkegiatan dan tahun, dengan kode SIPD, pagu dan realisasi anggaran",
    description_en="One row per sub-activity and year, with SIPD codes, budget and spending",
    fields=(
        Field("kode", "text", "Kode", "Id", required=True),  # programme_kode()
        Field("kabkota", "text", "Kode kab/kota", "City code", required=True),
        Field("kodepemda", "text", "Kode pemda (SIPD)", "Local government code (SIPD)"),
        Field("tahun", "integer", "Tahun", "Year", required=True),
        Field("kodeskpd", "text", "Kode SKPD", "Agency code", required=True),
        Field("nama_skpd", "text", "Perangkat daerah (OPD)", "Agency (OPD)", required=True),
        Field("kodeprogram", "text", "Kode program", "Programme code", required=True),
        Field("nama_program", "text", "Program", "Programme", required=True),
        Field("kodekegiatan", "text", "Kode kegiatan", "Activity code", required=True),
        Field("nama_kegiatan", "text", "Kegiatan", "Activity", required=True),
        Field("kodesubkegiatan", "text", "Kode subkegiatan", "Sub-activity code", required=True),
        Field("nama_subkegiatan", "text", "Subkegiatan", "Sub-activity", required=True),
        Field("pagu_rp", "bigint", "Pagu (Rp)", "Budget (Rp)"),
        Field("realisasi_rp", "bigint", "Realisasi anggaran (Rp)", "Spending (Rp)"),
        Field("tanggal_mulai", "date", "Tanggal mulai", "Start date"),
        Field("tanggal_selesai", "date", "Tanggal selesai (rencana)", "Planned end date"),
        Field("project_slug", "text", "Kode proyek", "Project id"),
        Field("publik", "boolean", "Tampil di dasbor publik", "On the public dashboard"),
        Field("catatan", "text", "Catatan", "Note", public=False),
    ),
    key="kode",
    public_rows="publik",
    time_field="tanggal_mulai",
)

# Where an indicator's realisation comes from: reported in progress updates, or computed from a layer.
INDICATOR_SOURCES = ("laporan", "project_parcels", "business_centers")

PROGRAMME_INDICATORS = Records(
    id="programme_indicators",
    title_id="Indikator program",
    title_en="Programme indicators",
    fields=(
        Field("programme_kode", "text", "Kode program", "Programme id", required=True),
        Field("kode", "text", "Kode indikator", "Indicator code", required=True),
        Field("nama", "text", "Indikator", "Indicator", required=True),
        Field("satuan", "text", "Satuan", "Unit", required=True),
        Field("periode", "text", "Periode", "Period", required=True),  # 2026, 2026-T1..T4, 2026-S1..S2
        Field("batas_periode", "date", "Akhir periode", "Period end", required=True),
        Field("target", "number", "Target", "Target", required=True),
        Field("realisasi", "number", "Realisasi", "Realisation"),
        Field("wilayah_kode", "text", "Kode kecamatan/kelurahan", "Kecamatan/kelurahan code"),
        Field("sumber", "text", "Sumber realisasi", "Source of realisation", choices=INDICATOR_SOURCES),
    ),
    key=None,
    public_rows="programme_kode IN (SELECT kode FROM programmes WHERE publik)",
    time_field="batas_periode",
)

PROGRAMME_PROGRESS = Records(
    id="programme_progress",
    title_id="Laporan kemajuan program",
    title_en="Programme progress updates",
    description_id="Setiap laporan disimpan; koreksi adalah laporan baru",
    description_en="Every update is kept; a correction is a new update",
    fields=(
        Field("programme_kode", "text", "Kode program", "Programme id", required=True),
        Field("indicator_id", "integer", "Indikator", "Indicator"),
        Field("tanggal", "date", "Tanggal", "Date", required=True),
        Field("realisasi", "number", "Realisasi (kumulatif)", "Realisation (cumulative)"),
        Field("realisasi_rp", "bigint", "Realisasi anggaran (Rp, kumulatif)", "Spending (Rp, cumulative)"),
        Field("status", "text", "Status", "Status", required=True, choices=PROGRESS_STATUSES),
        Field("catatan", "text", "Catatan", "Note", public=False),
        Field("oleh", "text", "Dilaporkan oleh", "Reported by", public=False),
    ),
    key=None,
    public_rows="programme_kode IN (SELECT kode FROM programmes WHERE publik)",
    time_field="tanggal",
)

def programme_kode(city: str, tahun: int, kodeskpd: str, kodesubkegiatan: str) -> str:
    """A programme's key: SIPD codes repeat in every local government (Dinas PUPR is 1.03.0.00.0.00.01.0000
    everywhere), so the city leads: 12.75-2026-1.03.0.00.0.00.01.0000-1.03.03.2.01.0001."""
    return f"{city}-{tahun}-{kodeskpd}-{kodesubkegiatan}"


RECORDS = {r.id: r for r in (PROGRAMMES, PROGRAMME_INDICATORS, PROGRAMME_PROGRESS)}


def _location_fields() -> tuple[Field, ...]:
    return (
        Field("programme_kode", "text", "Kode program", "Programme id", required=True),
        Field("nama", "text", "Lokasi", "Location", required=True),
        Field("kodeskpd", "text", "Kode SKPD", "Agency code"),
        Field("kecamatan_kode", "text", "Kode kecamatan", "Kecamatan code"),
        Field("kelurahan_kode", "text", "Kode kelurahan", "Kelurahan code"),
        Field("keterangan", "text", "Keterangan", "Description"),
    )


def _location_layer(layer_id: str, kind_id: str, kind_en: str, geometry_type: str, extra=()) -> Layer:
    return Layer(
        id=layer_id,
        title_id=f"Lokasi program ({kind_id})",
        title_en=f"Programme locations ({kind_en})",
        description_id="Hanya untuk pengguna berwenang; dasbor publik menampilkan lokasi program publik",
        description_en="For authorised users; the public dashboard shows the locations of public programmes",
        geometry_type=geometry_type,
        fields=_location_fields() + tuple(extra),
        # Row-level publicity (a programme's `publik`) is not a layer's: the layers stay behind a key and the
        # public dashboard serves the public programmes' locations itself.
        public=False,
        style=Style(color="#7030A0", fill_opacity=0.35, weight=3,
                    legend=(LegendEntry("Lokasi program", "Programme location", "#7030A0"),)),
        source=ILLUSTRATIVE_ATTRIBUTION,
        illustrative=True,
        keep_small_features=True,
    )


PROGRAMME_POINTS = _location_layer("programme_points", "titik", "points", "Point")
PROGRAMME_LINES = _location_layer("programme_lines", "garis", "lines", "MultiLineString")
PROGRAMME_AREAS = _location_layer("programme_areas", "area", "areas", "MultiPolygon", (AREA,))
LOCATION_LAYERS = (PROGRAMME_POINTS, PROGRAMME_LINES, PROGRAMME_AREAS)
