"""SQLAlchemy / GeoAlchemy2 tables built from the layer declarations (plus the non-spatial tables).
The alembic migrations are written out by hand; tests compare them with this metadata."""

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
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from layers import CATALOG
from layers.schema import Layer

_SA_TYPES = {"text": Text, "integer": Integer, "bigint": BigInteger, "number": Float, "boolean": Boolean,
             "date": Date}

metadata = MetaData()


def layer_table(layer: Layer, meta: MetaData = metadata) -> Table:
    columns = [Column("id", Integer, primary_key=True, autoincrement=True)]
    for f in layer.fields:
        columns.append(Column(f.name, _SA_TYPES[f.type](), nullable=not f.required,
                              unique=bool(layer.key == f.name)))
    columns.append(Column("geom", Geometry(layer.geometry_type.upper(), srid=4326, spatial_index=True),
                          nullable=False))
    # Web Mercator copy for tiles, kept by the database.
    columns.append(Column("geom_3857", Geometry(srid=-1, spatial_index=False),
                          Computed("ST_Transform(geom, 3857)", persisted=True)))
    # Optimistic concurrency: the version is the ETag, bumped by a trigger on every update.
    columns.append(Column("version", Integer, nullable=False, server_default=text("1")))
    columns.append(Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")))
    return Table(layer.id, meta, *columns)


LAYER_TABLES = {layer_id: layer_table(layer) for layer_id, layer in CATALOG.items()}

# ITBX: for each zone code x activity, I (permitted), T (limited), B (conditional), X (not permitted).
ITBX = Table(
    "itbx", metadata,
    Column("kode_zona", Text, nullable=False),
    Column("kegiatan", Text, nullable=False),
    Column("ketentuan", Text, nullable=False),
    Column("syarat", Text),
    PrimaryKeyConstraint("kode_zona", "kegiatan"),
    CheckConstraint("ketentuan IN ('I','T','B','X')", name="itbx_ketentuan_check"),
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
