"""The site-suitability process with engine "dask": on a scheduler given by address (a `dask scheduler` and a
`dask worker` started here as their own processes, as on another machine) and on the local cluster used when no
address is set, its candidates and its suitability raster are the in-process run's."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from gis.analyses.dask_cluster import dask_client
from gis.core.errors import InvalidInput
from gis.processes import Context
from gis.processes.siting import SiteSuitabilityInputs, run_site_suitability

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(db, settings, **inputs) -> tuple[dict, np.ndarray]:
    ctx = Context(db, settings, include_private=False, owner="anonymous")
    out = run_site_suitability(ctx, SiteSuitabilityInputs(n_candidates=3, **inputs))
    raster_id = out["suitability_raster"]["id"]
    with ctx.engine.connect() as conn:
        from sqlalchemy import text

        path = conn.execute(text("SELECT path FROM rasters WHERE id = :id"), {"id": raster_id}).scalar()
    with rasterio.open(settings.data_dir / path) as ds:
        return out, ds.read(1)


@pytest.fixture(scope="module")
def in_process(engine, settings):
    return run(engine, settings)


@pytest.fixture()
def scheduler(tmp_path):
    """A scheduler and one worker, each its own process, on free ports."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    procs.append(subprocess.Popen([str(DASK), "worker", address, "--nthreads", "1", "--no-nanny",
                                   "--no-dashboard", "--memory-limit", "2GB", "--local-directory", str(tmp_path)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(1, timeout=30)
            workers = client.scheduler_info()["workers"]
        yield address, workers
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def assert_same(dask_run, in_process_run):
    (out, raster), (expected, expected_raster) = dask_run, in_process_run
    assert len(expected["candidates"]["features"]) >= 2
    assert out["candidates"] == expected["candidates"]
    assert out["cities"] == expected["cities"]
    np.testing.assert_array_equal(raster, expected_raster)


def test_siting_on_a_scheduler_address_gives_the_in_process_result(engine, settings, in_process, scheduler):
    address, workers = scheduler
    assert len(workers) == 1 and all(w["host"] == "127.0.0.1" for w in workers.values())
    on_cluster = settings.model_copy(update={"dask_scheduler": address})
    assert_same(run(engine, on_cluster, engine="dask"), in_process)
    # the chunks ran on that worker: its scratch tiles were cleaned up after the raster was kept
    assert not list((settings.data_dir / "rasters" / "scratch").glob("*_tiles"))


def test_siting_on_the_local_cluster_gives_the_in_process_result(engine, settings, in_process):
    assert settings.dask_scheduler is None
    assert_same(run(engine, settings.model_copy(update={"dask_chunk": 512}), engine="dask"), in_process)


def test_a_scheduler_that_does_not_answer_is_named_with_the_fix():
    with pytest.raises(InvalidInput, match=r"tcp://127\.0\.0\.1:\d+ does not answer.*PETAKOTA_DASK_SCHEDULER"):
        with dask_client(f"tcp://127.0.0.1:{free_port()}", connect_seconds=1):
            pass


def test_evaluating_a_drawn_site_on_dask_is_refused_naming_the_engine_to_use():
    from pydantic import ValidationError
    from shapely.geometry import box, mapping

    site = mapping(box(98.48, 3.60, 98.49, 3.61))
    assert SiteSuitabilityInputs(mode="evaluate", site=site).engine == "in-process"
    with pytest.raises(ValidationError, match="engine 'dask' searches a region; evaluate a drawn site with engine "
                                              "'in-process'"):
        SiteSuitabilityInputs(mode="evaluate", site=site, engine="dask")


def test_over_http_the_engine_is_a_described_input_and_dask_answers_as_in_process(http):
    from tests.test_processes import run as execute_over_http

    described = http.get("/processes/site-suitability").json()["inputs"]["engine"]
    assert "dask" in str(described) and "in-process" in str(described)
    expected = execute_over_http(http, "site-suitability", {"n_candidates": 2})
    on_dask = execute_over_http(http, "site-suitability", {"n_candidates": 2, "engine": "dask"}, timeout=240)
    assert len(expected["candidates"]["features"]) == 2
    assert on_dask["candidates"] == expected["candidates"]
    # the raster is named by the inputs (the engine left out) and, in a job, the job
    named = [out["suitability_raster"]["id"].rsplit("_", 1)[0] for out in (on_dask, expected)]
    assert named[0] == named[1]
