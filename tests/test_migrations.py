"""Migrations upgrade and downgrade cleanly and agree with the layer declarations."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from gis.core import db
from gis.data.registry import create_layer
from layers import CATALOG, Field, Layer, Style
from layers.tables import metadata
from tests.conftest import scratch_settings


def _schema_differences(engine) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_name": lambda name, type_, parent: not (type_ == "table" and name in (
                "spatial_ref_sys", "alembic_version")),
        })
        diffs = compare_metadata(ctx, metadata)
    # Unique constraints and indexes are named differently by hand-written DDL; columns and types must agree.
    return [d for d in diffs if d[0] not in ("add_index", "remove_index", "add_constraint", "remove_constraint")]


def test_upgrade_matches_declarations_then_downgrade_and_upgrade_again(tmp_path):
    settings = scratch_settings("migrations", tmp_path)
    engine = db.make_engine(settings, pool_size=1)
    try:
        db.upgrade(settings)
        assert db.current_revision(engine) == "0013_webhooks"
        tables = set(inspect(engine).get_table_names())
        assert set(CATALOG) | {"attachments", "itbx", "rdtr_plans", "rdtr_plan_features", "rasters",
                               "feature_history", "api_keys", "layer_registry", "jobs", "programmes",
                               "programme_indicators", "programme_progress"} <= tables
        assert _schema_differences(engine) == []
        with engine.connect() as conn:
            gist = conn.execute(text(
                "SELECT count(*) FROM pg_indexes WHERE indexdef ILIKE '%USING gist (geom)%'")).scalar()
            srids = {r[0] for r in conn.execute(text(
                "SELECT DISTINCT srid FROM geometry_columns WHERE f_geometry_column = 'geom'"))}
        assert gist == len(CATALOG)
        assert srids == {4326}

        db.downgrade(settings, "base")
        left = set(inspect(engine).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
        assert left == set()

        db.upgrade(settings)
        assert db.current_revision(engine) == "0013_webhooks"
    finally:
        engine.dispose()


def test_area_is_computed_by_the_database_in_the_metric_crs(tmp_path):
    settings = scratch_settings("area", tmp_path)
    engine = db.make_engine(settings, pool_size=1)
    try:
        db.upgrade(settings)
        with engine.begin() as conn:
            # a 100 m x 100 m square in UTM 47N near Binjai, written in lon/lat: 1 ha
            area = conn.execute(text(
                "INSERT INTO parks (nama, kelas, publik, geom) VALUES ('uji', 'taman rt', true, "
                "ST_Multi(ST_Transform(ST_MakeEnvelope(445000, 398000, 445100, 398100, 32647), 4326))) "
                "RETURNING area_ha")).scalar()
        assert abs(area - 1.0) < 1e-4
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_again_with_a_runtime_layer(tmp_path):
    """Runtime layer tables follow the migrations: 0003 down strips their tile support like the built-in
    tables', up restores it; going below 0002 (where the registry appears) drops them with it."""
    settings = scratch_settings("runtime_down", tmp_path)
    engine = db.make_engine(settings, pool_size=1)
    pasar = Layer(id="pasar", title_id="Pasar", title_en="Markets", geometry_type="Point",
                  fields=(Field("nama", "text", "Nama", "Name", required=True),), style=Style(color="#d62728"),
                  source="uji", illustrative=True)
    try:
        db.upgrade(settings)
        with engine.begin() as conn:
            create_layer(conn, pasar, settings.city.metric_crs)
        db.downgrade(settings, "0002")
        with engine.connect() as conn:
            assert _columns(conn, "pasar") == _columns(conn, "toll_gates") - {"ruas"} | {"nama"}
            assert "geom_3857" not in _columns(conn, "pasar")
        db.upgrade(settings)
        with engine.begin() as conn:
            assert _columns(conn, "pasar") == _columns(conn, "toll_gates") - {"ruas"} | {"nama"}
            conn.execute(text("INSERT INTO pasar (nama, geom) VALUES ('Pasar Tavip', ST_Point(98.49, 3.6, 4326))"))
            assert conn.execute(text("SELECT ST_SRID(geom_3857) FROM pasar")).scalar() == 3857
        db.downgrade(settings, "base")
        assert set(inspect(engine).get_table_names()) - {"spatial_ref_sys", "alembic_version"} == set()
    finally:
        engine.dispose()


def _columns(conn, table: str) -> set[str]:
    return set(conn.execute(text("SELECT column_name FROM information_schema.columns WHERE table_name = :t"),
                            {"t": table}).scalars())
