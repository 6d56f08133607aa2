"""Projects and their land acquisition (e.g. Kawasan Industri Binjai, target 138 ha)."""

from layers.boundaries import AREA
from layers.schema import ILLUSTRATIVE_ATTRIBUTION, Field, Layer, LegendEntry, Style

PARCEL_STATUSES = {
    "identified": ("Teridentifikasi", "Identified", "#BFBFBF"),
    "negotiating": ("Negosiasi", "Negotiating", "#FFC000"),
    "agreed": ("Sepakat", "Agreed", "#F28C28"),
    "compensated": ("Ganti rugi dibayar", "Compensated", "#70AD47"),
    "certified": ("Bersertifikat", "Certified", "#2E75B6"),
}

PROJECT_STATUSES = {
    "planned": ("Rencana", "Planned"),
    "land_acquisition": ("Pengadaan tanah", "Land acquisition"),
    "construction": ("Konstruksi", "Construction"),
    "operating": ("Beroperasi", "Operating"),
}

PROJECTS = Layer(
    id="projects",
    title_id="Proyek",
    title_en="Projects",
    geometry_type="MultiPolygon",
    fields=(
        Field("slug", "text", "Kode proyek", "Project id", required=True),
        Field("nama", "text", "Nama proyek", "Project name", required=True),
        Field("target_ha", "number", "Target luas (ha)", "Target area (ha)"),
        Field("status", "text", "Status", "Status", choices=tuple(PROJECT_STATUSES),
              labels=tuple((k, n_id, n_en) for k, (n_id, n_en) in PROJECT_STATUSES.items())),
        Field("kelurahan_kode", "text", "Kode kelurahan", "Kelurahan code"),
        Field("harga_satuan_rp_m2", "number", "Estimasi ganti rugi (Rp/m²)", "Estimated compensation (Rp/m²)"),
        AREA,
    ),
    key="slug",
    style=Style(color="#002060", fill_opacity=0.1, weight=3),
    source=ILLUSTRATIVE_ATTRIBUTION,
    illustrative=True,
)

PROJECT_PARCELS = Layer(
    id="project_parcels",
    title_id="Bidang tanah proyek (pengadaan tanah)",
    title_en="Project land parcels (acquisition)",
    geometry_type="MultiPolygon",
    fields=(
        Field("project_slug", "text", "Kode proyek", "Project id", required=True),
        Field("parcel_id", "text", "Nomor bidang", "Parcel number", required=True),
        Field("pemilik", "text", "Nama pemilik", "Owner name", public=False),
        Field("nik", "text", "NIK pemilik", "Owner NIK", public=False),
        Field("status", "text", "Status pengadaan", "Acquisition status", required=True,
              choices=tuple(PARCEL_STATUSES)),
        Field("kompensasi_rp", "bigint", "Ganti rugi (Rp)", "Compensation (Rp)", public=False),
        Field("status_date", "date", "Tanggal status", "Status date"),
        AREA,
    ),
    key="parcel_id",
    time_field="status_date",
    style=Style(
        color="#BFBFBF",
        fill_opacity=0.6,
        by="status",
        legend=tuple(LegendEntry(n_id, n_en, c, k) for k, (n_id, n_en, c) in PARCEL_STATUSES.items()),
    ),
    source=ILLUSTRATIVE_ATTRIBUTION,
    illustrative=True,
)

PROJECT_MILESTONES = Layer(
    id="project_milestones",
    title_id="Tahapan proyek",
    title_en="Project milestones",
    geometry_type="Point",
    fields=(
        Field("project_slug", "text", "Kode proyek", "Project id", required=True),
        Field("nama", "text", "Tahapan", "Milestone", required=True),
        Field("planned_date", "date", "Tanggal rencana", "Planned date"),
        Field("actual_date", "date", "Tanggal realisasi", "Actual date"),
    ),
    time_field="planned_date",
    style=Style(color="#002060", fill_opacity=1.0),
    source=ILLUSTRATIVE_ATTRIBUTION,
    illustrative=True,
)
