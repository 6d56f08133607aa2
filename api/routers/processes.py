"""OGC API - Processes: list, describe, execute (synchronously, or as a job with `Prefer: respond-async`).
Either way the execution is a job of the caller, kept in the database (gis/processes/jobs.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from api.deps import Caller, Jobs, require
from gis.core.errors import NotFound
from gis.data.auth import Principal
from gis.processes import PROCESSES
from gis.processes.jobs import Job

router = APIRouter(tags=["OGC API - Processes"])


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


def _job_doc(request: Request, job: Job) -> dict:
    def stamp(value):
        return value.isoformat(timespec="seconds") if value else None

    doc = {"jobID": job.id, "processID": job.process, "type": "process", "status": job.status,
           "progress": job.progress, "created": stamp(job.created), "started": stamp(job.started),
           "finished": stamp(job.finished), "updated": stamp(job.updated),
           "links": [{"href": f"{_base(request)}/jobs/{job.id}", "rel": "self", "type": "application/json"}]}
    if job.status == "successful":
        doc["links"].append({"href": f"{_base(request)}/jobs/{job.id}/results",
                             "rel": "http://www.opengis.net/def/rel/ogc/1.0/results", "type": "application/json"})
    if job.message:
        doc["message"] = job.message
    return doc


@router.post("/processes/{process_id}/execution", summary="Run a process")
async def run(request: Request, process_id: str, who: Caller, jobs: Jobs, body: Annotated[dict, Body()] = None):
    inputs = (body or {}).get("inputs", {})
    if "respond-async" not in request.headers.get("prefer", ""):
        return JSONResponse(await run_in_threadpool(jobs.run, process_id, inputs, who))
    # A job's results may hold private fields: only whoever started it can see it.
    job = await run_in_threadpool(jobs.submit, process_id, inputs, who)
    return JSONResponse(_job_doc(request, job), status_code=201,
                        headers={"Location": f"{_base(request)}/jobs/{job.id}", "Preference-Applied": "respond-async"})


@router.get("/jobs", summary="Your jobs (those started with the same API key, or anonymously), newest first")
def list_jobs(request: Request, who: Caller, jobs: Jobs, limit: Annotated[int, Query(ge=1, le=1000)] = 100):
    return {"jobs": [_job_doc(request, job) for job in jobs.store.list(who.name, limit)]}


@router.get("/jobs/{job_id}", summary="Status of a job")
def job_status(request: Request, job_id: str, who: Caller, jobs: Jobs):
    return _job_doc(request, jobs.store.get(job_id, who.name))


@router.get("/jobs/{job_id}/results", summary="Results of a successful job")
def job_results(job_id: str, who: Caller, jobs: Jobs):
    return Response(jobs.store.result_json(job_id, who.name), media_type="application/json")


@router.delete("/jobs/{job_id}", summary="Delete a job with its results and result rasters (API key needed: "
               "anonymous jobs are everyone's)")
def dismiss_job(request: Request, job_id: str, who: Annotated[Principal, Depends(require("analyst"))], jobs: Jobs):
    return {**_job_doc(request, jobs.store.dismiss(job_id, who.name)), "status": "dismissed", "links": []}
