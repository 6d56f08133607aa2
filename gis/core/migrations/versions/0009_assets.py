"""Regional assets: the `assets` layer (KIB A land, KIB C buildings; Permendagri 19/2016) and the rule that a
project parcel becomes an asset when it is certified: KIB A, the parcel's geometry, named after its project,
in use, under the estate's HPL (the certificate number is entered when the HPL is issued).

Revision ID: 0009_assets
Revises: 0008_attachments
"""

from alembic import op

from layers.schema import layer_from_dict
from layers.tables import layer_ddl

revision = "0009_assets"
down_revision = "0008_attachments"
branch_labels = None
depends_on = None


def _field(name: str, kind: str, title_id: str, title_en: str, **more) -> dict:
    return {"name": name, "type": kind, "title": {"id": title_id, "en": title_en}, **more}


# The declaration of the assets layer at this revision (frozen: later declaration changes need a migration).
ASSETS = layer_from_dict({
    "id": "assets", "title": {"id": "Aset daerah (tanah dan bangunan)", "en": "Regional assets (land and buildings)"},
    "geometry_type": "MultiPolygon", "illustrative": True, "public": True, "source": "",
    "time_field": "sertifikat_tanggal", "keep_small_features": True,
    "fields": [
        _field("kib", "text", "KIB", "Inventory card", required=True, choices=["A", "C"]),
        _field("kode_barang", "text", "Kode barang", "Item code", required=True),
        _field("nup", "text", "NUP (nomor register)", "Register number (NUP)", required=True),
        _field("kode_simbada", "text", "Kode SIMBADA", "SIMBADA identifier"),
        _field("nama", "text", "Nama barang", "Name", required=True),
        _field("opd", "text", "OPD pengguna", "User agency (OPD)"),
        _field("kelurahan_kode", "text", "Kode kelurahan", "Kelurahan code"),
        _field("tahun_perolehan", "integer", "Tahun perolehan", "Year acquired"),
        _field("nilai_perolehan_rp", "number", "Nilai perolehan (Rp)", "Acquisition value (Rp)", public=False),
        _field("sertifikat_jenis", "text", "Jenis sertifikat", "Certificate type",
               choices=["HPL", "SHP", "SHM", "HGB"]),
        _field("sertifikat_nomor", "text", "Nomor sertifikat", "Certificate number"),
        _field("sertifikat_tanggal", "date", "Tanggal sertifikat", "Certificate date"),
        _field("status", "text", "Status", "Status", required=True,
               choices=["digunakan", "idle", "sengketa", "dalam_pengadaan"]),
        _field("penggunaan", "text", "Penggunaan", "Used for"),
        _field("kbli", "text", "KBLI penggunaan", "KBLI of the use"),
        _field("parcel_id", "text", "Nomor bidang proyek", "Project parcel number"),
        _field("area_ha", "number", "Luas (ha)", "Area (ha)", computed=True),
    ],
})

# Land's kode barang (Permendagri 108/2016: 1.3.1 tanah); the next NUP under it is taken under a lock, so two
# parcels certified at once get two numbers.
PARCEL_ASSET = """
CREATE FUNCTION petakota_parcel_asset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'certified' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'certified')
     AND NOT EXISTS (SELECT 1 FROM assets WHERE parcel_id = NEW.parcel_id) THEN
    PERFORM pg_advisory_xact_lock(hashtext('assets.nup'));
    INSERT INTO assets (kib, kode_barang, nup, nama, kelurahan_kode, tahun_perolehan, sertifikat_jenis,
                        sertifikat_tanggal, status, parcel_id, geom)
    SELECT 'A', '1.3.1.01', lpad((coalesce(max(a.nup::bigint), 0) + 1)::text, 5, '0'),
           coalesce(p.nama, NEW.project_slug) || ' - bidang ' || NEW.parcel_id, p.kelurahan_kode,
           extract(year FROM coalesce(NEW.status_date, current_date))::integer, 'HPL', NEW.status_date,
           'digunakan', NEW.parcel_id, NEW.geom
    FROM (SELECT 1) one
    LEFT JOIN projects p ON p.slug = NEW.project_slug
    LEFT JOIN assets a ON a.kode_barang = '1.3.1.01' AND a.nup ~ '^[0-9]{1,15}$'
    GROUP BY p.nama, p.kelurahan_kode;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER project_parcels_asset AFTER INSERT OR UPDATE OF status ON project_parcels
  FOR EACH ROW EXECUTE FUNCTION petakota_parcel_asset();
"""


def upgrade() -> None:
    srid = int(op.get_context().config.attributes.get("metric_srid", 32647))
    for statement in layer_ddl(ASSETS, srid):
        op.execute(statement)
    op.execute(PARCEL_ASSET)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS project_parcels_asset ON project_parcels")
    op.execute("DROP FUNCTION IF EXISTS petakota_parcel_asset()")
    op.execute("DROP TABLE IF EXISTS assets")
