"""Administrative boundaries: real data (BIG via cahyadsn/wilayah_boundaries), keyed on Kemendagri codes."""

from layers.schema import BOUNDARY_ATTRIBUTION, Field, Layer, Style

AREA = Field("area_ha", "number", "Luas (ha)", "Area (ha)", computed=True)

KOTA = Layer(
    id="kota",
    title_id="Kota / Kabupaten",
    title_en="City / regency",
    geometry_type="MultiPolygon",
    fields=(
        Field("kode", "text", "Kode Kemendagri", "Kemendagri code", required=True),
        Field("nama", "text", "Nama", "Name", required=True),
        Field("provinsi_kode", "text", "Kode provinsi", "Province code"),
        AREA,
        Field("jenis", "text", "Jenis", "Kind", choices=("kota", "kabupaten"),
              labels=(("kota", "Kota", "City"), ("kabupaten", "Kabupaten", "Regency"))),
        # Areas and distances of this city are measured in this CRS (its UTM zone: Indonesia spans 46N-54S).
        Field("metric_crs", "integer", "CRS metrik (EPSG)", "Metric CRS (EPSG)"),
        Field("population", "bigint", "Jumlah penduduk", "Population"),
        # The city's default map view.
        Field("center_lon", "number", "Bujur pusat peta", "Map centre longitude"),
        Field("center_lat", "number", "Lintang pusat peta", "Map centre latitude"),
        Field("zoom", "integer", "Zoom peta", "Map zoom"),
    ),
    key="kode",
    style=Style(color="#333333", fill_opacity=0.0, weight=3),
    source=BOUNDARY_ATTRIBUTION,
    illustrative=False,
)

KECAMATAN = Layer(
    id="kecamatan",
    title_id="Kecamatan",
    title_en="Districts (kecamatan)",
    geometry_type="MultiPolygon",
    fields=(
        Field("kode", "text", "Kode Kemendagri", "Kemendagri code", required=True),
        Field("nama", "text", "Nama", "Name", required=True),
        Field("kota_kode", "text", "Kode kota", "City code", required=True),
        AREA,
    ),
    key="kode",
    style=Style(color="#555555", fill_opacity=0.0, weight=2),
    source=BOUNDARY_ATTRIBUTION,
    illustrative=False,
)

KELURAHAN = Layer(
    id="kelurahan",
    title_id="Kelurahan / Desa",
    title_en="Villages (kelurahan / desa)",
    description_id="Tingkat 4: kelurahan (di kota) dan desa (terutama di kabupaten)",
    description_en="Level 4: kelurahan (urban villages) and desa (rural villages, mostly in a kabupaten)",
    geometry_type="MultiPolygon",
    fields=(
        Field("kode", "text", "Kode Kemendagri", "Kemendagri code", required=True),
        Field("nama", "text", "Nama", "Name", required=True),
        Field("jenis", "text", "Jenis", "Type", choices=("kelurahan", "desa"),
              labels=(("kelurahan", "Kelurahan", "Urban village"), ("desa", "Desa", "Village"))),
        Field("kecamatan_kode", "text", "Kode kecamatan", "District code", required=True),
        Field("kota_kode", "text", "Kode kota", "City code", required=True),
        AREA,
    ),
    key="kode",
    style=Style(color="#777777", fill_opacity=0.05, weight=1),
    source=BOUNDARY_ATTRIBUTION,
    illustrative=False,
)
