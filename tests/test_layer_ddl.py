"""One DDL function for layer tables: it rebuilds exactly what migrations 0001-0005 made for every built-in
layer, and a layer added at runtime gets the same columns, constraints, indexes and triggers as a built-in layer
of the same shape."""

import shutil

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from gis.core import db
from gis.data.registry import create_layer
from layers import CATALOG
from layers.schema import layer_from_dict
from layers.tables import layer_ddl
from tests.conftest import problem_of, scratch_settings


def describe(conn, table: str, schema: str = "public") -> dict:
    """Everything PostgreSQL knows about a table's shape, as comparable text (schema names left out)."""
    oid = conn.execute(text("SELECT (quote_ident(:s) || '.' || quote_ident(:t))::regclass::oid"),
                       {"s": schema, "t": table}).scalar()
    rows = {
        "columns": conn.execute(text(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attgenerated, "
            "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = :o AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"), {"o": oid}).all(),
        "constraints": conn.execute(text(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = :o"),
            {"o": oid}).all(),
        "indexes": conn.execute(text(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = :o"), {"o": oid}).all(),
        "triggers": conn.execute(text(
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = :o AND NOT tgisinternal"),
            {"o": oid}).all(),
    }
    shape = {kind: [tuple(str(v).replace(f"{schema}.", "") for v in row) for row in found]
             for kind, found in rows.items()}
    # Columns by name: a migration adding a declared field (ALTER TABLE) puts it last, the DDL in its place.
    return {kind: sorted(found) for kind, found in shape.items()}


def renamed(shape: dict, old: str, new: str) -> dict:
    """The shape with a table's name replaced, in the order `describe` gives."""
    out = {kind: [tuple(v.replace(old, new) for v in row) for row in rows] for kind, rows in shape.items()}
    return {kind: sorted(rows) for kind, rows in out.items()}


# Triggers a migration put on a layer table for another layer's sake (a certified parcel becomes an asset):
# not the layer's own, so not what its DDL makes.
OTHER_LAYERS_TRIGGERS = {"project_parcels": {"project_parcels_asset"}}


# Indexes the search migration (0011_search) put on name columns for search as you type: the search's, not the
# layer's own.
SEARCH_INDEX_SUFFIX = "_trgm"


def own_shape(shape: dict, layer_id: str) -> dict:
    others = OTHER_LAYERS_TRIGGERS.get(layer_id, set())
    return {**shape, "triggers": [t for t in shape["triggers"] if t[0] not in others],
            "indexes": [i for i in shape["indexes"] if not i[0].endswith(SEARCH_INDEX_SUFFIX)]}


def test_the_ddl_function_rebuilds_every_migrated_layer_table_exactly(tmp_path):
    settings = scratch_settings("layer_ddl", tmp_path)
    engine = db.make_engine(settings, pool_size=1)
    try:
        db.upgrade(settings)
        with engine.begin() as conn:
            conn.execute(text("CREATE SCHEMA rebuilt"))
            conn.execute(text("SET LOCAL search_path = rebuilt, public"))
            for layer in CATALOG.values():
                # a frozen copy, the way a migration holds its declaration
                frozen = layer_from_dict(layer.to_dict(include_private=True))
                for statement in layer_ddl(frozen, settings.city.metric_crs):
                    conn.exec_driver_sql(statement)
            conn.execute(text("SET LOCAL search_path = public"))
            for layer_id in CATALOG:
                migrated, rebuilt = own_shape(describe(conn, layer_id), layer_id), describe(conn, layer_id, "rebuilt")
                assert rebuilt == migrated, layer_id
                assert len(migrated["triggers"]) == 4 + any(f.name == "area_ha" for f in CATALOG[layer_id].fields)
                assert len(migrated["indexes"]) == 4 + bool(CATALOG[layer_id].key)
                assert "kabkota" in [column[0] for column in migrated["columns"]]
    finally:
        engine.dispose()


@pytest.mark.parametrize("builtin", ["parks", "kota", "roads", "business_centers"])
def test_a_runtime_layer_has_the_table_of_a_built_in_layer_of_the_same_shape(http, keys, engine, builtin):
    declaration = {**CATALOG[builtin].to_dict(include_private=True), "id": f"salinan_{builtin}",
                   "title": {"id": f"Salinan {builtin}", "en": f"Copy of {builtin}"}}
    r = http.post("/admin/layers", json=declaration, headers={"X-API-Key": keys["admin"]})
    assert r.status_code == 201, r.text
    with engine.connect() as conn:
        runtime = renamed(describe(conn, f"salinan_{builtin}"), f"salinan_{builtin}", builtin)
        assert runtime == own_shape(describe(conn, builtin), builtin)


@pytest.mark.parametrize(("change", "refused"), [
    ({"id": "order"}, "layer id 'order'"),
    ({"id": "pasar_" + "x" * 50}, "2-48 chars"),
    ({"fields": [{"name": "order", "type": "integer", "title": {"id": "Urutan", "en": "Order"}}]}, "'order'"),
    ({"fields": [{"name": "geom_3857", "type": "text", "title": {"id": "G", "en": "G"}}]}, "'geom_3857'"),
])
def test_names_that_would_break_sql_are_refused_and_nothing_is_created(http, keys, engine, change, refused):
    declaration = {"id": "pasar_ditolak", "title": {"id": "Pasar", "en": "Markets"}, "geometry_type": "Point",
                   "fields": [{"name": "nama", "type": "text", "title": {"id": "Nama", "en": "Name"}}], **change}
    problem = problem_of(http.post("/admin/layers", json=declaration, headers={"X-API-Key": keys["admin"]}))
    assert problem["status"] == 400 and refused in problem["detail"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM layer_registry WHERE id = :i"),
                            {"i": declaration["id"]}).scalar() == 0
        assert conn.execute(text("SELECT to_regclass(:t)"), {"t": declaration["id"]}).scalar() is None


MIGRATION = '''"""Markets.

Revision ID: pasar
Revises: {head}
"""

from alembic import op

from layers.schema import layer_from_dict
from layers.tables import layer_ddl

revision = "pasar"
down_revision = "{head}"
branch_labels = None
depends_on = None

PASAR = layer_from_dict({declaration!r})


def upgrade() -> None:
    srid = int(op.get_context().config.attributes.get("metric_srid", 32647))
    for statement in layer_ddl(PASAR, srid):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE pasar")
'''


def test_a_migration_adds_a_layer_from_a_frozen_declaration(tmp_path):
    """The way a new built-in layer reaches the database: a migration holding its declaration as a literal gives
    it the very table a runtime layer of that declaration gets, and takes it away again."""
    settings = scratch_settings("layer_migration", tmp_path)
    cfg = db.alembic_config(settings)
    scripts = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    declaration = {"id": "pasar", "title": {"id": "Pasar", "en": "Markets"}, "geometry_type": "MultiPolygon",
                   "key": "kode", "fields": [
                       {"name": "kode", "type": "text", "title": {"id": "Kode", "en": "Code"}, "required": True},
                       {"name": "hari_pasar", "type": "date", "title": {"id": "Hari", "en": "Day"}},
                       {"name": "area_ha", "type": "number", "title": {"id": "Luas", "en": "Area"},
                        "computed": True}]}
    (scripts / "versions" / "pasar.py").write_text(MIGRATION.format(head=head, declaration=declaration))
    cfg.set_main_option("script_location", str(scripts))
    engine = db.make_engine(settings, pool_size=1)
    try:
        command.upgrade(cfg, "head")
        with engine.begin() as conn:
            create_layer(conn, layer_from_dict({**declaration, "id": "pasar_runtime"}), settings.city.metric_crs)
            assert describe(conn, "pasar") == renamed(describe(conn, "pasar_runtime"), "pasar_runtime", "pasar")
            area = conn.execute(text(
                "INSERT INTO pasar (kode, geom) VALUES ('P1', ST_Multi(ST_Transform(ST_MakeEnvelope("
                "445000, 398000, 445200, 398100, 32647), 4326))) RETURNING area_ha")).scalar()
        assert area == pytest.approx(2.0, rel=1e-4)  # 200 m x 100 m
        command.downgrade(cfg, head)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('pasar')")).scalar() is None
    finally:
        engine.dispose()
