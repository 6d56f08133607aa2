"""The leak scan over what geoportals and command centers read: WFS 2.0.0 (capabilities, schemas and features of
every type), WMS (capabilities, feature information inside a feature of each layer with private fields, maps,
legends) and WMTS (capabilities, tiles), the metadata catalogue (every record as JSON, ISO 19139 and DCAT, the
catalogue's DCAT), the event stream replayed from the start of the history, and webhook administration.
Anonymously it finds nothing; with an analyst key (webhooks: an admin's) the same scan finds private values on
every one of these surfaces, so each surface is really read and the scan can fail."""

from __future__ import annotations

import json
import time

import httpx
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import text

from layers import CATALOG
from reliability import leaks, leaks_ows
from reliability.leaks_geoportal import SURFACES, control_geoportal, geoportal_private_values
from tests.test_features_write import park

PRIVATE_EMAIL = "tata.ruang.rahasia@binjaikota.go.id"
PUBLIC_EMAIL = "pusdatin@binjaikota.go.id"
HOOK_URL = "http://127.0.0.1:9/pusat-komando-rahasia"
GEOPORTAL_ONLY = leaks.Crawl(collections=[], collection_tiles=False, metadata=False, history=0, processes=False,
                             maps=(), jobs=False, records=False, multi_zooms=(), geoportal=True)


@pytest.fixture(scope="module")
def geoportal_data(server, engine, keys):
    """A record with a private contact e-mail and one with a public one (edited by an admin), a webhook, and a
    park created by a planner (an actor in the history)."""
    admin, planner = {"X-API-Key": keys["admin"]}, {"X-API-Key": keys["planner"]}
    with httpx.Client(base_url=server, timeout=60) as http:
        for rid, email, public in (("parks", PRIVATE_EMAIL, False), ("roads", PUBLIC_EMAIL, True)):
            r = http.patch(f"/admin/metadata/{rid}", headers={**admin, "Content-Type": "application/json"},
                           content=json.dumps({"contact": {"email": email, "email_public": public}}))
            assert r.status_code == 200, r.text
        hook = http.post("/admin/webhooks", headers=admin, json={"url": HOOK_URL, "collections": ["toll_gates"]})
        assert hook.status_code == 201, hook.text
        fid = http.post("/collections/parks/items", json=park("Taman Pindai Bocor"), headers=planner).json()["id"]
        time.sleep(0.5)  # the event's transaction below every reader's horizon
        yield
        http.delete(f"/collections/parks/items/{fid}", headers={**planner, "If-Match": '"1"'})
        http.delete(f"/admin/webhooks/{hook.json()['id']}", headers=admin)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM metadata WHERE resource IN ('parks', 'roads')"))
        conn.execute(text("DELETE FROM metadata_history WHERE resource IN ('parks', 'roads')"))


def _values(engine) -> dict[str, set[str]]:
    return {**leaks.private_values(engine), **leaks.record_private_values(engine), **geoportal_private_values(engine)}


def test_geoportal_private_values_come_from_the_database(engine, geoportal_data):
    values = geoportal_private_values(engine)
    assert values["metadata.contact_email (not public)"] == {PRIVATE_EMAIL}  # the public one is left out
    assert {"sample loader", "Uji planner (planner)"} <= values["feature_history.actor"]
    assert values["metadata.updated_by"] and values["webhooks.created_by"] and HOOK_URL in values["webhooks.url"]
    # every public layer's private fields are scanned, as declared (assets' acquisition value among them)
    assert leaks.PRIVATE_FIELDS["assets"] == ("nilai_perolehan_rp",)


def test_anonymous_geoportal_answers_carry_no_private_value(server, engine, geoportal_data):
    values = _values(engine)
    scanner, problems = leaks.Scanner(values), []
    started = time.monotonic()
    cov = leaks.crawl(server, engine, scanner, GEOPORTAL_ONLY, problems=problems)
    seconds = time.monotonic() - started
    assert problems == []
    assert scanner.findings == []
    # every feature type anonymous callers see: capabilities, then 2 schemas and 2 feature documents per type
    listed = httpx.get(f"{server}/collections").json()["collections"]
    types = [c["id"] for c in listed if c.get("geometryType")]
    assert cov.requests["wfs"] == 1 + 4 * len(types)
    # every record in three encodings, plus the collection, queryables, the page, the DCAT catalogue, admin's view
    records = httpx.get(f"{server}/collections/catalog/items", params={"limit": 10000}).json()["features"]
    assert len(records) >= len(types) and cov.requests["catalog"] == 5 + 3 * len(records)
    # the stream replays the public layers' history after the first event (the planner's park among them)
    with engine.connect() as conn:
        expected = conn.execute(text(
            "SELECT count(*) FROM feature_history WHERE layer = ANY(:l) "
            "AND action NOT IN ('attach', 'detach', 'publish', 'unpublish') "  # a file's, not a feature's
            "AND (txid, id) > (SELECT txid, id FROM feature_history ORDER BY txid, id LIMIT 1)"),
            {"l": types}).scalar_one()
    assert cov.events == expected > 0
    assert cov.requests["webhooks"] >= 2
    assert scanner.kinds.get("sse") == 1 and scanner.kinds.get("application/vnd.iso.19139+xml") == len(records)
    assert scanner.kinds.get("application/gml+xml") == len(types)
    # WMS: two capabilities, 3 INFO_FORMATs at 1.3.0 and JSON at 1.1.1 per layer with private fields, a map of
    # those layers, a refused map and feature information of each private layer, every listed layer's legend;
    # WMTS: two capabilities, a tile of each layer with private fields and of each private layer
    with_private = [layer.id for layer in CATALOG.values() if layer.public and layer.private_fields]
    private = [layer.id for layer in CATALOG.values() if not layer.public]
    assert private and len(leaks_ows.info_targets(engine)) == len(with_private)
    assert cov.requests["wms"] == 2 + 4 * len(with_private) + 1 + 2 * len(private) + len(types)
    assert cov.requests["wmts"] == 2 + len(with_private) + len(private)
    assert scanner.kinds.get("text/plain") == len(with_private)
    assert scanner.kinds.get("png") == 1 + len(types) + len(with_private)  # map, legends, tiles
    assert scanner.kinds.get("application/vnd.ogc.wms_xml") == 1  # the 1.1.1 capabilities
    ows = cov.requests["wms"] + cov.requests["wmts"]
    print(f"geoportal leak scan: {sum(cov.requests.values())} requests, {cov.events} events, {seconds:.1f} s; "
          f"WMS/WMTS {ows} requests in {cov.seconds['wms'] + cov.seconds['wmts']:.1f} s")


def test_with_keys_the_same_scan_finds_private_values_on_every_surface(server, engine, keys, geoportal_data):
    cov, findings = control_geoportal(server, engine, _values(engine), keys["analyst"], keys["admin"])
    print(f"control: WMS {cov.requests['wms']} requests in {cov.seconds['wms']:.1f} s, WMTS "
          f"{cov.requests['wmts']} in {cov.seconds['wmts']:.1f} s; findings {cov.findings}")
    assert all(cov.findings[s] > 0 for s in SURFACES), cov.findings
    text_of = "\n".join(findings)
    assert "pemilik" in text_of and "nilai_perolehan_rp" in text_of  # WFS schemas and features
    assert "programme_points" in text_of  # a private layer in the capabilities, the catalogue and the stream
    assert PRIVATE_EMAIL in text_of and PUBLIC_EMAIL not in text_of  # the catalogue
    assert "Uji planner (planner)" in text_of  # the stream's actors
    assert HOOK_URL in text_of  # the webhook pages (an admin's key)
    info = [f for f in findings if "REQUEST=GetFeatureInfo" in f and "private value" in f]
    assert {layer for layer in leaks.PRIVATE_FIELDS if any(f"QUERY_LAYERS={layer}&" in f for f in info)} \
        == set(leaks.PRIVATE_FIELDS)  # every layer's private values, read at the pixel found from the database
    for label in ("WMS 1.3.0 GetCapabilities", "WMS 1.1.1 GetCapabilities", "WMTS GetCapabilities (KVP)",
                  "WMTS WMTSCapabilities.xml"):
        assert f"{label} lists programme_points, a layer anonymous callers do not see" in findings


TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)


def test_the_feature_information_pixel_lies_inside_the_feature(engine):
    """The I/J asked for lies inside the feature chosen: the pixel's centre, computed back from the box and the
    image size, falls in the feature's geometry projected independently (points: within a pixel)."""
    targets = leaks_ows.info_targets(engine)
    assert {t.layer for t in targets} == set(leaks.PRIVATE_FIELDS)
    for t in targets:
        with engine.connect() as conn:
            wkb = conn.execute(text(f"SELECT ST_AsBinary(geom) FROM {t.layer} WHERE id = :i"), {"i": t.feature_id}
                               ).scalar_one()
        geom = shapely.transform(shapely.from_wkb(bytes(wkb)),
                                 lambda xy: np.column_stack(TO_MERCATOR.transform(xy[:, 0], xy[:, 1])))
        x0, y0, x1, y1 = t.bbox
        res = (x1 - x0) / leaks_ows.BOX_PX
        assert (y1 - y0) / leaks_ows.BOX_PX == pytest.approx(res)
        assert 0 <= t.i < leaks_ows.BOX_PX and 0 <= t.j < leaks_ows.BOX_PX
        centre = shapely.Point(x0 + (t.i + 0.5) * res, y1 - (t.j + 0.5) * res)
        if geom.geom_type.endswith("Polygon"):
            assert geom.contains(centre), (t, centre)
        else:
            assert geom.distance(centre) <= res, (t, centre)


def test_the_collection_crawl_leaves_the_catalogue_to_its_own_surface(server, engine):
    """The catalogue is listed in /collections but holds records, not features: the per-collection crawl (items
    as HTML, CSV, GeoPackage, schema) skips it rather than reporting its refusals as problems."""
    scanner, problems = leaks.Scanner(leaks.private_values(engine)), []
    plan = leaks.Crawl(collections=["catalog", "toll_gates"], collection_tiles=False, metadata=False, history=0,
                       processes=False, maps=(), jobs=False, records=False, multi_zooms=(), geoportal=False)
    leaks.crawl(server, engine, scanner, plan, problems=problems)
    assert problems == [] and scanner.findings == []
    assert scanner.kinds.get("gpkg") == 1 and scanner.kinds.get("csv") == 1  # toll gates only
