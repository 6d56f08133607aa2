"""SQLAlchemy / GeoAlchemy2 tables built from the layer declarations (plus the non-spatial tables).
The alembic migrations are written out by hand; tests compare them with this metadata."""

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)

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
)
