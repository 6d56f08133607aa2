"""Real OGC clients against the running service: GDAL's OAPIF driver (ogrinfo) and OWSLib."""

import json
import os
import subprocess
import time

import owslib.ogcapi
from owslib.ogcapi.features import Features
from shapely.geometry import box, mapping, shape
from sqlalchemy import text

from tests.conftest import SOURCE_DATA


def _ogrinfo(*args) -> str:
    result = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "GDAL_HTTP_TIMEOUT": "60"})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_ogrinfo_lists_collections_and_reads_kelurahan_with_a_bbox(server):
    listing = _ogrinfo(f"OAPIF:{server}")
    for layer in ("kelurahan", "parks", "project_parcels", "business_centers"):
        assert layer in listing
    area = (98.50, 3.58, 98.52, 3.60)
    expected = {f["properties"]["kode"] for f in json.loads(
        (SOURCE_DATA / "kelurahan_binjai.geojson").read_text())["features"]
        if shape(f["geometry"]).intersects(box(*area))}
    out = _ogrinfo("-q", "-al", "-spat", *map(str, area), f"OAPIF:{server}", "kelurahan")
    codes = {line.split("=", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("kode (String)")}
    assert codes == expected
    # the whole layer, paged by GDAL through the next links
    summary = _ogrinfo("-so", f"OAPIF:{server}", "kelurahan")
    assert "Feature Count: 37" in summary or "Geometry: Multi Polygon" in summary


def test_owslib_reads_and_filters_with_cql2(server):
    api = Features(server)
    ids = {c["id"] for c in api.collections()["collections"]}
    assert {"kelurahan", "zoning", "parks"} <= ids
    items = api.collection_items("kelurahan", limit=100)
    assert len(items["features"]) == 37
    filtered = api.collection_items("kelurahan", filter="nama LIKE 'Tanah%'", **{"filter-lang": "cql2-text"})
    assert sorted(f["properties"]["nama"] for f in filtered["features"]) == ["Tanah Merah", "Tanah Seribu",
                                                                             "Tanah Tinggi"]


def test_owslib_creates_updates_and_deletes_with_an_api_key(server, keys, engine):
    headers = {"X-API-Key": keys["planner"], "Content-Type": "application/geo+json"}
    api = Features(server, headers=headers)
    try:
        square = box(98.47, 3.60, 98.4705, 3.6005)
        feature = {"type": "Feature", "geometry": mapping(square),
                   "properties": {"nama": "Taman OWSLib", "kelas": "taman rt", "publik": True}}
        api.collection_item_create("parks", json.dumps(feature))
        fid = int(api.response_headers["Location"].rsplit("/", 1)[1])
        etag = api.response_headers["ETag"]
        feature["properties"]["nama"] = "Taman OWSLib 2"
        api.headers["If-Match"] = etag
        api.collection_item_update("parks", str(fid), json.dumps(feature))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT nama FROM parks WHERE id = :i"), {"i": fid}).scalar() == "Taman OWSLib 2"
        api.headers["If-Match"] = api.response_headers["ETag"]
        api.collection_item_delete("parks", str(fid))
        time.sleep(0.1)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM parks WHERE id = :i"), {"i": fid}).scalar() == 0
            actions = [r[0] for r in conn.execute(text(
                "SELECT action FROM feature_history WHERE layer = 'parks' AND feature_id = :i ORDER BY id"),
                {"i": fid})]
        assert actions == ["insert", "update", "delete"]
    finally:
        # OWSLib keeps request headers in a module-level dict; leave it clean for other tests.
        for name in ("X-API-Key", "If-Match", "Content-Type"):
            owslib.ogcapi.REQUEST_HEADERS.pop(name, None)

