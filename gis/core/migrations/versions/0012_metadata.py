"""Metadata (Satu Data Indonesia, Perpres 39/2019) for every layer and raster: what an admin has set for a
record. A record is built from the declarations in layers/ and the data (title, source, extent, ...); a column
left NULL here keeps that default, a value overrides it. Every edit is kept in `metadata_history`.

Revision ID: 0012_metadata
Revises: 0011_search
"""

from alembic import op

revision = "0012_metadata"
down_revision = "0011_search"
branch_labels = None
depends_on = None

# ISO 19115 MD_TopicCategoryCode and MD_MaintenanceFrequencyCode, as at this revision.
TOPICS = ("farming", "biota", "boundaries", "climatologyMeteorologyAtmosphere", "economy", "elevation",
          "environment", "geoscientificInformation", "health", "imageryBaseMapsEarthCover",
          "intelligenceMilitary", "inlandWaters", "location", "oceans", "planningCadastre", "society", "structure",
          "transportation", "utilitiesCommunication")
FREQUENCIES = ("continual", "daily", "weekly", "fortnightly", "monthly", "quarterly", "biannually", "annually",
               "asNeeded", "irregular", "notPlanned", "unknown")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.execute(f"""CREATE TABLE metadata (
      resource text PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('layer', 'raster')),
      title_id text, title_en text, abstract_id text, abstract_en text,
      keywords text[],
      topic_category text CHECK ({_in('topic_category', TOPICS)}),
      extent geometry(Polygon, 4326),
      temporal_start date, temporal_end date,
      lineage text, licence text,
      contact_opd text, contact_role text, contact_email text, contact_email_public boolean,
      update_frequency text CHECK ({_in('update_frequency', FREQUENCIES)}),
      scale_denominator integer CHECK (scale_denominator > 0),
      resolution_m double precision CHECK (resolution_m > 0),
      illustrative boolean,
      updated_at timestamptz NOT NULL DEFAULT now(),
      updated_by text NOT NULL,
      CHECK (temporal_start IS NULL OR temporal_end IS NULL OR temporal_start <= temporal_end)
    )""")
    op.execute("""CREATE TABLE metadata_history (
      id bigserial PRIMARY KEY,
      resource text NOT NULL,
      changed_at timestamptz NOT NULL DEFAULT now(),
      changed_by text NOT NULL,
      patch jsonb NOT NULL,
      before jsonb
    )""")
    op.execute("CREATE INDEX idx_metadata_history_resource ON metadata_history (resource, changed_at)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS metadata_history")
    op.execute("DROP TABLE IF EXISTS metadata")
