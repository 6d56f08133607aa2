"""The project page's figures from project-progress: hectares per acquisition status, each milestone's days late
and the report date, as on that date, checked against the parcels and milestones tables."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import pytest
from sqlalchemy import text

from layers.projects import PARCEL_STATUSES

SLUG = "kawasan-industri-binjai"
UTM = 32647


def run(http, headers=None, **inputs) -> dict:
    r = http.post("/processes/project-progress/execution", json={"inputs": inputs}, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


def hectares(engine, statuses: dict[int, str]) -> dict[str, float]:
    """Hectares per status of the parcels (id -> status), measured by shapely in UTM 47N."""
    with engine.connect() as conn:
        parcels = gpd.read_postgis(text("SELECT id, geom FROM project_parcels WHERE project_slug = :s"), conn,
                                   geom_col="geom", params={"s": SLUG})
    parcels["status"] = parcels.id.map(statuses)
    parcels["ha"] = parcels.to_crs(UTM).area / 1e4
    return {s: float(parcels[parcels.status == s].ha.sum()) for s in PARCEL_STATUSES}


def statuses_on(engine, day: date) -> dict[int, str]:
    """Each parcel's last status recorded in its history on or before `day`."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT DISTINCT ON (feature_id) feature_id, after->>'status' FROM feature_history "
            "WHERE layer = 'project_parcels' AND after->>'project_slug' = :s AND action <> 'delete' "
            "AND (after->>'status_date')::date <= :d ORDER BY feature_id, (after->>'status_date')::date DESC, id DESC"),
            {"s": SLUG, "d": day}).all()
    return dict(rows)


def test_hectares_per_status_today_are_the_parcels_measured(http, engine):
    with engine.connect() as conn:
        today = dict(conn.execute(text("SELECT id, status FROM project_parcels WHERE project_slug = :s"),
                                  {"s": SLUG}).all())
    expected = hectares(engine, today)
    result = run(http)
    assert result["ha_by_status"] == pytest.approx(expected, abs=1e-3)
    assert {s["status"]: s["area_ha"] for s in result["by_status"]} == pytest.approx(expected, abs=1e-3)
    assert result["acquired_ha"] == pytest.approx(expected["compensated"] + expected["certified"], abs=1e-3)
    agreed = next(s for s in result["by_status"] if s["status"] == "agreed")
    assert agreed["label"] == {"id": "Sepakat", "en": "Agreed"}
    assert result["as_of"] == date.today().isoformat()


def test_hectares_per_status_on_a_past_day_follow_the_history(http, engine):
    day = date(2023, 6, 30)
    expected = hectares(engine, statuses_on(engine, day))
    result = run(http, as_of=day.isoformat())
    assert result["as_of"] == "2023-06-30"
    assert result["ha_by_status"] == pytest.approx(expected, abs=1e-3)
    assert result["acquired_ha"] == pytest.approx(expected["compensated"] + expected["certified"], abs=1e-3)
    assert result["parcels_ha"] == pytest.approx(sum(expected.values()), abs=1e-3)
    assert result["acquired_ha"] < run(http)["acquired_ha"]  # land acquired since then does not count yet
    assert result["acquired_ha"] == pytest.approx(result["timeline"][-1]["acquired_ha"], abs=1e-3)


@pytest.mark.parametrize("day", [date(2022, 12, 31), date(2025, 6, 30), date(2027, 12, 31)])
def test_each_milestone_says_how_many_days_late_it_is_on_the_day(http, engine, day):
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT nama, planned_date, actual_date FROM project_milestones "
                                 "WHERE project_slug = :s"), {"s": SLUG}).all()
    expected = {}
    for nama, planned, actual in rows:
        done = actual if actual is not None and actual <= day else None
        end = done or day
        expected[nama] = (max((end - planned).days, 0), str(done) if done else None)
    result = run(http, as_of=day.isoformat())
    got = {m["nama"]: (m["days_late"], m["actual_date"]) for m in result["milestones"]}
    assert got == expected
    assert result["milestones_late"] == sum(1 for late, _ in expected.values() if late > 0)
    assert result["days_late_max"] == max(late for late, _ in expected.values())


def test_an_analyst_key_adds_compensation_per_status(http, engine, keys):
    with engine.connect() as conn:
        paid = dict(conn.execute(text("SELECT status, sum(kompensasi_rp) FROM project_parcels "
                                      "WHERE project_slug = :s GROUP BY status"), {"s": SLUG}).all())
    public = run(http)
    assert "compensation" not in public and public["as_of"]
    analyst = run(http, {"X-API-Key": keys["analyst"]})
    assert analyst["as_of"] == public["as_of"]
    assert analyst["compensation"]["by_status_rp"] == {s: int(paid.get(s) or 0) for s in PARCEL_STATUSES}
    assert analyst["ha_by_status"] == public["ha_by_status"]
