"""The streaming read replica over real HTTP: a primary (scripts/devenv.sh) and its standby (scripts/replica.sh,
pg_basebackup) on free ports, the service reading from the standby and writing to the primary. Reads are served
by the replica; a writer reads its own write at once even while the replica is paused; reads fall back to the
primary while the replica is stopped; the replica's lag under 20 edits/s is measured."""

from __future__ import annotations

import os
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import mapbox_vector_tile
import morecantile
import psycopg
import pytest
from shapely.geometry import shape
from sqlalchemy import Engine, create_engine, event, text

from api.replica import caller_lsn
from bench.cluster import free_ports
from bench.replica_lag import (
    Pair,
    ReplayWatch,
    edit_load,
    free_port,
    park,
    percentile,
    replica_pair,
    wait_replayed,
)
from gis.core import db
from gis.core.replica import ReplicaRouter, RoutingEngine, format_lsn, parse_lsn, primary_position, reading
from gis.core.settings import Settings
from gis.data.auth import create_key
from tests.conftest import ROOT, create_database, serve

DATABASE = "petakota_test_replica"


@dataclass
class Service:
    url: str
    key: str
    primary: Engine  # the test database on the primary
    pair: Pair

    def replica_sql(self, sql: str, database: str = DATABASE):
        with psycopg.connect(self.pair.replica_url(database), autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []

    def caught_up(self) -> None:
        wait_replayed(self.pair.primary_url(DATABASE), self.pair.replica_url(DATABASE))


@pytest.fixture(scope="module")
def pair():
    with replica_pair() as p:
        yield p


@pytest.fixture(scope="module")
def service(pair, tmp_path_factory):
    # The test database is made on the primary only (after the replica started): the replica gets it by streaming.
    settings = Settings(database_url=create_database(pair.primary_url(DATABASE)),
                        read_database_url=pair.replica_url(DATABASE), data_dir=tmp_path_factory.mktemp("replica"))
    db.upgrade(settings)
    primary = db.make_engine(settings, pool_size=2)
    with primary.begin() as conn:
        key = create_key(conn, "Uji replika", "planner")[1]
    svc = Service("", key, primary, pair)
    svc.caught_up()
    with serve(settings) as url:
        svc.url = url
        yield svc
    primary.dispose()


def read_from(client: httpx.Client, path: str, want: str, seconds: float = 3.0) -> httpx.Response:
    """GET until the database that answered is `want` (the replica's position is re-read every few ms)."""
    deadline = time.monotonic() + seconds
    while True:
        r = client.get(path)
        assert r.status_code == 200, r.text
        if r.headers.get("petakota-read-from") == want or time.monotonic() > deadline:
            return r
        time.sleep(0.02)


def test_the_replica_streams_the_test_database_from_the_primary(service):
    assert service.replica_sql("SELECT pg_is_in_recovery()") == [(True,)]
    assert service.replica_sql("SELECT version_num FROM alembic_version") == \
        [(db.current_revision(service.primary),)]
    with service.primary.connect() as conn:
        states = conn.execute(text("SELECT state FROM pg_stat_replication")).scalars().all()
    assert states == ["streaming"]


def test_reads_are_served_by_the_replica(service):
    with httpx.Client(base_url=service.url, headers={"X-API-Key": service.key}, timeout=30) as writer:
        created = writer.post("/collections/parks/items", json=park(2, "Taman asal"))
        assert created.status_code == 201, created.text
    fid = created.json()["id"]
    service.caught_up()
    service.replica_sql("SELECT pg_wal_replay_pause()", "postgres")
    try:
        # A change the service is not told of (no trigger, no NOTIFY): the primary and the paused replica differ.
        with service.primary.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("UPDATE parks SET nama = 'Taman diam-diam' WHERE id = :id"), {"id": fid})
        with httpx.Client(base_url=service.url, timeout=30) as reader:
            r = read_from(reader, f"/collections/parks/items/{fid}", "replica")
            assert r.headers["petakota-read-from"] == "replica"
            assert r.json()["properties"]["nama"] == "Taman asal"  # the replica's copy, not the primary's
            assert "petakota-lsn" not in r.headers  # reads hand out no write position
            # Tiles, identify and search read there too.
            lon, lat = shape(park(2)["geometry"]).centroid.coords[0]
            tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 16)
            mvt = reader.get(f"/collections/parks/tiles/WebMercatorQuad/16/{tile.x}/{tile.y}")
            names = {f["properties"].get("nama") for layer in mapbox_vector_tile.decode(mvt.content).values()
                     for f in layer["features"]}
            assert mvt.headers["petakota-read-from"] == "replica" and "Taman asal" in names
            found = reader.get("/identify", params={"lon": lon, "lat": lat, "layers": "parks"})
            assert found.status_code == 200, found.text
            assert found.headers["petakota-read-from"] == "replica"
            assert "Taman asal" in found.text and "Taman diam-diam" not in found.text
            assert reader.get("/search", params={"q": "Taman"}).headers["petakota-read-from"] == "replica"
    finally:
        service.replica_sql("SELECT pg_wal_replay_resume()", "postgres")
    # The replica's own view: the service's read pool is connected to it.
    assert service.replica_sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'petakota-read' "
                               f"AND datname = '{DATABASE}'")[0][0] >= 1


@contextmanager
def held_back(service: Service, how: str):
    """The replica behind the primary: its replay paused, or applying each commit 3 s after the primary."""
    if how == "paused":
        service.replica_sql("SELECT pg_wal_replay_pause()", "postgres")
    else:
        service.replica_sql("ALTER SYSTEM SET recovery_min_apply_delay = '3s'", "postgres")
        service.replica_sql("SELECT pg_reload_conf()", "postgres")
    try:
        yield
    finally:
        if how == "paused":
            service.replica_sql("SELECT pg_wal_replay_resume()", "postgres")
        else:
            service.replica_sql("ALTER SYSTEM RESET recovery_min_apply_delay", "postgres")
            service.replica_sql("SELECT pg_reload_conf()", "postgres")


@pytest.mark.parametrize("how", ["paused", "delayed"])
def test_a_writer_reads_its_write_at_once_from_a_replica_behind(service, how):
    name = f"Taman baca tulis {how}"
    service.caught_up()
    with held_back(service, how):
        with httpx.Client(base_url=service.url, headers={"X-API-Key": service.key}, timeout=30) as writer:
            r = writer.post("/collections/parks/items", json=park(1, name))
            assert r.status_code == 201, r.text
            fid, lsn = r.json()["id"], r.headers["petakota-lsn"]
            assert writer.cookies["petakota-lsn"] == lsn
            with service.primary.connect() as conn:
                assert parse_lsn(lsn) <= primary_position(conn)
            # The replica has not got the new park: a read there would miss it.
            assert service.replica_sql(f"SELECT count(*) FROM parks WHERE id = {fid}") == [(0,)]
            mine = writer.get(f"/collections/parks/items/{fid}")
            assert mine.status_code == 200, mine.text
            assert mine.json()["properties"]["nama"] == name
            assert mine.headers["petakota-read-from"] == "primary"
        # Another caller, without the position: this process has heard of the change, so it reads from the
        # primary too (what it caches from now on is never older than the edit).
        other = httpx.get(f"{service.url}/collections/parks/items/{fid}")
        assert other.status_code == 200 and other.headers["petakota-read-from"] == "primary"
    service.caught_up()
    assert service.replica_sql(f"SELECT nama FROM parks WHERE id = {fid}") == [(name,)]
    # Once the replica has the write, the writer's reads go back to it.
    with httpx.Client(base_url=service.url, cookies={"petakota-lsn": lsn}, timeout=30) as writer:
        again = read_from(writer, f"/collections/parks/items/{fid}", "replica")
    assert again.headers["petakota-read-from"] == "replica"
    assert again.json()["properties"]["nama"] == name


def test_reads_fall_back_to_the_primary_while_the_replica_is_stopped(service):
    service.caught_up()
    with httpx.Client(base_url=service.url, timeout=30) as client:
        read_from(client, "/collections/parks/items?limit=2", "replica")
        service.pair.script("replica.sh", "stop")
        try:
            assert service.pair.script("replica.sh", "status").returncode == 3
            answers = [client.get(path) for path in ["/collections/parks/items?limit=2", "/collections/parks",
                                                     "/collections/parks/items?limit=2&offset=1"] * 3]
            assert [r.status_code for r in answers] == [200] * len(answers)
            assert {r.headers.get("petakota-read-from") for r in answers} <= {"primary", None}
            assert answers[0].headers["petakota-read-from"] == "primary"
        finally:
            service.pair.script("replica.sh", "start")
        assert "running" in service.pair.script("replica.sh", "status").stdout
        # After a few seconds marked down, the replica is tried again and serves reads.
        back = read_from(client, "/collections/parks/items?limit=2", "replica", seconds=15)
    assert back.headers["petakota-read-from"] == "replica"


def test_the_replica_lag_under_twenty_edits_a_second(service):
    service.caught_up()
    watch = ReplayWatch(service.pair.replica_url("postgres"))
    watch.start()
    counts = edit_load(service.url, service.key, watch, rate=20, seconds=3)
    watch.finish()
    assert counts["errors"] == 0 and counts["sent"] >= 55
    assert len(watch.lags) == counts["sent"] and not watch.pending
    lags_ms = sorted(lag * 1000 for lag in watch.lags)
    p50, p99 = percentile(lags_ms, 50), percentile(lags_ms, 99)
    print(f"replica lag at 20 edits/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {lags_ms[-1]:.1f} ms")
    # Tests run the primary without fsync (asynchronous commit, WAL writer every 200 ms): well under a second.
    assert p99 < 1500
    service.caught_up()
    with service.primary.connect() as conn:
        on_primary = conn.execute(text("SELECT count(*) FROM parks")).scalar()
    assert service.replica_sql("SELECT count(*) FROM parks") == [(on_primary,)]


def test_an_unreachable_replica_sends_reads_to_the_primary_without_an_error(service):
    nobody_listens = free_port()
    replica = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{nobody_listens}/{DATABASE}",
                            connect_args={"connect_timeout": 2})
    router = ReplicaRouter(service.primary, replica, down_seconds=60)
    engine = RoutingEngine(router)
    assert router.engine_for("POST") is service.primary  # a write never asks the replica
    attempts = []
    event.listen(replica, "do_connect", lambda *args: attempts.append(args))
    with reading():
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar() is False  # the primary answered
        assert len(attempts) == 1 and router.replica_position() is None  # marked down...
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_database()")).scalar() == DATABASE
        assert len(attempts) == 1  # ...so not asked again on every read
    assert router.engine_for("GET") is service.primary
    replica.dispose()


def test_write_positions_read_and_written_as_postgresql_does(service):
    with service.primary.connect() as conn:
        now = conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar()
        assert format_lsn(parse_lsn(now)) == now
        assert conn.execute(text("SELECT pg_wal_lsn_diff(:a, :b)"),
                            {"a": format_lsn(parse_lsn(now) + 4096), "b": now}).scalar() == 4096
    for bad in ("", "16", "x/1", "1/2/3", "123456789/0", None):
        assert parse_lsn(bad) is None


def test_the_callers_position_comes_from_the_header_or_the_cookie_the_newest_winning():
    older, newer = "0/3000060", "1/2A"
    assert caller_lsn([(b"petakota-lsn", older.encode())]) == parse_lsn(older)
    assert caller_lsn([(b"cookie", f"a=b; petakota-lsn={newer}".encode()),
                       (b"petakota-lsn", older.encode())]) == parse_lsn(newer) == (1 << 32) + 0x2A
    assert caller_lsn([(b"cookie", b"petakota-lsn=rubbish"), (b"petakota-lsn", b"0/zz")]) is None
    assert caller_lsn([(b"accept", b"*/*")]) is None


def test_a_read_replica_url_that_is_not_postgresql_is_refused_clearly():
    settings = Settings(read_database_url="mysql://reader@127.0.0.1/petakota")
    with pytest.raises(ValueError, match="PETAKOTA_READ_DATABASE_URL must be a postgresql:// URL"):
        db.make_service_engine(settings)



# --- the whole deployment: API replicas behind nginx on the primary and the read replica ----------------------

@pytest.fixture(scope="module")
def balanced(service, tmp_path_factory):
    """Two API replicas behind nginx (scripts/cluster.sh, as `make run-cluster` starts them), writing to the
    primary and reading from the read replica; (the balancer's URL, each API replica's URL)."""
    balancer, base = free_ports(2)
    env = {**os.environ, "DATABASE_URL": service.pair.primary_url(DATABASE),
           "PETAKOTA_READ_DATABASE_URL": service.pair.replica_url(DATABASE),
           "PETAKOTA_DATA_DIR": str(tmp_path_factory.mktemp("balanced-data")), "REPLICAS": "2",
           "CLUSTER_PORT": str(balancer), "REPLICA_PORT_BASE": str(base),
           "CLUSTER_DIR": str(tmp_path_factory.mktemp("balanced"))}

    def cluster(command: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(ROOT / "scripts" / "cluster.sh"), command], env=env, capture_output=True,
                              text=True, timeout=180)

    started = cluster("start")
    try:
        assert started.returncode == 0, started.stderr[-3000:]
        yield f"http://127.0.0.1:{balancer}", [f"http://127.0.0.1:{base + i}" for i in range(2)]
    finally:
        cluster("stop")


def test_replicas_behind_nginx_read_from_the_replica_and_every_one_reads_a_writers_edit(service, balanced):
    url, apis = balanced
    service.caught_up()
    with httpx.Client(base_url=url, headers={"X-API-Key": service.key}, timeout=30) as writer:
        answers = [read_from(writer, f"/collections/parks/items?limit={n}", "replica") for n in range(1, 7)]
        assert {a.headers["petakota-read-from"] for a in answers} == {"replica"}
        assert {a.headers["x-petakota-replica"] for a in answers} == {"replica-1", "replica-2"}
        service.replica_sql("SELECT pg_wal_replay_pause()", "postgres")
        try:
            created = writer.post("/collections/parks/items", json=park(7, "Taman di balik nginx"))
            assert created.status_code == 201, created.text
            fid = created.json()["id"]
            lsn = writer.cookies["petakota-lsn"]
            assert service.replica_sql(f"SELECT count(*) FROM parks WHERE id = {int(fid)}") == [(0,)]
            for api in apis:  # each API replica, whichever the balancer picks next, shows the writer its edit
                r = httpx.get(f"{api}/collections/parks/items/{fid}", timeout=30,
                              headers={"X-API-Key": service.key, "Cookie": f"petakota-lsn={lsn}"})
                assert r.status_code == 200 and r.json()["properties"]["nama"] == "Taman di balik nginx"
                assert r.headers["petakota-read-from"] == "primary"
        finally:
            service.replica_sql("SELECT pg_wal_replay_resume()", "postgres")
        service.caught_up()
        r = read_from(writer, f"/collections/parks/items/{fid}", "replica")
        assert r.headers["petakota-read-from"] == "replica"
        assert r.json()["properties"]["nama"] == "Taman di balik nginx"


def test_replicas_behind_nginx_read_from_the_primary_while_the_read_replica_is_stopped(service, balanced):
    url, _ = balanced
    service.pair.script("replica.sh", "stop")
    try:
        with httpx.Client(base_url=url, headers={"X-API-Key": service.key}, timeout=30) as reader:
            answers = [reader.get(f"/collections/parks/items?limit={n}") for n in range(1, 11)]
        assert [a.status_code for a in answers] == [200] * 10
        assert {a.headers["petakota-read-from"] for a in answers} == {"primary"}
        assert {a.headers["x-petakota-replica"] for a in answers} == {"replica-1", "replica-2"}
    finally:
        service.pair.script("replica.sh", "start")
    service.caught_up()
