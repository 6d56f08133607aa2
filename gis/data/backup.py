"""Backups of a PetaKota: the database (pg_dump custom format, taken by the server's own major version of pg_dump)
and the files of the data directory - rasters and attachments (field evidence) - in one tar archive with a
manifest (time, migration revision, row counts, each file's size and SHA-256). A restore goes into an empty
database only, and checks everything it can before it writes anything: the archive (members, checksums), the
database (empty), the data directory (no other file where a raster or an attachment goes)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from gis.core.errors import Conflict, InvalidInput, PetaKotaError
from gis.core.settings import Settings

MANIFEST = "manifest.json"
DUMP = "database.dump"
DATA = "data"  # raster and attachment files, under their path relative to the data directory
FORMAT = 1

# Tables and sequences of the database's own schemas (not the catalogs, not those an extension owns).
_USER_RELATIONS = """
    SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype = 'e')
    ORDER BY 1, 2"""


def _conninfo(settings: Settings) -> tuple[str, dict]:
    """libpq connection string for the DATABASE_URL, and the environment carrying its password (kept off the
    command line, where other users of the machine could read it)."""
    u = make_url(settings.sqlalchemy_url)
    params = {"host": u.host, "port": u.port, "dbname": u.database, "user": u.username, **u.query}
    env = {**os.environ, "PGPASSWORD": u.password} if u.password else dict(os.environ)
    return make_conninfo(**{k: v for k, v in params.items() if v is not None}), env


def _connect(conninfo: str, env: dict) -> psycopg.Connection:
    return psycopg.connect(conninfo, password=env.get("PGPASSWORD"), connect_timeout=10)


def pg_tool(name: str, server_version_num: int) -> str:
    """The server's own major version of pg_dump / pg_restore (a newer one as a fallback; an older one cannot
    read or write the server's format)."""
    major = server_version_num // 10000
    found = {int(p.parent.parent.name): p for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}")
             if p.parent.parent.name.isdigit()}
    usable = sorted(v for v in found if v >= major)
    if usable:
        return str(found[usable[0]])
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise PetaKotaError(f"no {name} for PostgreSQL {major}: install the postgresql-client-{major} package")


def _run(cmd: list[str], env: dict, what: str) -> None:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise PetaKotaError(f"{what} failed: {result.stderr.strip()[-1500:]}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files_under(settings: Settings, folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    # Files being written (".name.partial") are not yet part of the data.
    return sorted(p.relative_to(settings.data_dir).as_posix() for p in folder.rglob("*")
                  if p.is_file() and not p.name.startswith("."))


def raster_files(settings: Settings) -> list[str]:
    """The raster files of the data directory, relative to it (POSIX paths)."""
    return _files_under(settings, settings.raster_dir)


def attachment_files(settings: Settings) -> list[str]:
    """The attached files (and their thumbnails) of the data directory, relative to it (POSIX paths)."""
    return _files_under(settings, settings.attachment_dir)


def _listed(manifest: dict) -> dict:
    """Every data file an archive carries (archives made before attachments list rasters only)."""
    return {**manifest["rasters"], **manifest.get("attachments", {})}


def backup(settings: Settings, out: Path) -> dict:
    """Write the archive `out` (atomically: a failed backup leaves no file). Returns the manifest."""
    conninfo, env = _conninfo(settings)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".petakota-backup-") as tmp, \
            _connect(conninfo, env) as conn:
        # Counts and dump see the same snapshot, so the manifest describes exactly what was dumped.
        conn.isolation_level, conn.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        version = conn.execute("SHOW server_version_num").fetchone()[0]
        counts = {f"{schema}.{name}": conn.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0]
                  for schema, name, kind in conn.execute(_USER_RELATIONS).fetchall() if kind in ("r", "p")}
        has_alembic = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()[0]
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] if has_alembic else None
        dump = Path(tmp) / DUMP
        _run([pg_tool("pg_dump", int(version)), "--format=custom", f"--snapshot={snapshot}", f"--file={dump}",
              f"--dbname={conninfo}"], env, "pg_dump")
        conn.rollback()
        files = raster_files(settings)
        evidence = attachment_files(settings)
        manifest = {
            "format": FORMAT, "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": make_url(settings.sqlalchemy_url).database, "postgresql": int(version),
            "revision": revision, "counts": counts,
            "rasters": {rel: {"bytes": (settings.data_dir / rel).stat().st_size,
                              "sha256": _sha256(settings.data_dir / rel)} for rel in files},
            "attachments": {rel: {"bytes": (settings.data_dir / rel).stat().st_size,
                                  "sha256": _sha256(settings.data_dir / rel)} for rel in evidence},
        }
        partial = Path(tmp) / "archive.tar"
        with tarfile.open(partial, "w") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(data), int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, DUMP)
            for rel in (*files, *evidence):
                tar.add(settings.data_dir / rel, f"{DATA}/{rel}")
        os.replace(partial, out)
    return manifest


def read_manifest(archive: Path) -> dict:
    try:
        with tarfile.open(archive, "r") as tar:
            member = tar.extractfile(MANIFEST)
            manifest = json.loads(member.read()) if member else None
    except (tarfile.TarError, KeyError, ValueError, OSError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidInput(f"{archive.name} is not a PetaKota backup (no readable {MANIFEST} of format {FORMAT})")
    return manifest


def _check_members(tar: tarfile.TarFile, manifest: dict) -> None:
    """Only the manifest, the dump and the listed rasters and attachments (regular files, relative paths inside the
    data directory), with the listed checksums."""
    expected = {MANIFEST, DUMP, *(f"{DATA}/{rel}" for rel in _listed(manifest))}
    names = {m.name for m in tar.getmembers()}
    if names != expected or not all(m.isfile() for m in tar.getmembers()):
        raise InvalidInput("the backup's files do not match its manifest: " + ", ".join(sorted(names ^ expected)))
    for rel, meta in _listed(manifest).items():
        path = PurePosixPath(rel)
        if path.is_absolute() or ".." in path.parts:
            raise InvalidInput(f"the backup lists a file outside the data directory: {rel}")
        digest = hashlib.sha256()
        with tar.extractfile(f"{DATA}/{rel}") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != meta["sha256"]:
            raise InvalidInput(f"the backup is damaged: {rel} does not match its checksum")


def _refuse_unless_empty(conninfo: str, env: dict, database: str) -> int:
    with _connect(conninfo, env) as conn:
        relations = conn.execute(_USER_RELATIONS).fetchall()
        version = conn.execute("SHOW server_version_num").fetchone()[0]
    if relations:
        shown = ", ".join(f"{s}.{n}" for s, n, _ in relations[:5])
        raise Conflict(f"database {database!r} is not empty ({len(relations)} tables and sequences, e.g. {shown}): "
                       "restore only into a new, empty database (e.g. createdb petakota_restored); nothing was "
                       "changed")
    return int(version)


def _refuse_overwrites(settings: Settings, manifest: dict) -> None:
    clashes = [rel for rel, meta in _listed(manifest).items() if (settings.data_dir / rel).exists()
               and ((settings.data_dir / rel).is_dir() or _sha256(settings.data_dir / rel) != meta["sha256"])]
    if clashes:
        raise Conflict(f"the data directory {settings.data_dir} already holds other files where the backup's files "
                       f"go ({', '.join(clashes[:5])}): restore into an empty data directory; nothing was changed")


def restore(settings: Settings, archive: Path) -> dict:
    """Restore `archive` into the (empty) database of `settings` and its rasters and attachments into the data
    directory.
    Returns the manifest."""
    manifest = read_manifest(archive)
    conninfo, env = _conninfo(settings)
    database = make_url(settings.sqlalchemy_url).database
    with tarfile.open(archive, "r") as tar:
        _check_members(tar, manifest)
        version = _refuse_unless_empty(conninfo, env, database)
        _refuse_overwrites(settings, manifest)
        with tempfile.TemporaryDirectory(prefix="petakota-restore-") as tmp:
            dump = Path(tmp) / DUMP
            with tar.extractfile(DUMP) as src, dump.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            # One transaction: a restore that fails leaves the database as empty as it was.
            _run([pg_tool("pg_restore", max(version, manifest["postgresql"])), "--exit-on-error",
                  "--single-transaction", "--no-owner", f"--dbname={conninfo}", str(dump)], env, "pg_restore")
        for rel in _listed(manifest):
            target = settings.data_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.restoring")
            with tar.extractfile(f"{DATA}/{rel}") as src, partial.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(partial, target)
    with _connect(conninfo, env) as conn:
        restored = {name: conn.execute('SELECT count(*) FROM "{}"."{}"'.format(*name.split(".", 1))).fetchone()[0]
                    for name in manifest["counts"]}
    if restored != manifest["counts"]:
        wrong = [n for n in restored if restored[n] != manifest["counts"][n]]
        raise PetaKotaError(f"restored row counts differ from the backup's manifest in {', '.join(wrong)}")
    return manifest
