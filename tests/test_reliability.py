"""The quick version of `make reliability` (reliability/run.py) on the shared test server: concurrent editors, a
short load, a leak scan over the private layers, and the hostile inputs that tests/test_features_*.py do not
cover. The full run (own cluster, PostgreSQL restarts, fuzzing, 60 s of load) is not part of `make test`.

The bugs this suite found (a job's private results readable anonymously, 500s on NUL bytes and out-of-range
values, deep JSON, unbounded bodies, /measure on extreme coordinates) are fixed; their tests stay at the end."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import text

from reliability import editors, hostile, leaks
from reliability.common import fingerprint, run_load
from reliability.load import mixed_paths
from tests.leak_crawl import crawl_in_parts

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # NaN sent on purpose


# --- concurrent editors ------------------------------------------------------------------------------------------


def test_eight_editors_with_if_match_lose_no_update(server, keys, engine):
    ids = editors.create_parks(server, keys["planner"], 4, "uji")
    res = editors.run_editors(server, keys["planner"], engine, ids, clients=8, edits_per_client=15)
    try:
        assert res.problems() == []
        assert res.total_accepted == 8 * 15
        assert res.conflicts > 0  # the clients did collide: the test exercised If-Match
    finally:
        with httpx.Client(base_url=server, headers={"X-API-Key": keys["planner"]}) as http:
            for fid in ids:
                etag = http.get(f"/collections/parks/items/{fid}").headers["etag"]
                http.delete(f"/collections/parks/items/{fid}", headers={"If-Match": etag})


# --- load ----------------------------------------------------------------------------------------------------------


def test_five_seconds_at_16_connections_on_tiles_and_items_without_errors(server, engine):
    paths = mixed_paths(engine, tiles_per_zoom=3)
    res = run_load(server, paths, concurrency=16, seconds=5)
    assert res.errors == [], [(r.status, r.path, r.error) for r in res.errors[:5]]
    assert len(res.records) > 100
    assert {"/tiles/" in r.path for r in res.records} == {True, False}


# --- leak scan -----------------------------------------------------------------------------------------------------


def test_anonymous_responses_of_the_private_layers_carry_no_private_data(server, engine, keys):
    values = leaks.private_values(engine)
    assert all(len(v) > 5 for v in values.values())
    # and the programme records (tests/test_programme_records_leaks.py holds programmes to look for)
    plan = leaks.Crawl(collections=list(leaks.PRIVATE_FIELDS), collection_tiles=False, metadata=False, history=2,
                       processes=False, maps=("embed",), jobs=False, multi_zooms=(12, 13, 14),
                       geoportal=False)  # tests/test_geoportal_leaks.py
    scanner, problems = crawl_in_parts(server, engine, {**values, **leaks.record_private_values(engine)}, plan)
    assert problems == []
    assert scanner.findings == []
    # the public layers with private fields and three record collections
    n = len(leaks.PRIVATE_FIELDS) + 3
    assert scanner.kinds.get("gpkg") == n and scanner.kinds.get("csv") == n and scanner.kinds.get("mvt", 0) > 20
    assert scanner.kinds.get("html", 0) >= 3  # items of both layers and the embed page
    # the scan can fail: the same items with an analyst key do carry private data
    assert leaks.control(server, keys["analyst"], values) > 0


# --- hostile input -------------------------------------------------------------------------------------------------

# What tests/test_features_write.py and test_features_read.py do not already send: huge geometry, 1e308, NaN and
# Infinity, path tricks, wrong methods.
SUBSET = {
    "200,000-vertex self-intersecting polygon (POST)", "200,000-vertex self-intersecting polygon (PATCH)",
    "coordinates 1e308", "coordinates -1e308 with Content-Crs EPSG:32647", "coordinates 1e308 (PATCH)",
    "NaN as a coordinate (JSON text)", "Infinity as a coordinate (JSON text)", "-Infinity as a coordinate (JSON text)",
    "NaN as a coordinate (PATCH)", "NaN as a property value",
    "NaN in a bigint property (project_parcels.kompensasi_rp)",
    "raster statistics: NaN vertex", "zoning-conformity: 1e308 polygon", "JSON nested 100,000 deep (POST items)",
    "/measure: polygon with 1e308 coordinates", "/measure: NaN coordinate",
}
CASES = [c for c in hostile.corpus() if c.label in SUBSET or c.group in ("path", "method")]


@pytest.fixture(scope="module")
def target_park(engine):
    """A park for PUT/PATCH cases; re-read for every case (other tests may have edited it)."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT min(id) FROM parks")).scalar()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.label[:70]) for c in CASES])
def test_hostile_input_is_a_4xx_problem_and_changes_nothing(server, keys, engine, target_park, case):
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version FROM parks WHERE id = :i"), {"i": target_park}).scalar()
    before = fingerprint(engine) if case.method != "GET" else None
    outcome = hostile.run_case(server, case, keys, target_park, f'"{version}"')
    assert outcome.problem is None, f"{outcome.status}: {outcome.problem}: {outcome.detail}"
    assert outcome.seconds < 30
    if before is not None:
        assert fingerprint(engine) == before


def test_the_hostile_subset_covers_what_it_says(engine):
    groups = {c.group for c in CASES}
    assert {"path", "method", "geometry"} <= groups
    assert len([c for c in CASES if c.group == "path"]) >= 25 and len(CASES) >= 60


# --- regressions: bugs the reliability suite found, now fixed -------------------------------------------------------

@pytest.mark.parametrize("params", [
    {"offset": "99999999999999999999"},  # bigint overflow in OFFSET
    {"nama": "a\x00b"},  # NUL in a ?field=value
    {"filter": "nama = 'a\x00b'"},  # NUL in a CQL2 string
    {"area_ha": "abc"},  # text compared with a number column
], ids=["offset-overflow", "nul-in-field-value", "nul-in-cql2", "text-for-number"])
def test_bad_query_values_are_400_not_500(http, params):
    r = http.get("/collections/kelurahan/items", params=params)
    assert r.status_code == 400, r.text[:200]


def test_a_50_mb_body_to_measure_is_refused(http):
    body = b'{"geometry": {"type": "Point", "coordinates": [98.5, 3.6]}, "pad": "' + b"x" * 50_000_000 + b'"}'
    r = http.post("/measure", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_an_analysts_job_results_are_not_readable_anonymously(server, keys, engine):
    analyst = {"X-API-Key": keys["analyst"]}
    with httpx.Client(base_url=server, timeout=60) as http:
        r = http.post("/processes/project-progress/execution", json={"inputs": {}},
                      headers={**analyst, "Prefer": "respond-async"})
        assert r.status_code == 201
        job = r.json()["jobID"]
        deadline, status = time.time() + 60, None
        while time.time() < deadline:
            status = http.get(f"/jobs/{job}", headers=analyst).json()["status"]
            if status in ("successful", "failed"):
                break
            time.sleep(0.1)
        assert status == "successful"
        # the owner reads the results, compensation totals included (as the parcels sum them)
        with engine.connect() as conn:
            paid = conn.execute(text("SELECT sum(kompensasi_rp) FROM project_parcels WHERE status IN "
                                     "('compensated', 'certified')")).scalar()
        owned = http.get(f"/jobs/{job}/results", headers=analyst)
        assert owned.status_code == 200
        assert owned.json()["compensation"]["paid_rp"] == pytest.approx(float(paid), rel=1e-9)
        # anyone else is told there is no such job, and does not see it listed
        anonymous = http.get(f"/jobs/{job}/results")
        assert anonymous.status_code == 404 and "compensation" not in anonymous.text
        assert http.get(f"/jobs/{job}").status_code == 404
        assert job not in {j["jobID"] for j in http.get("/jobs").json()["jobs"]}
