"""Three API replicas behind nginx, started by scripts/cluster.sh on free ports over the test database: every
replica serves (each answer names its replica); an edit through the balancer reaches the cached tiles of every
replica within a second (PostgreSQL NOTIFY); change events stream through the balancer; each tile goes to one
replica (by its URL) and the tiles to all; a replica killed with SIGKILL under load costs at most the requests
it had in flight, and `start` brings it back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import mapbox_vector_tile
import morecantile
import pytest
import shapely
from sqlalchemy import text

from bench.cluster import free_ports
from tests.conftest import ROOT, problem_of
from tests.test_events import Stream

REPLICAS = 3
TMS = morecantile.tms.get("WebMercatorQuad")
SCRIPT = ROOT / "scripts" / "cluster.sh"


@dataclass
class Cluster:
    url: str
    replica_urls: list[str]
    run_dir: Path
    env: dict

    def script(self, command: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(SCRIPT), command], env=self.env, capture_output=True, text=True, timeout=180)

    def pid(self, i: int) -> int:
        return int((self.run_dir / f"replica-{i}.pid").read_text())


@pytest.fixture(scope="module")
def cluster(settings, engine, tmp_path_factory):
    balancer, base = free_ports(REPLICAS)
    run_dir = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, "DATABASE_URL": settings.database_url, "PETAKOTA_DATA_DIR": str(settings.data_dir),
           "REPLICAS": str(REPLICAS), "CLUSTER_PORT": str(balancer), "REPLICA_PORT_BASE": str(base),
           "CLUSTER_DIR": str(run_dir)}
    c = Cluster(f"http://127.0.0.1:{balancer}", [f"http://127.0.0.1:{base + i}" for i in range(REPLICAS)],
                run_dir, env)
    started = c.script("start")
    try:
        assert started.returncode == 0, started.stderr[-3000:]
        yield c
    finally:
        stopped = c.script("stop")
        assert stopped.returncode == 0, stopped.stderr[-3000:]


def _decode(client: httpx.Client, url: str) -> tuple[dict, str]:
    r = client.get(url)
    assert r.status_code == 200, r.text[:300]
    return mapbox_vector_tile.decode(r.content, default_options={"y_coord_down": True}), r.headers["etag"]


def _name_in_tile(tile: dict, fid: int) -> str | None:
    return next((f["properties"].get("nama") for f in tile.get("parks", {}).get("features", []) if f["id"] == fid),
                None)


def test_every_replica_serves_and_start_again_keeps_them(cluster, keys):
    with httpx.Client(timeout=10) as client:
        for i, url in enumerate(cluster.replica_urls, start=1):  # each replica, asked directly, names itself
            assert client.get(f"{url}/healthz").headers["x-petakota-replica"] == f"replica-{i}"
        served = [client.get(f"{cluster.url}/healthz") for _ in range(30)]
        assert all(r.status_code == 200 for r in served)
        assert {r.headers["x-petakota-replica"] for r in served} == {f"replica-{i}" for i in range(1, 4)}
        # gzip is the replica's, passed through; links name the balancer (the Host the client used)
        direct = client.get(f"{cluster.replica_urls[0]}/collections").json()
        through = client.get(f"{cluster.url}/collections", headers={"Accept-Encoding": "gzip"})
        assert through.headers["content-encoding"] == "gzip"
        assert [c["id"] for c in through.json()["collections"]] == [c["id"] for c in direct["collections"]]
        hrefs = [link["href"] for link in through.json()["links"]]
        assert hrefs and all(h.startswith(cluster.url + "/") for h in hrefs), hrefs
        # Large answers and bodies pass without temporary files: every zoning plot at once (more than nginx keeps
        # in memory, 16 x 16k), a 3 MB feature refused by the replica itself (its problem+json, not nginx's page)
        path = "/collections/zoning/items?limit=1000"
        zoning = client.get(cluster.url + path, headers={"Accept-Encoding": "identity"})
        assert len(zoning.content) > 300_000
        assert zoning.json()["features"] == client.get(cluster.replica_urls[1] + path).json()["features"]
        huge = {"type": "Feature", "geometry": {"type": "Point", "coordinates": ["x", "y"]},
                "properties": {"nama": "x" * 3_000_000}}
        refused = client.post(f"{cluster.url}/collections/parks/items", json=huge,
                              headers={"X-API-Key": keys["planner"]})
        assert refused.headers["x-petakota-replica"].startswith("replica-")
        assert problem_of(refused)["status"] in (400, 422)
    pids = [cluster.pid(i) for i in range(1, 4)]
    again = cluster.script("start")
    assert again.returncode == 0, again.stderr[-2000:]
    assert [cluster.pid(i) for i in range(1, 4)] == pids and "starting" not in again.stderr
    status = cluster.script("status")
    assert status.returncode == 0 and status.stdout.count(" up (pid ") == 4, status.stdout


def test_an_edit_through_the_balancer_reaches_the_cached_tiles_of_every_replica_within_a_second(cluster, engine,
                                                                                                 keys):
    with engine.connect() as conn:
        fid, name, wkb = conn.execute(text(
            "SELECT id, nama, ST_AsBinary(geom) FROM parks ORDER BY ST_Area(geom) DESC, id LIMIT 1")).one()
    point = shapely.from_wkb(wkb).representative_point()
    t = TMS.tile(point.x, point.y, 15)
    path = f"/collections/parks/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
    new_name = f"Taman Replika {time.time_ns() % 1_000_000}"
    planner = {"X-API-Key": keys["planner"]}
    with httpx.Client(timeout=10) as client:
        before = {}
        for url in cluster.replica_urls:  # the same tile cached on every replica
            tile, etag = _decode(client, url + path)
            assert _name_in_tile(tile, fid) == name
            before[url] = etag
            assert client.get(url + path, headers={"If-None-Match": etag}).status_code == 304
        version = client.get(f"{cluster.url}/collections/parks/items/{fid}").headers["etag"]
        patched = client.patch(f"{cluster.url}/collections/parks/items/{fid}",
                               content=json.dumps({"properties": {"nama": new_name}}),
                               headers={**planner, "If-Match": version,
                                        "Content-Type": "application/merge-patch+json"})
        edited_at = time.monotonic()
        assert patched.status_code == 204, patched.text
        try:
            seen: dict[str, float] = {}
            while len(seen) < REPLICAS and time.monotonic() - edited_at < 3:
                for url in cluster.replica_urls:
                    if url not in seen:
                        tile, etag = _decode(client, url + path)
                        if _name_in_tile(tile, fid) == new_name:
                            assert etag != before[url]
                            seen[url] = time.monotonic() - edited_at
                time.sleep(0.01)
            assert sorted(seen) == sorted(cluster.replica_urls), f"replicas still serving the old tile: {seen}"
            assert max(seen.values()) < 1.0, seen
        finally:
            restored = client.patch(f"{cluster.url}/collections/parks/items/{fid}",
                                    content=json.dumps({"properties": {"nama": name}}),
                                    headers={**planner, "If-Match": patched.headers["etag"],
                                             "Content-Type": "application/merge-patch+json"})
            assert restored.status_code == 204, restored.text


def test_change_events_stream_through_the_balancer(cluster, engine, keys):
    with engine.connect() as conn:
        fid, kelas = conn.execute(text("SELECT id, kelas FROM parks ORDER BY id LIMIT 1")).one()
    stream = Stream(f"{cluster.url}/events?collections=parks")

    def patch(client: httpx.Client, value: str) -> httpx.Response:
        version = client.get(f"{cluster.url}/collections/parks/items/{fid}").headers["etag"]
        return client.patch(f"{cluster.url}/collections/parks/items/{fid}",
                            content=json.dumps({"properties": {"kelas": value}}),
                            headers={"X-API-Key": keys["planner"], "If-Match": version,
                                     "Content-Type": "application/merge-patch+json"})

    with httpx.Client(timeout=10) as client:
        try:
            patched = patch(client, "taman kota" if kelas != "taman kota" else "taman rt")
            assert patched.status_code == 204, patched.text
            event = stream.next(timeout=5)
            while event["data"]["subject"] != str(fid):  # an earlier test's edit, written just before the stream
                event = stream.next(timeout=5)
        finally:
            stream.close()
            assert patch(client, kelas).status_code == 204  # the sample as it was: other modules count its parks
    assert event["event"] == "update" and event["data"]["subject"] == str(fid)
    assert event["data"]["data"]["version"] == int(patched.headers["etag"].strip('"'))


def test_each_tile_goes_to_one_replica_and_the_tiles_to_all(cluster, engine):
    with engine.connect() as conn:
        city = conn.execute(text("SELECT ST_AsBinary(ST_Union(geom)) FROM kota")).scalar_one()
    bounds = shapely.from_wkb(city).bounds
    tiles = list(TMS.tiles(*bounds, zooms=[14]))[:45]
    with httpx.Client(timeout=30) as client:
        by_tile = {}
        for t in tiles:
            path = f"/collections/parks/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
            by_tile[path] = {client.get(cluster.url + path).headers["x-petakota-replica"] for _ in range(4)}
    # each tile rendered and cached by one replica only (a tile's renders do not multiply with the replicas)...
    assert all(len(replicas) == 1 for replicas in by_tile.values()), by_tile
    # ...and the tiles shared out over every replica
    assert set().union(*by_tile.values()) == {"replica-1", "replica-2", "replica-3"}


class Load:
    """Requests through the balancer from `workers` threads; records each request's start, end, replica
    and error, and how many were in flight at a given moment."""

    def __init__(self, url: str, workers: int):
        self.url, self.workers = url, workers
        self.lock = threading.Lock()
        self.in_flight = 0
        self.done: list[tuple[float, float, str | None, str | None]] = []  # start, end, replica, error
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(workers)]

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                with self.lock:
                    self.in_flight += 1
                start, replica, error = time.monotonic(), None, None
                try:
                    r = client.get(self.url)
                    replica = r.headers.get("x-petakota-replica")
                    if r.status_code != 200:
                        error = f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    error = repr(exc)
                with self.lock:
                    self.in_flight -= 1
                    self.done.append((start, time.monotonic(), replica, error))

    def kill_now(self, pid: int) -> tuple[float, int]:
        """SIGKILL `pid`; returns when and how many requests were in flight then."""
        with self.lock:
            os.kill(pid, signal.SIGKILL)
            return time.monotonic(), self.in_flight


def test_a_replica_killed_under_load_costs_at_most_its_requests_in_flight(cluster):
    load = Load(f"{cluster.url}/collections/parks/items?limit=5", workers=8)
    for thread in load.threads:
        thread.start()
    time.sleep(1.5)
    killed_at, in_flight = load.kill_now(cluster.pid(3))
    time.sleep(2.0)
    load.stop.set()
    for thread in load.threads:
        thread.join(15)
    before = [d for d in load.done if d[1] < killed_at]
    after = [d for d in load.done if d[0] > killed_at]  # started after the kill
    failed = [d for d in load.done if d[3] is not None]
    assert {d[2] for d in before} == {"replica-1", "replica-2", "replica-3"}  # all three took load
    assert len(failed) <= in_flight, failed  # only requests in flight at the kill may fail...
    assert all(d[0] < killed_at for d in failed), failed
    assert len(after) > 50 and not [d for d in after if d[3] is not None]  # ...and then none
    assert {d[2] for d in after} <= {"replica-1", "replica-2"}
    status = cluster.script("status")
    assert status.returncode == 3 and "replica-3" in status.stdout and "down" in status.stdout, status.stdout
    survivors = [cluster.pid(1), cluster.pid(2)]
    restarted = cluster.script("start")  # idempotent: brings back the missing one only
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    assert [cluster.pid(1), cluster.pid(2)] == survivors
    with httpx.Client(timeout=10) as client:
        assert client.get(f"{cluster.replica_urls[2]}/healthz").headers["x-petakota-replica"] == "replica-3"
