"""Jobs: every process execution, synchronous or not, is a row in the `jobs` table and runs in a pool of worker
processes. Any service process answers for any job, a job outlives a restart of the process that ran it, a job
that was running when its service process stopped or died is failed with the reason, and finished jobs are
deleted after `job_retention_hours` together with the result rasters they made."""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import socket
import threading
import time
import uuid
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, text

from gis.core.errors import InvalidInput, NotFound, PetaKotaError
from gis.core.settings import Settings
from gis.data.auth import Principal
from gis.processes import PROCESSES, Context, execute

log = logging.getLogger("petakota.jobs")

STOPPED = "the service stopped while it ran"
WORKER_DIED = "the analysis worker stopped while it ran (out of memory?)"
UNFINISHED = "('accepted', 'running')"
STALE_BEATS = 3  # a job whose heartbeat is this many intervals old has lost its service process
PRUNE_EVERY_S = 600
WORKER_NICENESS = 10


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


def _as_jsonb(value) -> str:
    # jsonb holds no NUL character; a hostile input keeps the rest of its text.
    return json.dumps(plain_json(value)).replace("\\u0000", "")


@dataclass(frozen=True)
class Job:
    id: str
    process: str
    status: str
    owner: str
    progress: int
    message: str | None
    created: datetime
    started: datetime | None
    updated: datetime
    finished: datetime | None


_JOB_COLUMNS = "id, process, status, owner, progress, message, created, started, updated, finished"


class JobStore:
    """The `jobs` table. Owner-only: a job of another owner is reported as not found."""

    def __init__(self, engine: Engine, settings: Settings):
        self.engine = engine
        self.settings = settings

    def create(self, process: str, owner: str, inputs, worker: str) -> Job:
        with self.engine.begin() as conn:
            row = conn.execute(text(
                f"INSERT INTO jobs (id, process, status, owner, inputs, worker) "
                f"VALUES (:id, :p, 'accepted', :o, CAST(:i AS jsonb), :w) RETURNING {_JOB_COLUMNS}"),
                {"id": uuid.uuid4().hex, "p": process, "o": owner, "i": _as_jsonb(inputs), "w": worker}).one()
        return Job(**row._mapping)

    def get(self, job_id: str, owner: str) -> Job:
        with self.engine.connect() as conn:
            row = conn.execute(text(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = :id AND owner = :o"),
                               {"id": job_id, "o": owner}).first()
        if row is None:
            raise NotFound(f"no job {job_id[:40]!r} of yours")
        return Job(**row._mapping)

    def list(self, owner: str, limit: int = 100) -> list[Job]:
        with self.engine.connect() as conn:
            rows = conn.execute(text(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE owner = :o "
                                     f"ORDER BY created DESC, id LIMIT :n"), {"o": owner, "n": limit})
            return [Job(**r._mapping) for r in rows]

    def result_json(self, job_id: str, owner: str) -> str:
        """The results of a successful job, as the JSON text stored."""
        job = self.get(job_id, owner)
        if job.status != "successful":
            raise NotFound(f"job {job_id} has no results (status: {job.status})")
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT result::text FROM jobs WHERE id = :id"), {"id": job_id}).scalar_one()

    def start(self, job_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("UPDATE jobs SET status = 'running', started = now(), updated = now() "
                              "WHERE id = :id AND status = 'accepted'"), {"id": job_id})

    def finish(self, job_id: str, result: dict | None = None, error: str | None = None) -> bool:
        """Record the outcome; False when the job was already failed meanwhile (its service stopped)."""
        with self.engine.begin() as conn:
            return conn.execute(text(
                f"UPDATE jobs SET status = :s, result = CAST(:r AS jsonb), message = :m, progress = 100, "
                f"finished = now(), updated = now() WHERE id = :id AND status IN {UNFINISHED}"),
                {"id": job_id, "s": "failed" if error else "successful", "m": error,
                 "r": None if error else _as_jsonb(result)}).rowcount == 1

    def beat(self, worker: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(f"UPDATE jobs SET heartbeat = now() WHERE worker = :w AND status IN {UNFINISHED}"),
                         {"w": worker})

    def fail_unfinished(self, reason: str, worker: str | None = None, stale_seconds: float | None = None) -> int:
        """Fail the unfinished jobs of one service process, or those whose heartbeat is older than
        `stale_seconds` (their service process died). Returns how many."""
        where = ["status IN " + UNFINISHED]
        if worker is not None:
            where.append("worker = :w")
        if stale_seconds is not None:
            where.append("heartbeat < now() - make_interval(secs => :s)")
        with self.engine.begin() as conn:
            return conn.execute(text(
                f"UPDATE jobs SET status = 'failed', message = :m, finished = now(), updated = now() "
                f"WHERE {' AND '.join(where)}"), {"m": reason, "w": worker, "s": stale_seconds}).rowcount

    def prune(self, older_than_hours: float) -> tuple[int, int]:
        """Delete jobs finished more than `older_than_hours` ago with their result rasters (rows and files).
        Returns (jobs, rasters) deleted."""
        return self._delete("finished < now() - make_interval(secs => :h)", {"h": older_than_hours * 3600})

    def discard(self, job_id: str) -> None:
        """Forget a job and what it wrote (a synchronous execution refused for its inputs leaves nothing)."""
        self._delete("id = :id", {"id": job_id})

    def dismiss(self, job_id: str, owner: str) -> Job:
        """The owner deletes a job with its results and result rasters; returns the job as it was."""
        job = self.get(job_id, owner)
        self.discard(job.id)
        return job

    def _delete(self, where: str, params: dict) -> tuple[int, int]:
        doomed = f"SELECT id FROM jobs WHERE {where}"
        with self.engine.begin() as conn:
            paths = conn.execute(text(f"DELETE FROM rasters WHERE job_id IN ({doomed}) RETURNING path"),
                                 params).scalars().all()
            jobs = conn.execute(text(f"DELETE FROM jobs WHERE id IN ({doomed})"), params).rowcount
        results = (self.settings.data_dir / "rasters" / "results").resolve()
        for rel in paths:
            path = (self.settings.data_dir / rel).resolve()
            if path.parent == results:  # only ever a result raster, whatever the row says
                path.unlink(missing_ok=True)
        return jobs, len(paths)

def _run(process_id: str, ctx: Context, inputs) -> dict:
    """In a worker process: run the analysis and record its outcome on the job."""
    store = JobStore(ctx.engine, ctx.settings)
    store.start(ctx.job_id)
    try:
        result = plain_json(execute(process_id, ctx, inputs))
    except PetaKotaError as exc:
        store.finish(ctx.job_id, error=exc.detail)
        raise
    except Exception as exc:  # a job reports its failure; the error itself may not survive pickling
        log.exception("job %s (%s) failed", ctx.job_id, process_id)
        store.finish(ctx.job_id, error=f"internal error: {exc.__class__.__name__}")
        raise RuntimeError(f"{process_id} failed: {exc.__class__.__name__}: {str(exc)[:300]}") from None
    store.finish(ctx.job_id, result=result)
    return result


def _warm() -> int:
    return os.getpid()


def _lower_priority() -> None:
    """Analyses are batch work: the kernel gives the service's request handling the CPU first."""
    os.nice(WORKER_NICENESS)


def _pool_context():
    """forkserver where there is one: workers start from a clean process with the analysis modules imported."""
    try:
        ctx = multiprocessing.get_context("forkserver")
    except ValueError:
        return multiprocessing.get_context("spawn")
    ctx.set_forkserver_preload(["gis.processes"])
    return ctx


class JobService:
    """Runs executions in worker processes and keeps their jobs: heartbeats, stale sweeps and pruning."""

    def __init__(self, engine: Engine, settings: Settings):
        self.store = JobStore(engine, settings)
        self.settings = settings
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._stop = threading.Event()
        self._keeper = threading.Thread(target=self._keep, name="petakota-jobs", daemon=True)
        self._swept = False

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Fail the jobs of service processes that died, prune old jobs, start the worker pool and keeper."""
        self._swept = self._try_sweep()
        self._pool_now().submit(_warm)
        self._keeper.start()

    def close(self) -> None:
        """Service shutdown: jobs still running here are failed with the reason, the workers are stopped."""
        self._stop.set()
        if self._keeper.is_alive():
            self._keeper.join(5)
        try:
            failed = self.store.fail_unfinished(STOPPED, worker=self.worker)
            if failed:
                log.warning("%d job(s) failed: %s", failed, STOPPED)
        except Exception as exc:  # the database is gone too: the next service's stale sweep fails them
            log.warning("could not fail the running jobs at shutdown: %s", exc)
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:  # a siting run would otherwise hold the shutdown for its full duration
                process.terminate()

    def worker_pids(self) -> list[int]:
        """The analysis worker processes now running (for operators and tests)."""
        with self._pool_lock:
            return sorted((getattr(self._pool, "_processes", None) or {}).keys())

    def _try_sweep(self) -> bool:
        try:
            stale = self.store.fail_unfinished(STOPPED, stale_seconds=STALE_BEATS * self.settings.job_heartbeat_seconds)
            jobs, rasters = self.store.prune(self.settings.job_retention_hours)
        except Exception as exc:  # the database may be restarting; the keeper tries again
            log.warning("job sweep failed: %s", exc)
            return False
        if stale or jobs:
            log.info("jobs: %d stale failed, %d pruned with %d result rasters", stale, jobs, rasters)
        return True

    def _keep(self) -> None:
        last_sweep = time.monotonic()
        while not self._stop.wait(self.settings.job_heartbeat_seconds):
            try:
                self.store.beat(self.worker)
            except Exception as exc:  # the database may be restarting; the next beat tries again
                log.warning("job heartbeat failed: %s", exc)
            if not self._swept or time.monotonic() - last_sweep > PRUNE_EVERY_S:
                last_sweep = time.monotonic()
                self._swept = self._try_sweep()

    def _pool_now(self) -> ProcessPoolExecutor:
        with self._pool_lock:
            if self._pool is None or getattr(self._pool, "_broken", False):
                self._pool = ProcessPoolExecutor(max(1, self.settings.job_workers), mp_context=_pool_context(),
                                                 initializer=_lower_priority)
            return self._pool

    # -- executions ---------------------------------------------------------------------------------------------

    def _submit(self, process_id: str, inputs, who: Principal) -> tuple[Job, Future]:
        if process_id not in PROCESSES:
            raise NotFound(f"no process {process_id[:60]!r}; see /processes")
        if not isinstance(inputs, dict):
            raise InvalidInput("'inputs' must be an object")
        job = self.store.create(process_id, who.name, inputs, self.worker)
        ctx = Context(self.store.engine, self.settings, who.reads_all_private, who.name, job.id, who)
        try:
            future = self._pool_now().submit(_run, process_id, ctx, inputs)
        except BrokenProcessPool:
            future = self._pool_now().submit(_run, process_id, ctx, inputs)
        future.add_done_callback(lambda f: self._settle(job.id, f))
        return job, future

    def _settle(self, job_id: str, future: Future) -> None:
        """A worker that died (or was stopped) never recorded the outcome: record it here."""
        if future.cancelled() or isinstance(future.exception(), BrokenProcessPool):
            try:
                self.store.finish(job_id, error=STOPPED if self._stop.is_set() else WORKER_DIED)
            except Exception:
                log.exception("could not record the end of job %s", job_id)

    def submit(self, process_id: str, inputs, who: Principal) -> Job:
        """Start an asynchronous job; returns it as accepted."""
        return self._submit(process_id, inputs, who)[0]

    def run(self, process_id: str, inputs, who: Principal) -> dict:
        """A synchronous execution (blocking): the results, also kept as a job of the caller. Refused inputs
        leave no job behind: the caller has the answer, and a bad request changes nothing."""
        job, future = self._submit(process_id, inputs, who)
        try:
            return future.result()
        except PetaKotaError:
            self.store.discard(job.id)
            raise

