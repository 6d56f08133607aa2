"""Change notifications: webhooks an admin registers, their deliveries and every delivery attempt; and the
transaction id of each history row, so that events are read from `feature_history` without gaps.

History ids come from a sequence, taken when a row is written, not when its transaction commits: a reader
following `id > last seen` could pass an id whose transaction commits later and never see it. Each history row
therefore records the id of the transaction that wrote it (`txid`), and events are read in (txid, id) order up
to the oldest transaction still running (`pg_snapshot_xmin`): every transaction below it has finished, so no row
can appear behind a reader's position. Rows written before this revision have txid 0.

Revision ID: 0013_webhooks
Revises: 0012_metadata
"""

from alembic import op

revision = "0013_webhooks"
down_revision = "0012_metadata"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE webhooks (
  id serial PRIMARY KEY,
  url text NOT NULL CHECK (url ~ '^https?://'),
  secret text NOT NULL CHECK (length(secret) >= 16),
  collections text[] NOT NULL DEFAULT '{}',
  kinds text[] NOT NULL DEFAULT '{create,update,delete}'
    CHECK (kinds <@ ARRAY['create', 'update', 'delete'] AND cardinality(kinds) > 0),
  active boolean NOT NULL DEFAULT true,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  cursor_txid bigint NOT NULL,
  cursor_id bigint NOT NULL,
  lease_until timestamptz,
  leased_by text
);

CREATE TABLE webhook_deliveries (
  id bigserial PRIMARY KEY,
  webhook integer NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  history_id bigint NOT NULL,
  history_txid bigint NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  created_at timestamptz NOT NULL DEFAULT now(),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_status integer,
  last_error text,
  delivered_at timestamptz,
  UNIQUE (webhook, history_id)
);
CREATE INDEX idx_webhook_deliveries_pending ON webhook_deliveries (webhook, history_txid, history_id)
  WHERE status = 'pending';

CREATE TABLE webhook_attempts (
  id bigserial PRIMARY KEY,
  delivery bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  status integer,
  error text,
  duration_ms double precision NOT NULL
);
CREATE INDEX idx_webhook_attempts_delivery ON webhook_attempts (delivery, attempt);
"""


def upgrade() -> None:
    # NOT NULL DEFAULT 0 is a catalog change only (no rewrite); the volatile default applies to new rows.
    op.execute("ALTER TABLE feature_history ADD COLUMN txid bigint NOT NULL DEFAULT 0")
    op.execute("ALTER TABLE feature_history ALTER COLUMN txid SET DEFAULT pg_current_xact_id()::text::bigint")
    op.execute("CREATE INDEX idx_feature_history_txid ON feature_history (txid, id)")
    op.execute(TABLES)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS webhook_attempts")
    op.execute("DROP TABLE IF EXISTS webhook_deliveries")
    op.execute("DROP TABLE IF EXISTS webhooks")
    op.execute("DROP INDEX IF EXISTS idx_feature_history_txid")
    op.execute("ALTER TABLE feature_history DROP COLUMN IF EXISTS txid")
