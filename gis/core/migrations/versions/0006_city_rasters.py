"""Rasters per city: each registry row may name the kab/kota it covers (`city`) and what it holds (`dataset`,
e.g. population, slope, landcover_2024), so that every city has its own population grid, slope and land cover
under one dataset name. A row without a city is the default city's (the service settings), a row without a
dataset holds the dataset named by its id: the rasters registered before cities keep working unchanged.

Revision ID: 0006_city_rasters
Revises: 0005_key_scopes
"""

from alembic import op

revision = "0006_city_rasters"
down_revision = "0005_key_scopes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE rasters ADD COLUMN city text")
    op.execute("ALTER TABLE rasters ADD COLUMN dataset text")
    # The city's own rasters (not analysis results): one per dataset and city.
    op.execute("CREATE UNIQUE INDEX idx_rasters_city_dataset ON rasters (city, dataset) "
               "WHERE owner IS NULL AND city IS NOT NULL AND dataset IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS idx_rasters_city_dataset")
    op.execute("ALTER TABLE rasters DROP COLUMN IF EXISTS dataset")
    op.execute("ALTER TABLE rasters DROP COLUMN IF EXISTS city")
