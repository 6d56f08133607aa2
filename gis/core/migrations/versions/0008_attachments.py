"""Field evidence: files (photos, PDFs) attached to any feature of any layer, built-in or runtime. The file lies
under the data directory, named by its SHA-256; the row keeps what was read from it (EXIF position and time, the
distance to its feature), whether the public may see it (private by default) and who added it. Removing one only
marks it deleted, so the history and the backups keep the evidence.

Revision ID: 0008_attachments
Revises: 0007_rdtr
"""

from alembic import op

revision = "0008_attachments"
down_revision = "0007_rdtr"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""CREATE TABLE attachments (
      id serial PRIMARY KEY,
      layer text NOT NULL,
      feature_id integer NOT NULL,
      filename text NOT NULL,
      media_type text NOT NULL,
      size_bytes bigint NOT NULL,
      sha256 text NOT NULL,
      path text NOT NULL,
      thumbnail_path text,
      public boolean NOT NULL DEFAULT false,
      taken_at timestamp,
      lon double precision,
      lat double precision,
      distance_m double precision,
      far boolean,
      uploaded_by text NOT NULL,
      uploaded_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    )""")
    op.execute("CREATE INDEX idx_attachments_feature ON attachments (layer, feature_id) WHERE deleted_at IS NULL")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS attachments")
