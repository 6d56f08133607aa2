"""A private PostGIS cluster and a PetaKota server for the reliability run, so that stopping and restarting
PostgreSQL disturbs nobody else (the shared cluster of `make run`/`make test` is on port 5439)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"


def _bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries in /usr/lib/postgresql (run `make setup` first)")
    return found[-1].parent


def _as_root() -> bool:
    return os.geteuid() == 0


class Cluster:
    """initdb/start/stop/restart a cluster in `datadir` on 127.0.0.1:`port`, as `postgres` when we are root
    (PostgreSQL refuses to run as root)."""

    def __init__(self, datadir: Path, port: int):
        self.datadir = datadir
        self.port = port
        self.bindir = _bindir()
        self.log = datadir.parent / "pg-server.log"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if _as_root():
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout)

    def init(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        if _as_root():
            subprocess.run(["chown", "-R", "postgres", str(self.datadir.parent)], check=True)
        self.datadir.chmod(0o700)
        if not (self.datadir / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.datadir), "--auth=trust", "-U", "postgres", "-E", "UTF8",
                      "--locale=C.UTF-8")

    def running(self) -> bool:
        return self._run("pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port), check=False).returncode == 0

    def start(self) -> None:
        opts = (f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                "-c fsync=off -c synchronous_commit=off")
        try:
            self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.log), "-w", "-t", "60", "-o", opts, "start")
        except subprocess.CalledProcessError as exc:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}\n{tail}") from None

    def stop(self, mode: str = "fast") -> None:
        if (self.datadir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def psql(self, database: str, sql: str) -> str:
        out = self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
                        "-qtA", "-v", "ON_ERROR_STOP=1", "-c", sql)
        return out.stdout.strip()

    def recreate_database(self, name: str) -> None:
        self.psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.psql("postgres", f'CREATE DATABASE "{name}"')


def petakota(env: dict, *args: str, timeout: float = 600) -> str:
    """Run the `petakota` command line; its standard output."""
    out = subprocess.run([str(VENV_BIN / "petakota"), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"petakota {' '.join(args)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    return out.stdout


class Server:
    """`petakota serve --workers N` in its own process group; the worker pids for memory sampling."""

    def __init__(self, env: dict, port: int, workers: int, log: Path):
        self.env, self.port, self.workers, self.log = env, port, workers, log
        self.proc: subprocess.Popen | None = None
        self.base = f"http://127.0.0.1:{port}"

    def start(self, timeout: float = 60) -> None:
        self._fh = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "petakota"), "serve", "--port", str(self.port), "--workers", str(self.workers)],
            env=self.env, cwd=ROOT, stdout=self._fh, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"petakota serve exited with {self.proc.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as r:
                    if r.status == 200 and len(self.worker_pids()) >= self.workers:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"petakota serve did not answer /healthz within {timeout:.0f} s; see {self.log}")

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes: children of the supervisor that serve requests (not the
        multiprocessing resource tracker)."""
        if self.proc is None:
            return []
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                cmdline = (stat.parent / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid and b"resource_tracker" not in cmdline:
                pids.append(int(stat.parent.name))
        return sorted(pids)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
            except ProcessLookupError:
                pass
        if getattr(self, "_fh", None):
            self._fh.close()


def rss_kb(pid: int) -> int | None:
    """Resident memory of a process in kB (VmRSS of /proc/<pid>/status), None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None
