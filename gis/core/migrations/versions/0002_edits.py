"""Edits: feature versions (ETags), edit history written by triggers, API keys, runtime-registered layers.

Revision ID: 0002
Revises: 0001
"""

import re

from alembic import op
from sqlalchemy import text

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LAYER_TABLES = ("kota", "kecamatan", "kelurahan", "zoning", "industrial_zones", "parks", "business_centers",
                "projects", "project_parcels", "project_milestones", "roads", "toll_gates", "rivers")

# History is written by triggers so that every write, whoever makes it (API, CLI, a planner's QGIS on the
# database), is recorded in its own transaction. The API sets petakota.actor / petakota.action per transaction.
FUNCTIONS = """
CREATE OR REPLACE FUNCTION petakota_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION petakota_feature_json(r jsonb, g geometry) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT (r - 'geom') || jsonb_build_object('geom', ST_AsGeoJSON(g, 9)::jsonb)
$$;

CREATE OR REPLACE FUNCTION petakota_record_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  actor text := coalesce(nullif(current_setting('petakota.actor', true), ''), session_user::text);
  action text := coalesce(nullif(current_setting('petakota.action', true), ''), lower(TG_OP));
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO feature_history (layer, feature_id, version, action, actor, before, after)
    VALUES (TG_TABLE_NAME, NEW.id, NEW.version, action, actor, NULL, petakota_feature_json(to_jsonb(NEW), NEW.geom));
    RETURN NEW;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO feature_history (layer, feature_id, version, action, actor, before, after)
    VALUES (TG_TABLE_NAME, NEW.id, NEW.version, action, actor,
            petakota_feature_json(to_jsonb(OLD), OLD.geom), petakota_feature_json(to_jsonb(NEW), NEW.geom));
    RETURN NEW;
  ELSE
    INSERT INTO feature_history (layer, feature_id, version, action, actor, before, after)
    VALUES (TG_TABLE_NAME, OLD.id, OLD.version + 1, 'delete', actor,
            petakota_feature_json(to_jsonb(OLD), OLD.geom), NULL);
    RETURN OLD;
  END IF;
END $$;
"""


def add_edit_tracking(table: str) -> None:
    """Version, timestamp and history triggers for one layer table (also used for runtime layers)."""
    op.execute(f"ALTER TABLE {table} ADD COLUMN version integer NOT NULL DEFAULT 1, "
               f"ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now()")
    op.execute(f"CREATE TRIGGER {table}_version BEFORE UPDATE ON {table} "
               f"FOR EACH ROW EXECUTE FUNCTION petakota_bump_version()")
    op.execute(f"CREATE TRIGGER {table}_history AFTER INSERT OR UPDATE OR DELETE ON {table} "
               f"FOR EACH ROW EXECUTE FUNCTION petakota_record_history()")


def upgrade() -> None:
    op.execute("""CREATE TABLE feature_history (
      id bigserial PRIMARY KEY,
      layer text NOT NULL,
      feature_id integer NOT NULL,
      version integer NOT NULL,
      action text NOT NULL,
      actor text NOT NULL,
      at timestamptz NOT NULL DEFAULT now(),
      before jsonb,
      after jsonb
    )""")
    op.execute("CREATE INDEX idx_feature_history_feature ON feature_history (layer, feature_id, version)")
    op.execute(FUNCTIONS)
    for table in LAYER_TABLES:
        add_edit_tracking(table)
    op.execute("""CREATE TABLE api_keys (
      id serial PRIMARY KEY,
      name text NOT NULL,
      role text NOT NULL CHECK (role IN ('analyst', 'planner', 'admin')),
      prefix text NOT NULL,
      key_hash text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    )""")
    op.execute("""CREATE TABLE layer_registry (
      id text PRIMARY KEY,
      declaration jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )""")


def downgrade() -> None:
    # Layers registered at runtime cannot outlive the registry; their ids were checked to be plain identifiers.
    for table in op.get_bind().execute(text("SELECT id FROM layer_registry")).scalars():
        if table not in LAYER_TABLES and re.fullmatch(r"[a-z][a-z0-9_]*", table):
            op.execute(f"DROP TABLE IF EXISTS {table}")
    op.execute("DROP TABLE IF EXISTS layer_registry")
    op.execute("DROP TABLE IF EXISTS api_keys")
    for table in LAYER_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_history ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_version ON {table}")
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS version, DROP COLUMN IF EXISTS updated_at")
    op.execute("DROP FUNCTION IF EXISTS petakota_record_history()")
    op.execute("DROP FUNCTION IF EXISTS petakota_feature_json(jsonb, geometry)")
    op.execute("DROP FUNCTION IF EXISTS petakota_bump_version()")
    op.execute("DROP TABLE IF EXISTS feature_history")
