"""API keys limited to cities and layers: `cities` (Kemendagri kab/kota codes) and `layers` (layer ids); NULL
means every city / every layer, so existing keys keep the rights they had.

Revision ID: 0005_key_scopes
Revises: 0004
"""

from alembic import op

revision = "0005_key_scopes"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE api_keys ADD COLUMN cities text[]")
    op.execute("ALTER TABLE api_keys ADD COLUMN layers text[]")
    # An empty list would be a key that may do nothing: refused here too, not only by the application.
    op.execute("ALTER TABLE api_keys ADD CONSTRAINT api_keys_cities_not_empty "
               "CHECK (cities IS NULL OR cardinality(cities) > 0)")
    op.execute("ALTER TABLE api_keys ADD CONSTRAINT api_keys_layers_not_empty "
               "CHECK (layers IS NULL OR cardinality(layers) > 0)")


def downgrade() -> None:
    op.execute("ALTER TABLE api_keys DROP COLUMN IF EXISTS layers")
    op.execute("ALTER TABLE api_keys DROP COLUMN IF EXISTS cities")
