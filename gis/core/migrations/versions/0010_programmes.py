"""Programme monitoring: programmes (one row per SIPD sub-activity and year), their indicators and progress
updates as tables without geometry, every write of them in the feature history; their locations as three
layers (points, lines, areas); and keys that name an OPD (edits its own programmes only) or a kecamatan (a
camat's view).

Revision ID: 0010_programmes
Revises: 0009_assets
"""

from alembic import op

from layers.schema import layer_from_dict
from layers.tables import layer_ddl

revision = "0010_programmes"
down_revision = "0009_assets"
branch_labels = None
depends_on = None


def _field(name: str, kind: str, title_id: str, title_en: str, **more) -> dict:
    return {"name": name, "type": kind, "title": {"id": title_id, "en": title_en}, **more}


def _location_layer(layer_id: str, kind_id: str, kind_en: str, geometry_type: str, extra=()):
    """A programme-location layer as declared at this revision (frozen)."""
    return layer_from_dict({
        "id": layer_id, "title": {"id": f"Lokasi program ({kind_id})", "en": f"Programme locations ({kind_en})"},
        "geometry_type": geometry_type, "illustrative": True, "public": False, "source": "",
        "keep_small_features": True,
        "fields": [
            _field("programme_kode", "text", "Kode program", "Programme id", required=True),
            _field("nama", "text", "Lokasi", "Location", required=True),
            _field("kodeskpd", "text", "Kode SKPD", "Agency code"),
            _field("kecamatan_kode", "text", "Kode kecamatan", "Kecamatan code"),
            _field("kelurahan_kode", "text", "Kode kelurahan", "Kelurahan code"),
            _field("keterangan", "text", "Keterangan", "Description"),
            *extra,
        ],
    })


LOCATION_LAYERS = (
    _location_layer("programme_points", "titik", "points", "Point"),
    _location_layer("programme_lines", "garis", "lines", "MultiLineString"),
    _location_layer("programme_areas", "area", "areas", "MultiPolygon",
                    (_field("area_ha", "number", "Luas (ha)", "Area (ha)", computed=True),)),
)

TABLES = """
CREATE TABLE programmes (
  id serial PRIMARY KEY,
  kode text NOT NULL UNIQUE,
  kabkota text NOT NULL,
  kodepemda text,
  tahun integer NOT NULL,
  kodeskpd text NOT NULL,
  nama_skpd text NOT NULL,
  kodeprogram text NOT NULL,
  nama_program text NOT NULL,
  kodekegiatan text NOT NULL,
  nama_kegiatan text NOT NULL,
  kodesubkegiatan text NOT NULL,
  nama_subkegiatan text NOT NULL,
  pagu_rp bigint CHECK (pagu_rp >= 0),
  realisasi_rp bigint CHECK (realisasi_rp >= 0),
  tanggal_mulai date,
  tanggal_selesai date,
  project_slug text,
  publik boolean NOT NULL DEFAULT true,
  catatan text,
  version integer NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (tanggal_selesai IS NULL OR tanggal_mulai IS NULL OR tanggal_selesai >= tanggal_mulai),
  UNIQUE (kabkota, tahun, kodeskpd, kodesubkegiatan)
);
CREATE INDEX idx_programmes_city ON programmes (kabkota, tahun, kodeskpd);

CREATE TABLE programme_indicators (
  id serial PRIMARY KEY,
  programme_kode text NOT NULL REFERENCES programmes (kode) ON UPDATE CASCADE ON DELETE CASCADE,
  kode text NOT NULL,
  nama text NOT NULL,
  satuan text NOT NULL,
  periode text NOT NULL,
  batas_periode date NOT NULL,
  target double precision NOT NULL CHECK (target >= 0),
  realisasi double precision CHECK (realisasi >= 0),
  wilayah_kode text,
  sumber text NOT NULL DEFAULT 'laporan' CHECK (sumber IN ('laporan', 'project_parcels', 'business_centers')),
  version integer NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX idx_programme_indicators_unique
  ON programme_indicators (programme_kode, kode, periode, coalesce(wilayah_kode, ''));

CREATE TABLE programme_progress (
  id serial PRIMARY KEY,
  programme_kode text NOT NULL REFERENCES programmes (kode) ON UPDATE CASCADE ON DELETE CASCADE,
  indicator_id integer REFERENCES programme_indicators (id) ON DELETE SET NULL,
  tanggal date NOT NULL,
  realisasi double precision CHECK (realisasi >= 0),
  realisasi_rp bigint CHECK (realisasi_rp >= 0),
  status text NOT NULL CHECK (status IN ('berjalan', 'terkendala', 'selesai', 'batal')),
  catatan text,
  oleh text NOT NULL,
  version integer NOT NULL DEFAULT 1,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_programme_progress_programme ON programme_progress (programme_kode, tanggal, id);

-- A row's history without a geometry, in the same feature_history the layers write (layer = table name).
CREATE FUNCTION petakota_row_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  actor text := coalesce(nullif(current_setting('petakota.actor', true), ''), session_user::text);
  action text := coalesce(nullif(current_setting('petakota.action', true), ''), lower(TG_OP));
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO feature_history (layer, feature_id, version, action, actor, before, after)
    VALUES (TG_TABLE_NAME, NEW.id, NEW.version, action, actor, NULL, to_jsonb(NEW));
    RETURN NEW;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO feature_history (layer, feature_id, version, action, actor, before, after)
    VALUES (TG_TABLE_NAME, NEW.id, NEW.version, action, actor, to_jsonb(OLD), to_jsonb(NEW));
    RETURN NEW;
  ELSE
    INSERT INTO feature_history (layer, feature_id, version, action, actor, before, after)
    VALUES (TG_TABLE_NAME, OLD.id, OLD.version + 1, 'delete', actor, to_jsonb(OLD), NULL);
    RETURN OLD;
  END IF;
END $$;
"""

RECORD_TABLES = ("programmes", "programme_indicators", "programme_progress")


def upgrade() -> None:
    op.execute(TABLES)
    for table in RECORD_TABLES:
        op.execute(f"CREATE TRIGGER {table}_version BEFORE UPDATE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION petakota_bump_version()")
        op.execute(f"CREATE TRIGGER {table}_history AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION petakota_row_history()")
        op.execute(f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION petakota_notify_change()")
    srid = int(op.get_context().config.attributes.get("metric_srid", 32647))
    for layer in LOCATION_LAYERS:
        for statement in layer_ddl(layer, srid):
            op.execute(statement)
    # A key naming an OPD (kodeskpd) edits that OPD's programmes only; one naming a kecamatan sees that
    # kecamatan's programmes (a camat).
    op.execute("ALTER TABLE api_keys ADD COLUMN opd text, ADD COLUMN kecamatan text")


def downgrade() -> None:
    op.execute("ALTER TABLE api_keys DROP COLUMN IF EXISTS opd, DROP COLUMN IF EXISTS kecamatan")
    for layer in reversed(LOCATION_LAYERS):
        op.execute(f"DROP TABLE IF EXISTS {layer.id}")
    for table in reversed(RECORD_TABLES):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.execute("DROP FUNCTION IF EXISTS petakota_row_history()")
