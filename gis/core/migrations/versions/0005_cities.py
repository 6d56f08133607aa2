"""Cities: many kab/kota in one service. The `kota` layer becomes the kab/kota level (kind, metric CRS,
population, default view), and every row of every layer table (built-in and runtime) carries the code of the
kab/kota it belongs to, `kabkota`, kept by the database: from the row's own codes where it has them, else from
its geometry (a row up to 5 km outside every city, such as a toll gate on the approach, belongs to the
nearest). A row farther outside every city held is refused (unless no city is held yet).

Revision ID: 0005
Revises: 0004
"""

import re

from alembic import op
from sqlalchemy import text

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

LAYER_TABLES = ("kota", "kecamatan", "kelurahan", "zoning", "industrial_zones", "parks", "business_centers",
                "projects", "project_parcels", "project_milestones", "roads", "toll_gates", "rivers")
CITY_SOURCES = {"kota": "kode", "kecamatan": "kota_kode", "kelurahan": "kota_kode"}  # the others: geometry

KOTA_COLUMNS = (("jenis", "text"), ("metric_crs", "integer"), ("population", "bigint"),
                ("center_lon", "double precision"), ("center_lat", "double precision"), ("zoom", "integer"))

FUNCTIONS = """
CREATE OR REPLACE FUNCTION petakota_city_of(g geometry) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
  code text;
BEGIN
  SELECT kode INTO code FROM kota WHERE ST_Intersects(geom, ST_PointOnSurface(g)) ORDER BY kode LIMIT 1;
  IF code IS NULL THEN
    -- The point on surface may fall just outside every city (a road along the border): the largest overlap.
    SELECT kode INTO code FROM kota WHERE ST_Intersects(geom, g)
    ORDER BY ST_Area(ST_Intersection(geom, g)) + ST_Length(ST_Intersection(geom, g)) DESC, kode LIMIT 1;
  END IF;
  IF code IS NULL THEN
    -- Just past the city line (a toll gate, the road to the next town): the nearest city within 5 km.
    SELECT kode INTO code FROM kota WHERE ST_DWithin(geom::geography, g::geography, 5000)
    ORDER BY ST_Distance(geom::geography, g::geography), kode LIMIT 1;
  END IF;
  RETURN code;
END $$;

CREATE OR REPLACE FUNCTION petakota_kabkota() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  code text;
  held text;
BEGIN
  IF TG_ARGV[0] = 'kode' THEN  -- the kab/kota level: a city is its own
    NEW.kabkota := NEW.kode;
    RETURN NEW;
  ELSIF TG_ARGV[0] = 'kota_kode' THEN
    code := NEW.kota_kode;
    IF EXISTS (SELECT 1 FROM kota WHERE kode = code) THEN
      NEW.kabkota := code;
      RETURN NEW;
    END IF;
  ELSE
    code := petakota_city_of(NEW.geom);
    IF code IS NOT NULL THEN
      NEW.kabkota := code;
      RETURN NEW;
    END IF;
  END IF;
  SELECT string_agg(kode || ' ' || nama, ', ' ORDER BY kode) INTO held FROM kota;
  IF held IS NULL THEN  -- no city held yet (boundaries being imported level by level): nothing to check
    NEW.kabkota := code;
    RETURN NEW;
  END IF;
  IF TG_ARGV[0] = 'kota_kode' THEN
    RAISE EXCEPTION USING ERRCODE = 'PKC01',
      MESSAGE = format('%s: its city %s is not held here (cities held: %s)', TG_TABLE_NAME, code, held);
  END IF;
  RAISE EXCEPTION USING ERRCODE = 'PKC01',
    MESSAGE = format('%s: the geometry lies outside every city held (%s)', TG_TABLE_NAME, held);
END $$;
"""


def _runtime_tables() -> dict[str, str]:
    """Layers registered at runtime and where their rows take their city from (ids were checked to be plain
    lower-case identifiers when registered)."""
    out = {}
    for row in op.get_bind().execute(text("SELECT id, declaration FROM layer_registry ORDER BY created_at, id")):
        if row.id in LAYER_TABLES or not re.fullmatch(r"[a-z][a-z0-9_]*", row.id):
            continue
        names = {f["name"] for f in row.declaration.get("fields", ())}
        if "kota_kode" in names:
            out[row.id] = "kota_kode"
        elif row.declaration.get("key") == "kode" and "provinsi_kode" in names:
            out[row.id] = "kode"
        else:
            out[row.id] = "geom"
    return out


def _tables() -> dict[str, str]:
    return {**{t: CITY_SOURCES.get(t, "geom") for t in LAYER_TABLES}, **_runtime_tables()}


def upgrade() -> None:
    srid = int(op.get_context().config.attributes.get("metric_srid", 32647))
    op.execute(FUNCTIONS)
    op.execute("ALTER TABLE kota " + ", ".join(f"ADD COLUMN {name} {kind}" for name, kind in KOTA_COLUMNS))
    for table, source in _tables().items():
        op.execute(f"ALTER TABLE {table} ADD COLUMN kabkota text")
        # Backfilled with the table's triggers off: the city is not an edit (no version bump, no history row).
        op.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        value = {"kode": "kode", "kota_kode": "kota_kode"}.get(source, "petakota_city_of(geom)")
        op.execute(f"UPDATE {table} SET kabkota = {value}")
        if table == "kota":
            op.execute(f"UPDATE kota SET jenis = CASE WHEN nama ILIKE 'kab%' THEN 'kabupaten' ELSE 'kota' END, "
                       f"metric_crs = {srid}")
        op.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        watched = f"{source}, kabkota"
        op.execute(f"CREATE INDEX idx_{table}_kabkota ON {table} (kabkota, id)")
        op.execute(f"CREATE TRIGGER {table}_kabkota BEFORE INSERT OR UPDATE OF {watched} ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION petakota_kabkota('{source}')")


def downgrade() -> None:
    for table in _tables():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_kabkota ON {table}")
        op.execute(f"DROP INDEX IF EXISTS idx_{table}_kabkota")
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS kabkota")
    op.execute("ALTER TABLE kota " + ", ".join(f"DROP COLUMN IF EXISTS {name}" for name, _ in KOTA_COLUMNS))
    op.execute("DROP FUNCTION IF EXISTS petakota_kabkota()")
    op.execute("DROP FUNCTION IF EXISTS petakota_city_of(geometry)")
