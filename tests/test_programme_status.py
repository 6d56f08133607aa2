"""The status of programmes on fixed dates (late with its days, at risk, done, not started, cancelled, on track),
computed indicators (the estate's acquired hectares from its parcels, ACTIVE business centres only), scorecards per
OPD and per kecamatan against a computation written here, and who sees what (anonymous: public programmes without
notes; a camat's key: its kecamatan). The test programmes are written with plain SQL (year 2031, OPDs UJI.*) and
removed afterwards."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import pandas as pd
import pytest
from sqlalchemy import text

from gis.analyses import programmes as rules
from gis.data.auth import ANONYMOUS, Principal
from gis.data.programme_frames import load_programme_data
from gis.processes.programmes import status_report

CITY, YEAR = "12.75", 2031
AS_OF = date(2031, 7, 1)
ESTATE = "kawasan-industri-binjai"
OPDS = {"UJI.01": "Dinas Uji Taman", "UJI.02": "Dinas Uji Ekonomi"}
SECRET = "catatan-rahasia-uji"
# code -> (opd, publik, mulai, selesai, pagu, realisasi_rp, project, catatan)
PROGRAMMES = {
    "late": ("UJI.01", True, "2031-01-01", "2031-06-30", 1_000_000, 200_000, None, None),
    "risk": ("UJI.01", True, "2031-01-01", "2031-12-31", 2_000_000, 0, None, None),
    "done": ("UJI.01", True, "2031-01-01", "2031-12-31", 500_000, 500_000, None, None),
    "notstarted": ("UJI.01", False, "2031-09-01", "2031-12-31", 800_000, 0, None, SECRET),
    "cancelled": ("UJI.02", True, "2031-01-01", "2031-12-31", 300_000, 10_000, None, None),
    "estate": ("UJI.02", True, "2031-01-01", "2031-12-31", 9_000_000, 1_000_000, ESTATE, None),
    "centres": ("UJI.02", True, "2031-01-01", "2031-12-31", 700_000, 100_000, None, None),
    "ontrack": ("UJI.02", True, "2031-01-01", "2031-12-31", 1_000, 0, None, None),
    "troubled": ("UJI.01", False, "2031-01-01", "2031-12-31", 600_000, 0, None, SECRET),
}
# code -> [(indicator kode, periode, batas, target, realisasi, wilayah, sumber)]
INDICATORS = {
    "late": [("I1", "2031-T1", "2031-03-31", 10, 4, None, "laporan")],
    "risk": [("I1", "2031", "2031-12-31", 100, None, None, "laporan")],
    "done": [("I1", "2031", "2031-12-31", 5, None, "12.75.03.1001", "laporan")],
    "notstarted": [("I1", "2031", "2031-12-31", 4, None, None, "laporan")],
    "cancelled": [("I1", "2031", "2031-12-31", 4, 1, None, "laporan")],
    "estate": [("HA", "2031", "2031-12-31", 138, None, None, "project_parcels")],
    "centres": [("SK", "2031", "2031-12-31", 3, None, "12.75.03", "business_centers"),
                ("SK", "2031", "2031-12-31", 99, None, None, "business_centers")],
    "ontrack": [("I1", "2031", "2031-12-31", 100, None, None, "laporan")],
    "troubled": [("I1", "2031", "2031-12-31", 10, 9, "12.75.02", "laporan")],
}
# code -> [(tanggal, indicator kode or None, realisasi, realisasi_rp, status, catatan)]
PROGRESS = {
    "risk": [("2031-06-15", "I1", 10, None, "berjalan", "lambat")],
    "done": [("2031-05-01", "I1", 5, 450_000, "berjalan", None)],
    "cancelled": [("2031-04-01", None, None, None, "batal", "dibatalkan")],
    "ontrack": [("2031-03-01", "I1", 20, 100, "berjalan", None), ("2031-06-01", "I1", 40, 300, "berjalan", None),
                ("2031-06-20", None, None, None, "berjalan", None),
                ("2031-08-01", "I1", 100, 1000, "selesai", "after as_of")],
    "troubled": [("2031-06-01", None, None, None, "terkendala", SECRET)],
}
# code -> [(layer, kecamatan)] (a point or a small area inside that kecamatan)
LOCATIONS = {"late": [("programme_points", "12.75.01")], "risk": [("programme_areas", "12.75.02")],
             "notstarted": [("programme_points", "12.75.01")], "troubled": [("programme_lines", "12.75.02")],
             "ontrack": [("programme_points", "12.75.04"), ("programme_points", "12.75.01")]}
EXPECTED = {"late": ("terlambat", 92), "risk": ("berisiko", 0), "done": ("selesai", 0),
            "notstarted": ("belum_mulai", 0), "cancelled": ("batal", 0), "ontrack": ("sesuai", 0),
            "troubled": ("berisiko", 0)}
SPOT = "ST_GeometryN(ST_GeneratePoints(ST_Buffer(k.geom, -0.002), 1, :seed), 1)"  # a point well inside, apart
GEOMETRY = {"programme_points": SPOT,
            "programme_lines": f"ST_Multi(ST_MakeLine({SPOT}, ST_Translate({SPOT}, 0.001, 0.001)))",
            "programme_areas": f"ST_Multi(ST_Buffer(({SPOT})::geography, 80)::geometry)"}


def kode_of(name: str) -> str:
    return f"{YEAR}-{PROGRAMMES[name][0]}-9.99.{name}"


def insert_programmes(engine) -> None:
    remove_programmes(engine)
    with engine.begin() as conn:
        for name, (opd, publik, start, end, pagu, spent, project, note) in PROGRAMMES.items():
            conn.execute(text(
                "INSERT INTO programmes (kode, kabkota, tahun, kodeskpd, nama_skpd, kodeprogram, nama_program, "
                "kodekegiatan, nama_kegiatan, kodesubkegiatan, nama_subkegiatan, pagu_rp, realisasi_rp, "
                "tanggal_mulai, tanggal_selesai, project_slug, publik, catatan) VALUES (:kode, :city, :year, :opd, "
                ":opd_name, '9.99', 'Program uji', '9.99.1', 'Kegiatan uji', :sub, :title, :pagu, :spent, "
                "CAST(:start AS date), CAST(:end AS date), :project, :publik, :note)"),
                {"kode": kode_of(name), "city": CITY, "year": YEAR, "opd": opd, "opd_name": OPDS[opd],
                 "sub": f"9.99.{name}", "title": f"Subkegiatan uji {name}", "pagu": pagu, "spent": spent,
                 "start": start, "end": end, "project": project, "publik": publik, "note": note})
            ids = {}
            for code, period, ends, target, realised, wilayah, source in INDICATORS.get(name, []):
                ids[code] = conn.execute(text(
                    "INSERT INTO programme_indicators (programme_kode, kode, nama, satuan, periode, batas_periode, "
                    "target, realisasi, wilayah_kode, sumber) VALUES (:p, :k, :n, 'unit', :per, CAST(:e AS date), "
                    ":t, :r, :w, :s) RETURNING id"),
                    {"p": kode_of(name), "k": code, "n": f"Indikator {code}", "per": period, "e": ends, "t": target,
                     "r": realised, "w": wilayah, "s": source}).scalar()
            for day, code, realised, spent_rp, status, note in PROGRESS.get(name, []):
                conn.execute(text(
                    "INSERT INTO programme_progress (programme_kode, indicator_id, tanggal, realisasi, realisasi_rp, "
                    "status, catatan, oleh) VALUES (:p, :i, CAST(:d AS date), :r, :rp, :s, :c, 'petugas uji')"),
                    {"p": kode_of(name), "i": ids.get(code), "d": day, "r": realised, "rp": spent_rp, "s": status,
                     "c": note})
            for layer, kecamatan in LOCATIONS.get(name, []):
                conn.execute(text(
                    f"INSERT INTO {layer} (programme_kode, nama, kodeskpd, kecamatan_kode, geom) "
                    f"SELECT :p, :n, :opd, k.kode, {GEOMETRY[layer]} FROM kecamatan k WHERE k.kode = :k"),
                    {"p": kode_of(name), "n": f"Lokasi {name}", "opd": opd, "k": kecamatan,
                     "seed": list(PROGRAMMES).index(name) + 1})


def remove_programmes(engine) -> None:
    like = f"{YEAR}-UJI.%"
    with engine.begin() as conn:
        for layer in ("programme_points", "programme_lines", "programme_areas"):
            conn.execute(text(f"DELETE FROM {layer} WHERE programme_kode LIKE :l"), {"l": like})
        conn.execute(text("DELETE FROM programmes WHERE kode LIKE :l"), {"l": like})
        conn.execute(text(
            "DELETE FROM feature_history WHERE layer IN ('programmes', 'programme_indicators', 'programme_progress', "
            "'programme_points', 'programme_lines', 'programme_areas') AND coalesce(after, before) ->> "
            "(CASE WHEN layer = 'programmes' THEN 'kode' ELSE 'programme_kode' END) LIKE :l"), {"l": like})


@pytest.fixture(scope="module")
def programmes(engine):
    insert_programmes(engine)
    yield
    remove_programmes(engine)


ANALYST = Principal("uji analyst", "analyst")


def load(engine, who=ANALYST, as_of=AS_OF, **kwargs):
    with engine.connect() as conn:
        data = load_programme_data(conn, [CITY], who, YEAR, **kwargs)
    data.programmes = data.programmes[data.programmes.kode.str.startswith(f"{YEAR}-UJI.")].reset_index(drop=True)
    return data, status_report(data, as_of)


def by_name(statuses) -> dict:
    rows = statuses.programmes.set_index("kode")
    return {name: rows.loc[kode_of(name)] for name in PROGRAMMES if kode_of(name) in rows.index}


# --- statuses on fixed dates -----------------------------------------------------------------------------------

def test_statuses_and_days_late_on_a_fixed_date(engine, programmes):
    _, statuses = load(engine)
    rows = by_name(statuses)
    for name, (status, days) in EXPECTED.items():
        assert (rows[name]["status"], rows[name]["days_late"]) == (status, days), name
    assert (AS_OF - date(2031, 3, 31)).days == 92  # the late programme's first-quarter target ended then
    assert statuses.as_of == AS_OF


def test_days_late_grow_with_the_date_and_updates_after_it_do_not_count(engine, programmes):
    _, later = load(engine, as_of=date(2031, 8, 15))
    rows = by_name(later)
    assert rows["late"]["days_late"] == (date(2031, 8, 15) - date(2031, 3, 31)).days
    assert rows["ontrack"]["status"] == "selesai"  # its update of 1 August says so
    _, before_start = load(engine, as_of=date(2030, 12, 1))
    rows = by_name(before_start)
    assert rows["late"]["status"] == "belum_mulai" and rows["notstarted"]["status"] == "belum_mulai"


def test_at_risk_compares_the_planned_and_the_realised_share(engine, programmes):
    _, statuses = load(engine)
    rows = by_name(statuses)
    planned = (AS_OF - date(2031, 1, 1)).days / (date(2031, 12, 31) - date(2031, 1, 1)).days
    assert rows["risk"]["planned_share"] == pytest.approx(planned)
    assert rows["risk"]["realised_share"] == pytest.approx(10 / 100) and planned - 0.10 > rules.RISK_MARGIN
    assert rows["ontrack"]["realised_share"] == pytest.approx(40 / 100) and planned - 0.40 < rules.RISK_MARGIN


def test_spending_is_the_latest_update_giving_one(engine, programmes):
    _, statuses = load(engine)
    rows = by_name(statuses)
    assert rows["ontrack"]["spent_rp"] == 300 and rows["ontrack"]["spending_share"] == pytest.approx(0.3)
    assert rows["done"]["spent_rp"] == 450_000  # the update, not the programme's own figure
    assert rows["late"]["spent_rp"] == 200_000  # no update: the programme's own figure


# --- computed indicators ---------------------------------------------------------------------------------------

def acquired_hectares(engine, as_of: date) -> float:
    with engine.connect() as conn:
        parcels = gpd.read_postgis(text(
            "SELECT geom, status, status_date FROM project_parcels WHERE project_slug = :s"), conn,
            geom_col="geom", params={"s": ESTATE})
    taken = parcels[parcels.status.isin(["compensated", "certified"]) & (pd.to_datetime(parcels.status_date)
                                                                           <= pd.Timestamp(as_of))]
    return float(taken.to_crs(32647).area.sum() / 10_000)


def test_estate_hectares_come_from_its_parcels(engine, programmes):
    _, statuses = load(engine)
    row = statuses.indicators[statuses.indicators.programme_kode == kode_of("estate")].iloc[0]
    assert row["realised"] == pytest.approx(acquired_hectares(engine, AS_OF), rel=1e-3)
    with engine.connect() as conn:
        dates = sorted(conn.execute(text("SELECT status_date FROM project_parcels WHERE project_slug = :s AND "
                                         "status IN ('compensated', 'certified')"), {"s": ESTATE}).scalars())
    middle = dates[len(dates) // 2]
    _, earlier = load(engine, as_of=middle)
    then = earlier.indicators[earlier.indicators.programme_kode == kode_of("estate")].iloc[0]["realised"]
    assert then == pytest.approx(acquired_hectares(engine, middle), rel=1e-3)
    assert 0 < then < row["realised"]  # parcels acquired after the date do not count yet


def test_only_active_business_centres_count(engine, programmes):
    _, statuses = load(engine)
    rows = statuses.indicators[statuses.indicators.programme_kode == kode_of("centres")]
    with engine.connect() as conn:
        centres = pd.read_sql(text("SELECT kelurahan_kode, status FROM business_centers WHERE kabkota = :c"), conn,
                              params={"c": CITY})
    active = centres[centres.status == "active"]
    in_kecamatan = active[active.kelurahan_kode.str.startswith("12.75.03.")]
    assert len(active) < len(centres)  # planned and inactive centres exist: the count can be wrong
    assert rows[rows.wilayah_kode == "12.75.03"].iloc[0]["realised"] == len(in_kecamatan)
    assert rows[rows.wilayah_kode.isna()].iloc[0]["realised"] == len(active)


# --- scorecards ------------------------------------------------------------------------------------------------

def independent_scorecards(engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per OPD and per kecamatan, from the rows as stored and the statuses expected above."""
    with engine.connect() as conn:
        progs = pd.read_sql(text("SELECT kode, kodeskpd, pagu_rp, realisasi_rp FROM programmes WHERE kode LIKE :l"),
                            conn, params={"l": f"{YEAR}-UJI.%"})
        inds = pd.read_sql(text("SELECT id, programme_kode, target, realisasi, batas_periode, wilayah_kode, sumber "
                                "FROM programme_indicators WHERE programme_kode LIKE :l"), conn,
                           params={"l": f"{YEAR}-UJI.%"})
        updates = pd.read_sql(text("SELECT * FROM programme_progress WHERE programme_kode LIKE :l AND tanggal <= :d "
                                   "ORDER BY tanggal, id"), conn, params={"l": f"{YEAR}-UJI.%", "d": AS_OF})
        located = pd.read_sql(text(" UNION ".join(f"SELECT programme_kode, kecamatan_kode FROM {t} WHERE "
                                                  "programme_kode LIKE :l" for t in GEOMETRY)), conn,
                              params={"l": f"{YEAR}-UJI.%"})
    computed = {kode_of("estate"): acquired_hectares(engine, AS_OF)}
    _, statuses = load(engine)
    states = []
    for row in inds.itertuples():
        if row.sumber == "laporan":
            mine = updates[(updates.indicator_id == row.id) & updates.realisasi.notna()]
            r = mine.realisasi.iloc[-1] if len(mine) else (row.realisasi if pd.notna(row.realisasi) else 0)
        elif row.sumber == "project_parcels":
            r = computed[row.programme_kode]
        else:  # the code tested above: counted by statuses
            r = statuses.indicators.set_index("id").loc[row.id, "realised"]
        late = r < row.target and AS_OF > row.batas_periode
        states.append("met" if r >= row.target else "late" if late else "behind")
    inds["state"] = states
    spent = updates[updates.realisasi_rp.notna()].groupby("programme_kode").realisasi_rp.last()
    progs["spent"] = progs.kode.map(spent).fillna(progs.realisasi_rp)
    progs["status"] = progs.kode.map({kode_of(n): s for n, (s, _) in EXPECTED.items()}).fillna(
        progs.kode.map(statuses.programmes.set_index("kode").status))
    inds["kecamatan"] = inds.wilayah_kode.str.slice(0, 8)
    members = pd.concat([located.rename(columns={"kecamatan_kode": "kecamatan"}),
                         inds[["programme_kode", "kecamatan"]].dropna()]).drop_duplicates()

    def table(frame: pd.DataFrame, rows: pd.DataFrame, key: str) -> pd.DataFrame:
        counts = frame.groupby(key).agg(programmes=("kode", "size"), pagu=("pagu_rp", "sum"), spent=("spent", "sum"))
        for status in rules.STATUS_ORDER:
            counts[status] = frame[frame.status == status].groupby(key).size()
        for state in rules.INDICATOR_STATES:
            counts[state] = rows[rows.state == state].groupby(key).size()
        return counts.fillna(0)

    opd = table(progs, inds.merge(progs[["kode", "kodeskpd"]], left_on="programme_kode", right_on="kode"), "kodeskpd")
    in_kec = members.merge(progs, left_on="programme_kode", right_on="kode")
    rows = inds.drop(columns="kecamatan").merge(members, on="programme_kode")
    rows = rows[rows.wilayah_kode.isna() | (rows.wilayah_kode.str.slice(0, 8) == rows.kecamatan)]
    kecamatan = table(in_kec, rows, "kecamatan")
    nowhere = progs[~progs.kode.isin(members.programme_kode)].assign(kecamatan="city-wide")
    city_wide = table(nowhere, inds[inds.programme_kode.isin(nowhere.kode)].assign(kecamatan="city-wide"),
                      "kecamatan")
    return opd, pd.concat([kecamatan, city_wide])


def as_table(cards: list[dict], key) -> pd.DataFrame:
    return pd.DataFrame([{"key": key(c), "programmes": c["programmes"], "pagu": c["pagu_rp"],
                          "spent": c["realisasi_rp"], **c["by_status"], **c["indicators"]} for c in cards]
                        ).set_index("key").sort_index()


def test_scorecards_equal_a_pandas_computation(engine, programmes):
    data, statuses = load(engine)
    cards = rules.scorecards(statuses, data.locations, data.kecamatan)
    opd, kecamatan = independent_scorecards(engine)
    columns = ["programmes", "pagu", "spent", *rules.STATUS_ORDER, *rules.INDICATOR_STATES]
    got = as_table(cards["opd"], lambda c: c["kodeskpd"])[columns].astype(float)
    pd.testing.assert_frame_equal(got, opd[columns].astype(float).sort_index(), check_names=False)
    got = as_table(cards["kecamatan"], lambda c: c["kecamatan_kode"] or "city-wide")[columns].astype(float)
    pd.testing.assert_frame_equal(got, kecamatan[columns].astype(float).sort_index(), check_names=False)
    assert set(kecamatan.index) >= {"12.75.01", "12.75.02", "12.75.03", "12.75.04", "city-wide"}
    assert cards["kecamatan"][-1]["nama"] == "Seluruh kota" and cards["kecamatan"][-1]["city_wide"]
    assert cards["overall"]["programmes"] == len(PROGRAMMES)
    for card in cards["opd"]:
        assert card["nama_skpd"] == OPDS[card["kodeskpd"]]
        assert card["spending_share"] == pytest.approx(card["realisasi_rp"] / card["pagu_rp"])


# --- who sees what ---------------------------------------------------------------------------------------------

def test_anonymous_sees_public_programmes_without_notes(engine, programmes):
    data, statuses = load(engine, who=ANONYMOUS)
    shown = set(statuses.programmes.kode)
    assert shown == {kode_of(n) for n, p in PROGRAMMES.items() if p[1]}
    assert not data.programmes.private.any() and data.programmes.catatan.isna().all()
    assert data.progress.catatan.isna().all() and data.progress.oleh.isna().all()
    assert set(data.locations.programme_kode) <= shown
    assert SECRET not in repr(data)


def test_a_kecamatan_key_sees_its_kecamatan(engine, programmes):
    camat = Principal("camat uji", "analyst", kecamatan="12.75.01")
    data, statuses = load(engine, who=camat)
    shown = set(statuses.programmes.kode)
    assert kode_of("notstarted") in shown and kode_of("troubled") not in shown  # private: in 12.75.01 / 12.75.02
    private = dict(zip(data.programmes.kode, data.programmes.private, strict=True))
    assert private[kode_of("notstarted")] and private[kode_of("late")] and not private[kode_of("risk")]
    assert data.programmes.set_index("kode").loc[kode_of("notstarted"), "catatan"] == SECRET
    analyst_data, _ = load(engine)
    assert SECRET in set(analyst_data.progress.catatan)  # an unlimited analyst reads the notes


def test_no_programmes_and_a_bare_programme_are_answered():
    """Pure frames, no database: nothing to show gives empty scorecards; a programme with no dates, indicators,
    budget or update is on track with nothing counted (no division by a missing budget)."""
    from gis.data.programme_frames import INDICATOR_COLUMNS, PROGRAMME_COLUMNS, PROGRESS_COLUMNS

    columns = [*PROGRAMME_COLUMNS, "catatan", "private"]
    none = pd.DataFrame(columns=columns)
    indicators, progress = pd.DataFrame(columns=INDICATOR_COLUMNS), pd.DataFrame(columns=[*PROGRESS_COLUMNS,
                                                                                            "catatan", "oleh"])
    parcels = pd.DataFrame(columns=["project_slug", "status", "status_date", "area_ha"])
    centres = pd.DataFrame(columns=["kabkota", "kelurahan_kode", "status"])
    locations = gpd.GeoDataFrame(columns=["programme_kode", "kecamatan_kode"], geometry=[])
    kecamatan = pd.DataFrame(columns=["kode", "nama", "kabkota"])
    empty = rules.programme_status(none, indicators, progress, parcels, centres, AS_OF)
    cards = rules.scorecards(empty, locations, kecamatan)
    assert cards["opd"] == [] and cards["kecamatan"] == [] and cards["overall"]["programmes"] == 0
    bare = dict.fromkeys(columns)
    bare.update(kode="x", kabkota=CITY, tahun=YEAR, kodeskpd="A", nama_skpd="Dinas A", publik=True, private=False)
    one = rules.programme_status(pd.DataFrame([bare]), indicators, progress, parcels, centres, AS_OF)
    row = rules.programme_rows(one)[0]
    assert (row["status"], row["days_late"], row["spending_share"], row["planned_share"]) == ("sesuai", 0, None, None)
    card = rules.scorecards(one, locations, kecamatan)["kecamatan"][0]
    assert card["city_wide"] and card["programmes"] == 1 and card["spending_share"] is None


def test_the_estate_programme_is_late_by_its_projects_overdue_milestones(engine, programmes):
    """The estate's milestones keep working: one planned before the date and not reached by then makes the
    programme late by the days since it was due, counted here from the milestone rows themselves."""
    with engine.connect() as conn:
        milestones = pd.read_sql(text("SELECT nama, planned_date, actual_date FROM project_milestones "
                                      "WHERE project_slug = :s"), conn, params={"s": ESTATE})
    due = milestones[pd.to_datetime(milestones.planned_date) < pd.Timestamp(AS_OF)]
    overdue = due[due.actual_date.isna() | (pd.to_datetime(due.actual_date) > pd.Timestamp(AS_OF))]
    assert len(overdue) > 0  # the sample estate has milestones still open
    days = max((AS_OF - d).days for d in pd.to_datetime(overdue.planned_date).dt.date)
    data, statuses = load(engine)
    estate = by_name(statuses)["estate"]
    assert (estate["status"], estate["milestones_late"], estate["days_late"]) == ("terlambat", len(overdue), days)
    detail = rules.programme_detail(statuses, data.progress, kode_of("estate"), milestones=data.milestones)
    listed = {m["nama"]: m["days_late"] for m in detail["milestones"] if m["state"] == "overdue"}
    assert listed == {m.nama: (AS_OF - m.planned_date).days for m in overdue.itertuples()}
    # before any milestone falls due, none is late
    first = min(pd.to_datetime(milestones.planned_date).dt.date)
    _, early = load(engine, as_of=first)
    assert by_name(early)["estate"]["milestones_late"] == 0
