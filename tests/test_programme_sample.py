"""The Binjai sample's programmes, loaded with the sample through the programme import: the 138 ha estate as one
programme of the estate project, the Sakasanwira-style programme counting active centres per kelurahan, parks at
the sample's parks, internal programmes, and a year of progress; reloading writes nothing and keeps edits."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import text

from gis.data.sample import LOADER, load_sample_programmes
from layers.programmes import PROGRESS_STATUSES
from layers.sample.generate import ESTATE_SLUG, ESTATE_TARGET_HA


def _read(engine, sql: str, **params) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


def test_the_sample_has_programmes_of_many_opds_with_a_year_of_progress(engine):
    programmes = _read(engine, "SELECT * FROM programmes WHERE kabkota = '12.75' AND tahun = 2026")
    assert 20 <= len(programmes) <= 30 and programmes.kodeskpd.nunique() >= 8
    assert (programmes.kode == "12.75-" + programmes.tahun.astype(str) + "-" + programmes.kodeskpd + "-"
            + programmes.kodesubkegiatan).all()
    # Permendagri 90/2019: each code extends its parent's
    assert all(k.startswith(p + ".") for p, k in zip(programmes.kodeprogram, programmes.kodekegiatan, strict=True))
    assert all(s.startswith(k + ".") for k, s in zip(programmes.kodekegiatan, programmes.kodesubkegiatan,
                                                       strict=True))
    assert (~programmes.publik).sum() >= 3 and programmes.publik.sum() >= 15
    assert (programmes.realisasi_rp <= programmes.pagu_rp).all() and (programmes.pagu_rp > 0).all()
    progress = _read(engine, "SELECT p.*, g.tahun FROM programme_progress p JOIN programmes g ON g.kode = "
                             "p.programme_kode WHERE g.kabkota = '12.75' AND g.tahun = 2026")
    assert set(progress.status) == set(PROGRESS_STATUSES)
    assert (progress.status == "batal").sum() == 1
    assert progress.oleh.str.len().min() > 3 and (pd.to_datetime(progress.tanggal).dt.year == 2026).all()
    with engine.connect() as conn:
        actors = set(conn.execute(text("SELECT DISTINCT actor FROM feature_history WHERE layer IN ('programmes', "
                                       "'programme_indicators', 'programme_progress', 'programme_points', "
                                       "'programme_lines', 'programme_areas') AND actor = :a"), {"a": LOADER})
                     .scalars())
    assert actors == {LOADER}
    located = _read(engine, "SELECT 'line' AS kind, programme_kode FROM programme_lines UNION ALL SELECT 'point', "
                            "programme_kode FROM programme_points UNION ALL SELECT 'area', programme_kode FROM "
                            "programme_areas")
    sample = located[located.programme_kode.isin(programmes.kode)]
    assert set(sample.kind) == {"line", "point", "area"}


def test_the_estate_is_one_programme_of_the_project_in_hectares(engine):
    estate = _read(engine, "SELECT * FROM programmes WHERE project_slug = :s AND tahun = 2026", s=ESTATE_SLUG)
    assert len(estate) == 1
    kode = estate.kode.iloc[0]
    indicators = _read(engine, "SELECT * FROM programme_indicators WHERE programme_kode = :k ORDER BY batas_periode",
                       k=kode)
    assert set(indicators.satuan) == {"ha"} and set(indicators.sumber) == {"project_parcels"}
    assert indicators.target.iloc[-1] == ESTATE_TARGET_HA
    with engine.connect() as conn:
        area = gpd.read_postgis(text("SELECT geom FROM programme_areas WHERE programme_kode = :k"), conn,
                                params={"k": kode}, geom_col="geom")
        project = gpd.read_postgis(text("SELECT geom FROM projects WHERE slug = :s"), conn, params={"s": ESTATE_SLUG},
                                   geom_col="geom")
    assert len(area) == 1
    assert area.geometry.iloc[0].equals_exact(project.geometry.iloc[0], 1e-7)
    assert area.to_crs(32647).area.iloc[0] / 1e4 == pytest.approx(ESTATE_TARGET_HA, rel=0.01)


def test_sakasanwira_targets_one_active_centre_in_every_kelurahan(engine):
    programme = _read(engine, "SELECT p.kode FROM programmes p JOIN programme_indicators i ON i.programme_kode = "
                              "p.kode WHERE i.sumber = 'business_centers' AND p.kabkota = '12.75' GROUP BY p.kode")
    assert len(programme) == 1
    indicators = _read(engine, "SELECT * FROM programme_indicators WHERE programme_kode = :k", k=programme.kode[0])
    kelurahan = _read(engine, "SELECT kode, kecamatan_kode FROM kelurahan WHERE kabkota = '12.75'")
    assert set(indicators.satuan) == {"kelurahan"} and set(indicators.sumber) == {"business_centers"}
    city = indicators[indicators.wilayah_kode.isna()]
    assert city.target.tolist() == [float(len(kelurahan))]
    per_kecamatan = indicators.dropna(subset=["wilayah_kode"]).set_index("wilayah_kode").target
    assert per_kecamatan.to_dict() == kelurahan.groupby("kecamatan_kode").size().astype(float).to_dict()
    # its locations are the sample's centres, planned and inactive ones included (the target counts active ones)
    centres = _read(engine, "SELECT count(*) AS n FROM business_centers WHERE kabkota = '12.75'").n[0]
    points = _read(engine, "SELECT count(*) AS n FROM programme_points WHERE programme_kode = :k",
                   k=programme.kode[0]).n[0]
    assert points == centres


def test_parks_playgrounds_and_elderly_parks_are_in_the_five_kecamatan(engine):
    for kelas in ("taman kecamatan", "taman bermain anak", "taman lansia"):
        parks = _read(engine, "SELECT nama, ST_AsBinary(geom) AS wkb FROM parks WHERE kelas = :k ORDER BY nama",
                      k=kelas)
        located = _read(engine, "SELECT l.nama, l.kecamatan_kode, ST_AsBinary(l.geom) AS wkb, p.kode FROM "
                                "programme_areas l JOIN programmes p ON p.kode = l.programme_kode WHERE l.nama = "
                                "ANY(:n) ORDER BY l.nama", n=list(parks.nama))
        assert located.kode.nunique() == 1 and list(located.nama) == list(parks.nama)
        for a, b in zip(parks.wkb, located.wkb, strict=True):
            assert shapely.from_wkb(bytes(a)).equals_exact(shapely.from_wkb(bytes(b)), 1e-9)
        assert located.kecamatan_kode.nunique() == 5
        targets = _read(engine, "SELECT wilayah_kode, target FROM programme_indicators WHERE programme_kode = :k "
                                "AND periode = '2026-S2' AND wilayah_kode IS NOT NULL", k=located.kode[0])
        assert targets.set_index("wilayah_kode").target.to_dict() == \
            located.groupby("kecamatan_kode").size().astype(float).to_dict()


def test_reloading_writes_nothing_and_keeps_a_programme_edited_since(engine):
    def history() -> int:
        return _read(engine, "SELECT count(*) AS n FROM feature_history").n[0]

    # other tests of the session may have moved a sample feature a location is placed on: follow it first
    load_sample_programmes(engine, "12.75", force=True)
    before = history()
    counts = load_sample_programmes(engine, "12.75")
    assert counts["programmes"] == 25 and history() == before
    kode = _read(engine, "SELECT min(kode) AS k FROM programmes WHERE kabkota = '12.75' AND tahun = 2026").k[0]
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('petakota.actor', 'Bappeda', true)"))
        conn.execute(text("UPDATE programmes SET pagu_rp = pagu_rp + 1000 WHERE kode = :k"), {"k": kode})
    edited = _read(engine, "SELECT pagu_rp FROM programmes WHERE kode = :k", k=kode).pagu_rp[0]
    kept = load_sample_programmes(engine, "12.75")
    assert "kept" in str(kept["programmes"])
    assert _read(engine, "SELECT pagu_rp FROM programmes WHERE kode = :k", k=kode).pagu_rp[0] == edited
    forced = load_sample_programmes(engine, "12.75", force=True)
    assert forced["programmes"] == 25
    assert _read(engine, "SELECT pagu_rp FROM programmes WHERE kode = :k", k=kode).pagu_rp[0] == edited - 1000
