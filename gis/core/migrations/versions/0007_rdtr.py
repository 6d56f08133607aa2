"""The RDTR in the national data standard (Permen ATR/BPN 14/2021). The zoning layer takes the standard's
attribute names (lower case) and its special-provision flags; overlays published as layers of their own get
the `zoning_overlays` layer; the ITBX table becomes per city and keyed by KBLI as well as by activity; every
imported plan is kept as a dated version (`rdtr_plans`, its features in `rdtr_plan_features`) so a planner can
compare plans or roll back. Existing zoning rows keep their ids: old codes move to the standard's columns.

Revision ID: 0007_rdtr
Revises: 0006_city_rasters
"""

import importlib.util
from pathlib import Path

from alembic import op

from layers.schema import layer_from_dict
from layers.tables import layer_ddl

revision = "0007_rdtr"
down_revision = "0006_city_rasters"
branch_labels = None
depends_on = None

RENAMED = {"kode_zona": "kodszn", "nama_zona": "namszn", "kode_lokal": "kodsbl", "sub_zona": "namobj"}
ADDED = ("namzon", "kodzon", "jnsrpr", "kodewp", "kodswp", "kodblk", "wadmpr", "wadmkk", "wadmkc", "wadmkd",
         "kkop_1", "lp2b_2", "krb_03", "tod_04", "teb_05", "cagbud", "hankam", "tpz_00", "resair")
ZONE_NAMES = {"R": "Zona Perumahan", "K": "Zona Perdagangan dan Jasa", "KT": "Zona Perkantoran",
              "SPU": "Zona Sarana Pelayanan Umum", "RTH": "Zona Ruang Terbuka Hijau",
              "PS": "Zona Perlindungan Setempat", "P": "Zona Pertanian", "KPI": "Zona Kawasan Peruntukan Industri",
              "I": "Zona Peruntukan Industri"}

# The declaration of the overlays layer at this revision (frozen: later declaration changes need a migration).
ZONING_OVERLAYS = layer_from_dict({
    "id": "zoning_overlays", "title": {"id": "Ketentuan khusus RDTR", "en": "RDTR special provisions"},
    "geometry_type": "MultiPolygon", "illustrative": True, "public": True, "source": "",
    "fields": [
        {"name": "kode", "type": "text", "title": {"id": "Kode ketentuan", "en": "Provision code"},
         "required": True},
        {"name": "namobj", "type": "text", "title": {"id": "Nama objek", "en": "Object name"}},
        {"name": "rdtr_versi", "type": "integer", "title": {"id": "Versi RDTR", "en": "RDTR version"}},
        {"name": "area_ha", "type": "number", "title": {"id": "Luas (ha)", "en": "Area (ha)"}, "computed": True},
    ],
})

# A plan's zones belong to the city whose plan it is, wherever their geometry lies (a zone straddling the border,
# a block past it): an import names the city in `petakota.plan_city` for its transaction. Otherwise as 0005.
PLAN_CITY_CHECK = """BEGIN
  IF TG_TABLE_NAME IN ('zoning', 'zoning_overlays')
     AND coalesce(current_setting('petakota.plan_city', true), '') <> '' THEN
    NEW.kabkota := current_setting('petakota.plan_city', true);
    RETURN NEW;
  END IF;
  IF TG_ARGV[0] = 'kode' THEN"""


def _cities_functions() -> str:
    """The city functions as migration 0005 made them."""
    spec = importlib.util.spec_from_file_location("cities_0005", Path(__file__).with_name("0005_cities.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FUNCTIONS


PLANS = """
CREATE TABLE rdtr_plans (
  id serial PRIMARY KEY,
  kabkota text NOT NULL,
  version integer NOT NULL,
  imported_at timestamptz NOT NULL DEFAULT now(),
  imported_by text NOT NULL,
  source text,
  zones integer NOT NULL,
  content_hash text NOT NULL,
  active boolean NOT NULL DEFAULT false,
  report jsonb,
  itbx jsonb NOT NULL DEFAULT '[]',
  CONSTRAINT rdtr_plans_version_key UNIQUE (kabkota, version)
);
CREATE UNIQUE INDEX idx_rdtr_plans_active ON rdtr_plans (kabkota) WHERE active;
CREATE TABLE rdtr_plan_features (
  id bigserial PRIMARY KEY,
  plan_id integer NOT NULL REFERENCES rdtr_plans (id) ON DELETE CASCADE,
  layer text NOT NULL,
  properties jsonb NOT NULL,
  geom geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX idx_rdtr_plan_features_plan ON rdtr_plan_features (plan_id, layer);
"""


def upgrade() -> None:
    for old, new in RENAMED.items():
        op.execute(f"ALTER TABLE zoning RENAME COLUMN {old} TO {new}")
    op.execute("ALTER TABLE zoning ALTER COLUMN kodsbl DROP NOT NULL")
    op.execute("ALTER TABLE zoning " + ", ".join(f"ADD COLUMN {c} text" for c in ADDED)
               + ", ADD COLUMN luasha double precision, ADD COLUMN rdtr_versi integer")
    zones = ", ".join(f"('{code}', '{name}')" for code, name in ZONE_NAMES.items())
    op.execute("UPDATE zoning SET kodzon = CASE WHEN kodszn = 'KI' THEN 'KPI' ELSE split_part(kodszn, '-', 1) END")
    op.execute(f"UPDATE zoning z SET namzon = n.name FROM (VALUES {zones}) AS n(code, name) WHERE n.code = z.kodzon")
    srid = int(op.get_context().config.attributes.get("metric_srid", 32647))
    for statement in layer_ddl(ZONING_OVERLAYS, srid):
        op.execute(statement)

    op.execute("ALTER TABLE itbx DROP CONSTRAINT itbx_pkey")
    op.execute("ALTER TABLE itbx RENAME COLUMN kode_zona TO kodszn")
    op.execute("ALTER TABLE itbx ALTER COLUMN kegiatan DROP NOT NULL")
    op.execute("ALTER TABLE itbx ADD COLUMN id serial PRIMARY KEY, ADD COLUMN kabkota text, ADD COLUMN kbli text")
    # The one table served every city held: each gets its own copy.
    op.execute("INSERT INTO itbx (kabkota, kodszn, kegiatan, ketentuan, syarat) "
               "SELECT k.kode, i.kodszn, i.kegiatan, i.ketentuan, i.syarat FROM itbx i CROSS JOIN kota k "
               "WHERE i.kabkota IS NULL")
    op.execute("DELETE FROM itbx WHERE kabkota IS NULL")
    op.execute("ALTER TABLE itbx ALTER COLUMN kabkota SET NOT NULL")
    op.execute("ALTER TABLE itbx ADD CONSTRAINT itbx_kbli_check CHECK (kbli ~ '^[0-9]{2,5}$')")
    op.execute("ALTER TABLE itbx ADD CONSTRAINT itbx_rule_check CHECK (kbli IS NOT NULL OR kegiatan IS NOT NULL)")
    op.execute("CREATE UNIQUE INDEX idx_itbx_rule ON itbx (kabkota, kodszn, coalesce(kbli, ''), "
               "lower(coalesce(kegiatan, '')))")
    op.execute(PLANS)
    functions = _cities_functions()
    assert "BEGIN\n  IF TG_ARGV[0] = 'kode' THEN" in functions
    op.execute(functions.replace("BEGIN\n  IF TG_ARGV[0] = 'kode' THEN", PLAN_CITY_CHECK))


def downgrade() -> None:
    op.execute(_cities_functions())
    op.execute("DROP TABLE IF EXISTS rdtr_plan_features")
    op.execute("DROP TABLE IF EXISTS rdtr_plans")
    op.execute("DROP INDEX IF EXISTS idx_itbx_rule")
    # Rules by KBLI only and the per-city copies have no place in the old table: one city's activity rules stay.
    op.execute("DELETE FROM itbx WHERE kegiatan IS NULL OR kabkota <> (SELECT min(kabkota) FROM itbx)")
    op.execute("ALTER TABLE itbx DROP CONSTRAINT itbx_rule_check, DROP CONSTRAINT itbx_kbli_check")
    op.execute("ALTER TABLE itbx DROP COLUMN id, DROP COLUMN kabkota, DROP COLUMN kbli")
    op.execute("ALTER TABLE itbx ALTER COLUMN kegiatan SET NOT NULL")
    op.execute("ALTER TABLE itbx RENAME COLUMN kodszn TO kode_zona")
    op.execute("DELETE FROM itbx a USING itbx b WHERE a.ctid > b.ctid AND a.kode_zona = b.kode_zona "
               "AND a.kegiatan = b.kegiatan")
    op.execute("ALTER TABLE itbx ADD CONSTRAINT itbx_pkey PRIMARY KEY (kode_zona, kegiatan)")
    op.execute("DROP TABLE IF EXISTS zoning_overlays")
    op.execute("ALTER TABLE zoning " + ", ".join(f"DROP COLUMN {c}" for c in (*ADDED, "luasha", "rdtr_versi")))
    op.execute("UPDATE zoning SET kodsbl = coalesce(kodsbl, kodszn || '.' || id)")
    op.execute("ALTER TABLE zoning ALTER COLUMN kodsbl SET NOT NULL")
    for old, new in RENAMED.items():
        op.execute(f"ALTER TABLE zoning RENAME COLUMN {new} TO {old}")
