"""Jobs: process executions kept in the database (every service process sees them, they survive a restart, and
old ones are pruned), and result rasters owned by the job that made them.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """CREATE TABLE jobs (
          id text PRIMARY KEY,
          process text NOT NULL,
          status text NOT NULL,
          owner text NOT NULL,
          inputs jsonb NOT NULL,
          progress integer NOT NULL DEFAULT 0,
          message text,
          result jsonb,
          worker text,
          created timestamptz NOT NULL DEFAULT now(),
          started timestamptz,
          updated timestamptz NOT NULL DEFAULT now(),
          finished timestamptz,
          heartbeat timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT jobs_status_check CHECK (status IN ('accepted', 'running', 'successful', 'failed'))
        )"""
    )
    op.execute("CREATE INDEX idx_jobs_owner_created ON jobs (owner, created)")
    op.execute("CREATE INDEX idx_jobs_finished ON jobs (finished)")
    # A result raster belongs to its job: visible to the job's owner only, deleted with the job.
    op.execute("ALTER TABLE rasters ADD COLUMN owner text")
    op.execute("ALTER TABLE rasters ADD COLUMN job_id text REFERENCES jobs (id) ON DELETE CASCADE")
    op.execute("CREATE INDEX idx_rasters_job_id ON rasters (job_id)")


def downgrade() -> None:
    op.execute("ALTER TABLE rasters DROP COLUMN IF EXISTS job_id")
    op.execute("ALTER TABLE rasters DROP COLUMN IF EXISTS owner")
    op.execute("DROP TABLE IF EXISTS jobs")
