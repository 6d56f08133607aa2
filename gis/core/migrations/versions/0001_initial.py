"""Initial schema: boundaries, planning layers, projects, network, ITBX, raster registry.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copy of the schema at this revision: table -> (geometry type, [(column, sql type, constraint)]).
# tests/test_migrations.py checks it against the layer declarations in layers/.
LAYERS = {
    "kota": ("MULTIPOLYGON", [("kode", "text", "NOT NULL UNIQUE"), ("nama", "text", "NOT NULL"),
                              ("provinsi_kode", "text", ""), ("area_ha", "double precision", "")]),
    "kecamatan": ("MULTIPOLYGON", [("kode", "text", "NOT NULL UNIQUE"), ("nama", "text", "NOT NULL"),
                                   ("kota_kode", "text", "NOT NULL"), ("area_ha", "double precision", "")]),
    "kelurahan": ("MULTIPOLYGON", [("kode", "text", "NOT NULL UNIQUE"), ("nama", "text", "NOT NULL"),
                                   ("jenis", "text", ""), ("kecamatan_kode", "text", "NOT NULL"),
                                   ("kota_kode", "text", "NOT NULL"), ("area_ha", "double precision", "")]),
    "zoning": ("MULTIPOLYGON", [("kode_lokal", "text", "NOT NULL"), ("kode_zona", "text", "NOT NULL"),
                                ("nama_zona", "text", ""), ("sub_zona", "text", ""),
                                ("kelurahan_kode", "text", ""), ("area_ha", "double precision", "")]),
    "industrial_zones": ("MULTIPOLYGON", [("nama", "text", "NOT NULL"), ("status", "text", "NOT NULL"),
                                          ("kelurahan_kode", "text", ""), ("area_ha", "double precision", "")]),
    "parks": ("MULTIPOLYGON", [("nama", "text", "NOT NULL"), ("kelas", "text", "NOT NULL"),
                               ("publik", "boolean", "NOT NULL"), ("kelurahan_kode", "text", ""),
                               ("area_ha", "double precision", "")]),
    "business_centers": ("POINT", [("nama", "text", "NOT NULL"), ("kelurahan_kode", "text", "NOT NULL"),
                                   ("sektor", "text", ""), ("jumlah_umkm", "integer", ""), ("status", "text", ""),
                                   ("kontak_nama", "text", ""), ("kontak_telepon", "text", "")]),
    "projects": ("MULTIPOLYGON", [("slug", "text", "NOT NULL UNIQUE"), ("nama", "text", "NOT NULL"),
                                  ("target_ha", "double precision", ""), ("status", "text", ""),
                                  ("kelurahan_kode", "text", ""), ("harga_satuan_rp_m2", "double precision", ""),
                                  ("area_ha", "double precision", "")]),
    "project_parcels": ("MULTIPOLYGON", [("project_slug", "text", "NOT NULL"),
                                         ("parcel_id", "text", "NOT NULL UNIQUE"), ("pemilik", "text", ""),
                                         ("nik", "text", ""), ("status", "text", "NOT NULL"),
                                         ("kompensasi_rp", "bigint", ""), ("status_date", "date", ""),
                                         ("area_ha", "double precision", "")]),
    "project_milestones": ("POINT", [("project_slug", "text", "NOT NULL"), ("nama", "text", "NOT NULL"),
                                     ("planned_date", "date", ""), ("actual_date", "date", "")]),
    "roads": ("MULTILINESTRING", [("nama", "text", ""), ("road_class", "text", "NOT NULL")]),
    "toll_gates": ("POINT", [("nama", "text", "NOT NULL"), ("ruas", "text", "")]),
    "rivers": ("MULTILINESTRING", [("nama", "text", ""), ("depth_class", "text", "NOT NULL"),
                                   ("embanked", "boolean", ""), ("setback_m", "double precision", "")]),
}

AREA_FUNCTION = """
CREATE OR REPLACE FUNCTION petakota_area_ha() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Hectares are measured in the city's metric CRS (trigger argument), never in degrees.
  NEW.area_ha := ST_Area(ST_Transform(NEW.geom, TG_ARGV[0]::integer)) / 10000.0;
  RETURN NEW;
END $$;
"""


def upgrade() -> None:
    srid = int(op.get_context().config.attributes.get("metric_srid", 32647))
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(AREA_FUNCTION)
    for table, (geometry_type, columns) in LAYERS.items():
        cols = ",\n  ".join(f"{name} {sql_type} {constraint}".strip() for name, sql_type, constraint in columns)
        op.execute(
            f"CREATE TABLE {table} (\n  id serial PRIMARY KEY,\n  {cols},\n"
            f"  geom geometry({geometry_type}, 4326) NOT NULL\n)"
        )
        op.execute(f"CREATE INDEX idx_{table}_geom ON {table} USING gist (geom)")
        if any(name == "area_ha" for name, _, _ in columns):
            op.execute(
                f"CREATE TRIGGER {table}_area_ha BEFORE INSERT OR UPDATE OF geom ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION petakota_area_ha({srid})"
            )
    op.execute(
        """CREATE TABLE itbx (
          kode_zona text NOT NULL,
          kegiatan text NOT NULL,
          ketentuan text NOT NULL,
          syarat text,
          CONSTRAINT itbx_pkey PRIMARY KEY (kode_zona, kegiatan),
          CONSTRAINT itbx_ketentuan_check CHECK (ketentuan IN ('I','T','B','X'))
        )"""
    )
    op.execute(
        """CREATE TABLE rasters (
          id text PRIMARY KEY,
          title_id text NOT NULL,
          title_en text NOT NULL,
          path text NOT NULL,
          units text,
          kind text NOT NULL,
          illustrative boolean NOT NULL,
          source text,
          acquired date
        )"""
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS rasters")
    op.execute("DROP TABLE IF EXISTS itbx")
    for table in reversed(list(LAYERS)):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.execute("DROP FUNCTION IF EXISTS petakota_area_ha()")
