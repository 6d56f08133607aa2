"""Analyses per city and across a region, on the session's region database (Binjai sample + Kabupaten Deli
Serdang + Kabupaten Karo, real boundaries) over real HTTP: Binjai's numbers equal a Binjai-only database's, a
run without a city is refused naming the choices, Deli Serdang's coverage says its population grid is missing
until `petakota population build` makes one, a park across the border serves people on the other side, and a
region-wide siting run reports the cities each candidate touches."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import Affine
from shapely.geometry import box, mapping
from sqlalchemy import text
from typer.testing import CliRunner

from gis.core import db
from gis.core.cog import write_cog
from gis.data.sample import load_sample
from gis.processes import Context, execute
from tests.conftest import problem_of, scratch_settings
from tests.test_processes import run as run_process

DATA = Path(__file__).resolve().parents[1] / "layers" / "sample" / "data"
UTM = 32647
CHOICES = ("12.06 (Kabupaten Karo)", "12.07 (Kabupaten Deli Serdang)", "12.75 (Kota Binjai)")


@pytest.fixture(scope="module")
def api(region):
    with httpx.Client(base_url=region[1], timeout=300) as client:
        yield client


def run(api, process: str, inputs: dict) -> dict:
    return run_process(api, process, inputs, timeout=300)


def city_shape(name: str):
    return shapely.make_valid(gpd.read_file(DATA / f"{name}.geojson").to_crs(UTM).geometry.iloc[0])


def _without_ids(value):
    """A result without the ids of the result rasters (each run registers its own), numbers to 9 digits."""
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k not in ("id", "tiles")}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    if isinstance(value, float):
        return float(f"{value:.9g}")
    return value


@pytest.fixture(scope="module")
def binjai_only(tmp_path_factory):
    """(engine, settings) of a database holding Binjai alone."""
    settings = scratch_settings("binjai_only", tmp_path_factory.mktemp("binjai_only"))
    db.upgrade(settings)
    engine = db.make_engine(settings, pool_size=1)
    load_sample(engine, settings)
    yield engine, settings
    engine.dispose()


def test_every_analysis_for_binjai_in_the_region_equals_it_on_a_binjai_only_database(api, binjai_only):
    engine, settings = binjai_only
    with engine.connect() as conn:
        estate = shapely.from_wkb(conn.execute(text("SELECT ST_AsBinary(ST_Buffer(geom, -0.002)) FROM projects"))
                                  .scalar())
    alone = Context(engine, settings, include_private=False, owner="anonymous")
    cases = [("park-coverage", {}), ("rth-ratio", {}), ("business-center-coverage", {}),
             ("zoning-conformity", {"geometry": mapping(estate), "activity": "industri besar"}),
             ("project-progress", {"as_of": "2025-06-30"}), ("change-detection", {}),
             ("site-suitability", {"target_ha": 138, "n_candidates": 3})]
    for process, inputs in cases:
        expected = _without_ids(execute(process, alone, inputs))  # one city held: no city needed
        got = _without_ids(run(api, process, {**inputs, "city": "12.75"}))
        assert got == expected, process
        assert [c["code"] for c in got["cities"]] == ["12.75"], process


@pytest.mark.parametrize("process", ["park-coverage", "rth-ratio", "business-center-coverage", "site-suitability",
                                     "zoning-conformity", "project-progress", "change-detection"])
def test_no_city_with_several_held_is_refused_naming_the_choices(api, process):
    inputs = {"geometry": mapping(box(98.49, 3.6, 98.5, 3.61)), "activity": "taman"} \
        if process == "zoning-conformity" else {}
    problem = problem_of(api.post(f"/processes/{process}/execution", json={"inputs": inputs}))
    assert problem["status"] == 400 and "input 'city'" in problem["detail"]
    assert all(choice in problem["detail"] for choice in CHOICES), problem["detail"]
    unknown = problem_of(api.post(f"/processes/{process}/execution", json={"inputs": {**inputs, "city": "12.99"}}))
    assert unknown["status"] == 400 and "'12.99'" in unknown["detail"]
    assert all(choice in unknown["detail"] for choice in CHOICES)
    wrong = problem_of(api.post(f"/processes/{process}/execution", json={"inputs": {**inputs, "city": 12.75}}))
    assert wrong["status"] == 400 and "input 'city'" in wrong["detail"]


def test_a_city_without_a_population_grid_says_so_until_one_is_built(api, region):
    engine, _, settings = region
    missing = run(api, "park-coverage", {"city": "12.07"})
    assert missing["population"] == "missing" and "petakota population build" in missing["message"]
    assert missing["cities"][0]["population"] == "missing"
    assert missing["underserved"] == [] and missing["kelurahan"]["features"] == []
    region_run = run(api, "park-coverage", {"city": ["12.75", "12.07"]})
    assert region_run["population"] == "partial"
    assert {f["properties"]["kabkota"] for f in region_run["kelurahan"]["features"]} == {"12.75"}

    from gis.cli.main import app

    env = {"DATABASE_URL": settings.database_url, "PETAKOTA_DATA_DIR": str(settings.data_dir)}
    out = CliRunner().invoke(app, ["population", "build", "--city", "12.07", "--total", "2000000"], env=env)
    assert out.exit_code == 0, out.output
    assert "the land evenly" in out.output  # Deli Serdang has neither zoning nor land cover here
    with engine.connect() as conn:
        path = conn.execute(text("SELECT path FROM rasters WHERE city = '12.07' AND dataset = 'population'")).scalar()
    with rasterio.open(settings.data_dir / path) as ds:
        grid = ds.read(1).astype("float64")
        assert ds.crs.to_epsg() == UTM and ds.res == (10.0, 10.0)
        assert grid.sum() == pytest.approx(2_000_000, rel=1e-6)
        # people only on pixel centres inside Deli Serdang, evenly
        rows, cols = np.nonzero(grid)
        x, y = ds.transform * (cols[::5000] + 0.5, rows[::5000] + 0.5)
    assert shapely.contains_xy(city_shape("kabkota_deli_serdang"), x, y).all()
    assert np.unique(grid[grid > 0].round(4)).size == 1

    present = run(api, "park-coverage", {"city": "12.07"})
    assert present["population"] == "present" and "message" not in present
    features = [f["properties"] for f in present["kelurahan"]["features"]]
    assert len(features) == 394
    assert sum(f["population"] for f in features) == pytest.approx(2_000_000, rel=2e-3)  # border slivers
    assert present["underserved"] == sorted(f["nama"] for f in features if f["underserved"])
    assert all(0 <= f["share_served"] <= 1 for f in features)


@contextmanager
def added(engine, table: str, values: str, geom_wkt: str):
    with engine.begin() as conn:
        fid = conn.execute(text(f"INSERT INTO {table} {values} RETURNING id"), {"g": geom_wkt}).scalar()
    try:
        yield fid
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {table} WHERE id = :i"), {"i": fid})


def border_point(offset_m: float):
    """A point in Deli Serdang `offset_m` east of Binjai's easternmost boundary point (UTM 47N)."""
    binjai = city_shape("kota_binjai")
    xs, ys = np.asarray(binjai.exterior.coords if binjai.geom_type == "Polygon"
                        else max(binjai.geoms, key=lambda g: g.area).exterior.coords).T
    i = int(np.argmax(xs))
    point = shapely.Point(xs[i] + offset_m, ys[i])
    assert city_shape("kabkota_deli_serdang").contains(point) and not binjai.contains(point)
    return point


def to_wkt_4326(geom) -> str:
    return gpd.GeoSeries([geom], crs=UTM).to_crs(4326).iloc[0].wkt


def test_a_park_just_across_the_border_serves_people_on_the_other_side(api, region):
    engine, _, settings = region
    inputs = {"city": "12.75", "radii_m": {"hutan kota": 1000}}  # Binjai's one hutan kota lies far from it
    before = run(api, "park-coverage", inputs)
    park = border_point(150).buffer(40, cap_style="square")
    values = "(nama, kelas, publik, geom) VALUES ('Hutan Uji Perbatasan', 'hutan kota', true, ST_Multi(" \
             "ST_GeomFromText(:g, 4326)))"
    with added(engine, "parks", values, to_wkt_4326(park)) as fid:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT kabkota FROM parks WHERE id = :i"), {"i": fid}).scalar() == "12.07"
            others = [shapely.from_wkb(g) for g in conn.execute(text(
                "SELECT ST_AsBinary(ST_Transform(geom, 32647)) FROM parks WHERE kelas = 'hutan kota' AND publik "
                "AND id <> :i"), {"i": fid}).scalars()]
        after = run(api, "park-coverage", inputs)
    # independently: Binjai's people (pixel centres) within 1 km of the new park and of no other hutan kota
    with rasterio.open(settings.data_dir / "rasters/population.tif") as pop:
        people, transform = pop.read(1).astype("float64"), pop.transform
    rows, cols = np.nonzero(people)
    x, y = transform * (cols + 0.5, rows + 0.5)
    points = shapely.points(x, y)
    near = shapely.distance(points, park) <= 1000
    served_already = np.zeros(near.shape, bool)
    for other in others:
        served_already |= shapely.distance(points, other) <= 1000
    expected = people[rows, cols][near & ~served_already].sum()
    assert expected > 100
    gained = after["overall"]["served"] - before["overall"]["served"]
    assert gained == pytest.approx(expected, rel=1e-3)
    assert after["overall"]["population"] == pytest.approx(before["overall"]["population"])
    assert after["cities"][0]["share_served"] > before["cities"][0]["share_served"]


def _deli_serdang_rasters(engine, settings, around) -> None:
    """Flat, dry plantation land for Deli Serdang around a point (illustrative rasters registered for 12.07)."""
    x0, y1 = np.floor((around.x - 4000) / 10) * 10, np.ceil((around.y + 4000) / 10) * 10
    transform, shape = Affine(10.0, 0, x0, 0, -10.0, y1), (800, 800)
    arrays = {"slope": np.full(shape, 2.0, "float32"), "flood_hazard": np.ones(shape, "uint8"),
              "landcover_2024": np.full(shape, 2, "uint8")}
    with engine.begin() as conn:
        for dataset, array in arrays.items():
            rel = f"rasters/{dataset}_12_07.tif"
            write_cog(settings.data_dir / rel, array, transform, UTM)
            conn.execute(text(
                "INSERT INTO rasters (id, title_id, title_en, path, units, kind, illustrative, city, dataset) "
                "VALUES (:id, :id, :id, :p, '', 'continuous', true, '12.07', :d) ON CONFLICT (id) DO NOTHING"),
                {"id": f"{dataset}_12_07", "p": rel, "d": dataset})


def test_a_region_siting_run_reports_the_cities_each_candidate_touches(api, region):
    engine, _, settings = region
    gate = border_point(300)
    _deli_serdang_rasters(engine, settings, gate)
    study = gpd.GeoSeries([gate.buffer(2500)], crs=UTM).to_crs(4326).iloc[0]
    values = "(nama, geom) VALUES ('Gerbang Uji Perbatasan', ST_GeomFromText(:g, 4326))"
    with added(engine, "toll_gates", values, to_wkt_4326(gate)):
        # land by its suitability alone (`kbli: null`: no activity's ITBX exclusions), across the border
        result = run(api, "site-suitability", {"city": ["12.75", "12.07"], "target_ha": 50, "n_candidates": 4,
                                               "study_area": mapping(study), "kbli": None})
        only_binjai = run(api, "site-suitability", {"city": "12.75", "target_ha": 50, "n_candidates": 4,
                                                    "study_area": mapping(study), "kbli": None})
    shapes = {"12.75": city_shape("kota_binjai"), "12.07": city_shape("kabkota_deli_serdang")}
    sites = result["candidates"]["features"]
    assert sites
    for f in sites:
        site = gpd.GeoSeries([shapely.geometry.shape(f["geometry"])], crs=4326).to_crs(UTM).iloc[0]
        touched = {code: site.intersection(g).area / 1e4 for code, g in shapes.items()}
        expected = sorted(code for code, ha in touched.items() if ha > 0.01)
        assert f["properties"]["cities"] == expected
        for code in expected:
            assert f["properties"]["area_ha_by_city"][code] == pytest.approx(touched[code], abs=0.05)
        assert f["properties"]["area_ha"] >= 50
    assert any("12.07" in f["properties"]["cities"] for f in sites)  # Deli Serdang land is used
    # the gate on the border draws a site across it: one grid over both cities, no border in the search
    assert any(f["properties"]["cities"] == ["12.07", "12.75"] for f in sites)
    by_city = {c["code"]: c["candidates"] for c in result["cities"]}
    assert by_city["12.07"] == [f["properties"]["rank"] for f in sites if "12.07" in f["properties"]["cities"]]
    # a run on Binjai alone never leaves it
    assert all(f["properties"]["cities"] == ["12.75"] for f in only_binjai["candidates"]["features"])


def test_rth_and_business_centres_across_a_region_report_each_city_and_kecamatan_with_its_city(api, region):
    engine = region[0]
    with engine.connect() as conn:  # RTH per kecamatan computed by PostGIS itself, whatever parks exist now
        rth_sql = dict(conn.execute(text(
            "SELECT k.kode, coalesce(ST_Area(ST_Transform(ST_Intersection(k.geom, a.g), 32647)) / 1e4, 0) "
            "FROM kecamatan k, (SELECT ST_Union(geom) g FROM parks) a WHERE k.kabkota IN ('12.75', '12.07')")).all())
        no_centre = dict(conn.execute(text(
            "SELECT kabkota, count(*) FROM kelurahan k WHERE kabkota IN ('12.75', '12.07') AND NOT EXISTS "
            "(SELECT 1 FROM business_centers b WHERE b.kelurahan_kode = k.kode AND b.status = 'active') "
            "GROUP BY 1")).all())
    rth = run(api, "rth-ratio", {"city": ["12.07", "12.75"]})
    rows = [f["properties"] for f in rth["kecamatan"]["features"]]
    assert [r["kode"] for r in rows if r["kode"] in ("12.07", "12.75")] == ["12.07", "12.75"]  # each city's row
    assert len(rows) == 22 + 1 + 5 + 1
    for r in rows:
        assert r["kode"].startswith(r["kabkota"])  # a kecamatan is always shown with its own city
        if r["kode"] in rth_sql:
            assert r["rth_ha"] == pytest.approx(rth_sql[r["kode"]], rel=1e-6, abs=1e-6)
    areas = {"12.07": city_shape("kabkota_deli_serdang").area / 1e4, "12.75": city_shape("kota_binjai").area / 1e4}
    by_city = {c["code"]: c for c in rth["cities"]}
    for code, ha in areas.items():
        assert by_city[code]["area_ha"] == pytest.approx(ha, rel=1e-6)
    assert rth["overall"]["area_ha"] == pytest.approx(sum(areas.values()), rel=1e-6)
    assert rth["overall"]["rth_ha"] == pytest.approx(sum(c["rth_ha"] for c in rth["cities"]))

    business = run(api, "business-center-coverage", {"city": ["12.07", "12.75"]})
    assert {k["kabkota"] for k in business["kecamatan"]} == {"12.07", "12.75"}
    assert all(k["kecamatan_kode"].startswith(k["kabkota"]) for k in business["kecamatan"])
    assert {c["code"]: c["kelurahan"] - c["with_centre"] for c in business["cities"]} == no_centre
    assert business["overall"]["kelurahan"] == 394 + 37


def test_population_from_per_desa_figures_over_residential_zoning(binjai_only, tmp_path):
    from gis.core.errors import InvalidInput
    from gis.data.population import build_population

    engine, settings = binjai_only
    with engine.connect() as conn:
        kel = gpd.read_postgis(text("SELECT kode, geom FROM kelurahan ORDER BY kode"), conn, geom_col="geom")
        homes = gpd.read_postgis(text("SELECT geom FROM zoning WHERE kodszn LIKE 'R-%'"), conn, geom_col="geom")
        before = conn.execute(text("SELECT path FROM rasters WHERE id = 'population'")).scalar()
    a, b = kel.kode.iloc[0], kel.kode.iloc[5]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"kode,population\n99.99.99.9999,10\n{a},-5\n")
    files = set((settings.data_dir / "rasters").iterdir())
    with pytest.raises(InvalidInput) as refused:
        build_population(engine, settings, "12.75", 400_000, bad)
    assert "line 2: '99.99.99.9999'" in refused.value.detail and "line 3" in refused.value.detail
    with pytest.raises(InvalidInput, match="more than the total"):
        (tmp_path / "big.csv").write_text(f"kode,penduduk\n{a},500000\n")
        build_population(engine, settings, "12.75", 400_000, tmp_path / "big.csv")
    with engine.connect() as conn:  # nothing written
        assert conn.execute(text("SELECT path FROM rasters WHERE id = 'population'")).scalar() == before
    assert set((settings.data_dir / "rasters").iterdir()) == files

    good = tmp_path / "good.csv"
    good.write_text(f"kode,population\n{a},10000\n{b},20000\n")
    built = build_population(engine, settings, "12.75", 400_000, good)
    assert built.basis == "residential zoning" and built.from_file == 2
    with engine.connect() as conn:
        path = conn.execute(text("SELECT path FROM rasters WHERE id = 'population'")).scalar()
    with rasterio.open(settings.data_dir / path) as ds:
        grid, transform = ds.read(1).astype("float64"), ds.transform
    assert grid.sum() == pytest.approx(400_000, rel=1e-6)
    rows, cols = np.nonzero(grid)
    x, y = transform * (cols + 0.5, rows + 0.5)
    values = grid[rows, cols]
    geoms = kel.set_index("kode").to_crs(UTM).geometry
    for kode, people in ((a, 10_000), (b, 20_000)):
        # the real boundaries overlap by slivers, whose cells go to one kelurahan only: the figure lies between
        # the kelurahan's own cells and all the cells it shares with a neighbour
        inside = shapely.contains_xy(geoms[kode], x, y)
        shared = inside & shapely.contains_xy(geoms.drop(kode).union_all(), x, y)
        assert values[inside & ~shared].sum() - 1e-3 <= people <= values[inside].sum() + 1e-3
        assert values[inside].sum() == pytest.approx(people, rel=2e-3)
    residential = homes.to_crs(UTM).union_all()
    sample = slice(None, None, 97)
    in_home = shapely.contains_xy(residential, x[sample], y[sample])
    assert in_home.mean() > 0.99  # people where the zoning says they live (pixel edges aside)
    assert not (settings.data_dir / before).exists()  # the previous grid's file is gone with its row


def test_population_over_built_up_land_cover_where_a_city_has_no_zoning(region):
    from gis.data.population import build_population

    engine, _, settings = region
    karo = city_shape("kabkota_karo")
    centre = gpd.GeoSeries([shapely.Point(98.5, 3.1)], crs=4326).to_crs(UTM).iloc[0]  # Kabanjahe
    x0, y1 = np.floor(centre.x / 10) * 10 - 1000, np.ceil(centre.y / 10) * 10 + 1000
    cover = np.full((200, 200), 3, dtype="uint8")  # farmland, with a 500 m built-up block
    cover[50:100, 80:130] = 1
    block = box(x0 + 800, y1 - 1000, x0 + 1300, y1 - 500)
    assert karo.contains(block)
    write_cog(settings.data_dir / "rasters/landcover_2024_12_06.tif", cover, Affine(10.0, 0, x0, 0, -10.0, y1), UTM)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO rasters (id, title_id, title_en, path, units, kind, illustrative, city, dataset) VALUES "
            "('landcover_2024_12_06', 'Tutupan lahan', 'Land cover', 'rasters/landcover_2024_12_06.tif', 'class', "
            "'categorical', true, '12.06', 'landcover_2024')"))
    built = build_population(engine, settings, "12.06", 1000)
    assert built.basis == "built-up land cover (landcover_2024)" and built.cells == 50 * 50
    with engine.connect() as conn:
        path = conn.execute(text("SELECT path FROM rasters WHERE city = '12.06' AND dataset = 'population'")).scalar()
    with rasterio.open(settings.data_dir / path) as ds:
        grid, transform = ds.read(1).astype("float64"), ds.transform
    rows, cols = np.nonzero(grid)
    x, y = transform * (cols + 0.5, rows + 0.5)
    assert grid.sum() == pytest.approx(1000, rel=1e-6)
    assert shapely.contains_xy(block, x, y).all() and rows.size == 2500
