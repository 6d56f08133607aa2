"""The regional asset register: an OGC collection whose acquisition values only authorised users see, parcels
that become assets when certified, and the asset check, whose flags equal an overlay computed here."""

from __future__ import annotations

import itertools

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import text
from typer.testing import CliRunner

from gis.cli.main import app
from gis.core import db
from gis.data import store
from tests.conftest import scratch_settings
from tests.test_processes import run

METRIC = 32647


def _assets(engine) -> gpd.GeoDataFrame:
    with engine.connect() as conn:
        return gpd.read_postgis(text("SELECT * FROM assets ORDER BY id"), conn, geom_col="geom")


def test_the_register_is_a_collection_whose_values_only_an_analyst_sees(http, engine, keys):
    expected = _assets(engine)
    assert len(expected) >= 30 and set(expected.kib) == {"A", "C"}
    public = http.get("/collections/assets/items", params={"limit": 1000}).json()
    assert public["numberMatched"] == len(expected)
    props = {f["id"]: f["properties"] for f in public["features"]}
    assert all("nilai_perolehan_rp" not in p for p in props.values())
    first = expected.iloc[0]
    assert props[int(first.id)]["kode_barang"] == first.kode_barang and props[int(first.id)]["nup"] == first.nup
    assert "nilai_perolehan_rp" not in http.get("/collections/assets/queryables").text
    analyst = http.get("/collections/assets/items", params={"limit": 1000},
                       headers={"X-API-Key": keys["analyst"]}).json()
    values = {f["id"]: f["properties"]["nilai_perolehan_rp"] for f in analyst["features"]}
    assert values == dict(zip(expected.id, expected.nilai_perolehan_rp, strict=True))
    # the natural key of the register is unique
    assert not expected.duplicated(["kode_barang", "nup"]).any()


def test_the_estate_certified_parcels_are_assets_once_each(engine):
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT p.parcel_id, count(a.id) AS n, min(a.sertifikat_jenis) AS jenis, "
            "bool_and(ST_Equals(a.geom, p.geom)) AS same FROM project_parcels p "
            "LEFT JOIN assets a ON a.parcel_id = p.parcel_id WHERE p.status = 'certified' "
            "GROUP BY p.parcel_id")).all()
    assert rows and all(r.n == 1 and r.jenis == "HPL" and r.same for r in rows)


def test_a_parcel_becomes_an_asset_when_certified_and_only_once(engine):
    with engine.connect() as conn, conn.begin() as tx:
        parcel = conn.execute(text(
            "SELECT p.parcel_id, p.status_date, p.geom, pr.nama FROM project_parcels p "
            "JOIN projects pr ON pr.slug = p.project_slug WHERE p.status <> 'certified' "
            "AND NOT EXISTS (SELECT 1 FROM assets a WHERE a.parcel_id = p.parcel_id) ORDER BY p.id LIMIT 1")).one()
        before = conn.execute(text("SELECT count(*) FROM assets")).scalar()
        conn.execute(text("UPDATE project_parcels SET status = 'certified' WHERE parcel_id = :p"),
                     {"p": parcel.parcel_id})
        made = conn.execute(text(
            "SELECT kib, kode_barang, nup, nama, status, sertifikat_jenis, ST_Equals(geom, :g ::geometry) AS same, "
            "area_ha FROM assets WHERE parcel_id = :p"), {"p": parcel.parcel_id, "g": parcel.geom}).all()
        assert len(made) == 1
        asset = made[0]
        assert (asset.kib, asset.status, asset.sertifikat_jenis, asset.same) == ("A", "digunakan", "HPL", True)
        assert parcel.nama in asset.nama and parcel.parcel_id in asset.nama
        geom = shapely.from_wkb(bytes.fromhex(parcel.geom))
        metric = gpd.GeoSeries([geom], crs=4326).to_crs(METRIC).iloc[0]
        assert asset.area_ha == pytest.approx(metric.area / 1e4, rel=1e-6)
        # a new register number under the land code
        nups = conn.execute(text("SELECT nup FROM assets WHERE kode_barang = :k AND parcel_id IS DISTINCT FROM :p"),
                            {"k": asset.kode_barang, "p": parcel.parcel_id}).scalars().all()
        assert asset.nup not in nups and int(asset.nup) == max(int(n) for n in nups) + 1
        # certified again (after a correction): no second asset
        conn.execute(text("UPDATE project_parcels SET status = 'compensated' WHERE parcel_id = :p"),
                     {"p": parcel.parcel_id})
        conn.execute(text("UPDATE project_parcels SET status = 'certified' WHERE parcel_id = :p"),
                     {"p": parcel.parcel_id})
        assert conn.execute(text("SELECT count(*) FROM assets")).scalar() == before + 1
        tx.rollback()


def _rule(itbx: pd.DataFrame, kodszn: str, kbli: str | None, activity: str | None) -> str | None:
    """The ITBX verdict, looked up here: the longest KBLI prefix, else the activity by name."""
    zone = itbx[itbx.kodszn == kodszn]
    if kbli:
        rows = zone[zone.kbli.notna() & zone.kbli.map(lambda k: bool(k) and kbli.startswith(str(k)))]
        rows = rows[rows.kbli.str.len() == rows.kbli.str.len().max()]
    else:
        rows = zone[zone.kegiatan.fillna("").str.casefold() == (activity or "").casefold()]
    return None if rows.empty else rows.ketentuan.iloc[0]


def test_asset_check_flags_equal_an_overlay_computed_independently(http, engine, keys):
    assets = _assets(engine)
    with engine.connect() as conn:
        zoning = gpd.read_postgis(text("SELECT id, kodszn, geom FROM zoning"), conn, geom_col="geom")
        itbx = pd.read_sql(text("SELECT kodszn, kbli, kegiatan, ketentuan FROM itbx WHERE kabkota = '12.75'"), conn)
    # no certificate: a pandas filter
    no_cert = set(assets[assets.kib.isin(["A", "C"]) & assets.sertifikat_nomor.isna()].id)
    # overlaps: every pair of the same card, intersected in UTM 47N
    metric = assets.to_crs(METRIC)
    pairs = {}
    for a, b in itertools.combinations(metric.itertuples(), 2):
        if a.kib == b.kib and a.geom.intersection(b.geom).area > 1.0:
            pairs[tuple(sorted((a.id, b.id)))] = a.geom.intersection(b.geom).area
    # forbidden zones: X zones covering >= 5 % of the asset
    zones_m = zoning.to_crs(METRIC)
    forbidden = set()
    for a in metric.itertuples():
        kbli, activity = (a.kbli, None) if pd.notna(a.kbli) else (None, a.penggunaan)
        activity = activity if pd.notna(activity) else None
        if not kbli and not activity:
            continue
        share = sum(z.geom.intersection(a.geom).area for z in zones_m.itertuples()
                    if z.geom.intersects(a.geom) and _rule(itbx, z.kodszn, kbli, activity) == "X") / a.geom.area
        if share >= 0.05:
            forbidden.add(a.id)
    assert no_cert and pairs and forbidden  # the sample holds something of each

    result = run(http, "asset-check", {})
    (city,) = result["cities"]
    flagged = {a["id"]: {f["flag"] for f in a["flags"]} for a in city["flagged"]}
    assert {i for i, f in flagged.items() if "no_certificate" in f} == no_cert
    assert {i for i, f in flagged.items() if "zone_forbids_use" in f} == forbidden
    got = {(p["a"], p["b"]): p["area_m2"] for p in city["overlaps"]}
    assert got.keys() == pairs.keys()
    assert all(got[k] == pytest.approx(v, rel=1e-6) for k, v in pairs.items())
    assert result["counts"] == {"no_certificate": len(no_cert), "zone_forbids_use": len(forbidden),
                                "overlap": len({i for p in pairs for i in p})}
    explained = [f["explanation"] for a in city["flagged"] for f in a["flags"]]
    assert all(e["id"] and e["en"] for e in explained)
    assert "nilai_perolehan_rp" not in str(result)
    analyst = run(http, "asset-check", {}, **{"X-API-Key": keys["analyst"]})
    values = dict(zip(assets.id, assets.nilai_perolehan_rp, strict=True))
    assert all(a["nilai_perolehan_rp"] == values[a["id"]] for a in analyst["cities"][0]["flagged"])


@pytest.fixture(scope="module")
def empty_register(engine, tmp_path_factory):
    """A second database holding Binjai's boundary and an empty register: where an export is imported."""
    settings = scratch_settings("assets_io", tmp_path_factory.mktemp("assets_io"))
    db.upgrade(settings)
    scratch = db.make_engine(settings, pool_size=1)
    with engine.connect() as conn:
        kota = store.read_layer(conn, "kota", include_private=True).drop(columns="id").rename_geometry("geometry")
    with scratch.begin() as conn:
        store.insert_features(conn, "kota", kota)
    yield settings, scratch
    scratch.dispose()


def _cli(settings, *args):
    return CliRunner().invoke(app, ["assets", *args], env={"DATABASE_URL": settings.database_url})


def _register(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text("SELECT kib, kode_barang, nup, kode_simbada, nama, opd, kelurahan_kode, "
                                "tahun_perolehan, nilai_perolehan_rp, sertifikat_jenis, sertifikat_nomor, "
                                "sertifikat_tanggal, status, penggunaan, kbli, parcel_id, area_ha, "
                                "ST_AsBinary(geom) AS wkb FROM assets ORDER BY kode_barang, nup"), conn)


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_an_export_imported_elsewhere_gives_the_same_register(engine, settings, empty_register, tmp_path, suffix):
    scratch_settings_, scratch = empty_register
    with scratch.begin() as conn:
        conn.execute(text("DELETE FROM assets"))
    out = tmp_path / f"aset.{suffix}"
    exported = _cli(settings, "export", "--city", "12.75", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    imported = _cli(scratch_settings_, "import", str(out), "--city", "12.75")
    assert imported.exit_code == 0, imported.output
    source, copy = _register(engine), _register(scratch)
    assert len(copy) == len(source) > 30
    geoms = [shapely.from_wkb(bytes(w)) for w in source.wkb], [shapely.from_wkb(bytes(w)) for w in copy.wkb]
    assert all(a.equals_exact(b, 1e-9) for a, b in zip(*geoms, strict=True))
    pd.testing.assert_frame_equal(source.drop(columns=["wkb", "area_ha"]), copy.drop(columns=["wkb", "area_ha"]))
    assert copy.area_ha.to_numpy() == pytest.approx(source.area_ha.to_numpy(), rel=1e-6)
    # imported again: every asset matched on its key and updated in place, none added
    again = _cli(scratch_settings_, "import", str(out), "--city", "12.75")
    assert again.exit_code == 0 and f"0 new, {len(source)} updated" in again.output


def test_every_bad_row_is_reported_and_nothing_is_written(settings, empty_register, tmp_path):
    scratch_settings_, scratch = empty_register
    good = tmp_path / "aset.csv"
    assert _cli(settings, "export", "--city", "12.75", "--out", str(good)).exit_code == 0
    frame = pd.read_csv(good, dtype=str, keep_default_na=False).head(8)
    frame.loc[0, "kib"] = "B"
    frame.loc[1, "sertifikat_tanggal"] = "30/06/2021"
    frame.loc[2, "geometry_wkt"] = "POLYGON ((98.5 3.6, 98.6"
    frame.loc[3, "geometry_wkt"] = "POLYGON ((100 1, 100.01 1, 100.01 1.01, 100 1.01, 100 1))"  # Riau, not Binjai
    frame.loc[5, ["kode_barang", "nup"]] = frame.loc[4, ["kode_barang", "nup"]].to_numpy()
    frame.loc[6, "status"] = "dipinjam"
    bad = tmp_path / "aset-salah.xlsx"
    frame.to_excel(bad, index=False)
    with scratch.connect() as conn:
        before = conn.execute(text("SELECT count(*), max(updated_at) FROM assets")).one()
    result = _cli(scratch_settings_, "import", str(bad), "--city", "12.75")
    assert result.exit_code == 1
    report = result.output
    for line in ("row 2, kib: unknown KIB letter 'B'", "row 3, sertifikat_tanggal: '30/06/2021' is not a date",
                 "row 4, geometry_wkt: is not valid WKT", "row 5, geometry_wkt: lies outside the city",
                 "row 7, kode_barang+nup:", "is also on row 6", "row 8, status: 'dipinjam' is not one of",
                 "nothing was written"):
        assert line in report, report
    assert "row 9" not in report and "Traceback" not in report
    with scratch.connect() as conn:
        assert conn.execute(text("SELECT count(*), max(updated_at) FROM assets")).one() == before
    missing_city = _cli(scratch_settings_, "import", str(good), "--city", "12.99")
    assert missing_city.exit_code == 1 and "no city '12.99'" in missing_city.output


def test_a_building_on_its_land_is_no_overlap_and_an_unknown_use_is_reported_unchecked():
    from gis.analyses.assets import asset_check

    land = shapely.box(445_000, 398_000, 445_100, 398_100)
    rows = [  # land, its building, a second land record over half of it, a use the ITBX does not name
        {"id": 1, "kib": "A", "sertifikat_nomor": "SHP 1/2000", "kbli": None, "penggunaan": "taman", "geometry": land},
        {"id": 2, "kib": "C", "sertifikat_nomor": "SHP 1/2000", "kbli": None, "penggunaan": "taman",
         "geometry": land.buffer(-20)},
        {"id": 3, "kib": "A", "sertifikat_nomor": None, "kbli": None, "penggunaan": "kasino",
         "geometry": shapely.box(445_050, 398_000, 445_150, 398_100)},
    ]
    assets = gpd.GeoDataFrame([{**r, "kode_barang": "1.3.1.01", "nup": str(r["id"]), "nama": f"aset {r['id']}",
                                "opd": None, "status": "digunakan"} for r in rows], crs=METRIC).to_crs(4326)
    zoning = gpd.GeoDataFrame({"kodszn": ["RTH-2"]}, geometry=[land.buffer(500)], crs=METRIC).to_crs(4326)
    itbx = pd.DataFrame([{"kodszn": "RTH-2", "kbli": None, "kegiatan": "taman", "ketentuan": "I", "syarat": None}])
    result = asset_check(assets, zoning, itbx, METRIC)
    (pair,) = result["overlaps"]
    assert (pair["a"], pair["b"]) == (1, 3)
    assert pair["area_m2"] == pytest.approx(land.intersection(rows[2]["geometry"]).area, rel=1e-6)
    assert result["counts"] == {"no_certificate": 1, "overlap": 2, "zone_forbids_use": 0}
    assert [u["id"] for u in result["unchecked"]] == [3] and "kasino" in result["unchecked"][0]["message"]
