"""Search and identify read the declarations: a layer added at runtime is searched by its name and address
fields and shows its coded values by their declared labels; every coded field of the built-in layers has a
label for each of its values."""

from __future__ import annotations

import geopandas as gpd
import httpx
import pytest
from shapely.geometry import Point, mapping

from layers import CATALOG
from layers.schema import layer_from_dict

MARKETS, HIDDEN = "pasar_cari", "pasar_cari_internal"
STATUS_LABELS = {"buka": {"id": "Buka setiap hari", "en": "Open daily"},
                 "pekan": {"id": "Pasar pekan", "en": "Weekly market"}}


def declaration(layer_id: str, public: bool) -> dict:
    def field(name, kind, **more):
        return {"name": name, "type": kind, "title": {"id": f"{name} (id)", "en": f"{name} (en)"}, **more}

    return {
        "id": layer_id, "title": {"id": "Pasar rakyat", "en": "Markets"}, "geometry_type": "Point",
        "source": "Dinas Perdagangan (uji)", "illustrative": True, "public": public,
        "fields": [field("nama", "text", required=True), field("alamat", "text"),
                   field("status", "text", choices=list(STATUS_LABELS), labels=STATUS_LABELS),
                   field("pengelola", "text", public=False)],
        "style": {"color": "#aa5500"},
    }


def market(name: str, address: str, status: str, easting: float) -> tuple[dict, Point]:
    where = gpd.GeoSeries([Point(easting, 398050)], crs=32647).to_crs(4326).iloc[0]
    return {"type": "Feature", "geometry": mapping(where),
            "properties": {"nama": name, "alamat": address, "status": status, "pengelola": "Bapak Sutrisno"}}, where


@pytest.fixture(scope="module")
def markets(server, keys):
    with httpx.Client(base_url=server, timeout=30) as client:
        for layer_id, public in ((MARKETS, True), (HIDDEN, False)):
            r = client.post("/admin/layers", json=declaration(layer_id, public), headers={"X-API-Key": keys["admin"]})
            assert r.status_code == 201, r.text
        out = {}
        for layer_id, (feature, where) in ((MARKETS, market("Pasar Tavip", "Jl. Sutomo Ujung", "pekan", 446000)),
                                           (HIDDEN, market("Pasar Kaget Rambung", "Jl. Samanhudi", "buka", 447000))):
            r = client.post(f"/collections/{layer_id}/items", json=feature, headers={"X-API-Key": keys["planner"]})
            assert r.status_code == 201, r.text
            out[layer_id] = (r.json()["id"], where)
    return out


def find(http, q, headers=None):
    r = http.get("/search", params={"q": q, "limit": 50}, headers=headers or {})
    assert r.status_code == 200, r.text
    return [(x["collection"], x["id"]) for x in r.json()["results"]]


def test_a_runtime_layer_is_searched_by_name_and_by_address(http, markets):
    fid = markets[MARKETS][0]
    assert find(http, "Pasar Tavip")[0] == (MARKETS, fid)
    assert find(http, "pasar tavp")[0] == (MARKETS, fid)  # a typo
    assert (MARKETS, fid) in find(http, "Sutomo Ujung")  # its address
    assert (MARKETS, fid) not in find(http, "Sutrisno")  # the manager is a private field: never searched


def test_a_private_runtime_layer_is_found_with_a_key_only(http, markets, keys):
    fid = markets[HIDDEN][0]
    assert (HIDDEN, fid) not in find(http, "Pasar Kaget Rambung")
    assert (HIDDEN, fid) in find(http, "Pasar Kaget Rambung", {"X-API-Key": keys["analyst"]})


@pytest.mark.parametrize("lang", ["id", "en"])
def test_declared_labels_show_coded_values_of_a_runtime_layer(http, markets, keys, lang):
    fid, where = markets[MARKETS]

    def properties(headers):
        r = http.get("/identify", params={"lon": where.x, "lat": where.y, "layers": MARKETS, "lang": lang},
                     headers=headers)
        assert r.status_code == 200, r.text
        found = r.json()["features"]
        assert [f["id"] for f in found] == [fid]
        return {p["name"]: p for p in found[0]["properties"]}

    public = properties({})
    assert public["status"]["text"] == STATUS_LABELS["pekan"][lang] and public["status"]["value"] == "pekan"
    assert public["alamat"]["label"] == f"alamat ({lang})"
    assert "pengelola" not in public
    assert properties({"X-API-Key": keys["analyst"]})["pengelola"]["value"] == "Bapak Sutrisno"


def test_every_coded_value_of_the_built_in_layers_has_labels():
    for layer in CATALOG.values():
        for field in layer.fields:
            if field.choices:
                labels = layer.value_labels(field.name)
                assert set(field.choices) <= set(labels), (layer.id, field.name)
                assert all(label_id and label_en for label_id, label_en in labels.values())


def test_labels_survive_a_declaration_stored_as_json():
    for layer in CATALOG.values():
        assert layer_from_dict(layer.to_dict(include_private=True)).fields == layer.fields


@pytest.mark.parametrize("labels", [["buka", "pekan"], {"buka": "Buka"}, {"buka": {"id": "Buka"}}])
def test_malformed_labels_are_refused_saying_how_to_write_them(http, keys, labels):
    bad = declaration("pasar_label_salah", True)
    bad["fields"][2]["labels"] = labels
    r = http.post("/admin/layers", json=bad, headers={"X-API-Key": keys["admin"]})
    assert r.status_code == 400
    assert "labels must map each value" in r.json()["detail"]
