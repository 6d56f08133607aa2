"""The regional asset register: an OGC collection whose acquisition values only authorised users see, parcels
that become assets when certified, and the asset check, whose flags equal an overlay computed here."""

from __future__ import annotations

import itertools

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import text

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
