"""Search as you type (GET /search): prefix and typo-tolerant matching over places, zones, programmes and named
features, ranked exact > prefix > fuzzy, each answer with where to zoom; what a caller finds is what it may read."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box
from sqlalchemy import text

from gis.data.auth import create_key
from tests.conftest import problem_of

TIERS = {"exact": 3, "prefix": 2, "fuzzy": 1}


def find(http, q, headers=None, **params):
    r = http.get("/search", params={"q": q, **params}, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()["results"]


def bounds(engine, sql: str, **params) -> tuple[float, ...]:
    frame = gpd.read_postgis(text(sql), engine.connect(), geom_col="geom", params=params)
    return tuple(frame.geometry.union_all().bounds)


@pytest.fixture(scope="module")
def city_keys(engine):
    """Analyst keys limited to Binjai (12.75) and to a city not held here (12.71, Medan)."""
    with engine.begin() as conn:
        return {"binjai": create_key(conn, "Analis Binjai", "analyst", cities=["12.75"])[1],
                "medan": create_key(conn, "Analis Medan", "analyst", cities=["12.71"])[1]}


@pytest.mark.parametrize(("typed", "kind", "name"), [
    ("Tungurono", "kelurahan", "Tunggurono"),  # a letter missing
    ("tunggorono", "kelurahan", "Tunggurono"),  # a letter wrong
    ("Pahlawn", "kelurahan", "Pahlawan"),
    ("Binjai Timr", "kecamatan", "Binjai Timur"),
])
def test_a_typo_still_finds_the_place_first(http, engine, typed, kind, name):
    first = find(http, typed)[0]
    assert (first["kind"], first["name"], first["match"]) == (kind, name, "fuzzy")
    assert first["bbox"] == pytest.approx(bounds(engine, f"SELECT geom FROM {kind} WHERE nama = :n", n=name),
                                          abs=1e-6)
    assert box(*first["bbox"]).buffer(1e-9).contains(Point(first["point"]))
    table = first["collection"]
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT nama FROM {table} WHERE id = :i"), {"i": first["id"]}).scalar() == name


def test_an_exact_name_ranks_first_with_the_top_score(http):
    results = find(http, "Binjai Timur")
    assert (results[0]["kind"], results[0]["name"], results[0]["match"]) == ("kecamatan", "Binjai Timur", "exact")
    assert results[0]["score"] == 3 and all(r["score"] < 3 for r in results[1:])


@pytest.mark.parametrize(("typed", "name"), [("tungg", "Tunggurono"), ("binjai tim", "Binjai Timur"),
                                             ("TUNGGURONO", "Tunggurono"), ("  binjai   timur ", "Binjai Timur")])
def test_a_few_letters_find_the_place_as_you_type(http, typed, name):
    first = find(http, typed)[0]
    assert first["name"] == name and first["match"] in ("prefix", "exact")


def test_answers_are_ranked_exact_then_prefix_then_fuzzy(http, engine):
    results = find(http, "Binjai", limit=50)
    tiers = [TIERS[r["match"]] for r in results]
    assert tiers == sorted(tiers, reverse=True) and {"exact", "prefix", "fuzzy"} <= {r["match"] for r in results}
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    with engine.connect() as conn:
        exact = {r[0] for r in conn.execute(text(
            "SELECT 'kelurahan' FROM kelurahan WHERE lower(nama) = 'binjai' UNION ALL "
            "SELECT 'kecamatan' FROM kecamatan WHERE lower(nama) = 'binjai'"))}
    assert {r["kind"] for r in results if r["match"] == "exact"} == exact == {"kelurahan"}
    # every prefix answer starts with the word, or has a word that does
    for r in results:
        if r["match"] == "prefix":
            assert any(w.lower().startswith("binjai") for w in r["name"].split()), r


def test_zones_by_sub_zone_name_and_by_block_code(http, engine):
    with engine.connect() as conn:
        river = [r[0] for r in conn.execute(text(
            "SELECT id FROM zoning WHERE lower(namszn) = 'sempadan sungai' ORDER BY id"))]
        block = {r[0] for r in conn.execute(text("SELECT id FROM zoning WHERE kodblk = 'II.A.1'"))}
        sub_blocks = {r[0] for r in conn.execute(text("SELECT id FROM zoning WHERE kodsbl LIKE 'II.A.1%'"))}
    zone = find(http, "sempadan sungai")[0]
    assert (zone["kind"], zone["collection"], zone["ids"]) == ("subzone", "zoning", river)
    assert f"{len(river)} sub-blok" in zone["label"]["id"] and f"{len(river)} sub-blocks" in zone["label"]["en"]
    assert zone["bbox"] == pytest.approx(
        bounds(engine, "SELECT geom FROM zoning WHERE lower(namszn) = 'sempadan sungai'"), abs=1e-6)
    coded = find(http, "II.A.1", limit=50)
    assert {r["id"] for r in coded if r["match"] == "exact"} == block
    assert {r["id"] for r in coded if r["kind"] == "subblock"} == sub_blocks  # II.A.1.a, II.A.10.a...
    assert all(r["kind"] == "subblock" for r in coded if r["match"] != "fuzzy")
    assert "III.A.1.a" not in {r["name"] for r in coded}


def test_named_features_of_public_layers_and_their_context(http, engine):
    with engine.connect() as conn:
        park = conn.execute(text("SELECT p.id, p.nama, k.nama AS kelurahan FROM parks p JOIN kelurahan k "
                                 "ON k.kode = p.kelurahan_kode WHERE p.nama LIKE 'Taman Lansia%' "
                                 "ORDER BY p.id LIMIT 1")).one()
        centre = conn.execute(text("SELECT id, nama FROM business_centers ORDER BY id LIMIT 1")).one()
    first = find(http, park.nama)[0]
    assert (first["collection"], first["id"], first["match"]) == ("parks", park.id, "exact")
    assert first["label"] == {"id": f"{park.nama} (Ruang terbuka hijau (RTH), {park.kelurahan})",
                              "en": f"{park.nama} (Green open space (parks), {park.kelurahan})"}
    assert find(http, park.nama, lang="en")[0]["text"] == first["label"]["en"]
    centre_found = find(http, centre.nama.lower()[:-1])[0]  # the last letter not typed yet
    assert (centre_found["collection"], centre_found["id"]) == ("business_centers", centre.id)
    assert centre_found["bbox"][:2] == centre_found["bbox"][2:] == pytest.approx(centre_found["point"])


def test_programmes_the_public_sees_and_the_ones_only_a_key_sees(http, engine, keys, city_keys):
    with engine.connect() as conn:
        public = conn.execute(text("SELECT id, nama_subkegiatan FROM programmes WHERE publik ORDER BY id "
                                   "LIMIT 1")).one()
        hidden = conn.execute(text("SELECT id, nama_subkegiatan FROM programmes WHERE NOT publik ORDER BY id "
                                   "LIMIT 1")).one()
    found = find(http, public.nama_subkegiatan)[0]
    assert (found["kind"], found["collection"], found["id"]) == ("programme", "programmes", public.id)
    assert found["bbox"] and found["point"]

    def ids(headers=None):
        return {(r["collection"], r["id"]) for r in find(http, hidden.nama_subkegiatan, headers, limit=50)}

    assert ("programmes", hidden.id) not in ids()
    assert ("programmes", hidden.id) in ids({"X-API-Key": keys["analyst"]})
    assert ("programmes", hidden.id) in ids({"X-API-Key": city_keys["binjai"]})
    assert ("programmes", hidden.id) not in ids({"X-API-Key": city_keys["medan"]})


def test_private_layers_and_fields_stay_private(http, engine, keys, city_keys):
    with engine.connect() as conn:
        stop = conn.execute(text("SELECT id, nama FROM programme_points WHERE nama LIKE 'Halte%' ORDER BY id "
                                 "LIMIT 1")).one()
        contact = conn.execute(text("SELECT kontak_nama FROM business_centers WHERE kontak_nama IS NOT NULL "
                                    "LIMIT 1")).scalar()

    def hits(q, headers=None):
        return [r for r in find(http, q, headers, limit=50) if r["collection"] == "programme_points"]

    assert hits(stop.nama) == []  # a private layer: not for the public
    assert hits(stop.nama, {"X-API-Key": city_keys["medan"]}) == []  # nor for a key of another city
    for key in (keys["analyst"], city_keys["binjai"]):
        assert stop.id in {r["id"] for r in hits(stop.nama, {"X-API-Key": key})}
    # A private field (a business centre's contact person) is never searched, whoever asks.
    for headers in ({}, {"X-API-Key": keys["analyst"]}):
        results = find(http, contact, headers, limit=50)
        assert not [r for r in results if r["collection"] == "business_centers" or contact in r["text"]]


def test_the_city_scope_limits_the_answers(http):
    assert find(http, "Tunggurono", city="12.75")[0]["name"] == "Tunggurono"
    r = http.get("/search", params={"q": "Tunggurono", "city": "99.99"})
    assert r.status_code == 400 and "99.99" in problem_of(r)["detail"]


@pytest.mark.parametrize(("params", "named"), [
    ({}, "q"), ({"q": "   "}, "q"), ({"q": "x" * 101}, "q"), ({"q": "binjai", "limit": 0}, "limit"),
    ({"q": "binjai", "limit": 51}, "limit"), ({"q": "binjai", "lang": "fr"}, "lang"),
])
def test_bad_parameters_are_problems_naming_them(http, params, named):
    r = http.get("/search", params=params)
    assert r.status_code == 400
    assert named in problem_of(r)["detail"]


def test_what_looks_like_sql_or_a_pattern_is_only_text(http, engine):
    assert all("%" in r["name"] for r in find(http, "%"))  # a LIKE wildcard matches itself only
    assert all("_" in r["name"] for r in find(http, "_"))
    find(http, "'; DROP TABLE kelurahan; --")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM kelurahan")).scalar() == 37
    assert find(http, "Tunggurono")[0]["name"] == "Tunggurono"
