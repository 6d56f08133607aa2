"""numberMatched is exact or absent, never an estimate: on a real table of more than 100,000 rows it equals
count(*) of the same filter; with a count budget too small it is left out and paging with `next` goes on."""

import time
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import text

from gis.data.registry import create_layer
from layers.schema import Field, Layer, Style
from tests import conftest

ROWS = 150_000
BIG = Layer(id="titik_padat_uji", title_id="Titik padat (uji)", title_en="Dense points (test)",
            geometry_type="Point", fields=(Field("kelas", "integer", "Kelas", "Class"),),
            style=Style(color="#333333"), source="uji", illustrative=True)
FILTER = {"filter": "kelas = 3"}


@contextmanager
def serve(settings):
    """Another real HTTP server (its own app, settings and services) on the test database."""
    with conftest.serve(settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client

def drop_runtime_layer(engine, server: str, layer_id: str) -> None:
    """Remove a test layer and tell the services (a DROP sends no change notification by itself), then wait
    until the shared server no longer lists it, so later tests never meet a layer whose table is gone."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM layer_registry WHERE id = :i"), {"i": layer_id})
        conn.execute(text(f"DROP TABLE {layer_id}"))
        conn.execute(text("DELETE FROM feature_history WHERE layer = :i"), {"i": layer_id})
        conn.execute(text("SELECT pg_notify('petakota_changes', '*')"))
    deadline = time.time() + 10
    while httpx.get(f"{server}/collections/{layer_id}").status_code != 404:
        assert time.time() < deadline, f"{layer_id} still listed"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def big_layer(settings, engine, server):
    """A runtime layer of 150,000 points over the city (bulk-loaded with its row triggers off), dropped after."""
    with engine.begin() as conn:
        create_layer(conn, BIG, settings.city.metric_crs)
        conn.execute(text(f"ALTER TABLE {BIG.id} DISABLE TRIGGER USER"))
        conn.execute(text(f"INSERT INTO {BIG.id} (kelas, geom) SELECT i % 7, ST_Point(98.42 + (i % 400) * 0.0003, "
                          f"3.52 + (i / 400) * 0.0004, 4326) FROM generate_series(0, {ROWS - 1}) i"))
        conn.execute(text(f"ALTER TABLE {BIG.id} ENABLE TRIGGER USER"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"ANALYZE {BIG.id}"))  # the planner knows it is big (the old code then estimated)
    yield BIG.id
    drop_runtime_layer(engine, server, BIG.id)


def _count(engine, where: str, params: dict | None = None) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {BIG.id} WHERE {where}"), params or {}).scalar_one()


def test_number_matched_is_the_exact_count_on_a_big_table(settings, engine, big_layer):
    with engine.connect() as conn:
        assert conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": big_layer}).scalar() \
            > 100_000
    # a generous budget, so a busy test machine cannot make the count time out
    with serve(settings.model_copy(update={"count_budget_ms": 30_000})) as http:
        _check_exact_counts(http, engine, big_layer)


def _check_exact_counts(http, engine, big_layer):
    body = http.get(f"/collections/{big_layer}/items", params={**FILTER, "limit": 100}).json()
    assert body["numberMatched"] == _count(engine, "kelas = 3") == ROWS // 7 + (ROWS % 7 > 3)
    assert "numberMatchedIsEstimate" not in body and body["numberReturned"] == 100
    area = (98.45, 3.55, 98.47, 3.60)
    body = http.get(f"/collections/{big_layer}/items",
                    params={**FILTER, "bbox": ",".join(map(str, area)), "limit": 100}).json()
    expected = _count(engine, "kelas = 3 AND ST_Intersects(geom, ST_MakeEnvelope(:a, :b, :c, :d, 4326))",
                      dict(zip("abcd", area, strict=True)))
    assert body["numberMatched"] == expected > 100
    everything = http.get(f"/collections/{big_layer}/items").json()
    assert everything["numberMatched"] == ROWS
    layer = next(e for e in http.get("/layers").json()["layers"] if e["id"] == big_layer)
    assert layer["feature_count"] == ROWS


def test_a_count_over_budget_is_left_out_and_paging_goes_on(settings, engine, big_layer):
    with serve(settings.model_copy(update={"count_budget_ms": 1})) as client:
        first = client.get(f"/collections/{big_layer}/items", params={**FILTER, "limit": 1000})
        assert first.status_code == 200, first.text[:300]
        body = first.json()
        assert "numberMatched" not in body and "numberMatchedIsEstimate" not in body
        assert body["numberReturned"] == 1000
        ids = [f["id"] for f in body["features"]]
        after = client.get(next(link["href"] for link in body["links"] if link["rel"] == "next")).json()
        more = [f["id"] for f in after["features"]]
        assert len(more) == 1000 and min(more) > max(ids)  # the next page, in id order, no repeat
        with engine.connect() as conn:
            expected = [r[0] for r in conn.execute(text(
                f"SELECT id FROM {big_layer} WHERE kelas = 3 ORDER BY id LIMIT 2000"))]
        assert ids + more == expected
        # the catalog leaves the count out too, and still gives an extent
        layer = next(e for e in client.get("/layers").json()["layers"] if e["id"] == big_layer)
        assert "feature_count" not in layer and len(layer["bbox"]) == 4


def _zoning_count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM zoning")).scalar_one()


def test_an_offset_past_the_end_still_reports_the_true_count(http, engine):
    n = _zoning_count(engine)
    body = http.get("/collections/zoning/items", params={"offset": n + 500, "limit": 10}).json()
    assert body["numberReturned"] == 0 and body["numberMatched"] == n


def test_a_kept_count_follows_every_change_of_its_layer(http, keys, engine):
    """numberMatched is kept per filter until its layer changes: an API write and a direct SQL edit (through
    the change notification) are counted at once, never the old number."""
    from tests.test_features_write import park

    query = {"limit": 1, "filter": "kelas = 'taman rw'"}

    def matched() -> int:
        return http.get("/collections/parks/items", params=query).json()["numberMatched"]

    def in_db() -> int:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM parks WHERE kelas = 'taman rw'")).scalar()

    assert matched() == matched() == in_db() > 1  # the second answer comes from the kept count
    r = http.post("/collections/parks/items", json=park("Taman Uji Hitung"), headers={"X-API-Key": keys["planner"]})
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    assert matched() == in_db()  # the writer's hooks ran before the answer
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM parks WHERE id = :id"), {"id": fid})
    deadline = time.time() + 5
    while matched() != in_db():  # a direct SQL edit arrives by NOTIFY, within moments
        assert time.time() < deadline, "the kept count did not follow a direct SQL delete"
        time.sleep(0.05)
