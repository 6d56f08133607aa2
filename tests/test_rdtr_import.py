"""`petakota rdtr`: an RDTR package in the national standard is checked, imported all-or-nothing as a new dated
version of the city's plan (who imported it recorded), exported in the standard's names, compared and rolled
back. Runs the real CLI against the session's database; every test leaves the sample plan active again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import zipfile

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.affinity import translate
from shapely.geometry import Polygon
from sqlalchemy import text

from gis.data import rdtr_plans
from gis.data.itbx_files import write_itbx_csv
from gis.data.rdtr_import import import_plan
from layers.sample.rdtr_synthetic import synthetic_itbx, synthetic_plan, write_package
from tests.cli_inprocess import run_cli

CITY = "12.75"
METRIC = 32647


def cli(settings, *args) -> subprocess.CompletedProcess:
    """`python -m gis rdtr ARGS`: the real entrypoint (the clean import runs it)."""
    env = {**os.environ, "DATABASE_URL": settings.database_url, "PETAKOTA_DATA_DIR": str(settings.data_dir)}
    return subprocess.run([sys.executable, "-m", "gis", "rdtr", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def cli_here(settings, *args) -> subprocess.CompletedProcess:
    """The same command in this process: for what a command prints and how it exits."""
    return run_cli("rdtr", *args, env={"DATABASE_URL": settings.database_url,
                                       "PETAKOTA_DATA_DIR": str(settings.data_dir)})


def digest(engine) -> tuple:
    """The city's live plan: zones, overlays and ITBX rows, compared by content."""
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            f"SELECT count(*), md5(coalesce(string_agg({cols}, '|' ORDER BY {cols}), '')) FROM {table} t "
            "WHERE kabkota = :c"), {"c": CITY}).one()
            for table, cols in (("zoning", "t.kodszn || ST_AsText(t.geom)"), ("zoning_overlays", "ST_AsText(t.geom)"),
                                ("itbx", "concat_ws(',', kodszn, kbli, kegiatan, ketentuan)")))


@pytest.fixture
def sample_plan(engine):
    """The sample plan's version before the test; made active again after it."""
    with engine.connect() as conn:
        before = next(v.version for v in rdtr_plans.versions(conn, CITY) if v.active)
    kept = digest(engine)
    yield before
    with engine.begin() as conn:
        rdtr_plans.rollback(conn, CITY, before, actor="test")
    assert digest(engine) == kept


@pytest.fixture(scope="module")
def plan():
    return synthetic_plan(120, seed=7)


def package(tmp_path, zones, overlays=None, name="rdtr.gpkg", codes=None):
    itbx = tmp_path / "itbx.csv"
    write_itbx_csv(synthetic_itbx(sorted(set(zones.kodszn if codes is None else codes))), itbx)
    return write_package(zones, tmp_path / name, overlays=overlays), itbx


def test_a_clean_package_becomes_a_new_version_and_the_old_one_is_kept(settings, engine, sample_plan, plan,
                                                                        tmp_path):
    lp2b = {"LP2B_2": gpd.GeoDataFrame({"kode": ["LP2B_2"], "namobj": ["Sawah lestari"]},
                                       geometry=[plan[plan.kodszn == "P-1"].union_all()], crs=4326)}
    gpkg, itbx = package(tmp_path, plan, lp2b)
    old = digest(engine)
    counts, stop = set(), threading.Event()

    def read_while_importing():  # readers see the old plan or the new one, never a mixture
        while not stop.is_set():
            with engine.connect() as conn:
                counts.add(conn.execute(text("SELECT count(*) FROM zoning WHERE kabkota = :c"), {"c": CITY}).scalar())

    reader = threading.Thread(target=read_while_importing)
    reader.start()
    try:
        done = cli(settings, "import", str(gpkg), "--city", CITY, "--itbx", str(itbx), "--by", "Uji Bappeda",
                   "--report", str(tmp_path / "report.json"), "--lang", "en")
    finally:
        stop.set()
        reader.join()
    assert done.returncode == 0, done.stderr
    assert counts <= {old[0][0], len(plan)} and len(plan) in counts
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ok"] and report["summary"]["errors"] == 0 and report["zones"] == len(plan)
    with engine.connect() as conn:
        versions = rdtr_plans.versions(conn, CITY)
        live = gpd.read_postgis(text("SELECT kodszn, kodsbl, kodblk, luasha, rdtr_versi, lp2b_2, geom FROM zoning "
                                     "WHERE kabkota = :c"), conn, params={"c": CITY}, geom_col="geom")
        overlay_ha = conn.execute(text("SELECT sum(area_ha) FROM zoning_overlays WHERE kabkota = :c AND "
                                       "kode = 'LP2B_2'"), {"c": CITY}).scalar()
        rules = conn.execute(text("SELECT count(*) FROM itbx WHERE kabkota = :c"), {"c": CITY}).scalar()
        actors = {r[0] for r in conn.execute(text(
            "SELECT DISTINCT action FROM feature_history WHERE layer = 'zoning' AND actor = 'Uji Bappeda'"))}
    new = versions[-1]
    assert new.active and new.imported_by == "Uji Bappeda" and new.source == "rdtr.gpkg" and new.zones == len(plan)
    assert any(v.version == sample_plan and not v.active for v in versions)  # the previous plan, kept and dated
    assert set(live.rdtr_versi) == {new.version} and len(live) == len(plan)
    assert sorted(live.kodsbl + live.kodblk) == sorted(plan.kodsbl + plan.kodblk)
    assert live.luasha.sum() == pytest.approx(plan.luasha.sum(), rel=1e-9)
    assert (live.lp2b_2.notna()).sum() == plan.lp2b_2.notna().sum()
    assert overlay_ha == pytest.approx(lp2b["LP2B_2"].to_crs(METRIC).area.sum() / 1e4, rel=1e-4)
    assert rules == len(synthetic_itbx(sorted(set(plan.kodszn))))
    assert actors == {"insert", "delete"}  # the history has every zone removed and added, by who imported

    listed = cli_here(settings, "versions", "--city", CITY).stdout
    assert f"* v{new.version}" in listed and f"  v{sample_plan}" in listed and "Uji Bappeda" in listed
    with engine.connect() as conn:
        diff = rdtr_plans.compare(conn, CITY, sample_plan, new.version, METRIC)
    expected = plan.to_crs(METRIC).assign(ha=lambda d: d.area / 1e4).groupby("kodszn").ha.sum()
    got = {z["kodszn"]: z["ha_b"] for z in diff["zones"] if z["ha_b"] > 0}
    assert got.keys() == set(expected.index)
    assert all(got[k] == pytest.approx(v, rel=1e-6) for k, v in expected.items())
    compared = cli_here(settings, "compare", "--city", CITY, "--from", str(sample_plan), "--to", str(new.version))
    assert compared.returncode == 0 and f"{diff['added']} added" in compared.stdout

    again = cli_here(settings, "import", str(gpkg), "--city", CITY, "--itbx", str(itbx), "--lang", "en")
    assert again.returncode == 0 and "nothing was written" in again.stdout  # the same plan: no new version
    rolled = cli_here(settings, "rollback", "--city", CITY, "--to", str(sample_plan), "--by", "Uji Bappeda")
    assert rolled.returncode == 0, rolled.stderr
    assert digest(engine) == old


def test_each_planted_problem_is_reported_at_its_feature_and_nothing_is_written(settings, engine, sample_plan,
                                                                               plan, tmp_path):
    zones = plan.copy()
    m = zones.to_crs(METRIC)
    edge = plan.union_all().boundary.buffer(1e-5)
    i = [k for k in range(len(plan)) if not plan.geometry.iloc[k].intersects(edge)]  # zones inside the plan
    first, second = int(zones.fid.iloc[i[0]]), int(zones.fid.iloc[i[1]])
    zones.loc[zones.index[i[1]], "geometry"] = shapely.MultiPolygon([gpd.GeoSeries(
        [m.geometry.iloc[i[1]].buffer(20)], crs=METRIC).to_crs(4326).iloc[0]])          # overlaps its neighbours
    zones.loc[zones.index[i[2]], "kodszn"] = "ZZ-9"                                   # unknown code
    zones.loc[zones.index[i[3]], "luasha"] = zones.luasha.iloc[i[3]] * 1.05            # area mismatch
    zones.loc[zones.index[i[4]], ["kodblk", "kodsbl"]] = zones.loc[zones.index[i[5]], ["kodblk", "kodsbl"]].values
    x, y = m.geometry.iloc[i[6]].representative_point().coords[0]
    bowtie = Polygon([(x, y), (x + 30, y + 30), (x + 30, y), (x, y + 30)])
    zones.loc[zones.index[i[6]], "geometry"] = gpd.GeoSeries([bowtie], crs=METRIC).to_crs(4326).iloc[0]
    zones.loc[zones.index[i[7]], "geometry"] = translate(zones.geometry.iloc[i[7]], xoff=0.2)  # ~22 km east
    gpkg, itbx = package(tmp_path, zones.drop(columns=["wadmpr"]), codes=plan.kodszn)  # a missing field
    rules = pd.read_csv(itbx, dtype=str)
    rules[rules.KODSZN != zones.kodszn.iloc[i[8]]].to_csv(itbx, index=False)           # a code without ITBX rows
    kept = digest(engine)

    done = cli_here(settings, "import", str(gpkg), "--city", CITY, "--itbx", str(itbx), "--report",
                    str(tmp_path / "r.json"))
    assert done.returncode == 1 and "tidak ada yang ditulis" in done.stderr
    assert digest(engine) == kept
    problems = json.loads((tmp_path / "r.json").read_text())["problems"]
    by_code = {}
    for p in problems:
        by_code.setdefault(p["code"], []).append(p)
    fids = {code: {f["fid"] for p in found for f in p["features"]} for code, found in by_code.items()}
    assert second in fids["overlap"] and by_code["overlap"][0]["severity"] == "error"
    assert int(zones.fid.iloc[i[2]]) in fids["unknown_zone_code"]
    assert int(zones.fid.iloc[i[3]]) in fids["area_mismatch"]  # (the grown zone's LUASHA is stale too)
    assert fids["duplicate_id"] == {int(zones.fid.iloc[i[4]]), int(zones.fid.iloc[i[5]])}
    assert int(zones.fid.iloc[i[6]]) in fids["invalid_geometry"]
    assert int(zones.fid.iloc[i[7]]) in fids["outside_city"]
    assert any(p["kodszn"] == zones.kodszn.iloc[i[8]] for p in by_code["itbx_missing_zone"])
    assert [p["field"] for p in by_code["missing_field"]] == ["WADMPR"]
    assert by_code["missing_field"][0]["severity"] == "warning"
    gap = by_code["gap"][0]  # where the bowtie and the moved zone left their land
    lon, lat = gap["location"]
    holes = shapely.union_all([plan.geometry.iloc[i[6]], plan.geometry.iloc[i[7]]])
    assert holes.buffer(1e-6).contains(shapely.Point(lon, lat))
    assert first not in fids.get("area_mismatch", set())
    summary_line = done.stdout.splitlines()[0]
    assert str(len([p for p in problems if p["severity"] == "error"])) in summary_line


def test_a_dry_run_checks_and_writes_nothing(settings, engine, sample_plan, plan, tmp_path):
    gpkg, itbx = package(tmp_path, plan)
    kept = digest(engine)
    done = cli_here(settings, "import", str(gpkg), "--city", CITY, "--itbx", str(itbx), "--dry-run", "--lang", "en")
    assert done.returncode == 0, done.stderr
    assert "dry run" in done.stdout and digest(engine) == kept


@pytest.mark.parametrize("suffix", [".gpkg", ".shp"])
def test_an_export_imported_again_is_the_same_plan(settings, engine, sample_plan, tmp_path, suffix):
    out = tmp_path / f"rdtr_binjai{suffix}"
    done = cli_here(settings, "export", "--city", CITY, "--out", str(out))
    assert done.returncode == 0, done.stderr
    layers = {name for name, _ in pyogrio.list_layers(out)}
    fields = set(pyogrio.read_info(out, layer=out.stem)["fields"])
    assert {"KODSZN", "NAMSZN", "KODZON", "KODBLK", "KODSBL", "WADMKD", "LUASHA", "LP2B_2"} <= fields
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM zoning WHERE kabkota = :c"), {"c": CITY}).scalar()
    assert len(gpd.read_file(out, layer=out.stem)) == n
    if suffix == ".gpkg":
        assert "KRB_03" in layers  # the sample's flood-prone overlay, a layer of its own
    overlays = out.parent if suffix == ".shp" else out
    again = import_plan(engine, overlays, CITY, itbx_path=tmp_path / "rdtr_binjai_itbx.csv", actor="test")
    assert again.ok and again.unchanged, again.problems[:3]  # same zones, overlays and ITBX: the active plan


def test_bad_packages_are_refused_with_a_clear_error_and_nothing_written(settings, engine, sample_plan, plan,
                                                                         tmp_path):
    kept = digest(engine)
    empty = tmp_path / "kosong.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("baca.txt", "tidak ada peta di sini")
    shp = tmp_path / "shp" / "zonasi.shp"
    shp.parent.mkdir()
    plan.drop(columns=["fid"]).rename(columns=str.upper).rename(columns={"GEOMETRY": "geometry"}).set_geometry(
        "geometry").to_file(shp)
    shp.with_suffix(".prj").unlink()
    gpkg, itbx = package(tmp_path, plan)
    fmap = tmp_path / "map.json"
    fmap.write_text(json.dumps({"KODSZN": "kode_sub_zona"}))
    letters = tmp_path / "huruf.csv"
    letters.write_text("KODSZN,KBLI,KEGIATAN,KETENTUAN,SYARAT\nR-2,68111,perumahan,Z,\nK-1,47111,toko,I,\n"
                       "K-1,47111,toko,I,\n")
    huge = tmp_path / "besar.gpkg"
    with open(huge, "wb") as f:
        os.truncate(f.fileno(), 2 << 30)
    cases = [
        ((str(empty), "--city", CITY), "no_layer"),
        ((str(shp.parent), "--city", CITY), "CRS"),
        ((str(gpkg), "--city", CITY, "--field-map", str(fmap)), "kode_sub_zona"),
        ((str(gpkg), "--city", CITY, "--itbx", str(letters), "--report", str(tmp_path / "l.json")), "ITBX"),
        ((str(huge), "--city", CITY), "file_too_large"),
        ((str(gpkg), "--city", "99.99"), "99.99"),
    ]
    for args, words in cases:
        done = cli_here(settings, "import", *args, "--lang", "en")
        assert done.returncode != 0, args
        assert "Traceback" not in done.stderr, done.stderr
        assert words.lower() in (done.stdout + done.stderr + json.dumps(json.loads(
            (tmp_path / "l.json").read_text())) if "--report" in args else done.stdout + done.stderr).lower(), args
        assert digest(engine) == kept, args
    codes = {p["code"] for p in json.loads((tmp_path / "l.json").read_text())["problems"]}
    assert {"itbx_unknown_ketentuan", "itbx_duplicate_row"} <= codes
