"""`petakota backup` / `petakota restore`: a backup restored into a fresh database gives back every table row for
row and every raster and attached file byte for byte; a restore into a non-empty database, over other raster
files or from a damaged archive is refused with nothing changed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from gis.core import db
from gis.data import attachments
from gis.data.backup import attachment_files, raster_files
from layers import CATALOG
from tests.cli_inprocess import run_cli
from tests.conftest import scratch_settings


def _cli(settings, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "PETAKOTA_DATA_DIR": str(settings.data_dir)}
    return subprocess.run([sys.executable, "-m", "gis", *args], capture_output=True, text=True, env=env, timeout=600)


def _cli_here(settings, *args) -> subprocess.CompletedProcess:
    """The same command in this process, for a refusal's message and exit code (backup and the first restore
    run the real entrypoint)."""
    return run_cli(*args, env={"DATABASE_URL": settings.database_url, "PETAKOTA_DATA_DIR": str(settings.data_dir)})


def database_digest(settings) -> dict:
    """Every table's row count and the md5 of its rows' text in a fixed order, and every sequence's position."""
    engine = create_engine(settings.sqlalchemy_url)
    out = {}
    with engine.connect() as conn:
        relations = conn.execute(text(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'S') "
            "AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1")).all()
        for name, kind in relations:
            sql = (f"SELECT last_value, is_called FROM {name}" if kind == "S" else
                   f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {name} t")
            out[name] = tuple(conn.execute(text(sql)).one())
    engine.dispose()
    return out


def files_digest(settings) -> dict:
    return {rel: (settings.data_dir / rel).read_bytes()
            for rel in (*raster_files(settings), *attachment_files(settings))}


def field_photo() -> bytes:
    """A PNG of a park taken in the field (noise, so it does not compress to nothing)."""
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(15).integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def attachment(settings, engine) -> dict:
    with engine.connect() as conn:
        fid = conn.execute(text("SELECT min(id) FROM parks")).scalar()
    return attachments.add(engine, settings, CATALOG["parks"], fid, "taman.png", field_photo(), "uji")


@pytest.fixture(scope="module")
def archive(settings, engine, attachment, tmp_path_factory):
    path = tmp_path_factory.mktemp("backup") / "petakota.tar"
    result = _cli(settings, "backup", "--out", str(path))
    assert result.returncode == 0, result.stderr
    return path


def test_backup_then_restore_into_a_fresh_database_gives_back_every_row_raster_and_attachment(
        settings, engine, archive, attachment, tmp_path):
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    with engine.connect() as conn:
        assert manifest["revision"] == db.current_revision(engine)
        assert manifest["counts"]["public.parks"] == conn.execute(text("SELECT count(*) FROM parks")).scalar()
    assert set(manifest["rasters"]) == set(raster_files(settings)) and len(manifest["rasters"]) >= 6
    with engine.connect() as conn:
        path, thumb = conn.execute(text("SELECT path, thumbnail_path FROM attachments WHERE id = :id"),
                                   {"id": attachment["id"]}).one()
    assert {path, thumb} <= set(manifest["attachments"]) == set(attachment_files(settings))

    target = scratch_settings("restored", tmp_path / "data")
    result = _cli(target, "restore", str(archive))
    assert result.returncode == 0, result.stderr
    source, restored = database_digest(settings), database_digest(target)
    assert "public.feature_history" in source and "public.zoning_id_seq" in source
    assert restored == source
    assert files_digest(target) == files_digest(settings)
    assert (target.data_dir / path).read_bytes() == field_photo()  # the photo as it was attached


def test_a_restore_into_a_non_empty_database_is_refused_and_changes_nothing(settings, archive, tmp_path):
    target = scratch_settings("occupied", tmp_path / "data")
    with create_engine(target.sqlalchemy_url).begin() as conn:
        conn.execute(text("CREATE TABLE notes (id int PRIMARY KEY, note text)"))
        conn.execute(text("INSERT INTO notes VALUES (1, 'catatan rapat')"))
    before = database_digest(target)
    result = _cli_here(target, "restore", str(archive))
    assert result.returncode != 0
    assert "is not empty" in result.stderr and "public.notes" in result.stderr
    assert database_digest(target) == before
    assert not (tmp_path / "data").exists()  # no raster was written either


def test_a_restore_over_other_raster_files_or_from_a_damaged_archive_is_refused(settings, archive, tmp_path):
    target = scratch_settings("clash", tmp_path / "data")
    clash = target.data_dir / raster_files(settings)[0]
    clash.parent.mkdir(parents=True)
    clash.write_bytes(b"another file")
    result = _cli_here(target, "restore", str(archive))
    assert result.returncode != 0 and clash.name in result.stderr
    assert database_digest(target) == {} and clash.read_bytes() == b"another file"

    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w") as dst:
        last_raster = [m.name for m in src.getmembers() if m.name.endswith(".tif")][-1]
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == last_raster:
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            dst.addfile(member, io.BytesIO(data))
    clash.unlink()
    result = _cli_here(target, "restore", str(damaged))
    assert result.returncode != 0 and "damaged" in result.stderr
    assert database_digest(target) == {} and raster_files(target) == []
