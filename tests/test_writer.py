"""The feature writer on the real database, without HTTP: one unit of work per write (validation, transaction,
the caller named in the history, change hooks after the commit and only then)."""

import json

import geopandas as gpd
import pytest
from shapely.geometry import box, mapping
from sqlalchemy import text

from gis.core.errors import InvalidInput, VersionConflict
from gis.data.edits import Expected
from gis.data.registry import load_catalog
from gis.data.writer import FeatureWriter

SQUARE = gpd.GeoSeries([box(445300, 398300, 445400, 398400)], crs=32647).to_crs(4326).iloc[0]


def park(name: str) -> dict:
    return {"type": "Feature", "geometry": json.loads(json.dumps(mapping(SQUARE))),  # as parsed from a body
            "properties": {"nama": name, "kelas": "taman rt", "publik": False}}


@pytest.fixture()
def recorded(engine):
    """A writer whose hook records, at call time, the layer id and what another connection sees committed."""
    calls = []

    def hook(layer_id: str) -> None:
        with engine.connect() as conn:
            names = conn.execute(text("SELECT array_agg(nama ORDER BY id) FROM parks WHERE nama LIKE 'Penulis%'"))
            calls.append((layer_id, names.scalar() or []))

    return FeatureWriter(engine, on_commit=[hook]), calls


def _history(engine, fid):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT version, action, actor FROM feature_history WHERE layer = 'parks' AND feature_id = :id "
            "ORDER BY id"), {"id": fid})]


def test_each_write_is_committed_before_the_hooks_run_and_names_its_actor(recorded, engine):
    writer, calls = recorded
    with engine.connect() as conn:
        layer = load_catalog(conn)["parks"]
    created = writer.create(layer, park("Penulis A"), "Bu Rina (planner)")
    assert calls[-1] == ("parks", ["Penulis A"])  # visible to another connection: committed
    patched = writer.patch(layer, created.id, {"properties": {"nama": "Penulis B"}}, Expected.version(1),
                           "Pak Dedi (planner)", merge=True)
    assert (patched.id, patched.version) == (created.id, 2) and calls[-1] == ("parks", ["Penulis B"])
    writer.delete(layer, created.id, Expected(any_version=True), "Bu Rina (planner)")
    assert calls[-1] == ("parks", [])
    restored = writer.restore(layer, created.id, 1, None, "Pak Dedi (planner)")
    assert restored.version == 4 and calls[-1] == ("parks", ["Penulis A"])
    assert _history(engine, created.id) == [(1, "insert", "Bu Rina (planner)"), (2, "update", "Pak Dedi (planner)"),
                                             (3, "delete", "Bu Rina (planner)"), (4, "restore", "Pak Dedi (planner)")]
    assert len(calls) == 4
    writer.delete(layer, created.id, Expected.version(4), "cleanup")


def test_a_refused_write_runs_no_hook_and_leaves_nothing(recorded, engine):
    writer, calls = recorded
    with engine.connect() as conn:
        layer = load_catalog(conn)["parks"]
    created = writer.create(layer, park("Penulis C"), "Bu Rina (planner)")
    calls.clear()
    with pytest.raises(InvalidInput, match="'publik' must be a boolean"):
        writer.patch(layer, created.id, {"properties": {"publik": "tidak"}}, Expected.version(1), "x", merge=True)
    with pytest.raises(VersionConflict, match="version 1"):
        writer.patch(layer, created.id, {"properties": {"nama": "Penulis D"}}, Expected.version(2), "x", merge=True)
    with pytest.raises(VersionConflict):  # a weak or foreign ETag leaves no version to match
        writer.delete(layer, created.id, Expected(), "x")
    assert calls == []
    assert _history(engine, created.id) == [(1, "insert", "Bu Rina (planner)")]
    writer.delete(layer, created.id, Expected.version(1), "cleanup")
