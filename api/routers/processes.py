"""OGC API - Processes: list, describe, execute (synchronously, or as a job with `Prefer: respond-async`)."""

from __future__ import annotations

import math
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import Caller
from gis.core.errors import NotFound, PetaKotaError
from gis.processes import PROCESSES, Context, execute

router = APIRouter(tags=["OGC API - Processes"])
_jobs: dict[str, dict] = {}
_jobs_lock = threading.Lock()
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="petakota-job")  # analyses are CPU-bound


def plain_json(value):
    """Results as strict JSON: NaN/inf -> null, numpy scalars -> numbers, dates -> ISO text."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _summary(request: Request, p) -> dict:
    return {"id": p.id, "title": p.title_id, "title_en": p.title_en, "description": p.description,
            "version": "1.0.0", "jobControlOptions": ["sync-execute", "async-execute"],
            "outputTransmission": ["value"],
            "links": [{"href": f"{_base(request)}/processes/{p.id}", "rel": "self", "type": "application/json"},
                      {"href": f"{_base(request)}/processes/{p.id}/execution",
                       "rel": "http://www.opengis.net/def/rel/ogc/1.0/execute", "type": "application/json"}]}


@router.get("/processes", summary="The planning analyses offered as processes")
def list_processes(request: Request):
    return {"processes": [_summary(request, p) for p in PROCESSES.values()],
            "links": [{"href": f"{_base(request)}/processes", "rel": "self", "type": "application/json"}]}


@router.get("/processes/{process_id}", summary="A process with its inputs and outputs")
def describe(request: Request, process_id: str):
    p = PROCESSES.get(process_id)
    if p is None:
        raise NotFound(f"no process {process_id[:60]!r}; see /processes")
    return {**_summary(request, p), "inputs": p.inputs, "outputs": p.outputs}


def _job_doc(request: Request, job_id: str, job: dict) -> dict:
    doc = {"jobID": job_id, "processID": job["process"], "type": "process", "status": job["status"],
           "created": job["created"], "updated": job["updated"],
           "links": [{"href": f"{_base(request)}/jobs/{job_id}", "rel": "self", "type": "application/json"}]}
    if job["status"] == "successful":
        doc["links"].append({"href": f"{_base(request)}/jobs/{job_id}/results",
                             "rel": "http://www.opengis.net/def/rel/ogc/1.0/results", "type": "application/json"})
    if job.get("error"):
        doc["message"] = job["error"]
    return doc


@router.post("/processes/{process_id}/execution", summary="Run a process")
async def run(request: Request, process_id: str, who: Caller, body: Annotated[dict, Body()] = None):
    body = body or {}
    inputs = body.get("inputs", {})
    state = request.app.state
    ctx = Context(state.engine, state.settings, who.sees_private)
    if "respond-async" not in request.headers.get("prefer", ""):
        result = await run_in_threadpool(execute, process_id, ctx, inputs)
        return JSONResponse(plain_json(result))
    if process_id not in PROCESSES:
        raise NotFound(f"no process {process_id[:60]!r}; see /processes")
    job_id = uuid.uuid4().hex
    now = datetime.now(UTC).isoformat(timespec="seconds")
    # A job's results may hold private fields: only whoever started it can see it.
    job = {"process": process_id, "status": "accepted", "created": now, "updated": now, "owner": who.name}
    with _jobs_lock:
        _jobs[job_id] = job

    def work():
        job.update(status="running", updated=datetime.now(UTC).isoformat(timespec="seconds"))
        try:
            job["result"] = plain_json(execute(process_id, ctx, inputs))
            job["status"] = "successful"
        except PetaKotaError as exc:
            job.update(status="failed", error=exc.detail)
        except Exception as exc:  # a job reports its failure; it never takes the service down
            job.update(status="failed", error=f"internal error: {exc.__class__.__name__}")
        job["updated"] = datetime.now(UTC).isoformat(timespec="seconds")

    _executor.submit(work)
    return JSONResponse(_job_doc(request, job_id, job), status_code=201,
                        headers={"Location": f"{_base(request)}/jobs/{job_id}", "Preference-Applied": "respond-async"})


def _job(job_id: str, who) -> dict:
    job = _jobs.get(job_id)
    if job is None or job["owner"] != who.name:
        raise NotFound(f"no job {job_id[:40]!r} of yours")
    return job


@router.get("/jobs", summary="Your jobs (those started with the same API key, or anonymously)")
def jobs(request: Request, who: Caller):
    return {"jobs": [_job_doc(request, i, j) for i, j in list(_jobs.items()) if j["owner"] == who.name]}


@router.get("/jobs/{job_id}", summary="Status of a job")
def job_status(request: Request, job_id: str, who: Caller):
    return _job_doc(request, job_id, _job(job_id, who))


@router.get("/jobs/{job_id}/results", summary="Results of a successful job")
def job_results(job_id: str, who: Caller):
    job = _job(job_id, who)
    if job["status"] != "successful":
        raise NotFound(f"job {job_id} has no results (status: {job['status']})")
    return JSONResponse(job["result"])
