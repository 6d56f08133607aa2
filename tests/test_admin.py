"""API keys (CLI and admin API) and layers added at runtime, which appear without a restart."""

import os
import subprocess
import sys
import time

import geopandas as gpd
from shapely.geometry import Point

from tests.cli_inprocess import run_cli
from tests.conftest import problem_of


def _cli(settings, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    return subprocess.run([sys.executable, "-m", "gis", *args], capture_output=True, text=True, env=env, timeout=120)


def cli_here(settings, *args) -> subprocess.CompletedProcess:
    """The same command in this process, for what it prints and how it exits (keys create and revoke and layers
    add run the real entrypoint)."""
    return run_cli(*args, env={"DATABASE_URL": settings.database_url})


def _wait_for(check, seconds=6.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_keys_cli_create_list_revoke(http, settings):
    created = _cli(settings, "keys", "create", "--role", "planner", "--name", "Dinas PUPR")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("pk_")
    listing = cli_here(settings, "keys", "list").stdout
    assert "Dinas PUPR" in listing and key not in listing  # only the prefix is ever shown
    key_id = next(line.split()[0] for line in listing.splitlines() if "Dinas PUPR" in line)
    assert http.get("/collections/project_parcels/items", headers={"X-API-Key": key}).status_code == 200
    assert _cli(settings, "keys", "revoke", key_id).returncode == 0
    assert _wait_for(lambda: http.get("/collections", headers={"X-API-Key": key}).status_code == 401)
    bad = cli_here(settings, "keys", "create", "--role", "superuser", "--name", "x")
    assert bad.returncode == 1 and "role must be one of" in bad.stderr


def test_admin_api_manages_keys_only_for_admins(http, keys):
    assert problem_of(http.get("/admin/keys", headers={"X-API-Key": keys["planner"]}))["status"] == 403
    admin = {"X-API-Key": keys["admin"]}
    made = http.post("/admin/keys", json={"name": "Bappeda", "role": "analyst"}, headers=admin).json()
    assert http.get("/collections", headers={"X-API-Key": made["key"]}).status_code == 200
    listed = http.get("/admin/keys", headers=admin).json()["keys"]
    assert any(k["name"] == "Bappeda" for k in listed) and made["key"] not in str(listed)
    assert http.delete(f"/admin/keys/{made['id']}", headers=admin).status_code == 204
    assert problem_of(http.get("/collections", headers={"X-API-Key": made["key"]}))["status"] == 401


def test_a_layer_added_by_the_admin_api_appears_without_restart(http, keys):
    declaration = {
        "id": "pasar_tradisional", "title": {"id": "Pasar tradisional", "en": "Traditional markets"},
        "geometry_type": "Point", "source": "uji", "illustrative": True,
        "fields": [{"name": "nama", "type": "text", "title": {"id": "Nama", "en": "Name"}},
                   {"name": "pengelola_hp", "type": "text", "title": {"id": "HP", "en": "Phone"}, "public": False}],
    }
    r = http.post("/admin/layers", json=declaration, headers={"X-API-Key": keys["admin"]})
    assert r.status_code == 201, r.text
    assert "pasar_tradisional" in {c["id"] for c in http.get("/collections").json()["collections"]}
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [98.49, 3.60]},
               "properties": {"nama": "Pasar Tavip", "pengelola_hp": "0811111111"}}
    assert http.post("/collections/pasar_tradisional/items", json=feature,
                     headers={"X-API-Key": keys["planner"]}).status_code == 201
    anon = http.get("/collections/pasar_tradisional/items").text
    assert "Pasar Tavip" in anon and "0811111111" not in anon
    again = http.post("/admin/layers", json=declaration, headers={"X-API-Key": keys["admin"]})
    assert problem_of(again)["status"] == 409
    hostile = {**declaration, "id": "x; DROP TABLE kelurahan"}
    assert problem_of(http.post("/admin/layers", json=hostile, headers={"X-API-Key": keys["admin"]}))["status"] == 400


def test_a_layer_added_by_the_cli_appears_without_restart(http, settings, tmp_path):
    path = tmp_path / "menara.geojson"
    gpd.GeoDataFrame({"nama": ["Menara A", "Menara B"], "tinggi_m": [42.0, 30.5]},
                     geometry=[Point(98.48, 3.61), Point(98.50, 3.62)], crs=4326).to_file(path)
    result = _cli(settings, "layers", "add", str(path), "--id", "menara_telekomunikasi",
                  "--title", "Menara telekomunikasi", "--illustrative")
    assert result.returncode == 0, result.stderr
    assert _wait_for(lambda: http.get("/collections/menara_telekomunikasi").status_code == 200)
    body = http.get("/collections/menara_telekomunikasi/items").json()
    assert sorted(f["properties"]["nama"] for f in body["features"]) == ["Menara A", "Menara B"]
    assert {f["properties"]["tinggi_m"] for f in body["features"]} == {42.0, 30.5}
    info = _cli(settings, "info")
    assert info.returncode == 0, info.stderr
    assert next(line for line in info.stdout.splitlines() if "menara_telekomunikasi" in line).split()[1] == "2"


def test_keys_cli_creates_and_lists_keys_limited_to_cities_and_layers(http, settings):
    created = cli_here(settings, "keys", "create", "--role", "planner", "--name", "Dinas PUPR Binjai",
                        "--cities", "12.75", "--layers", "zoning,parks")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    line = next(x for x in cli_here(settings, "keys", "list").stdout.splitlines() if "Dinas PUPR Binjai" in x)
    assert "cities 12.75" in line and "layers zoning,parks" in line
    unlimited = next(x for x in cli_here(settings, "keys", "list").stdout.splitlines() if "Uji planner" in x)
    assert "cities all, layers all" in unlimited
    refused = http.patch("/collections/roads/items/1", json={"properties": {}},
                         headers={"X-API-Key": key, "If-Match": "*"})
    assert problem_of(refused)["status"] == 403 and "zoning, parks" in problem_of(refused)["detail"]
    bad_city = cli_here(settings, "keys", "create", "--role", "planner", "--name", "x", "--cities", "1275")
    assert bad_city.returncode == 1 and "'1275'" in bad_city.stderr and "12.75" in bad_city.stderr
    bad_layer = cli_here(settings, "keys", "create", "--role", "planner", "--name", "x", "--layers", "zonasi")
    assert bad_layer.returncode == 1 and "'zonasi'" in bad_layer.stderr and "zoning" in bad_layer.stderr


def test_admin_api_creates_keys_limited_to_cities_and_layers(http, keys):
    admin = {"X-API-Key": keys["admin"]}
    made = http.post("/admin/keys", json={"name": "Analis Deli Serdang", "role": "analyst", "cities": ["12.07"],
                                          "layers": ["project_parcels", "zoning"]}, headers=admin)
    assert made.status_code == 201, made.text
    assert (made.json()["cities"], made.json()["layers"]) == (["12.07"], ["project_parcels", "zoning"])
    listed = next(k for k in http.get("/admin/keys", headers=admin).json()["keys"] if k["id"] == made.json()["id"])
    assert (listed["cities"], listed["layers"]) == (["12.07"], ["project_parcels", "zoning"])
    plain = http.post("/admin/keys", json={"name": "Bappeda", "role": "analyst"}, headers=admin).json()
    assert (plain["cities"], plain["layers"]) == (None, None)
    before = len(http.get("/admin/keys", headers=admin).json()["keys"])
    for body, words in (({"cities": ["Binjai"]}, ["'Binjai'", "12.75"]),
                        ({"layers": ["zoning", "no_such_layer"]}, ["'no_such_layer'", "project_parcels"]),
                        ({"cities": []}, ["at least one"]),
                        ({"layers": "zoning"}, ["list"])):
        problem = problem_of(http.post("/admin/keys", json={"name": "x", "role": "planner", **body}, headers=admin))
        assert problem["status"] == 400 and all(w in problem["detail"] for w in words), problem
    assert len(http.get("/admin/keys", headers=admin).json()["keys"]) == before  # nothing written on refusal
