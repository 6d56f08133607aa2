"""`petakota atlas` and `petakota render` as a planner runs them: the atlas has a cover, an index naming each
page's area and number, then one page per kecamatan (as many as the database holds for the city); render prints
the same pages as the API with the same options. Pages are kept as PNGs in tests/artifacts/."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from sqlalchemy import text

from gis.data.cities import held_cities
from gis.data.registry import load_catalog
from gis.render.atlas import render_atlas
from tests.cli_inprocess import run_cli
from tests.print_pdf import ROOT, page_count, page_sizes, raster, text_of

A4_LANDSCAPE = (842, 595)


def cli(settings, *args: str, ok: bool = True, inprocess: bool = False) -> subprocess.CompletedProcess:
    """`python -m gis ARGS` (the real entrypoint), or with `inprocess` the same command run in this process."""
    env = {"DATABASE_URL": settings.database_url, "PETAKOTA_DATA_DIR": str(settings.data_dir)}
    if inprocess:
        result = run_cli(*args, env=env)
    else:
        result = subprocess.run([sys.executable, "-m", "gis", *args], capture_output=True, text=True,
                                env={**os.environ, **env}, timeout=300, cwd=ROOT)
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    return result


def flat(s: str) -> str:
    return " ".join(s.split())


def test_the_atlas_has_a_cover_an_index_and_a_page_per_kecamatan(engine, settings, tmp_path):
    with engine.connect() as conn:
        kecamatan = conn.execute(text("SELECT kode, nama FROM kecamatan WHERE kabkota = '12.75' ORDER BY kode")).all()
        city = conn.execute(text("SELECT nama FROM kota WHERE kode = '12.75'")).scalar()
    out = tmp_path / "atlas.pdf"
    cli(settings, "atlas", "--city", "12.75", "--out", str(out))
    n = len(kecamatan)
    assert n >= 2 and page_count(out) == 1 + 1 + n
    assert page_sizes(out) == [A4_LANDSCAPE] * (2 + n)
    assert f"Atlas {city}" in flat(text_of(out, 1))
    index = text_of(out, 2)
    for i, (code, name) in enumerate(kecamatan):
        page = 3 + i
        assert re.search(rf"^{page}$", index, re.M), page  # its page number
        assert f"Kecamatan {name}  ({code})" in index or f"Kecamatan {name} ({code})" in flat(index)
        body = flat(text_of(out, page))
        assert f"{city}, Kecamatan {name}" in body and f"Halaman {page}" in body
        assert "Skala 1:" in body and "mT" in body
    for page in range(1, 3 + n):
        raster(out, f"atlas-binjai-kecamatan-p{page}", dpi=60, page=page)


def test_an_atlas_by_kelurahan_greys_each_pages_neighbours(engine, settings):
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM kelurahan WHERE kabkota = '12.75'")).scalar()
        data, info = render_atlas(conn, settings, load_catalog(conn), held_cities(conn), "12.75", level="kelurahan",
                                  paper="A3", orientation="portrait")
    assert data.startswith(b"%PDF") and info.pages == 2 + count == len(info.page_info) + 2
    assert [page for page, _, _ in info.entries] == list(range(3, 3 + count))
    for entry, page in zip(info.entries, info.page_info, strict=True):
        own = entry[2].split(" ", 1)[1]
        labels = {label.text: label for label in page.labels}
        assert own in labels and not labels[own].muted, entry  # the page's own area is named, in black
        assert any(label.muted for label in page.labels), entry  # its neighbours in grey


def test_render_prints_with_the_api_options(engine, settings, tmp_path):
    with engine.connect() as conn:
        name = conn.execute(text("SELECT nama FROM kecamatan WHERE kode = '12.75.01'")).scalar()
    out = tmp_path / "utara.pdf"
    done = cli(settings, "render", "binjai", "--out", str(out), "--paper", "A3", "--orientation", "portrait",
               "--kecamatan", "12.75.01", "--layers", "zoning,kecamatan,roads")
    assert "A3 portrait" in done.stdout
    assert page_sizes(out) == [(842, 1191)]
    body = flat(text_of(out))
    assert f"Kecamatan {name}" in body and "Rencana pola ruang (zonasi RDTR)" in body
    raster(out, "render-cli-kecamatan-A3-portrait", dpi=60)
    # a .pdf without paper or size is a printed A4 page
    plain = tmp_path / "plain.pdf"
    cli(settings, "render", "binjai", "--out", str(plain), inprocess=True)
    assert page_sizes(plain) == [A4_LANDSCAPE]


def test_bad_options_are_clear_errors(settings, tmp_path):
    cases = [(["render", "binjai", "--out", str(tmp_path / "a.pdf"), "--paper", "A5"], "A4, A3"),
             (["render", "binjai", "--out", str(tmp_path / "a.pdf"), "--orientation", "up"], "portrait, landscape"),
             (["render", "binjai", "--out", str(tmp_path / "a.pdf"), "--layers", "x"], "allowed:"),
             (["render", "binjai", "--out", str(tmp_path / "a.pdf"), "--paper", "A4", "--width", "90"], "--paper"),
             (["atlas", "--city", "12.75", "--out", str(tmp_path / "a.pdf"), "--level", "desa"],
              "kecamatan, kelurahan"),
             (["atlas", "--city", "99.99", "--out", str(tmp_path / "a.pdf")], "12.75"),
             (["atlas", "--city", "12.75", "--out", str(tmp_path / "a.png")], ".pdf")]
    for args, words in cases:
        result = cli(settings, *args, ok=False, inprocess=True)
        assert "error:" in result.stderr and words in result.stderr and "Traceback" not in result.stderr, args
