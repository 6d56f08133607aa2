"""The read replica's lag under a steady write load: edits through the API at a fixed rate (20/s for 30 s), and
for each, the time from its response until the replica has replayed the primary's WAL up to the position the
response carried (Petakota-LSN). Runs on its own pair of clusters (scripts/devenv.sh for the primary,
scripts/replica.sh for the standby, on free ports), once with the primary durable as `make run` runs it and once
without fsync as tests run it (asynchronous commit: the WAL reaches the standby when the WAL writer flushes it).

Writes the section "Read replica lag" of docs/benchmarks-replicas.md.
    PYTHONPATH=. .venv/bin/python bench/replica_lag.py [--rate 20] [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import create_engine

from bench.doc_sections import replace_section
from gis.core import db
from gis.core.replica import parse_lsn, primary_position
from gis.core.settings import Settings
from gis.data.auth import create_key

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks-replicas.md"
SECTION = "## Read replica lag"
SQUARE_LON, SQUARE_LAT = 98.49, 3.60  # Binjai: every edit is a small park near the city centre


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Pair:
    """A primary and its streaming read replica, each a local cluster on its own port."""

    env: dict
    primary_port: int
    replica_port: int

    def url(self, port: int, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    def primary_url(self, database: str) -> str:
        return self.url(self.primary_port, database)

    def replica_url(self, database: str) -> str:
        return self.url(self.replica_port, database)

    def script(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([str(ROOT / "scripts" / args[0]), *args[1:]], env=self.env, capture_output=True,
                                text=True, timeout=300)
        if result.returncode not in (0, 3):  # 3: `replica.sh status` of a stopped replica
            raise RuntimeError(f"{' '.join(args)} failed: {result.stderr}")
        return result


@contextmanager
def replica_pair(durable: bool = False):
    """A new primary (scripts/devenv.sh) and a read replica copied from it (scripts/replica.sh), on free ports
    in a directory of their own; both stopped and deleted afterwards."""
    base = Path(tempfile.mkdtemp(prefix="petakota-replica-", dir="/var/tmp"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")  # the clusters run as postgres
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PETAKOTA_READ_DATABASE_URL")}
    env.update(PETAKOTA_PG_PORT=str(free_port()), PETAKOTA_PG_DATADIR=str(base / "primary"),
               PETAKOTA_PG_DURABLE="1" if durable else "0",
               PETAKOTA_REPLICA_PORT=str(free_port()), PETAKOTA_REPLICA_DATADIR=str(base / "replica"))
    pair = Pair(env, int(env["PETAKOTA_PG_PORT"]), int(env["PETAKOTA_REPLICA_PORT"]))
    try:
        pair.script("devenv.sh", "start-db")
        pair.script("replica.sh", "start")
        yield pair
    finally:
        subprocess.run([str(ROOT / "scripts" / "replica.sh"), "drop"], env=env, capture_output=True, timeout=120)
        subprocess.run([str(ROOT / "scripts" / "devenv.sh"), "stop-db"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(base, ignore_errors=True)


def replayed(conn: psycopg.Connection) -> int:
    return parse_lsn(conn.execute("SELECT pg_last_wal_replay_lsn()::text").fetchone()[0])


def wait_replayed(primary_dsn: str, replica_dsn: str, timeout: float = 30) -> None:
    """Until the replica has replayed everything the primary has written so far (a new database included)."""
    engine = create_engine(primary_dsn.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        target = primary_position(conn)
    engine.dispose()
    with psycopg.connect(replica_dsn.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        deadline = time.monotonic() + timeout
        while replayed(conn) < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replica has not replayed the primary's WAL within {timeout} s")
            time.sleep(0.01)


class ReplayWatch(threading.Thread):
    """Polls the replica's replay position every `interval` s; each write registered with its WAL position gets
    its lag: the time from its response until the replica had replayed that far."""

    def __init__(self, replica_dsn: str, interval: float = 0.002):
        super().__init__(name="replay-watch", daemon=True)
        self.dsn, self.interval = replica_dsn, interval
        self.pending: list[tuple[int, float]] = []
        self.lags: list[float] = []
        self._lock = threading.Lock()
        self._done = threading.Event()

    def written(self, lsn: int, at: float) -> None:
        with self._lock:
            self.pending.append((lsn, at))

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._done.is_set():
                position, now = replayed(conn), time.perf_counter()
                with self._lock:
                    self.lags += [now - at for lsn, at in self.pending if lsn <= position]
                    self.pending = [(lsn, at) for lsn, at in self.pending if lsn > position]
                time.sleep(self.interval)

    def finish(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        self._done.set()
        self.join(5)


def park(n: int, name: str | None = None) -> dict:
    d = 0.0002 * (n % 400)
    x, y = SQUARE_LON + d, SQUARE_LAT + d
    ring = [[x, y], [x + 0.0001, y], [x + 0.0001, y + 0.0001], [x, y + 0.0001], [x, y]]
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"nama": name or f"Taman beban {n}", "kelas": "taman rw", "publik": True}}


def edit_load(base_url: str, key: str, watch: ReplayWatch, rate: float, seconds: float) -> dict:
    """`rate` edits a second for `seconds` through the API, each followed by the replica; returns counts."""
    errors, sent = 0, 0
    start = time.perf_counter()
    with httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=30) as client:
        while (now := time.perf_counter()) - start < seconds:
            due = start + sent / rate
            if due > now:
                time.sleep(due - now)
            r = client.post("/collections/parks/items", json=park(sent))
            sent += 1
            lsn = parse_lsn(r.headers.get("petakota-lsn"))
            if r.status_code != 201 or lsn is None:
                errors += 1
                continue
            watch.written(lsn, time.perf_counter())
    return {"sent": sent, "errors": errors, "seconds": time.perf_counter() - start}


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


@contextmanager
def service(pair: Pair, database: str, data_dir: Path):
    """`petakota serve` on the primary with the replica for reads; yields (base URL, a planner key)."""
    settings = Settings(database_url=pair.primary_url(database), read_database_url=pair.replica_url(database),
                        data_dir=data_dir)
    with psycopg.connect(pair.primary_url("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    db.upgrade(settings)
    engine = db.make_engine(settings, pool_size=1)
    with engine.begin() as conn:
        key = create_key(conn, "Beban edit", "planner")[1]
    engine.dispose()
    wait_replayed(pair.primary_url(database), pair.replica_url(database))
    port = free_port()
    env = {**pair.env, "DATABASE_URL": settings.database_url, "PETAKOTA_READ_DATABASE_URL": settings.read_database_url,
           "PETAKOTA_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "petakota"), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield url, key
    finally:
        proc.terminate()
        proc.wait(30)


def measure(durable: bool, rate: float, seconds: float) -> dict:
    with replica_pair(durable=durable) as pair, tempfile.TemporaryDirectory() as data:
        with service(pair, "petakota_lag", Path(data)) as (url, key):
            watch = ReplayWatch(pair.replica_url("postgres"))
            watch.start()
            counts = edit_load(url, key, watch, rate, seconds)
            load = os.getloadavg()[0]  # the machine is shared: the lag's tail follows its load
            watch.finish()
    lags_ms = sorted(lag * 1000 for lag in watch.lags)
    return {**counts, "load": load, "replayed": len(lags_ms), "unreplayed": len(watch.pending),
            "p50": percentile(lags_ms, 50), "p99": percentile(lags_ms, 99), "max": lags_ms[-1]}


def write_section(rows: list[tuple[str, dict]], rate: float, seconds: float) -> str:
    lines = [SECTION, "",
             f"Edits (new parks, POST /collections/parks/items) at {rate:g}/s for {seconds:g} s through one API "
             "process; lag = time from an edit's response until the replica's `pg_last_wal_replay_lsn()` reached "
             "the position the response carried (polled every 2 ms). Both clusters, the API and the load on this "
             "2-core machine, shared with other work (its load average is in the last column).", "",
             "| primary | edits sent | errors | replayed | lag p50 | lag p99 | lag max | load (1 min) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows:
        lines.append(f"| {name} | {r['sent']} ({r['sent'] / r['seconds']:.1f}/s) | {r['errors']} | "
                     f"{r['replayed']} | {r['p50']:.1f} ms | {r['p99']:.1f} ms | {r['max']:.1f} ms | "
                     f"{r['load']:.1f} |")
    lines += ["", "A durable primary commits synchronously: the WAL is flushed, hence streamed, before the response. "
              "Without fsync (tests) commits are asynchronous and the WAL writer flushes every 200 ms, which the "
              "lag shows. A read after a write by the same caller goes to the primary until the replica has the "
              "write (cookie/header `petakota-lsn`), so the lag costs primary reads, never stale ones.", ""]
    section = "\n".join(lines)
    replace_section(DOC, SECTION, section, "# Service replicas")
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    rows = [("durable (make run)", measure(True, args.rate, args.seconds)),
            ("fsync off (tests)", measure(False, args.rate, args.seconds))]
    print(write_section(rows, args.rate, args.seconds))


if __name__ == "__main__":
    main()
