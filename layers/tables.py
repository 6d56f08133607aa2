"""A layer's table, built from its declaration: `layer_table` (SQLAlchemy) and `layer_ddl` (every statement
that creates it: table, constraints, indexes, triggers). Runtime layers and new migrations create their tables
with `layer_ddl`; tests check that it reproduces the tables migrations 0001-0005 made for the built-in layers.
Plus the non-spatial tables."""

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.schema import CreateTable

from layers import CATALOG
from layers.programmes import PROGRAMME_INDICATORS, PROGRAMME_PROGRESS, PROGRAMMES, Records
from layers.schema import Layer

_SA_TYPES = {"text": Text, "integer": Integer, "bigint": BigInteger, "number": Float, "boolean": Boolean,
             "date": Date}

metadata = MetaData()

# Every layer table's city: the Kemendagri code of the kab/kota a row belongs to. A system column like `version`:
# kept by the database (trigger `petakota_kabkota`), never written by clients, shown and filterable as `kabkota`.
CITY_COLUMN = "kabkota"


def city_source(layer: Layer) -> str:
    """Where a layer's rows take their city from: their own code (the kab/kota level: keyed on `kode`, with a
    province code), their `kota_kode` (kecamatan, kelurahan/desa), or else their geometry."""
    names = {f.name for f in layer.fields}
    if "kota_kode" in names:
        return "kota_kode"
    if layer.key == "kode" and "provinsi_kode" in names:
        return "kode"
    return "geom"


def layer_table(layer: Layer, meta: MetaData = metadata) -> Table:
    """Columns in the order the built-in tables have them (migrations added version and geom_3857 last)."""
    columns = [Column("id", Integer, primary_key=True, autoincrement=True)]
    for f in layer.fields:
        columns.append(Column(f.name, _SA_TYPES[f.type](), nullable=not f.required,
                              unique=bool(layer.key == f.name)))
    columns.append(Column("geom", Geometry(layer.geometry_type.upper(), srid=4326, spatial_index=False),
                          nullable=False))
    # Optimistic concurrency: the version is the ETag, bumped by a trigger on every update.
    columns.append(Column("version", Integer, nullable=False, server_default=text("1")))
    columns.append(Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")))
    # Web Mercator copy for tiles, kept by the database.
    columns.append(Column("geom_3857", Geometry(geometry_type=None, spatial_index=False),
                          Computed("ST_Transform(geom, 3857)", persisted=True)))
    columns.append(Column(CITY_COLUMN, Text))
    return Table(layer.id, meta, *columns)


def layer_ddl(layer: Layer, metric_srid: int) -> list[str]:
    """The statements creating a layer's table from its declaration: columns and constraints, spatial indexes,
    the area trigger (hectares in the city's metric CRS `metric_srid`), version, history and change-notify
    triggers. A migration passes a frozen copy of the declaration (a literal in the migration), never the live
    catalog, so that changing a declaration later needs a migration of its own:

        PASAR = layer_from_dict({"id": "pasar", ...})   # versions/00xx_pasar.py: the declaration at this revision

        def upgrade() -> None:
            srid = int(op.get_context().config.attributes.get("metric_srid", 32647))
            for statement in layer_ddl(PASAR, srid):
                op.execute(statement)

    What this emits is pinned by tests/test_layer_ddl.py to the tables migrations 0001-0005 made: changing it
    means a migration bringing every existing layer table (built-in and runtime) to the new shape."""
    dialect = postgresql.dialect()
    q = dialect.identifier_preparer.quote
    table = q(layer.id)
    statements = [str(CreateTable(layer_table(layer, MetaData())).compile(dialect=dialect)).strip(),
                  f"CREATE INDEX {q(f'idx_{layer.id}_geom')} ON {table} USING gist (geom)"]
    if any(f.name == "area_ha" for f in layer.fields):
        statements.append(f"CREATE TRIGGER {q(f'{layer.id}_area_ha')} BEFORE INSERT OR UPDATE OF geom ON {table} "
                          f"FOR EACH ROW EXECUTE FUNCTION petakota_area_ha({int(metric_srid)})")
    statements += [
        f"CREATE TRIGGER {q(f'{layer.id}_version')} BEFORE UPDATE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION petakota_bump_version()",
        f"CREATE TRIGGER {q(f'{layer.id}_history')} AFTER INSERT OR UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION petakota_record_history()",
        f"CREATE INDEX {q(f'idx_{layer.id}_geom_3857')} ON {table} USING gist (geom_3857)",
        f"CREATE TRIGGER {q(f'{layer.id}_notify')} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION petakota_notify_change()",
        *city_ddl(layer),
    ]
    return statements


def city_ddl(layer: Layer) -> list[str]:
    """The index and trigger keeping a layer's `kabkota` (migration 0005 gave them to the tables before it).
    The index leads with the city and ends with the id, so one city's page in id order is one index range."""
    q = postgresql.dialect().identifier_preparer.quote
    table, source = q(layer.id), city_source(layer)
    watched = ", ".join(dict.fromkeys([source, CITY_COLUMN]))
    return [f"CREATE INDEX {q(f'idx_{layer.id}_kabkota')} ON {table} ({CITY_COLUMN}, id)",
            f"CREATE TRIGGER {q(f'{layer.id}_kabkota')} BEFORE INSERT OR UPDATE OF {watched} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION petakota_kabkota('{source}')"]


LAYER_TABLES = {layer_id: layer_table(layer) for layer_id, layer in CATALOG.items()}

# ITBX per city (0007): for each sub-zone (KODSZN) x activity (a KBLI 2020 code or group, and/or an activity
# name): I (permitted), T (limited), B (conditional), X (not permitted), with the condition text (syarat).
ITBX = Table(
    "itbx", metadata,
    Column("id", Integer, primary_key=True),
    Column("kabkota", Text, nullable=False),
    Column("kodszn", Text, nullable=False),
    Column("kbli", Text),
    Column("kegiatan", Text),
    Column("ketentuan", Text, nullable=False),
    Column("syarat", Text),
    CheckConstraint("ketentuan IN ('I','T','B','X')", name="itbx_ketentuan_check"),
    CheckConstraint("kbli ~ '^[0-9]{2,5}$'", name="itbx_kbli_check"),
    CheckConstraint("kbli IS NOT NULL OR kegiatan IS NOT NULL", name="itbx_rule_check"),
)

# Every imported RDTR (0007), dated, with who imported it; the active one is in the live zoning tables and
# every version's features are kept here, so plans can be compared and rolled back.
RDTR_PLANS = Table(
    "rdtr_plans", metadata,
    Column("id", Integer, primary_key=True),
    Column("kabkota", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("imported_by", Text, nullable=False),
    Column("source", Text),
    Column("zones", Integer, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("false")),
    Column("report", JSONB),
    Column("itbx", JSONB, nullable=False, server_default=text("'[]'")),
    UniqueConstraint("kabkota", "version", name="rdtr_plans_version_key"),
)
RDTR_PLAN_FEATURES = Table(
    "rdtr_plan_features", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("plan_id", Integer, ForeignKey("rdtr_plans.id", ondelete="CASCADE"), nullable=False),
    Column("layer", Text, nullable=False),
    Column("properties", JSONB, nullable=False),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
)

# Raster registry: Cloud Optimized GeoTIFFs (path relative to the data directory).
RASTERS = Table(
    "rasters", metadata,
    Column("id", Text, primary_key=True),
    Column("title_id", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("units", Text),
    Column("kind", Text, nullable=False),
    Column("illustrative", Boolean, nullable=False),
    Column("source", Text),
    Column("acquired", Date),
    Column("owner", Text),  # a result raster: only its owner sees it (NULL: the city's own, public rasters)
    Column("job_id", Text, ForeignKey("jobs.id", ondelete="CASCADE")),  # deleted with the job that made it
    # Per city (0006): the kab/kota it covers (NULL: the default city's) and what it holds (NULL: its id's).
    Column("city", Text),
    Column("dataset", Text),
)

FEATURE_HISTORY = Table(
    "feature_history", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("layer", Text, nullable=False),
    Column("feature_id", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("action", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("before", JSONB),
    Column("after", JSONB),
    # The writing transaction (0012): events are read in (txid, id) order up to the oldest running transaction.
    Column("txid", BigInteger, nullable=False,
           server_default=text("(pg_current_xact_id())::text::bigint")),
)

# Field evidence (0008): a file attached to a feature of any layer (path relative to the data directory); EXIF
# position and local camera time, the distance to the feature in its city's metric CRS; deleted_at marks removal.
ATTACHMENTS = Table(
    "attachments", metadata,
    Column("id", Integer, primary_key=True),
    Column("layer", Text, nullable=False),
    Column("feature_id", Integer, nullable=False),
    Column("filename", Text, nullable=False),
    Column("media_type", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("thumbnail_path", Text),
    Column("public", Boolean, nullable=False, server_default=text("false")),
    Column("taken_at", DateTime(timezone=False)),
    Column("lon", Float),
    Column("lat", Float),
    Column("distance_m", Float),
    Column("far", Boolean),
    Column("uploaded_by", Text, nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("deleted_at", DateTime(timezone=True)),
)

API_KEYS = Table(
    "api_keys", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("prefix", Text, nullable=False),
    Column("key_hash", Text, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("revoked_at", DateTime(timezone=True)),
    Column("cities", ARRAY(Text)),  # Kemendagri kab/kota codes the key is limited to; NULL = every city
    Column("layers", ARRAY(Text)),  # layer ids the key is limited to; NULL = every layer
    Column("opd", Text),  # kodeskpd: edits that OPD's programmes only (0010)
    Column("kecamatan", Text),  # a kecamatan code: sees that kecamatan's programmes (0010)
)

LAYER_REGISTRY = Table(
    "layer_registry", metadata,
    Column("id", Text, primary_key=True),
    Column("declaration", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

# Process executions: any service process answers for any job, and jobs outlive a restart.
JOBS = Table(
    "jobs", metadata,
    Column("id", Text, primary_key=True),
    Column("process", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("inputs", JSONB, nullable=False),
    Column("progress", Integer, nullable=False, server_default=text("0")),
    Column("message", Text),
    Column("result", JSONB),
    Column("worker", Text),
    Column("created", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("started", DateTime(timezone=True)),
    Column("updated", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("finished", DateTime(timezone=True)),
    Column("heartbeat", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint("status IN ('accepted', 'running', 'successful', 'failed')", name="jobs_status_check"),
)

# Change notifications (0012): webhooks, their deliveries (one per webhook and history row) and every attempt.
WEBHOOKS = Table(
    "webhooks", metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("collections", ARRAY(Text), nullable=False, server_default=text("'{}'")),  # empty: every collection
    Column("kinds", ARRAY(Text), nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("cursor_txid", BigInteger, nullable=False),  # the last history row turned into a delivery
    Column("cursor_id", BigInteger, nullable=False),
    Column("lease_until", DateTime(timezone=True)),  # a service process is delivering this webhook's events
    Column("leased_by", Text),
)
WEBHOOK_DELIVERIES = Table(
    "webhook_deliveries", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("webhook", Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("history_id", BigInteger, nullable=False),
    Column("history_txid", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("delivered_at", DateTime(timezone=True)),
    UniqueConstraint("webhook", "history_id"),
)
WEBHOOK_ATTEMPTS = Table(
    "webhook_attempts", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("delivery", BigInteger, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("status", Integer),
    Column("error", Text),
    Column("duration_ms", Float, nullable=False),
)


# Metadata records (0012): what an admin set for a layer's or raster's record; NULL keeps the default the
# declarations and the data give (gis/data/metadata.py). Every edit is kept in metadata_history.
METADATA = Table(
    "metadata", metadata,
    Column("resource", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    *(Column(name, Text) for name in ("title_id", "title_en", "abstract_id", "abstract_en")),
    Column("keywords", ARRAY(Text)),
    Column("topic_category", Text),
    Column("extent", Geometry("POLYGON", srid=4326, spatial_index=False)),
    Column("temporal_start", Date),
    Column("temporal_end", Date),
    *(Column(name, Text) for name in ("lineage", "licence", "contact_opd", "contact_role", "contact_email")),
    Column("contact_email_public", Boolean),
    Column("update_frequency", Text),
    Column("scale_denominator", Integer),
    Column("resolution_m", Float),
    Column("illustrative", Boolean),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_by", Text, nullable=False),
)

METADATA_HISTORY = Table(
    "metadata_history", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("resource", Text, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("changed_by", Text, nullable=False),
    Column("patch", JSONB, nullable=False),
    Column("before", JSONB),
)

def records_table(records: Records, *extra, meta: MetaData = metadata) -> Table:
    """A record collection's table (programmes and their indicators and progress, 0010): id, the declared
    fields, the edit version and time, and any `extra` constraint or column override."""
    overrides = {c.name: c for c in extra if isinstance(c, Column)}
    columns = [Column("id", Integer, primary_key=True, autoincrement=True)]
    columns += [overrides[f.name] if f.name in overrides else
                Column(f.name, _SA_TYPES[f.type](), nullable=not f.required, unique=bool(records.key == f.name))
                for f in records.fields]
    columns.append(Column("version", Integer, nullable=False, server_default=text("1")))
    columns.append(Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")))
    return Table(records.id, meta, *columns, *(c for c in extra if not isinstance(c, Column)))


PROGRAMMES_TABLE = records_table(
    PROGRAMMES, Column("publik", Boolean, nullable=False, server_default=text("true")),
    UniqueConstraint("kabkota", "tahun", "kodeskpd", "kodesubkegiatan"))
PROGRAMME_INDICATORS_TABLE = records_table(
    PROGRAMME_INDICATORS,
    Column("programme_kode", Text, ForeignKey("programmes.kode", onupdate="CASCADE", ondelete="CASCADE"),
           nullable=False),
    Column("sumber", Text, nullable=False, server_default=text("'laporan'")))
PROGRAMME_PROGRESS_TABLE = records_table(
    PROGRAMME_PROGRESS,
    Column("programme_kode", Text, ForeignKey("programmes.kode", onupdate="CASCADE", ondelete="CASCADE"),
           nullable=False),
    Column("indicator_id", Integer, ForeignKey("programme_indicators.id", ondelete="SET NULL")),
    Column("oleh", Text, nullable=False))
