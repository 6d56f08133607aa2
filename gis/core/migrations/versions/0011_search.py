"""Search as you type: trigram matching (pg_trgm) of place and feature names with accents folded (unaccent),
one normalising function the queries and the indexes share, and trigram indexes on the names searched.

pg_trgm and unaccent are trusted extensions (PostgreSQL 13+): the database's owner creates them without being
a superuser; the server needs PostgreSQL's contrib modules installed (Debian: part of postgresql-15).

Revision ID: 0011_search
Revises: 0010_programmes
"""

from alembic import op

revision = "0011_search"
down_revision = "0010_programmes"
branch_labels = None
depends_on = None

# The names searched, as the tables are at this revision: (table, column). Runtime layers are searched
# without an index (they are small); the built-in ones get one each.
NAME_COLUMNS = (
    ("kota", "nama"), ("kecamatan", "nama"), ("kelurahan", "nama"),
    ("zoning", "namszn"), ("zoning", "kodblk"), ("zoning", "kodsbl"),
    ("industrial_zones", "nama"), ("parks", "nama"), ("business_centers", "nama"), ("projects", "nama"),
    ("project_milestones", "nama"), ("roads", "nama"), ("toll_gates", "nama"), ("rivers", "nama"),
    ("assets", "nama"), ("programme_points", "nama"), ("programme_lines", "nama"), ("programme_areas", "nama"),
    ("programmes", "nama_subkegiatan"),
)

# unaccent() is only STABLE (its dictionary could change); naming the dictionary makes the result fixed, which
# is what an expression index needs.
NORMALISE = """
CREATE OR REPLACE FUNCTION petakota_search_norm(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, value)) $$
"""


def _index(table: str, column: str) -> str:
    return f"idx_{table}_{column}_trgm"


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public")
    op.execute(NORMALISE)
    for table, column in NAME_COLUMNS:
        op.execute(f"CREATE INDEX IF NOT EXISTS {_index(table, column)} ON {table} "
                   f"USING gin (petakota_search_norm({column}) public.gin_trgm_ops)")


def downgrade() -> None:
    for table, column in NAME_COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS {_index(table, column)}")
    op.execute("DROP FUNCTION IF EXISTS petakota_search_norm(text)")
    # The extensions stay: other databases' objects or a DBA's own indexes may use them.
