"""WMS GetFeatureInfo read over HTTP: the feature at a pixel (1.3.0 I/J and 1.1.1 X/Y) in JSON, HTML and plain
text, with private fields and their values only for a key that reads them."""

import json

import pytest
import shapely
from sqlalchemy import text

from layers import CATALOG
from tests.test_wms import TO_UTM, to_utm, wms_get

INFO_FORMATS = ("text/html", "application/json", "text/plain")


# --- GetFeatureInfo -------------------------------------------------------------------------------------------------

def _parcel(engine):
    """A project parcel with its private owner's name, and a point well inside it (UTM)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, pemilik, ST_AsBinary(geom) FROM project_parcels "
                                 "WHERE pemilik IS NOT NULL ORDER BY ST_Area(geom) DESC LIMIT 1")).all()
    pid, owner, wkb = rows[0]
    geom = to_utm(shapely.from_wkb(bytes(wkb)))
    return pid, owner, geom, geom.buffer(-3).representative_point()


def _info_params(point, version="1.3.0", **extra):
    x0, y0 = point.x - 100, point.y - 100
    params = {"SERVICE": "WMS", "VERSION": version, "REQUEST": "GetFeatureInfo", "LAYERS": "project_parcels",
              "QUERY_LAYERS": "project_parcels", "STYLES": "", "BBOX": f"{x0},{y0},{x0 + 200},{y0 + 200}",
              "WIDTH": 101, "HEIGHT": 101, "FORMAT": "image/png", "INFO_FORMAT": "application/json", **extra}
    params["CRS" if version == "1.3.0" else "SRS"] = "EPSG:32647"
    params.update({"I": 50, "J": 50} if version == "1.3.0" else {"X": 50, "Y": 50})  # the centre pixel
    return params


def test_getfeatureinfo_finds_the_feature_at_a_pixel_and_hides_private_fields_from_the_public(server, engine, keys):
    pid, owner, _, point = _parcel(engine)
    public = wms_get(server, **_info_params(point))
    assert public.status_code == 200, public.text
    found = public.json()["features"]
    assert [f["id"] for f in found] == [f"project_parcels.{pid}"]
    assert "pemilik" not in found[0]["properties"] and "nik" not in found[0]["properties"]
    assert owner not in public.text
    keyed = wms_get(server, keys["analyst"], **_info_params(point)).json()["features"]
    assert keyed[0]["properties"]["pemilik"] == owner
    for fmt in ("text/html", "text/plain"):
        anon = wms_get(server, **_info_params(point, INFO_FORMAT=fmt))
        assert anon.status_code == 200 and anon.headers["content-type"].startswith(fmt)
        assert str(pid) in anon.text and owner not in anon.text
        assert owner in wms_get(server, keys["analyst"], **_info_params(point, INFO_FORMAT=fmt)).text
    old = wms_get(server, **_info_params(point, version="1.1.1")).json()["features"]
    assert [f["id"] for f in old] == [f"project_parcels.{pid}"]


def test_getfeatureinfo_away_from_every_feature_finds_nothing(server, engine):
    _, _, geom, _ = _parcel(engine)
    with engine.connect() as conn:
        everything = to_utm(shapely.from_wkb(bytes(conn.execute(text(
            "SELECT ST_AsBinary(ST_Union(geom)) FROM project_parcels")).scalar())))
    far = shapely.Point(geom.centroid.x, geom.centroid.y)
    while everything.distance(far) < 300:
        far = shapely.Point(far.x + 250, far.y)
    found = wms_get(server, **_info_params(far)).json()["features"]
    assert found == []


PRIVATE_FIELDS = {layer.id: [f.name for f in layer.private_fields] for layer in CATALOG.values()
                  if layer.public and layer.private_fields}


@pytest.mark.parametrize("layer", sorted(PRIVATE_FIELDS))
def test_anonymous_feature_information_carries_no_private_field_or_value(server, engine, keys, layer):
    names = PRIVATE_FIELDS[layer]
    texts = [n for n in names if CATALOG[layer].field(n).type == "text"]
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT ST_X(p), ST_Y(p){''.join(f', {n}' for n in texts)} FROM "
                                 f"(SELECT ST_PointOnSurface(geom) p, * FROM {layer} ORDER BY id LIMIT 6) s")).all()
    values = {str(v) for row in rows for v in row[2:] if v and len(str(v)) >= 4}
    for row in rows:
        point = shapely.Point(*TO_UTM.transform(row[0], row[1]))
        params = _info_params(point, LAYERS=layer, QUERY_LAYERS=layer, FEATURE_COUNT=50)
        for fmt in INFO_FORMATS:
            body = wms_get(server, **{**params, "INFO_FORMAT": fmt}).text
            assert [v for v in values if v in body] == [] and "pemilik" not in body
            if fmt == "application/json":
                found = json.loads(body)["features"]
                assert found and not set(names) & {k for f in found for k in f["properties"]}
        if texts:
            keyed = wms_get(server, keys["analyst"], **params).json()["features"]
            assert set(texts) <= set(keyed[0]["properties"])
    capabilities = wms_get(server, SERVICE="WMS", REQUEST="GetCapabilities").text
    assert [v for v in values if v in capabilities] == []
