"""Tiles: a stored Web Mercator copy of each geometry (tiles need no per-row transform) and change
notifications, so every service process drops cached tiles of a layer as soon as an edit commits.

Revision ID: 0003
Revises: 0002
"""

import re

from alembic import op
from sqlalchemy import text

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LAYER_TABLES = ("kota", "kecamatan", "kelurahan", "zoning", "industrial_zones", "parks", "business_centers",
                "projects", "project_parcels", "project_milestones", "roads", "toll_gates", "rivers")

FUNCTIONS = """
CREATE OR REPLACE FUNCTION petakota_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('petakota_changes', TG_TABLE_NAME);
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION petakota_feature_json(r jsonb, g geometry) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT (r - 'geom' - 'geom_3857') || jsonb_build_object('geom', ST_AsGeoJSON(g, 9)::jsonb)
$$;
"""


def layer_tables() -> list[str]:
    """The built-in layer tables, then those of layers registered at runtime (the registry exists from 0002;
    their ids were checked to be plain lower-case identifiers when registered)."""
    registered = op.get_bind().execute(text("SELECT id FROM layer_registry ORDER BY created_at, id")).scalars()
    return [*LAYER_TABLES, *(t for t in registered if t not in LAYER_TABLES and re.fullmatch(r"[a-z][a-z0-9_]*", t))]


def add_tile_support(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ADD COLUMN geom_3857 geometry "
               f"GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED")
    op.execute(f"CREATE INDEX idx_{table}_geom_3857 ON {table} USING gist (geom_3857)")
    op.execute(f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
               f"FOR EACH STATEMENT EXECUTE FUNCTION petakota_notify_change()")


def upgrade() -> None:
    op.execute(FUNCTIONS)
    for table in layer_tables():
        add_tile_support(table)


def downgrade() -> None:
    for table in layer_tables():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS geom_3857")
    op.execute("DROP FUNCTION IF EXISTS petakota_notify_change()")
    op.execute("""CREATE OR REPLACE FUNCTION petakota_feature_json(r jsonb, g geometry) RETURNS jsonb
      LANGUAGE sql IMMUTABLE AS $$ SELECT (r - 'geom') || jsonb_build_object('geom', ST_AsGeoJSON(g, 9)::jsonb) $$""")
