"""The API foundation over real HTTP: health, catalog, problem+json errors."""

from sqlalchemy import text

from layers import CATALOG


def test_healthz_reports_database_and_postgis(http, engine):
    r = http.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] is True
    assert body["postgis"].startswith("3.")
    with engine.connect() as conn:  # layers added at runtime count too
        registered = conn.execute(text("SELECT count(*) FROM layer_registry")).scalar()
    assert body["layers"] == len(CATALOG) + registered


def test_layers_lists_the_catalog_with_counts_and_no_private_fields(http, engine):
    r = http.get("/layers")
    assert r.status_code == 200
    body = r.json()
    assert body["city"]["kode"] == "12.75"
    layers = {layer["id"]: layer for layer in body["layers"]}
    fixed_ids = {"kota", "kecamatan", "kelurahan", "zoning", "industrial_zones", "parks", "business_centers",
                 "projects", "project_parcels", "project_milestones", "roads", "rivers"}
    assert fixed_ids <= set(layers)
    assert layers["kelurahan"]["feature_count"] == 37
    assert layers["kelurahan"]["illustrative"] is False and layers["parks"]["illustrative"] is True
    west, south, east, north = layers["kota"]["bbox"]
    assert 98.4 < west < east < 98.6 and 3.5 < south < north < 3.7
    field_names = {f["name"] for layer in layers.values() for f in layer["fields"]}
    for private in ("pemilik", "nik", "kompensasi_rp", "kontak_nama", "kontak_telepon"):
        assert private not in field_names
    assert "pemilik" not in r.text and "kontak" not in r.text


def test_unknown_path_is_problem_json(http):
    r = http.get("/no-such-thing")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 404 and r.json()["instance"] == "/no-such-thing"
