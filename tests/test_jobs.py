"""Jobs kept in PostgreSQL and result rasters owned by their job, over real HTTP: a job is answered by another
service process and after the one that ran it is gone, a job running when its service stops (or whose service
died) is failed with the reason, old jobs are pruned with their rasters, and a result raster is its owner's
alone, found at once by every service process."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from decimal import Decimal

import httpx
import morecantile
import pytest
import rasterio
import rasterio.warp
from shapely.geometry import box, mapping
from sqlalchemy import text

from api.app import create_app
from gis.core.errors import InvalidInput
from gis.data.registry import create_layer
from gis.processes import Context, execute
from gis.processes.jobs import STOPPED, WORKER_DIED, JobStore, plain_json
from layers import CATALOG
from tests.conftest import problem_of, serve_app

# the estate's surroundings: a small footprint keeps change-detection quick
FOOTPRINT = mapping(box(98.47, 3.58, 98.48, 3.59))


@contextmanager
def another_service(settings):
    """A second service process on the same database (its own app, caches, job pool), stopped on exit."""
    app = create_app(settings)
    with serve_app(app, stop_seconds=30) as url:
        yield app, url

def wait_for(client: httpx.Client, job_url: str, key: str, seconds: float = 90) -> dict:
    deadline = time.time() + seconds
    while True:
        doc = client.get(job_url, headers={"X-API-Key": key}).json()
        if doc["status"] in ("successful", "failed") or time.time() > deadline:
            return doc
        time.sleep(0.1)


def paid_compensation(engine) -> Decimal:
    with engine.connect() as conn:
        return conn.execute(text("SELECT sum(kompensasi_rp) FROM project_parcels WHERE status IN "
                                 "('compensated', 'certified')")).scalar()


def test_a_job_is_answered_by_another_service_after_the_one_that_ran_it_is_gone(http, settings, engine, keys):
    analyst = {"X-API-Key": keys["analyst"]}
    with another_service(settings) as (_, first), httpx.Client(base_url=first, timeout=60) as client:
        r = client.post("/processes/project-progress/execution", json={"inputs": {}},
                        headers={**analyst, "Prefer": "respond-async"})
        assert r.status_code == 201
        job_id = r.json()["jobID"]
        assert wait_for(client, f"/jobs/{job_id}", keys["analyst"])["status"] == "successful"
    # the first service has stopped; the test server (another process's worth of state) answers
    status = http.get(f"/jobs/{job_id}", headers=analyst)
    assert status.status_code == 200 and status.json()["status"] == "successful"
    assert status.json()["finished"] >= status.json()["started"] >= status.json()["created"]
    results = http.get(f"/jobs/{job_id}/results", headers=analyst).json()
    assert results["compensation"]["paid_rp"] == pytest.approx(float(paid_compensation(engine)), rel=1e-9)
    assert job_id in {j["jobID"] for j in http.get("/jobs", headers=analyst).json()["jobs"]}
    for other in ({}, {"X-API-Key": keys["planner"]}):
        assert problem_of(http.get(f"/jobs/{job_id}", headers=other))["status"] == 404
        assert problem_of(http.get(f"/jobs/{job_id}/results", headers=other))["status"] == 404
        assert job_id not in {j["jobID"] for j in http.get("/jobs", headers=other).json()["jobs"]}


def test_a_job_running_when_its_service_stops_is_failed_with_the_reason(http, settings, keys):
    analyst = {"X-API-Key": keys["analyst"]}
    with another_service(settings) as (_, first), httpx.Client(base_url=first, timeout=60) as client:
        r = client.post("/processes/site-suitability/execution", json={"inputs": {"target_ha": 120}},
                        headers={**analyst, "Prefer": "respond-async"})
        assert r.status_code == 201 and r.json()["status"] == "accepted"
        job_id = r.json()["jobID"]
    # stopped within a second of the start; a siting run takes longer than that
    doc = http.get(f"/jobs/{job_id}", headers=analyst).json()
    assert doc["status"] == "failed" and doc["message"] == STOPPED and doc["finished"]
    assert problem_of(http.get(f"/jobs/{job_id}/results", headers=analyst))["status"] == 404


def test_a_service_starting_fails_the_jobs_of_a_dead_service_and_prunes_old_jobs(settings, engine):
    stale, alive, old = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
    ids = {"a": stale, "b": alive, "c": old}
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO jobs (id, process, status, owner, inputs, worker, started, heartbeat) VALUES "
            "(:a, 'rth-ratio', 'running', 'Uji analyst (analyst)', '{}', 'gone:1', now() - interval '1 hour', "
            " now() - make_interval(secs => :late)), "
            "(:b, 'rth-ratio', 'running', 'Uji analyst (analyst)', '{}', 'alive:2', now(), now())"),
            {**ids, "late": 3 * settings.job_heartbeat_seconds + 5})
        conn.execute(text(
            "INSERT INTO jobs (id, process, status, owner, inputs, result, finished) VALUES "
            "(:c, 'rth-ratio', 'successful', 'anonymous', '{}', '{}', now() - make_interval(secs => :s))"),
            {**ids, "s": (settings.job_retention_hours + 1) * 3600})
    try:
        with another_service(settings):
            with engine.connect() as conn:
                rows = {r.id: r for r in conn.execute(text(
                    "SELECT id, status, message, finished FROM jobs WHERE id IN (:a, :b, :c)"), ids)}
        assert rows[stale].status == "failed" and rows[stale].message == STOPPED and rows[stale].finished
        assert rows[alive].status == "running" and rows[alive].message is None  # its service still beats
        assert old not in rows
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM jobs WHERE id IN (:a, :b, :c)"), ids)


def test_a_job_whose_worker_process_dies_is_failed_and_the_next_job_runs(settings, keys):
    analyst = {"X-API-Key": keys["analyst"]}
    with another_service(settings) as (app, url), httpx.Client(base_url=url, timeout=120) as client:
        r = client.post("/processes/site-suitability/execution", json={"inputs": {"target_ha": 110}},
                        headers={**analyst, "Prefer": "respond-async"})
        job_id = r.json()["jobID"]
        deadline = time.time() + 60
        while client.get(f"/jobs/{job_id}", headers=analyst).json()["status"] != "running":
            assert time.time() < deadline, "the job never started"
            time.sleep(0.05)
        (pid,) = app.state.jobs.worker_pids()
        os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        doc = wait_for(client, f"/jobs/{job_id}", keys["analyst"])
        assert doc["status"] == "failed" and doc["message"] == WORKER_DIED
        after = client.post("/processes/rth-ratio/execution", json={"inputs": {}}, headers=analyst)
        assert after.status_code == 200 and len(after.json()["kecamatan"]["features"]) == 6
        assert app.state.jobs.worker_pids() and pid not in app.state.jobs.worker_pids()


def test_no_runtime_layer_can_take_the_jobs_table(engine, settings):
    with engine.begin() as conn, pytest.raises(InvalidInput, match="nor one of .*jobs"):
        create_layer(conn, dataclasses.replace(CATALOG["parks"], id="jobs"), settings.city.metric_crs)


def _change_raster(http, headers, footprint=FOOTPRINT) -> str:
    r = http.post("/processes/change-detection/execution", json={"inputs": {"geometry": footprint}},
                  headers=headers, timeout=120)
    assert r.status_code == 200, r.text[:300]
    return r.json()["change_raster"]["id"]


def test_old_jobs_are_pruned_with_their_result_rasters(http, settings, engine, keys):
    analyst = {"X-API-Key": keys["analyst"]}
    old, fresh = _change_raster(http, analyst), _change_raster(http, analyst)
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT id, job_id, path FROM rasters WHERE id IN (:a, :b)"),
                            {"a": old, "b": fresh}).all()
        jobs, paths = {r.id: r.job_id for r in rows}, {r.id: r.path for r in rows}
        conn.execute(text("UPDATE jobs SET finished = now() - make_interval(hours => :h) WHERE id = :id"),
                     {"h": int(settings.job_retention_hours) + 1, "id": jobs[old]})
    assert all((settings.data_dir / p).is_file() for p in paths.values())

    assert JobStore(engine, settings).prune(settings.job_retention_hours) == (1, 1)

    assert not (settings.data_dir / paths[old]).exists()
    assert problem_of(http.get(f"/jobs/{jobs[old]}", headers=analyst))["status"] == 404
    assert problem_of(http.get(f"/rasters/{old}", headers=analyst))["status"] == 404
    assert (settings.data_dir / paths[fresh]).is_file()
    assert http.get(f"/jobs/{jobs[fresh]}", headers=analyst).json()["status"] == "successful"
    assert http.get(f"/rasters/{fresh}", headers=analyst).status_code == 200


def test_an_analysis_runs_in_a_worker_process_that_opens_its_own_engine(settings, engine):
    here = plain_json(execute("rth-ratio", Context(engine, settings, False), {}))
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = pool.submit(execute, "rth-ratio", Context(engine, settings, False), {}).result(timeout=120)
        assert pool.submit(os.getpid).result() != os.getpid()
    assert plain_json(there) == here


def test_a_synchronous_execution_is_kept_as_a_job_of_its_caller(http, keys):
    analyst = {"X-API-Key": keys["analyst"]}
    r = http.post("/processes/rth-ratio/execution", json={"inputs": {}}, headers=analyst)
    assert r.status_code == 200
    newest = http.get("/jobs", params={"limit": 1}, headers=analyst).json()["jobs"]
    assert [(j["processID"], j["status"]) for j in newest] == [("rth-ratio", "successful")]
    assert http.get(f"/jobs/{newest[0]['jobID']}/results", headers=analyst).json() == r.json()


def test_the_owner_deletes_a_job_with_its_result_raster(http, settings, keys):
    analyst, planner = {"X-API-Key": keys["analyst"]}, {"X-API-Key": keys["planner"]}
    raster_id = _change_raster(http, analyst)
    path = settings.data_dir / "rasters" / "results" / f"{raster_id}.tif"
    job_id = http.get("/jobs", params={"limit": 1}, headers=analyst).json()["jobs"][0]["jobID"]
    assert problem_of(http.delete(f"/jobs/{job_id}", headers=planner))["status"] == 404
    assert problem_of(http.delete(f"/jobs/{job_id}"))["status"] == 401
    assert path.is_file() and http.get(f"/rasters/{raster_id}", headers=analyst).status_code == 200
    gone = http.delete(f"/jobs/{job_id}", headers=analyst)
    assert gone.status_code == 200 and gone.json()["status"] == "dismissed"
    assert not path.exists()
    assert problem_of(http.get(f"/jobs/{job_id}", headers=analyst))["status"] == 404
    assert problem_of(http.get(f"/rasters/{raster_id}", headers=analyst))["status"] == 404


def test_a_result_raster_is_its_owners_alone(http, settings, keys):
    analyst = {"X-API-Key": keys["analyst"]}
    raster_id = _change_raster(http, analyst)
    meta = http.get(f"/rasters/{raster_id}", headers=analyst)
    assert meta.status_code == 200
    with rasterio.open(settings.data_dir / "rasters" / "results" / f"{raster_id}.tif") as ds:
        west, south, east, north = rasterio.warp.transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
    assert meta.json()["bounds"] == pytest.approx([west, south, east, north], abs=1e-6)
    lon, lat = (west + east) / 2, (south + north) / 2
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 15)
    paths = [f"/rasters/{raster_id}", f"/rasters/{raster_id}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png",
             f"/rasters/{raster_id}/point/{lon},{lat}", f"/rasters/{raster_id}/download"]
    for path in paths:
        assert http.get(path, headers=analyst).status_code == 200, path
    stats = http.post(f"/rasters/{raster_id}/statistics", json=FOOTPRINT, headers=analyst)
    assert stats.status_code == 200 and stats.json()["count"] > 0
    assert raster_id in {r["id"] for r in http.get("/rasters", headers=analyst).json()["rasters"]}
    for other in ({}, {"X-API-Key": keys["planner"]}):
        for path in paths:
            assert problem_of(http.get(path, headers=other))["status"] == 404, path
        assert problem_of(http.post(f"/rasters/{raster_id}/statistics", json=FOOTPRINT, headers=other))["status"] \
            == 404
        assert raster_id not in {r["id"] for r in http.get("/rasters", headers=other).json()["rasters"]}
        assert "landcover_2024" in {r["id"] for r in http.get("/rasters", headers=other).json()["rasters"]}
        # nor can another caller's analysis read it
        r = http.post("/processes/change-detection/execution",
                      json={"inputs": {"before": raster_id, "geometry": FOOTPRINT}}, headers=other)
        assert f"raster {raster_id!r} is not in the registry" in problem_of(r)["detail"]


def test_a_raster_just_registered_is_found_at_once_by_another_service(http, settings, keys):
    analyst = {"X-API-Key": keys["analyst"]}
    with another_service(settings) as (app, other), httpx.Client(base_url=other, timeout=60) as client:
        app.state.catalog_cache.ttl = 600  # its raster registry stays cached for the whole test
        assert client.get("/rasters/landcover_2024").status_code == 200  # fills that cache
        raster_id = _change_raster(http, analyst, mapping(box(98.50, 3.60, 98.51, 3.61)))
        assert client.get(f"/rasters/{raster_id}", headers=analyst).status_code == 200
        assert problem_of(client.get(f"/rasters/{raster_id}"))["status"] == 404
