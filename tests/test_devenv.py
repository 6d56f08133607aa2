"""scripts/devenv.sh runs the private cluster durable (fsync, synchronous_commit, full_page_writes on) unless a test
or benchmark opts out, and restarts a cluster running without fsync when a durable start asks for it. Each test
starts its own cluster on a free port in its own directory (never the shared one)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ROOT

DEVENV = ROOT / "scripts" / "devenv.sh"
DURABILITY = ("fsync", "synchronous_commit", "full_page_writes")


@pytest.fixture()
def cluster(tmp_path):
    """Environment for devenv.sh pointing at a new cluster directory and a free port; stops it afterwards."""
    if os.geteuid() == 0:
        # The cluster runs as `postgres`, which cannot enter pytest's private (0700) temporary directory.
        base = Path(tempfile.mkdtemp(prefix="petakota-devenv-", dir="/var/tmp"))
        shutil.chown(base, "postgres")
    else:
        base = tmp_path
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PETAKOTA_PG_DURABLE")}
    env.update(PETAKOTA_PG_DATADIR=str(base / "pg"), PETAKOTA_PG_PORT=str(port))
    yield env
    subprocess.run([DEVENV, "stop-db"], env=env, capture_output=True, timeout=120)
    if base != tmp_path:
        shutil.rmtree(base, ignore_errors=True)


def devenv(env: dict, command: str, **extra) -> subprocess.CompletedProcess:
    result = subprocess.run([DEVENV, command], env={**env, **extra}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def connect(env: dict) -> psycopg.Connection:
    return psycopg.connect(f"postgresql://postgres@127.0.0.1:{env['PETAKOTA_PG_PORT']}/petakota", autocommit=True)


def settings_of(env: dict) -> dict[str, str]:
    with connect(env) as conn:
        return {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in DURABILITY}


def server_pid(env: dict) -> int:
    with connect(env) as conn:
        return conn.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'").fetchone()[0]


def test_the_cluster_is_durable_by_default(cluster):
    devenv(cluster, "start-db")
    assert settings_of(cluster) == dict.fromkeys(DURABILITY, "on")
    devenv(cluster, "stop-db")
    with pytest.raises(psycopg.OperationalError):
        connect(cluster)


def test_a_durable_start_restarts_a_test_cluster_durable_and_keeps_its_data(cluster):
    devenv(cluster, "start-db", PETAKOTA_PG_DURABLE="0")
    assert settings_of(cluster) == dict.fromkeys(DURABILITY, "off")
    with connect(cluster) as conn:
        conn.execute("CREATE TABLE edits (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO edits SELECT n, 'edit ' || n FROM generate_series(1, 500) n")
    devenv(cluster, "start-db")
    assert settings_of(cluster) == dict.fromkeys(DURABILITY, "on")
    with connect(cluster) as conn:
        assert conn.execute("SELECT count(*), sum(id) FROM edits").fetchone() == (500, 500 * 501 // 2)
    # A test run keeps a durable cluster as it is (no restart under a running service).
    pid = server_pid(cluster)
    devenv(cluster, "start-db", PETAKOTA_PG_DURABLE="0")
    assert settings_of(cluster) == dict.fromkeys(DURABILITY, "on")
    assert server_pid(cluster) == pid
